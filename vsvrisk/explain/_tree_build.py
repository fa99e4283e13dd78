"""Compiled: one tree's leaves, patterns, cuts and tables (the plan of :mod:`._tree_tables`).

Input: the tree as LightGBM stores it, with every node's split as a 0/1 table over the tree
classes of its feature (:mod:`vsvrisk.explain._classes`). Output: the flat arrays that
:func:`vsvrisk.explain._shap_kernels.explain_rows` reads. Everything is iterative (a
leaf-wise tree can be thousands of nodes deep) and preallocated to its upper bound.

Cuts, top down from the root: a subtree is a cut when its table is small enough
(``cap_states`` states, ``cap_entries`` states x features); else its children are tried. A
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
               internal_count, cap_states, cap_entries):
    """Cuts with filled tables and direct leaves of one tree (see the module docstring).

    Returns (cut_meta (n, 3): first entry, n entries, table offset; cut_entries (e, 2): tree
    feature, state-map offset; state_maps; tables; direct_meta (k, 4): first entry, d, value,
    z offset; direct_entries (q, 2): tree feature, sat-map offset; direct_z; direct_weights;
    sat_maps).
    """
    n_features = class_offset.size - 1
    n_leaves = left.size + 1
    order, position, first, end, leaf_d, leaf_first, leaf_feature, leaf_z, sat_first, sat = _leaf_paths(
        left, right, node_feature, node_dir_offset, node_dir, class_offset, leaf_count, internal_count)
    max_classes = 1
    for f in range(n_features):
        max_classes = max(max_classes, class_offset[f + 1] - class_offset[f])
    pairs = leaf_first[n_leaves]
    cut_meta = np.empty((n_leaves, 3), dtype=np.int64)
    cut_entries = np.empty((pairs, 2), dtype=np.int64)
    state_maps = np.empty(pairs * max_classes, dtype=np.int64)
    tables = np.empty(0)
    direct_meta = np.empty((n_leaves, 4))
    direct_entries = np.empty((pairs, 2), dtype=np.int64)
    direct_z = np.empty(pairs)
    direct_weights = np.empty(pairs)
    sat_maps = np.empty(pairs * max_classes)
    n_cuts = n_entries = map_size = table_size = n_direct = n_direct_entries = sat_size = 0
    labels = np.empty((n_features, max_classes), dtype=np.int64)
    groups = np.zeros(n_features, dtype=np.int64)
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
            if leaf_d[p] >= 62 or (1 << leaf_d[p]) > cap_states:
                feasible = False
                break
        n_states, width = 1, 0
        if feasible:
            in_cut[:] = False
            for k in range(leaf_first[lo], leaf_first[hi]):
                in_cut[leaf_feature[k]] = True
            for f in range(n_features):
                width += in_cut[f]
            for f in range(n_features):
                if not in_cut[f]:
                    continue
                size = class_offset[f + 1] - class_offset[f]
                groups[f] = _partition(lo, hi, f, size, leaf_first, leaf_d, leaf_feature, sat_first, sat,
                                       labels[f], relabel)
                n_states *= groups[f]
                if n_states > cap_states or n_states * width > cap_entries:
                    feasible = False
                    break
        if not feasible:
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
            continue
        # a cut: state maps (class -> state * stride), then the table
        cut_meta[n_cuts, 0] = n_entries
        cut_meta[n_cuts, 1] = width
        cut_meta[n_cuts, 2] = table_size
        slot = np.full(n_features, -1, dtype=np.int64)
        sizes = np.empty(width, dtype=np.int64)
        stride = 1
        s = 0
        for f in range(n_features):
            if not in_cut[f]:
                continue
            size = class_offset[f + 1] - class_offset[f]
            cut_entries[n_entries + s, 0] = f
            cut_entries[n_entries + s, 1] = map_size
            for c in range(size):
                state_maps[map_size + c] = labels[f, c] * stride
            map_size += size
            slot[f] = s
            sizes[s] = groups[f]
            stride *= groups[f]
            s += 1
        if table_size + n_states * width > tables.size:  # grow geometrically
            grown = np.empty(max(2 * tables.size, table_size + n_states * width))
            grown[:table_size] = tables[:table_size]
            tables = grown
        table = tables[table_size:table_size + n_states * width].reshape((n_states, width))
        _fill(table, lo, hi, sizes, slot, labels, order, leaf_value, leaf_d, leaf_first, leaf_feature, leaf_z,
              sat_first, sat, class_offset)
        table_size += n_states * width
        n_entries += width
        n_cuts += 1
    return (cut_meta[:n_cuts].copy(), cut_entries[:n_entries].copy(), state_maps[:map_size].copy(),
            tables[:table_size].copy(), direct_meta[:n_direct].copy(), direct_entries[:n_direct_entries].copy(),
            direct_z[:n_direct_entries].copy(), direct_weights[:n_direct_entries].copy(), sat_maps[:sat_size].copy())


@njit(**_JIT)
def _fill(table, lo, hi, sizes, slot, labels, order, leaf_value, leaf_d, leaf_first, leaf_feature, leaf_z,
          sat_first, sat, class_offset):
    """table[state, slot] = the summed contributions of leaves [lo, hi) in that state."""
    table[:, :] = 0.0
    n_states, width = table.shape
    for p in range(lo, hi):
        d = leaf_d[p]
        k0 = leaf_first[p]
        values = leaf_table(leaf_value[order[p]], leaf_z[k0:k0 + d])
        # per path feature: is it satisfied in each of its states (one class stands for each)
        bits = np.zeros((d, sizes.max()), dtype=np.int64)
        for q in range(d):
            f = leaf_feature[k0 + q]
            for c in range(class_offset[f + 1] - class_offset[f]):
                bits[q, labels[f, c]] = sat[sat_first[k0 + q] + c]
        digits = np.zeros(width, dtype=np.int64)
        for state in range(n_states):
            pattern = 0
            for q in range(d):
                pattern |= bits[q, digits[slot[leaf_feature[k0 + q]]]] << q
            for q in range(d):
                table[state, slot[leaf_feature[k0 + q]]] += values[pattern, q]
            for s in range(width):  # next state: first feature fastest
                digits[s] += 1
                if digits[s] < sizes[s]:
                    break
                digits[s] = 0
