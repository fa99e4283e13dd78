"""Run the tables over the rows: distinct rows once, trees in batches, rows split over threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from vsvrisk.explain._classes import FeatureClasses
from vsvrisk.explain._shap_kernels import explain_rows
from vsvrisk.explain._tree_tables import tabulate

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
            arrays = _pack(batch, classes.features)
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
    """Yield lists of (plan, cuts, direct leaves), a table budget's worth at a time."""
    batch, size = [], 0
    for plan in plans:
        cuts, direct = tabulate(plan, n_rows)
        batch.append((plan, cuts, direct))
        size += sum(cut.table.nbytes for cut in cuts)
        if size >= _TABLE_BYTES_PER_BATCH:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _pack(batch: list, model_features: np.ndarray) -> tuple:
    """The flat arrays that :func:`~vsvrisk.explain._shap_kernels.explain_rows` reads."""
    luts, tree_meta, tree_features = [], [], []
    cut_meta, cut_entries, state_maps, tables = [], [], [], []
    direct_meta, direct_entries, direct_z, direct_weights, sat_maps = [], [], [], [], []
    lut_size = map_size = table_size = z_size = sat_size = 0
    for plan, cuts, direct in batch:
        tree_meta.append((len(tree_features), plan.columns.size, len(cut_meta), len(cuts),
                          len(direct_meta), len(direct)))
        lut_offsets = []
        for column, lut in zip(plan.columns.tolist(), plan.luts):
            tree_features.append((column, lut_size))
            lut_offsets.append(lut_size)
            luts.append(lut)
            lut_size += lut.size
        output = plan.output_offset + model_features[plan.columns]  # per tree feature
        for cut in cuts:
            cut_meta.append((len(cut_entries), cut.features.size, table_size))
            for feature, state_map in zip(cut.features.tolist(), cut.state_maps):
                cut_entries.append((feature, map_size, output[feature]))
                state_maps.append(state_map)
                map_size += state_map.size
            tables.append(cut.table.ravel())
            table_size += cut.table.size
        for item in direct:
            leaf = item.leaf
            direct_meta.append((len(direct_entries), leaf.features.size, leaf.value, z_size))
            direct_z.append(leaf.zero_fractions)
            direct_weights.append(item.weights)
            z_size += leaf.features.size
            for feature, satisfied in zip(leaf.features.tolist(), leaf.satisfied):
                direct_entries.append((feature, sat_size, output[feature]))
                sat_maps.append(satisfied.astype(np.float64))
                sat_size += satisfied.size
    return (_concat(luts, np.int32), np.array(tree_meta, dtype=np.int64).reshape(-1, 6),
            np.array(tree_features, dtype=np.int64).reshape(-1, 2),
            np.array(cut_meta, dtype=np.int64).reshape(-1, 3), np.array(cut_entries, dtype=np.int64).reshape(-1, 3),
            _concat(state_maps, np.int64), _concat(tables, np.float64),
            np.array(direct_meta, dtype=np.float64).reshape(-1, 4),
            np.array(direct_entries, dtype=np.int64).reshape(-1, 3),
            _concat(direct_z, np.float64), _concat(direct_weights, np.float64), _concat(sat_maps, np.float64))


def _concat(parts: list, dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)
