"""The compiled loops of the fast TreeSHAP, and the plain numpy reference they are tested against.

The SHAP value of a leaf. Take a leaf with value ``v`` whose path splits on the features
``j = 1..d`` (each once, after merging repeated splits): ``z_j`` is the share of training rows
that follows the path at the splits on ``j`` (their counts), ``o_j`` whether the row does (0 or 1).
Path-dependent TreeSHAP (Lundberg et al. 2020, Algorithm 2) gives feature ``i`` the share
``v (o_i - z_i) sum_s w_s [t^s] prod_{j != i} (z_j + o_j t)`` with ``w_s = s! (d-1-s)! / d!``:
the Shapley weights of the product game, read off the coefficients of a polynomial. As ``o``
is 0 or 1, a leaf's contributions depend only on its *pattern* (which path features the row
satisfies), so :func:`leaf_table` computes them once for each of the ``2^d`` patterns, as
WOODELF does (Nadel and Wettenstein, AAAI 2026), and a row looks its pattern up.

The kernels take flat arrays (numba wants no Python objects); the layout is built in
:mod:`vsvrisk.explain._tree_tables`. They release the GIL, so threads can share the rows.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# numba caches the compiled kernels next to this file, so only the first run compiles them.
_JIT = {"nogil": True, "cache": True, "fastmath": False, "boundscheck": False}


@njit(**_JIT)
def _shapley_weights(d):
    weights = np.empty(d)
    binomial = 1.0  # C(d - 1, s)
    for s in range(d):
        weights[s] = 1.0 / (d * binomial)  # s! (d-1-s)! / d!
        binomial = binomial * (d - 1 - s) / (s + 1)
    return weights


@njit(**_JIT)
def _contributions(value, z, o, weights, poly, without, out):
    """One pattern ``o`` (0/1 floats) of one leaf: its ``d`` contributions into ``out``."""
    d = z.size
    poly[:] = 0.0
    poly[0] = 1.0
    for j in range(d):  # Q(t) = prod_j (z_j + o_j t)
        for s in range(j + 1, 0, -1):
            poly[s] = poly[s] * z[j] + poly[s - 1] * o[j]
        poly[0] *= z[j]
    for i in range(d):
        if o[i] == 0.0 and z[i] == 0.0:
            out[i] = 0.0  # (o_i - z_i) = 0: the game without i does not matter
            continue
        if o[i] > 0.0:
            # Q = (z_i + t) W: synthetic division from the top coefficient down.
            without[d - 1] = poly[d]
            for s in range(d - 1, 0, -1):
                without[s - 1] = poly[s] - z[i] * without[s]
        else:
            for s in range(d):
                without[s] = poly[s] / z[i]
        total = 0.0
        for s in range(d):
            total += without[s] * weights[s]
        out[i] = value * (o[i] - z[i]) * total


@njit(**_JIT)
def leaf_table(value, z):
    """Contributions (2^d, d) of a leaf for every pattern (bit ``q`` of the row: feature ``q``)."""
    d = z.size
    table = np.empty((1 << d, d))
    weights = _shapley_weights(d)
    poly, without, o = np.empty(d + 1), np.empty(max(d, 1)), np.empty(d)
    for pattern in range(1 << d):
        for q in range(d):
            o[q] = (pattern >> q) & 1
        _contributions(value, z, o, weights, poly, without, table[pattern])
    return table


@njit(**_JIT)
def fill_cut_table(sizes, leaf_d, leaf_table_offsets, leaf_tables, leaf_slot, leaf_bits_offset, bits, table):
    """Sum the leaves of one cut into ``table`` (n_states, n_slots), for every state.

    A state is a mixed-radix number over the cut's features (``sizes``: states per feature,
    first feature fastest). Leaf ``l`` has ``leaf_d[l]`` path features; its ``q``-th is cut
    feature ``leaf_slot[k]`` and is satisfied in that feature's state ``v`` when
    ``bits[leaf_bits_offset[k] + v]`` (``k``: the running index of (leaf, q) pairs).
    """
    n_slots = sizes.size
    digits = np.zeros(n_slots, dtype=np.int64)
    for state in range(table.shape[0]):
        rest = state
        for f in range(n_slots):
            digits[f] = rest % sizes[f]
            rest //= sizes[f]
        k = 0
        for leaf in range(leaf_d.size):
            d = leaf_d[leaf]
            pattern = 0
            for q in range(d):
                pattern |= int(bits[leaf_bits_offset[k + q] + digits[leaf_slot[k + q]]]) << q
            row = leaf_table_offsets[leaf] + pattern * d
            for q in range(d):
                table[state, leaf_slot[k + q]] += leaf_tables[row + q]
            k += d


@njit(**_JIT)
def explain_rows(codes, out, start, stop, chunk, tree_class_luts, tree_meta, tree_features, cut_meta, cut_features,
                 states, tables, direct_meta, direct_entries, direct_z, direct_weights, sat_maps):
    """Add the trees' contributions for rows ``start:stop`` to ``out``.

    Column-major, as WOODELF vectorises: ``codes`` (n_used, n) int32, each row's classes, and
    ``out`` (n_outputs, n) float64. Rows go ``chunk`` at a time through every tree; in a tree,
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
    poly, without, contrib = np.empty(max_d + 1), np.empty(max_d), np.empty(max_d)
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
                state[:m] = 0
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
                    _contributions(value, direct_z[z_offset:z_offset + d], o[:d],
                                   direct_weights[z_offset:z_offset + d], poly, without, contrib)
                    for q in range(d):
                        out[tree_features[first_feature + direct_entries[first + q, 0], 2], first_row + r] += contrib[q]


def leaf_contributions_reference(value: float, z: np.ndarray, o: np.ndarray) -> np.ndarray:
    """The contributions (n, d) of one leaf for each row of ``o`` (n, d) of 0/1, in plain numpy.

    The reference the compiled :func:`leaf_table` is tested against: the same polynomial,
    vectorised over rows, with the game without feature ``i`` multiplied out directly
    (``O(d^2)`` a feature) rather than divided out.

    Examples
    --------
    >>> leaf_contributions_reference(2.0, np.array([0.5]), np.array([[1.0], [0.0]]))
    array([[ 1.],
           [-1.]])
    """
    n, d = o.shape
    weights = np.array([math.factorial(s) * math.factorial(d - 1 - s) / math.factorial(d) for s in range(d)])
    out = np.empty((n, d))
    for i in range(d):
        poly = np.zeros((n, d))
        poly[:, 0] = 1.0
        for j in (j for j in range(d) if j != i):
            shifted = poly[:, :-1] * o[:, j:j + 1]
            poly *= z[j]
            poly[:, 1:] += shifted
        out[:, i] = value * (o[:, i] - z[i]) * (poly @ weights)
    return out
