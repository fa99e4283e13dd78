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

from vsvrisk.explain._classes import FeatureClasses
from vsvrisk.explain._lgbm_model import TreeArrays
from vsvrisk.explain._tree_build import build_tree

#: Most states one cut may have, and most table entries (states x features, 8 bytes each):
#: the tables of a batch of trees should stay in a core's cache while rows pass through.
MAX_STATES = 1 << 12
MAX_ENTRIES = 1 << 15
#: A table pays for itself when each of its states serves about this many rows.
ROWS_PER_STATE = 4


@dataclass
class TreePlan:
    """One tree, ready to tabulate; it depends on the model only."""

    output_offset: int  # class k of a multiclass model writes columns k * (F + 1) ...
    expected_value: float
    columns: np.ndarray  # per tree feature: its column among the used features
    luts: list  # per tree feature: global class -> tree class (int32)
    build_inputs: tuple | None  # the tree for build_tree; None for a single leaf


def plan_tree(tree: TreeArrays, classes: FeatureClasses, output_offset: int) -> TreePlan:
    """The tree classes of one tree and each node's split as a 0/1 table over them."""
    expected = tree.expected_value()
    if tree.num_leaves == 1:
        return TreePlan(output_offset, expected, np.zeros(0, dtype=np.int64), [], None)
    node_column = np.array([classes.column[int(f)] for f in tree.split_feature], dtype=np.int64)
    columns, node_feature = np.unique(node_column, return_inverse=True)
    luts, sizes = [], []
    node_tables = [None] * node_column.size
    for f, column in enumerate(columns.tolist()):
        nodes = np.flatnonzero(node_feature == f)
        lut, left = classes.tree_classes(tree, column, nodes)
        luts.append(lut)
        sizes.append(left.shape[0])
        for i, node in enumerate(nodes.tolist()):
            node_tables[node] = left[:, i]
    node_dir = np.concatenate(node_tables).astype(np.int8)
    node_dir_offset = np.concatenate([[0], np.cumsum([t.size for t in node_tables])[:-1]]).astype(np.int64)
    class_offset = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    inputs = (tree.left_child, tree.right_child, node_feature.astype(np.int64), node_dir_offset, node_dir,
              class_offset, tree.leaf_value, tree.leaf_count, tree.internal_count)
    return TreePlan(output_offset, expected, columns.astype(np.int64), luts, inputs)


def tabulate(plan: TreePlan, n_rows: int) -> tuple | None:
    """The cuts (with their tables) and the directly computed leaves of one tree, for ``n_rows``."""
    if plan.build_inputs is None:
        return None
    cap = min(MAX_STATES, max(1, n_rows // ROWS_PER_STATE))
    return build_tree(*plan.build_inputs, cap, MAX_ENTRIES)


def pack(batch: list, model_features: np.ndarray) -> tuple:
    """The flat arrays that :func:`~vsvrisk.explain._shap_kernels.explain_rows` reads, for a
    batch of (plan, tabulated) pairs."""
    luts, tree_meta, tree_features = [], [], []
    parts = {name: [] for name in ("cut_meta", "cut_entries", "state_maps", "tables", "direct_meta",
                                   "direct_entries", "direct_z", "direct_weights", "sat_maps")}
    totals = dict.fromkeys(("features", "luts", "cuts", "entries", "maps", "tables", "direct",
                            "direct_entries", "sat"), 0)
    for plan, tables in batch:
        n_cuts = 0 if tables is None else len(tables[0])
        n_direct = 0 if tables is None else len(tables[4])
        tree_meta.append((totals["features"], plan.columns.size, totals["cuts"], n_cuts, totals["direct"], n_direct))
        for column, lut in zip(plan.columns.tolist(), plan.luts):
            tree_features.append((column, totals["luts"]))
            luts.append(lut)
            totals["luts"] += lut.size
        totals["features"] += plan.columns.size
        if tables is None:
            continue
        cut_meta, cut_entries, state_maps, values, direct_meta, direct_entries, z, weights, sat_maps = tables
        output = plan.output_offset + model_features[plan.columns]  # per tree feature
        parts["cut_meta"].append(cut_meta + [totals["entries"], 0, totals["tables"]])
        parts["cut_entries"].append(np.column_stack([cut_entries[:, 0], cut_entries[:, 1] + totals["maps"],
                                                     output[cut_entries[:, 0]]]))
        parts["state_maps"].append(state_maps)
        parts["tables"].append(values)
        parts["direct_meta"].append(direct_meta + [totals["direct_entries"], 0, 0, totals["direct_entries"]])
        parts["direct_entries"].append(np.column_stack([direct_entries[:, 0], direct_entries[:, 1] + totals["sat"],
                                                        output[direct_entries[:, 0]]]))
        parts["direct_z"].append(z)
        parts["direct_weights"].append(weights)
        parts["sat_maps"].append(sat_maps)
        totals["cuts"] += n_cuts
        totals["entries"] += len(cut_entries)
        totals["maps"] += state_maps.size
        totals["tables"] += values.size
        totals["direct"] += n_direct
        totals["direct_entries"] += len(direct_entries)
        totals["sat"] += sat_maps.size

    def joined(name, dtype, width=None):
        if not parts[name]:
            return np.zeros((0, width) if width else 0, dtype=dtype)
        return np.ascontiguousarray(np.concatenate(parts[name]), dtype=dtype)

    return (_joined_list(luts, np.int32), np.array(tree_meta, dtype=np.int64).reshape(-1, 6),
            np.array(tree_features, dtype=np.int64).reshape(-1, 2), joined("cut_meta", np.int64, 3),
            joined("cut_entries", np.int64, 3), joined("state_maps", np.int64), joined("tables", np.float64),
            joined("direct_meta", np.float64, 4), joined("direct_entries", np.int64, 3),
            joined("direct_z", np.float64), joined("direct_weights", np.float64), joined("sat_maps", np.float64))


def _joined_list(parts: list, dtype) -> np.ndarray:
    return np.ascontiguousarray(np.concatenate(parts), dtype=dtype) if parts else np.zeros(0, dtype=dtype)
