"""Per tree: its classes, its leaves' patterns, and the tables that answer a row in a few lookups.

A leaf's contributions depend on its pattern (which of its path features a row satisfies,
:mod:`vsvrisk.explain._shap_kernels`). A *cut* goes one step further: for a subtree, every
path feature gets the coarsest *state* that still fixes every pattern of the subtree's leaves
(e.g. "satisfies the path above, and goes left at both of the subtree's splits on it"), and
one table holds the subtree's summed contributions for every combination of states. A row
then costs one lookup per cut instead of one per leaf and path feature. The cuts are the
largest subtrees whose table stays small (so that it stays in cache and costs less to fill
than it saves); the whole tree is one cut when its splits leave few combinations, as on
categorical data. A leaf whose own table would be too large is computed row by row.

Trees are visited iteratively: a leaf-wise tree can be deeper than Python's recursion limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vsvrisk.explain._classes import FeatureClasses
from vsvrisk.explain._lgbm_model import TreeArrays
from vsvrisk.explain._shap_kernels import _shapley_weights, fill_cut_table, leaf_table

#: Most states one cut may have, and most table entries (states x features, 8 bytes each):
#: a tree's tables should stay in a core's cache while a block of rows goes through it.
MAX_STATES = 1 << 12
MAX_ENTRIES = 1 << 15
#: A cut's table pays when each state is used by this many rows or more (else: smaller cuts).
ROWS_PER_STATE = 4


@dataclass
class Leaf:
    value: float
    features: np.ndarray  # tree-local feature indices on the path, ascending
    zero_fractions: np.ndarray  # per path feature: the training share that follows the path
    satisfied: list  # per path feature: bool over the tree classes, does a row follow the path


@dataclass
class TreePlan:
    """One tree, ready to tabulate: everything here depends on the model only."""

    output_offset: int  # class k of a multiclass model writes columns k*(F+1) ...
    expected_value: float
    columns: np.ndarray  # per tree feature: its column among the used features
    luts: list  # per tree feature: global class -> tree class (int32)
    leaves: list  # Leaf, depth first, so a subtree's leaves are consecutive
    children: dict  # internal node -> (left, right); a leaf is ~(its position in leaves)
    leaf_range: dict  # internal node -> (first leaf, end)
    _states: dict = field(default_factory=dict)


def plan_tree(tree: TreeArrays, classes: FeatureClasses, output_offset: int) -> TreePlan:
    """The tree classes, leaves and patterns of one tree."""
    expected = tree.expected_value()
    if tree.num_leaves == 1:
        return TreePlan(output_offset, expected, np.zeros(0, dtype=np.int64), [], [], {}, {})
    used = sorted({classes.column[int(f)] for f in tree.split_feature})
    local = {column: i for i, column in enumerate(used)}
    luts, node_left = [], {}
    for column in used:
        nodes = [n for n in range(tree.split_feature.size) if classes.column[int(tree.split_feature[n])] == column]
        directions = np.stack([classes.directions(tree, n) for n in nodes], axis=1)
        lut, representatives = _group_rows(directions)
        luts.append(lut)
        for i, n in enumerate(nodes):
            node_left[n] = directions[representatives, i]
    leaves, children, leaf_range = [], {}, {}
    # (node, path of (local feature, node, went left)); internal nodes are >= 0, leaves ~i.
    stack, opened, position = [(0, [])], [], {}
    while stack:
        node, path = stack.pop()
        if node < 0:
            position[node] = ~len(leaves)
            leaves.append(_leaf(tree, ~node, path, node_left, local, classes))
            continue
        left, right = int(tree.left_child[node]), int(tree.right_child[node])
        children[node] = (left, right)
        opened.append((node, len(leaves)))
        feature = local[classes.column[int(tree.split_feature[node])]]
        stack.append((right, path + [(feature, node, False)]))
        stack.append((left, path + [(feature, node, True)]))
    children = {node: tuple(position.get(c, c) for c in pair) for node, pair in children.items()}
    sizes = {}
    for node, first in reversed(opened):  # pre-order reversed: children before their parent
        sizes[node] = sum(1 if child < 0 else sizes[child] for child in children[node])
        leaf_range[node] = (first, first + sizes[node])
    return TreePlan(output_offset, expected, np.array(used, dtype=np.int64), luts, leaves, children, leaf_range)


def _leaf(tree, index, path, node_left, local, classes) -> Leaf:
    zero, satisfied = {}, {}
    for feature, node, went_left in path:
        child = tree.left_child[node] if went_left else tree.right_child[node]
        count = tree.leaf_count[~child] if child < 0 else tree.internal_count[child]
        zero[feature] = zero.get(feature, 1.0) * (count / tree.internal_count[node])
        way = node_left[node] if went_left else ~node_left[node]
        satisfied[feature] = satisfied[feature] & way if feature in satisfied else way
    order = sorted(zero)
    return Leaf(float(tree.leaf_value[index]), np.array(order, dtype=np.int64),
                np.array([zero[f] for f in order]), [satisfied[f] for f in order])


def _group_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group equal rows of a bool matrix: each row's group (int32), and one row of each group."""
    packed = np.packbits(matrix, axis=1)
    keys = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return inverse.astype(np.int32).ravel(), first


@dataclass
class Cut:
    features: np.ndarray  # tree-local features, ascending
    state_maps: list  # per feature: tree class -> state * stride (int64)
    table: np.ndarray  # (n_states, n_features)


@dataclass
class Direct:
    leaf: Leaf
    weights: np.ndarray


def tabulate(plan: TreePlan, n_rows: int) -> tuple[list, list]:
    """The cuts (with filled tables) and the directly computed leaves of one tree, for ``n_rows``."""
    if not plan.leaves:
        return [], []
    cap = min(MAX_STATES, max(1, n_rows // ROWS_PER_STATE))
    cuts, direct = [], []
    stack = [0 if plan.children else ~0]
    while stack:
        node = stack.pop()
        if node < 0:
            first, end = ~node, ~node + 1
        else:
            first, end = plan.leaf_range[node]
        states = _states(plan, first, end, cap)
        if states is not None:
            cuts.append(_fill(plan, first, end, *states))
        elif node >= 0:
            stack.extend(plan.children[node])
        else:
            leaf = plan.leaves[first]
            direct.append(Direct(leaf, _shapley_weights(leaf.features.size)))
    return cuts, direct


def _states(plan: TreePlan, first: int, end: int, cap: int):
    """Per feature of leaves[first:end], the coarsest states that fix every leaf's pattern;
    None when the combinations exceed ``cap`` (or the table its entry limit)."""
    key = (first, end)
    if key in plan._states and plan._states[key][0] <= cap:
        return plan._states[key][1]
    leaves = plan.leaves[first:end]
    if any(1 << leaf.features.size > cap for leaf in leaves):
        return None
    rows = {}
    for leaf in leaves:
        for f, satisfied in zip(leaf.features.tolist(), leaf.satisfied):
            rows.setdefault(f, []).append(satisfied)
    features = np.array(sorted(rows), dtype=np.int64)
    n_states, maps, representatives = 1, [], []
    for f in features.tolist():
        state, first_class = _group_rows(np.stack(rows[f], axis=1))
        n_states *= first_class.size
        if n_states > cap or n_states * features.size > MAX_ENTRIES:
            plan._states[key] = (cap, None)
            return None
        maps.append(state)
        representatives.append(first_class)
    result = (features, maps, representatives, n_states)
    plan._states[key] = (cap, result)
    return result


def _fill(plan: TreePlan, first: int, end: int, features, maps, representatives, n_states) -> Cut:
    slot = {int(f): i for i, f in enumerate(features)}
    sizes = np.array([r.size for r in representatives], dtype=np.int64)
    leaf_d, table_offsets, tables, leaf_slot, bits_offset, bits = [], [], [], [], [], []
    offset, bit_offset = 0, 0
    for leaf in plan.leaves[first:end]:
        d = leaf.features.size
        leaf_d.append(d)
        table_offsets.append(offset)
        tables.append(leaf_table(leaf.value, leaf.zero_fractions).ravel())
        offset += (1 << d) * d
        for f, satisfied in zip(leaf.features.tolist(), leaf.satisfied):
            leaf_slot.append(slot[f])
            bits_offset.append(bit_offset)
            bits.append(satisfied[representatives[slot[f]]].astype(np.int8))
            bit_offset += sizes[slot[f]]
    table = np.zeros((n_states, features.size))
    fill_cut_table(sizes, np.array(leaf_d, dtype=np.int64), np.array(table_offsets, dtype=np.int64),
                   np.concatenate(tables), np.array(leaf_slot, dtype=np.int64),
                   np.array(bits_offset, dtype=np.int64), np.concatenate(bits), table)
    strides = np.concatenate([[1], np.cumprod(sizes)[:-1]])
    return Cut(features, [m.astype(np.int64) * s for m, s in zip(maps, strides)], table)
