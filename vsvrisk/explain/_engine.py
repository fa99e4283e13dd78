"""Run the tables over the rows: distinct rows once, trees in batches, rows split over threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from vsvrisk.explain._classes import FeatureClasses
from vsvrisk.explain._shap_kernels import explain_rows
from vsvrisk.explain._tree_tables import pack, tabulate

#: Trees whose tables are built and then run over the rows together: large enough that the
#: threads have work, small enough that the tables stay in cache while a block of rows passes.
_TABLE_BYTES_PER_BATCH = 1 << 20
# Distinct rows are looked up only where they save work: below this share of distinct rows.
_DISTINCT_SHARE = 0.8
_KEY_LIMIT = 2**62  # mixed-radix keys are compacted (factorized) before they could overflow


def explain(plans: list, classes: FeatureClasses, codes: np.ndarray, n_outputs: int, n_jobs: int) -> np.ndarray:
    """Contributions (n_rows, n_outputs) of ``codes`` (n_rows, n_used) int32 for the planned trees."""
    rows, groups = _distinct_rows(codes, classes.n_classes)
    if rows is not None:
        codes = np.ascontiguousarray(codes[rows])
    out = np.zeros((codes.shape[0], n_outputs))
    n_jobs = max(1, min(n_jobs, codes.shape[0] // 64 or 1))
    chunks = np.array_split(np.arange(codes.shape[0], dtype=np.int64), n_jobs)
    with ThreadPoolExecutor(n_jobs) as pool:
        for batch in _batches(plans, codes.shape[0]):
            arrays = pack(batch, classes.features)
            list(pool.map(lambda chunk: explain_rows(codes, chunk, out, *arrays), chunks))
    for plan in plans:
        out[:, plan.output_offset + classes.n_model_features] += plan.expected_value
    return out if groups is None else out[groups]


def _distinct_rows(codes: np.ndarray, n_classes: np.ndarray):
    """One row index per distinct row and each row's group, or (None, None) if few repeat."""
    if codes.shape[0] < 2 or codes.shape[1] == 0:
        return None, None
    key, bound = codes[:, 0].astype(np.int64), int(n_classes[0])
    for j in range(1, codes.shape[1]):
        if bound * int(n_classes[j]) >= _KEY_LIMIT:
            key, uniques = pd.factorize(key)
            bound = len(uniques)
        key = key * int(n_classes[j]) + codes[:, j]
        bound *= int(n_classes[j])
    groups, uniques = pd.factorize(key)
    if len(uniques) > _DISTINCT_SHARE * codes.shape[0]:
        return None, None
    first = np.empty(len(uniques), dtype=np.int64)
    first[groups[::-1]] = np.arange(groups.size - 1, -1, -1)
    return first, groups


def _batches(plans: list, n_rows: int):
    """Yield lists of (plan, tabulated tree), a table budget's worth at a time."""
    batch, size = [], 0
    for plan in plans:
        tables = tabulate(plan, n_rows)
        batch.append((plan, tables))
        size += 0 if tables is None else tables[3].nbytes
        if size >= _TABLE_BYTES_PER_BATCH:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch
