"""Compiled: one tree's leaves, patterns, cuts and tables (the plan of :mod:`._tree_tables`).

Input: the tree as LightGBM stores it, with every node's split as a 0/1 table over the tree
classes of its feature (:mod:`vsvrisk.explain._classes`). Output: the flat arrays that
:func:`vsvrisk.explain._shap_kernels.explain_rows` reads. Everything is iterative (a
leaf-wise tree can be thousands of nodes deep) and preallocated to its upper bound.

Cuts, top down from the root: a subtree is a cut when its table is small enough
(``cap_states`` states, ``cap_entries`` states x features); else its children are tried. A
leaf alone may have up to ``cap_leaf`` states (one per pattern): a lookup in a larger table
still costs less than the ``O(d^2)`` arithmetic per row. A
feature's states in a cut are the coarsest partition of its tree classes that fixes whether each
of the cut's leaves is satisfied on it: partition refinement, one leaf at a time. A leaf whose
own table would exceed the caps is computed per row instead (a *direct* leaf).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from vsvrisk.explain._shap_kernels import _JIT, _shapley_weights, leaf_table


@njit(**_JIT)
def _leaf_paths(left, right, node_feature, node_dir_offset, node_dir, class_offset, leaf_count, internal_count):
    """Leaves in depth-first order (left first): path features, zero fractions, satisfied classes."""
    m = left.size
    n_leaves = m + 1
    n_features = class_offset.size - 1
    parent = np.full(m, -1, dtype=np.int64)
    leaf_parent = np.full(n_leaves, -1, dtype=np.int64)
    for u in range(m):
        for child in (left[u], right[u]):
            if child >= 0:
                parent[child] = u
            else:
                leaf_parent[~child] = u
    # pre-order: leaf positions and each internal node's range of leaf positions
    order = np.empty(n_leaves, dtype=np.int64)  # position -> LightGBM leaf index
    first = np.zeros(m, dtype=np.int64)
    end = np.zeros(m, dtype=np.int64)
    preorder = np.empty(m, dtype=np.int64)
    stack = np.empty(m + n_leaves, dtype=np.int64)
    top, seen, visited = 0, 0, 0
    stack[0] = 0 if m > 0 else -1
    top = 1
    while top > 0:
        top -= 1
        u = stack[top]
        if u < 0:
            order[seen] = ~u
            seen += 1
            continue
        preorder[visited] = u
        visited += 1
        first[u] = seen
        stack[top] = right[u]
        stack[top + 1] = left[u]
        top += 2
    position = np.empty(n_leaves, dtype=np.int64)  # LightGBM leaf index -> position
    for p in range(n_leaves):
        position[order[p]] = p
    for k in range(m - 1, -1, -1):  # children before parents
        r = right[preorder[k]]
        end[preorder[k]] = end[r] if r >= 0 else position[~r] + 1
    # per leaf: walk to the root, AND the directions per feature, multiply the count shares
    leaf_d = np.zeros(n_leaves, dtype=np.int64)
    leaf_first = np.zeros(n_leaves + 1, dtype=np.int64)
    max_pairs = n_leaves * min(n_features, m)
    leaf_feature = np.empty(max_pairs, dtype=np.int64)
    leaf_z = np.empty(max_pairs)
    sat_first = np.empty(max_pairs, dtype=np.int64)
    n_classes_total = class_offset[-1]
    # a leaf has each feature once: its satisfied tables take at most every class once
    sat = np.empty(max(n_leaves * n_classes_total, 1), dtype=np.int8)
    scratch = np.ones(n_classes_total, dtype=np.int8)
    zero = np.ones(n_features)
    on_path = np.zeros(n_features, dtype=np.bool_)
    pairs, sat_size = 0, 0
    for p in range(n_leaves):
        leaf = order[p]
        child, u = ~leaf, leaf_parent[leaf]
        while u >= 0:
            f = node_feature[u]
            went_left = left[u] == child
            count = leaf_count[~child] if child < 0 else internal_count[child]
            zero[f] *= count / internal_count[u]
            if not on_path[f]:
                on_path[f] = True
                scratch[class_offset[f]:class_offset[f + 1]] = 1
            for c in range(class_offset[f + 1] - class_offset[f]):
                way = node_dir[node_dir_offset[u] + c]
                if (way == 1) != went_left:
                    scratch[class_offset[f] + c] = 0
            child, u = u, parent[u]
        leaf_first[p] = pairs
        for f in range(n_features):
            if on_path[f]:
                size = class_offset[f + 1] - class_offset[f]
                leaf_feature[pairs] = f
                leaf_z[pairs] = zero[f]
                sat_first[pairs] = sat_size
                sat[sat_size:sat_size + size] = scratch[class_offset[f]:class_offset[f + 1]]
                sat_size += size
                pairs += 1
                on_path[f] = False
                zero[f] = 1.0
        leaf_d[p] = pairs - leaf_first[p]
    leaf_first[n_leaves] = pairs
    return order, position, first, end, leaf_d, leaf_first, leaf_feature, leaf_z, sat_first, sat


@njit(**_JIT)
def _partition(lo, hi, f, size, leaf_first, leaf_d, leaf_feature, sat_first, sat, labels, relabel):
    """Refine the classes of feature ``f`` by every leaf in [lo, hi) that splits on it; return
    the number of groups (``labels`` holds each class's group, in order of first appearance)."""
    labels[:size] = 0
    groups = 1
    for p in range(lo, hi):
        for k in range(leaf_first[p], leaf_first[p] + leaf_d[p]):
            if leaf_feature[k] != f:
                continue
            relabel[:2 * groups] = -1
            count = 0
            for c in range(size):
                key = labels[c] * 2 + sat[sat_first[k] + c]
                if relabel[key] < 0:
                    relabel[key] = count
                    count += 1
                labels[c] = relabel[key]
            groups = count
    return groups


@njit(**_JIT)
def build_tree(left, right, node_feature, node_dir_offset, node_dir, class_offset, leaf_value, leaf_count,
               internal_count, cap_states, cap_entries, cap_leaf):
    """Cuts with filled tables and direct leaves of one tree (see the module docstring).

    Returns ``(states, cut_first_feature, cut_features, table_offsets, tables, direct_meta,
    direct_entries, direct_z, direct_weights, sat_maps)``. ``states`` (n_cuts, n_tree_classes):
    what each tree class adds to each cut's state (its group times the feature's stride), so a
    row's state in a cut is a sum over the cut's features. Cut ``c`` has the tree features
    ``cut_features[cut_first_feature[c]:cut_first_feature[c + 1]]``, and its table (from
    ``table_offsets[c]``) holds one column of states per feature, feature after feature.
    ``direct_meta`` (k, 4): first entry, d, value, z offset; ``direct_entries`` (q, 2): tree
    feature, offset of its satisfied classes (0/1) in ``sat_maps``.
    """
    n_features = class_offset.size - 1
    n_classes = class_offset[-1]
    n_leaves = left.size + 1
    order, position, first, end, leaf_d, leaf_first, leaf_feature, leaf_z, sat_first, sat = _leaf_paths(
        left, right, node_feature, node_dir_offset, node_dir, class_offset, leaf_count, internal_count)
    max_classes = 1
    for f in range(n_features):
        max_classes = max(max_classes, class_offset[f + 1] - class_offset[f])
    pairs = leaf_first[n_leaves]
    cut_range = np.empty((n_leaves, 3), dtype=np.int64)  # first leaf, end, states
    cut_states = np.zeros((n_leaves, n_classes), dtype=np.int64)
    cut_groups = np.ones((n_leaves, n_features), dtype=np.int64)
    cut_member = np.zeros((n_leaves, n_features), dtype=np.bool_)
    direct_meta = np.empty((n_leaves, 4))
    direct_entries = np.empty((pairs, 2), dtype=np.int64)
    direct_z = np.empty(pairs)
    direct_weights = np.empty(pairs)
    sat_maps = np.empty(pairs * max_classes)
    n_cuts = n_direct = n_direct_entries = sat_size = 0
    labels = np.empty(max_classes, dtype=np.int64)
    relabel = np.empty(2 * max_classes + 2, dtype=np.int64)
    in_cut = np.zeros(n_features, dtype=np.bool_)
    stack = np.empty(2 * n_leaves + 1, dtype=np.int64)
    stack[0] = 0
    top = 1
    while top > 0:
        top -= 1
        u = stack[top]  # internal node, or ~(leaf position)
        lo, hi = (first[u], end[u]) if u >= 0 else (~u, ~u + 1)
        feasible = True
        for p in range(lo, hi):
            if leaf_d[p] >= 62 or (1 << leaf_d[p]) > (cap_states if u >= 0 else cap_leaf):
                feasible = False
                break
        if feasible:
            in_cut[:] = False
            for k in range(leaf_first[lo], leaf_first[hi]):
                in_cut[leaf_feature[k]] = True
            n_states, width = 1, 0
            for f in range(n_features):
                width += in_cut[f]
            for f in range(n_features):
                if not in_cut[f]:
                    continue
                size = class_offset[f + 1] - class_offset[f]
                groups = _partition(lo, hi, f, size, leaf_first, leaf_d, leaf_feature, sat_first, sat, labels, relabel)
                for c in range(size):
                    cut_states[n_cuts, class_offset[f] + c] = labels[c] * n_states
                cut_groups[n_cuts, f] = groups
                n_states *= groups
                if u >= 0 and (n_states > cap_states or n_states * width > cap_entries):
                    feasible = False
                    break
        if feasible:
            cut_range[n_cuts, 0], cut_range[n_cuts, 1], cut_range[n_cuts, 2] = lo, hi, n_states
            cut_member[n_cuts, :] = in_cut
            n_cuts += 1
            continue
        cut_states[n_cuts, :] = 0
        cut_groups[n_cuts, :] = 1
        if u >= 0:
            for child in (right[u], left[u]):
                stack[top] = child if child >= 0 else ~position[~child]
                top += 1
            continue
        # a leaf too deep for a table: computed per row
        p = lo
        d = leaf_d[p]
        direct_meta[n_direct, 0] = n_direct_entries
        direct_meta[n_direct, 1] = d
        direct_meta[n_direct, 2] = leaf_value[order[p]]
        direct_meta[n_direct, 3] = n_direct_entries
        weights = _shapley_weights(d)
        for q in range(d):
            k = leaf_first[p] + q
            f = leaf_feature[k]
            size = class_offset[f + 1] - class_offset[f]
            direct_entries[n_direct_entries, 0] = f
            direct_entries[n_direct_entries, 1] = sat_size
            direct_z[n_direct_entries] = leaf_z[k]
            direct_weights[n_direct_entries] = weights[q]
            for c in range(size):
                sat_maps[sat_size + c] = sat[sat_first[k] + c]
            sat_size += size
            n_direct_entries += 1
        n_direct += 1
    # per cut: its features, then its table, one column of states per feature (column-major)
    cut_first_feature = np.zeros(n_cuts + 1, dtype=np.int64)
    cut_features = np.empty(n_cuts * n_features, dtype=np.int64)
    table_offsets = np.zeros(n_cuts + 1, dtype=np.int64)
    for c in range(n_cuts):
        width = 0
        for f in range(n_features):
            if cut_member[c, f]:
                cut_features[cut_first_feature[c] + width] = f
                width += 1
        cut_first_feature[c + 1] = cut_first_feature[c] + width
        table_offsets[c + 1] = table_offsets[c] + cut_range[c, 2] * width
    tables = np.zeros(table_offsets[n_cuts])
    for c in range(n_cuts):
        features = cut_features[cut_first_feature[c]:cut_first_feature[c + 1]]
        _fill(tables[table_offsets[c]:table_offsets[c + 1]].reshape((features.size, cut_range[c, 2])), features,
              cut_range[c, 0], cut_range[c, 1], cut_groups[c], cut_states[c], order, leaf_value, leaf_d, leaf_first,
              leaf_feature, leaf_z, sat_first, sat, class_offset)
    return (cut_states[:n_cuts].copy(), cut_first_feature, cut_features[:cut_first_feature[n_cuts]].copy(),
            table_offsets, tables, direct_meta[:n_direct].copy(), direct_entries[:n_direct_entries].copy(),
            direct_z[:n_direct_entries].copy(), direct_weights[:n_direct_entries].copy(), sat_maps[:sat_size].copy())


@njit(**_JIT)
def _fill(table, features, lo, hi, groups, states, order, leaf_value, leaf_d, leaf_first, leaf_feature, leaf_z,
          sat_first, sat, class_offset):
    """table[j, state] = the summed contributions to ``features[j]`` of leaves [lo, hi) in that state.

    ``groups[f]``: feature f's number of states in the cut (1 outside it); ``states``: each
    tree class's group times its feature's stride (a state is a mixed-radix number over the
    features in order, the first fastest).
    """
    n_states = table.shape[1]
    n_features = groups.size
    stride = np.ones(n_features, dtype=np.int64)
    slot = np.full(n_features, -1, dtype=np.int64)
    for f in range(1, n_features):
        stride[f] = stride[f - 1] * groups[f - 1]
    for j in range(features.size):
        slot[features[j]] = j
    for p in range(lo, hi):
        d = leaf_d[p]
        k0 = leaf_first[p]
        values = leaf_table(leaf_value[order[p]], leaf_z[k0:k0 + d])
        # per path feature: is it satisfied in each of its groups (any class of the group tells)
        bits = np.zeros((d, groups.max()), dtype=np.int64)
        for q in range(d):
            f = leaf_feature[k0 + q]
            for c in range(class_offset[f + 1] - class_offset[f]):
                bits[q, states[class_offset[f] + c] // stride[f]] = sat[sat_first[k0 + q] + c]
        # the states in order, as mixed-radix digits over the leaf's own features (the cut's
        # other features only repeat each pattern: a state's pattern depends on these digits)
        digits = np.zeros(d, dtype=np.int64)
        countdown = np.empty(d, dtype=np.int64)  # states until the digit moves: its stride
        pattern = 0
        for q in range(d):
            pattern |= bits[q, 0] << q
            countdown[q] = stride[leaf_feature[k0 + q]]
        for state in range(n_states):
            if state > 0:
                for q in range(d):
                    countdown[q] -= 1
                    if countdown[q] == 0:
                        f = leaf_feature[k0 + q]
                        countdown[q] = stride[f]
                        digits[q] = digits[q] + 1 if digits[q] + 1 < groups[f] else 0
                        pattern = (pattern & ~(1 << q)) | (bits[q, digits[q]] << q)
            for q in range(d):
                table[slot[leaf_feature[k0 + q]], state] += values[pattern, q]
