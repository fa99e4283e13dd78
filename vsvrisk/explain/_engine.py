"""Run the trees over the rows: distinct rows once, tables built per tree, rows split over threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from vsvrisk._lgbm.classes import FeatureClasses, sorted_distinct
from vsvrisk.explain._shap_kernels import build_tree, explain_rows
from vsvrisk.explain._tree_tables import TreePlan, pack

#: A chunk of rows passes through every tree (its tree classes stay in cache); tables are built
#: for a group of trees at a time, to bound the memory they take.
_CHUNK_ROWS = 16_384
_GROUP_TABLE_BYTES = 1 << 26
#: The size of a cut: most states, most table entries (states x features, 8 bytes each), most
#: states of a leaf alone (2^d). One feature's column of a table (8 bytes a state) should stay in
#: a core's cache while a chunk of rows looks it up; fewer, larger cuts mean fewer lookups a row.
#: Measured on 300 trees x 63 leaves: 2^12 states gave 18 cuts a tree, 2^14 13, 2^16 11.
MAX_STATES = 1 << 14
MAX_ENTRIES = 1 << 17
MAX_LEAF_STATES = 1 << 14
#: A table pays for itself when each of its states serves about this many rows.
ROWS_PER_STATE = 4


def explain(plans: list, classes: FeatureClasses, codes: np.ndarray, n_classes: int, n_jobs: int) -> np.ndarray:
    """Contributions (n_rows, n_classes * (n_used + 1)) of ``codes`` (n_rows, n_used) int32 for the
    planned trees: per class, one column per used feature, then the base value."""
    values, inverse = explain_distinct(plans, classes, codes, n_classes, n_jobs)
    return values[inverse]


def explain_distinct(plans: list, classes: FeatureClasses, codes: np.ndarray, n_classes: int,
                     n_jobs: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`explain` of the distinct rows only: ``(values, inverse)``, ``values[inverse]`` being
    :func:`explain`'s answer. ``values`` (n_distinct, n_classes * (n_used + 1)) is a transposed
    view, so that gathering rows of it costs what :func:`explain` costs; ``inverse`` (n_rows,)."""
    rows, groups = sorted_distinct(codes, classes.n_classes)
    codes = np.ascontiguousarray(codes[rows].T)  # column-major: one feature's classes together
    n = codes.shape[1]
    width = classes.features.size + 1
    out = np.zeros((n_classes * width, n))
    n_jobs = max(1, min(n_jobs, n // 256 or 1))
    bounds = np.linspace(0, n, n_jobs + 1).astype(np.int64)
    with ThreadPoolExecutor(n_jobs) as pool:
        for group in _groups(plans, n, pool):
            arrays = pack(group)
            list(pool.map(lambda j: explain_rows(codes, out, bounds[j], bounds[j + 1], _CHUNK_ROWS, *arrays),
                          range(n_jobs)))
    for plan in plans:
        out[plan.output_offset + width - 1] += plan.expected_value
    return out.T, groups


def _groups(plans: list, n_rows: int, pool):
    """Yield lists of (plan, tabulated tree), up to a memory budget of tables at a time."""
    group, size = [], 0
    for start in range(0, len(plans), 32):  # a few at a time: the threads build, memory stays bounded
        some = plans[start:start + 32]
        for plan, tables in zip(some, pool.map(lambda plan: tabulate(plan, n_rows), some)):
            group.append((plan, tables))
            size += 0 if tables is None else tables[4].nbytes
        if size >= _GROUP_TABLE_BYTES:
            yield group
            group, size = [], 0
    if group:
        yield group


def tabulate(plan: TreePlan, n_rows: int) -> tuple | None:
    """The cuts (with their tables) and the directly computed leaves of one tree, for ``n_rows``."""
    if plan.build_inputs is None:
        return None
    rows = max(1, n_rows // ROWS_PER_STATE)
    counts, states, first_feature, features, table_offsets, tables, meta, entries, z, weights, sat = build_tree(
        *plan.build_inputs, min(MAX_STATES, rows), MAX_ENTRIES, min(MAX_LEAF_STATES, rows))
    n_cuts, n_features, n_direct, n_entries, n_sat = counts.tolist()
    return (states[:n_cuts], first_feature, features[:n_features], table_offsets, tables, meta[:n_direct],
            entries[:n_entries], z[:n_entries], weights[:n_entries], sat[:n_sat])
