"""Per tree: its classes and split tables (here), then its cuts and tables (compiled, :mod:`._tree_build`).

A leaf's contributions depend on its pattern (which of its path features a row satisfies,
:mod:`vsvrisk.explain._shap_kernels`). A *cut* goes one step further: in a subtree, every
feature gets the coarsest *state* that still fixes every leaf's pattern (e.g. "follows the
path above, and goes left at both of the subtree's splits on it"), and one table holds the
subtree's summed contributions for every combination of states. A row then costs one lookup
per cut instead of one per leaf and path feature (WOODELF's cost), and the whole tree is one
cut where its splits leave few combinations, as on categorical data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vsvrisk._lgbm.classes import FeatureClasses
from vsvrisk._lgbm.model import TreeArrays

@dataclass
class TreePlan:
    """One tree, ready to tabulate; it depends on the model only."""

    output_offset: int  # class k writes rows k * (U + 1) ... of the output (U: used features)
    expected_value: float
    columns: np.ndarray  # per tree feature: its column among the used features
    luts: list  # per tree feature: global class -> tree class (int32)
    build_inputs: tuple | None  # the tree for build_tree; None for a single leaf


def plan_tree(tree: TreeArrays, classes: FeatureClasses, output_offset: int) -> TreePlan:
    """The tree classes of one tree and each node's split as a 0/1 table over them."""
    expected = tree.expected_value()
    if tree.num_leaves == 1:
        return TreePlan(output_offset, expected, np.zeros(0, dtype=np.int64), [], None)
    columns, node_feature, luts, sizes, node_tables = classes.node_tables(tree)
    node_dir = np.concatenate(node_tables).astype(np.int8)
    node_dir_offset = np.concatenate([[0], np.cumsum([t.size for t in node_tables])[:-1]]).astype(np.int64)
    class_offset = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    inputs = (tree.left_child, tree.right_child, node_feature.astype(np.int64), node_dir_offset, node_dir,
              class_offset, tree.leaf_value, tree.leaf_count, tree.internal_count)
    return TreePlan(output_offset, expected, columns.astype(np.int64), luts, inputs)


def pack(batch: list) -> tuple:
    """The flat arrays that :func:`~vsvrisk.explain._shap_kernels.explain_rows` reads, for a
    list of (plan, tabulated tree) pairs."""
    luts, tree_meta, tree_features, cut_meta, cut_features, states, tables = [], [], [], [], [], [], []
    direct_meta, direct_entries, direct_z, direct_weights, sat_maps = [], [], [], [], []
    n = dict.fromkeys(("luts", "features", "cuts", "cut_features", "states", "tables", "direct", "entries", "sat"), 0)
    for plan, tabulated in batch:
        if tabulated is None:  # a single leaf: its expected value is all
            tree_meta.append((n["features"], 0, n["cuts"], 0, n["direct"], 0, 0, n["states"]))
            continue
        cut_states, first_feature, features, table_offsets, values, d_meta, d_entries, z, weights, sat = tabulated
        n_cuts, n_classes = cut_states.shape
        tree_meta.append((n["features"], plan.columns.size, n["cuts"], n_cuts, n["direct"], len(d_meta), n_classes,
                          n["states"]))
        output = plan.output_offset + plan.columns
        class_offset = plan.build_inputs[5]
        for column, lut, out_row, first_class in zip(plan.columns.tolist(), plan.luts, output.tolist(),
                                                     class_offset.tolist()):
            tree_features.append((column, n["luts"], out_row, first_class))
            luts.append(lut)
            n["luts"] += lut.size
        for c in range(n_cuts):
            width = int(first_feature[c + 1] - first_feature[c])
            size = int(table_offsets[c + 1] - table_offsets[c])
            cut_meta.append((n["cut_features"] + int(first_feature[c]), width, n["tables"] + int(table_offsets[c]),
                             size // width if width else 0))
        cut_features.append(features)
        states.append(cut_states.ravel())
        tables.append(values)
        direct_meta.append(d_meta + [n["entries"], 0, 0, n["entries"]])
        direct_entries.append(d_entries + [0, n["sat"]])
        direct_z.append(z)
        direct_weights.append(weights)
        sat_maps.append(sat)
        n["features"] += plan.columns.size
        n["cuts"] += n_cuts
        n["cut_features"] += features.size
        n["states"] += cut_states.size
        n["tables"] += values.size
        n["direct"] += len(d_meta)
        n["entries"] += len(d_entries)
        n["sat"] += sat.size
    return (_joined(luts, np.int32), np.array(tree_meta, dtype=np.int64).reshape(-1, 8),
            np.array(tree_features, dtype=np.int64).reshape(-1, 4), np.array(cut_meta, dtype=np.int64).reshape(-1, 4),
            _joined(cut_features, np.int64), _joined(states, np.int64), _joined(tables, np.float64),
            _joined(direct_meta, np.float64, 4), _joined(direct_entries, np.int64, 2), _joined(direct_z, np.float64),
            _joined(direct_weights, np.float64), _joined(sat_maps, np.float64))


def _joined(parts: list, dtype, width: int = 0) -> np.ndarray:
    parts = [p for p in parts if p.size]
    if not parts:
        return np.zeros((0, width) if width else 0, dtype=dtype)
    return np.ascontiguousarray(np.concatenate(parts), dtype=dtype)
