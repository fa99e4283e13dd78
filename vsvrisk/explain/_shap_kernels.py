"""Every compiled loop of the fast TreeSHAP: leaf tables, a tree's cuts and tables, the rows.

All of them live in this one file on purpose: numba's on-disk cache knows a function by its
own file only, so a compiled caller in another file would keep using an old copy of a callee
changed here. (Compiled code also indexes with offsets rather than slices: numba compiles
slices slowly.)

The SHAP value of a leaf. Take a leaf with value ``v`` whose path splits on the features
``j = 1..d`` (each once, after merging repeated splits): ``z_j`` is the share of training rows
that follows the path at the splits on ``j`` (their counts), ``o_j`` whether the row does (0 or 1).
Path-dependent TreeSHAP (Lundberg et al. 2020, Algorithm 2) gives feature ``i`` the share
``v (o_i - z_i) sum_s w_s [t^s] prod_{j != i} (z_j + o_j t)`` with ``w_s = s! (d-1-s)! / d!``:
the Shapley weights of the product game, read off the coefficients of a polynomial. As ``o``
is 0 or 1, a leaf's contributions depend only on its *pattern* (which path features the row
satisfies), so :func:`leaf_table` computes them once for each of the ``2^d`` patterns, as
WOODELF does (Nadel and Wettenstein, AAAI 2026), and a row looks its pattern up.

A tree's plan (:func:`build_tree`): its leaves and patterns, then *cuts*, top down from the
root: a subtree is a cut when its table is small enough (``cap_states`` states, ``cap_entries``
states x features), else its children are tried; a leaf alone may have up to ``cap_leaf``
states (a lookup in a large table still costs less than the ``O(d^2)`` arithmetic per row), and
a leaf beyond that is computed per row (a *direct* leaf). A feature's states in a cut are the
coarsest partition of its tree classes that fixes whether each of the cut's leaves is
satisfied on it: partition refinement, one leaf at a time. Trees are walked iteratively (a
leaf-wise tree can be thousands of nodes deep) into arrays preallocated to their bounds.

The kernels take flat arrays (numba wants no Python objects); the layout is built in
:mod:`vsvrisk.explain._tree_tables`. They release the GIL, so threads can share the rows; the
plain numpy reference they are tested against is :mod:`vsvrisk.explain._shap_reference`.
"""

from __future__ import annotations


import numpy as np
from numba import njit

# numba caches the compiled kernels next to this file, so only the first run compiles them.
_JIT = {"nogil": True, "cache": True, "fastmath": False, "boundscheck": False, "error_model": "numpy"}


@njit(**_JIT)
def _shapley_weights(d):
    weights = np.empty(d)
    binomial = 1.0  # C(d - 1, s)
    for s in range(d):
        weights[s] = 1.0 / (d * binomial)  # s! (d-1-s)! / d!
        binomial = binomial * (d - 1 - s) / (s + 1)
    return weights


@njit(**_JIT)
def _contributions(value, z, at, d, o, weights, weights_at, poly, without, out, row):
    """One pattern ``o`` (0/1 floats) of a leaf with zero fractions ``z[at:at + d]`` and
    Shapley weights ``weights[weights_at:weights_at + d]``: its ``d`` contributions into ``out[row, :d]``.

    (Compiled code here indexes with offsets rather than slices: numba compiles slices slowly.)
    """
    for s in range(d + 1):
        poly[s] = 0.0
    poly[0] = 1.0
    for j in range(d):  # Q(t) = prod_j (z_j + o_j t)
        for s in range(j + 1, 0, -1):
            poly[s] = poly[s] * z[at + j] + poly[s - 1] * o[j]
        poly[0] *= z[at + j]
    for i in range(d):
        zi = z[at + i]
        if o[i] == 0.0 and zi == 0.0:
            out[row, i] = 0.0  # (o_i - z_i) = 0: the game without i does not matter
            continue
        if o[i] > 0.0:
            # Q = (z_i + t) W: synthetic division from the top coefficient down.
            without[d - 1] = poly[d]
            for s in range(d - 1, 0, -1):
                without[s - 1] = poly[s] - zi * without[s]
        else:
            for s in range(d):
                without[s] = poly[s] / zi
        total = 0.0
        for s in range(d):
            total += without[s] * weights[weights_at + s]
        out[row, i] = value * (o[i] - zi) * total


@njit(**_JIT)
def leaf_table(value, z, at, d):
    """Contributions (2^d, d) of a leaf with zero fractions ``z[at:at + d]``, for every pattern
    (bit ``q`` of the pattern: the row satisfies path feature ``q``)."""
    table = np.empty((1 << d, d))
    weights = _shapley_weights(d)
    poly, without, o = np.empty(d + 1), np.empty(max(d, 1)), np.empty(max(d, 1))
    for pattern in range(1 << d):
        for q in range(d):
            o[q] = (pattern >> q) & 1
        _contributions(value, z, at, d, o, weights, 0, poly, without, table, pattern)
    return table


@njit(**_JIT)
def explain_rows(codes, out, start, stop, chunk, tree_class_luts, tree_meta, tree_features, cut_meta, cut_features,
                 states, tables, direct_meta, direct_entries, direct_z, direct_weights, sat_maps):
    """Add the trees' contributions for rows ``start:stop`` to ``out``.

    Column-major, as WOODELF vectorises: ``codes`` (n_used, n) int32, each row's classes, and
    ``out`` (n_classes * (n_used + 1), n) float64. Rows go ``chunk`` at a time through every tree; in a tree,
    every cut is one pass over the chunk's states and one table lookup per feature and row,
    each a simple loop over contiguous rows while that table's column sits in cache.

    ``tree_meta[t]`` = (first feature, n features, first cut, n cuts, first direct leaf, n
    direct leaves, n tree classes, offset in ``states``). Tree feature ``i`` =
    ``tree_features[first + i]`` = (row of ``codes``, offset of its global class -> tree class
    table in ``tree_class_luts``, row of ``out``, its first tree class). Cut ``c`` =
    ``cut_meta[c]`` = (first of its features in ``cut_features``, n features, table offset, n
    states); a row's state there is the sum over its features of ``states[offset + k *
    n_tree_classes + first class + tree class]`` (``k``: the cut's index in the tree), and its
    table holds one column of states per feature. A direct leaf (too deep to tabulate) is
    computed per row: ``direct_meta`` (first entry, d, value, z offset); entry (tree feature,
    offset of its satisfied classes in ``sat_maps``); ``direct_z``, ``direct_weights``: its
    zero fractions and Shapley weights.
    """
    max_features = max_d = 1
    for t in range(tree_meta.shape[0]):
        max_features = max(max_features, tree_meta[t, 1])
    for leaf in range(direct_meta.shape[0]):
        max_d = max(max_d, int(direct_meta[leaf, 1]))
    tree_class = np.empty((max_features, chunk), dtype=np.int64)
    state = np.empty(chunk, dtype=np.int64)
    o = np.empty(max_d)
    poly, without, contrib = np.empty(max_d + 1), np.empty(max_d), np.empty((1, max_d))
    for first_row in range(start, stop, chunk):
        m = min(chunk, stop - first_row)
        for t in range(tree_meta.shape[0]):
            first_feature, n_features = tree_meta[t, 0], tree_meta[t, 1]
            for i in range(n_features):
                column = codes[tree_features[first_feature + i, 0]]
                lut = tree_features[first_feature + i, 1]
                for r in range(m):
                    tree_class[i, r] = tree_class_luts[lut + column[first_row + r]]
            for k in range(tree_meta[t, 3]):
                c = tree_meta[t, 2] + k
                at = tree_meta[t, 7] + k * tree_meta[t, 6]
                for r in range(m):
                    state[r] = 0
                for j in range(cut_meta[c, 1]):
                    f = cut_features[cut_meta[c, 0] + j]
                    base = at + tree_features[first_feature + f, 3]
                    for r in range(m):
                        state[r] += states[base + tree_class[f, r]]
                for j in range(cut_meta[c, 1]):
                    f = cut_features[cut_meta[c, 0] + j]
                    target = out[tree_features[first_feature + f, 2]]
                    column_at = cut_meta[c, 2] + j * cut_meta[c, 3]
                    for r in range(m):
                        target[first_row + r] += tables[column_at + state[r]]
            for leaf in range(tree_meta[t, 4], tree_meta[t, 4] + tree_meta[t, 5]):
                first, d = int(direct_meta[leaf, 0]), int(direct_meta[leaf, 1])
                value, z_offset = direct_meta[leaf, 2], int(direct_meta[leaf, 3])
                for r in range(m):
                    for q in range(d):
                        f = direct_entries[first + q, 0]
                        o[q] = sat_maps[direct_entries[first + q, 1] + tree_class[f, r]]
                    _contributions(value, direct_z, z_offset, d, o, direct_weights, z_offset, poly, without,
                                   contrib, 0)
                    for q in range(d):
                        out[tree_features[first_feature + direct_entries[first + q, 0], 2], first_row + r] += contrib[0, q]


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
                for c in range(class_offset[f], class_offset[f + 1]):
                    scratch[c] = 1
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
                for c in range(size):
                    sat[sat_size + c] = scratch[class_offset[f] + c]
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
    for c in range(size):
        labels[c] = 0
    groups = 1
    for p in range(lo, hi):
        for k in range(leaf_first[p], leaf_first[p] + leaf_d[p]):
            if leaf_feature[k] != f:
                continue
            for key in range(2 * groups):
                relabel[key] = -1
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

    Returns ``(counts, states, cut_first_feature, cut_features, table_offsets, tables, direct_meta,
    direct_entries, direct_z, direct_weights, sat_maps)``, the arrays to be cut to ``counts`` =
    (cuts, cut features, direct leaves, direct entries, sat-map size) by :func:`tabulate`. ``states`` (n_cuts, n_tree_classes):
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
            for f in range(n_features):
                in_cut[f] = False
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
            for f in range(n_features):
                cut_member[n_cuts, f] = in_cut[f]
            n_cuts += 1
            continue
        for c in range(n_classes):
            cut_states[n_cuts, c] = 0
        for f in range(n_features):
            cut_groups[n_cuts, f] = 1
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
        _fill(tables, table_offsets[c], cut_range[c, 2], cut_features, cut_first_feature[c], cut_first_feature[c + 1],
              cut_range[c, 0], cut_range[c, 1], cut_groups, cut_states, c, order, leaf_value, leaf_d, leaf_first,
              leaf_feature, leaf_z, sat_first, sat, class_offset)
    counts = np.array([n_cuts, cut_first_feature[n_cuts], n_direct, n_direct_entries, sat_size], dtype=np.int64)
    return (counts, cut_states, cut_first_feature, cut_features, table_offsets, tables, direct_meta, direct_entries,
            direct_z, direct_weights, sat_maps)


@njit(**_JIT)
def _fill(tables, offset, n_states, cut_features, first_feature, end_feature, lo, hi, cut_groups, cut_states, c,
          order, leaf_value, leaf_d, leaf_first, leaf_feature, leaf_z, sat_first, sat, class_offset):
    """Cut ``c``'s table at ``tables[offset:]``: for each of its features (``cut_features[first_feature:
    end_feature]``) a column of ``n_states``, the summed contributions of leaves [lo, hi) in each state.

    ``cut_groups[c, f]``: feature f's number of states in the cut (1 outside it);
    ``cut_states[c]``: each tree class's group times its feature's stride (a state is a
    mixed-radix number over the features in order, the first fastest).
    """
    n_features = cut_groups.shape[1]
    stride = np.ones(n_features, dtype=np.int64)
    slot = np.full(n_features, -1, dtype=np.int64)
    max_groups = 1
    for f in range(n_features):
        if f > 0:
            stride[f] = stride[f - 1] * cut_groups[c, f - 1]
        max_groups = max(max_groups, cut_groups[c, f])
    for j in range(first_feature, end_feature):
        slot[cut_features[j]] = j - first_feature
    for p in range(lo, hi):
        d = leaf_d[p]
        k0 = leaf_first[p]
        values = leaf_table(leaf_value[order[p]], leaf_z, k0, d)
        # per path feature: is it satisfied in each of its groups (any class of the group tells)
        bits = np.zeros((d, max_groups), dtype=np.int64)
        for q in range(d):
            f = leaf_feature[k0 + q]
            for k in range(class_offset[f + 1] - class_offset[f]):
                bits[q, cut_states[c, class_offset[f] + k] // stride[f]] = sat[sat_first[k0 + q] + k]
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
                        digits[q] = digits[q] + 1 if digits[q] + 1 < cut_groups[c, f] else 0
                        pattern = (pattern & ~(1 << q)) | (bits[q, digits[q]] << q)
            for q in range(d):
                tables[offset + slot[leaf_feature[k0 + q]] * n_states + state] += values[pattern, q]
