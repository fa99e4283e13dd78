"""Path-dependent TreeSHAP of a LightGBM model in plain numpy: the reference for the compiled path.

Independent of the fast path's classes, cuts and kernels: every node's decision is taken
from the raw values as LightGBM's C++ takes it (``Tree::NumericalDecision`` and
``Tree::CategoricalDecision``, ``include/LightGBM/tree.h``), and every leaf's contributions come
from :func:`leaf_contributions_reference` (the polynomial of the product game, multiplied out
per feature). Slow (a pass over the rows per node and leaf): for tests on small data only.
"""

from __future__ import annotations

import numpy as np

from vsvrisk._lgbm.model import iteration_range, parse_model
from vsvrisk.explain._shap_reference import leaf_contributions_reference

K_ZERO_THRESHOLD = float(np.float32(1e-35))  # meta.h: const double kZeroThreshold = 1e-35f


def _goes_left(tree, node: int, x: np.ndarray) -> np.ndarray:
    decision = int(tree.decision_type[node])
    default_left, missing_type = bool(decision & 2), (decision >> 2) & 3
    if decision & 1:  # CategoricalDecision: NaN and negative ints go right, then the bitset
        with np.errstate(invalid="ignore"):
            in_range = (x > -2.0**31 - 1) & (x < 2.0**31)  # static_cast<int> outside: INT_MIN
        code = np.where(in_range, np.trunc(np.where(in_range, x, -1.0)), -1.0)
        index = int(tree.threshold[node])
        words = tree.cat_threshold[tree.cat_boundaries[index]:tree.cat_boundaries[index + 1]]
        valid = code >= 0
        word = np.where(valid, code // 32, 0).astype(np.int64)
        inside = valid & (word < words.size)
        bits = words[np.minimum(word, max(words.size - 1, 0))].astype(np.int64) if words.size else np.zeros_like(word)
        return inside & (((bits >> np.where(valid, code % 32, 0).astype(np.int64)) & 1) == 1)
    value = np.where(np.isnan(x) & (missing_type != 2), 0.0, x)
    missing = ((missing_type == 1) & (np.abs(value) <= K_ZERO_THRESHOLD)) | ((missing_type == 2) & np.isnan(value))
    return np.where(missing, default_left, value <= tree.threshold[node])


def reference_pred_contrib(booster, X: np.ndarray, *, start_iteration: int = 0, num_iteration: int = -1,
                           dense: bool = True) -> np.ndarray:
    """``booster.predict(X, pred_contrib=True)`` for a float matrix ``X`` as LightGBM reads it.

    ``dense``: ``X`` came in dense, so values within ``kZeroThreshold`` of zero are read as 0.0
    (``RowPairFunctionFromDenseMatrix``); sparse input keeps its stored values.
    """
    model = parse_model(booster.model_to_string(num_iteration=-1))
    first, last = iteration_range(model.num_iterations, start_iteration, num_iteration)
    per_iteration, width = model.num_tree_per_iteration, model.n_features + 1
    X = np.asarray(X, dtype=np.float64)
    if dense:
        X = np.where(np.abs(X) <= K_ZERO_THRESHOLD, 0.0, X)
    out = np.zeros((X.shape[0], per_iteration * width))
    for t in range(first * per_iteration, last * per_iteration):
        tree, offset = model.trees[t], (t % per_iteration) * width
        out[:, offset + width - 1] += tree.expected_value()
        if tree.num_leaves == 1:
            continue
        left = {node: _goes_left(tree, node, X[:, int(tree.split_feature[node])])
                for node in range(tree.split_feature.size)}
        stack = [(0, [])]
        while stack:
            node, path = stack.pop()
            if node >= 0:
                for child, went_left in ((tree.left_child[node], True), (tree.right_child[node], False)):
                    stack.append((int(child), path + [(node, child, went_left)]))
                continue
            zero, follows = {}, {}
            for parent, child, went_left in path:
                feature = int(tree.split_feature[parent])
                count = tree.leaf_count[~child] if child < 0 else tree.internal_count[child]
                zero[feature] = zero.get(feature, 1.0) * count / tree.internal_count[parent]
                way = left[parent] if went_left else ~left[parent]
                follows[feature] = follows.get(feature, True) & way
            features = sorted(zero)
            o = np.column_stack([follows[f] for f in features]).astype(np.float64)
            values = leaf_contributions_reference(float(tree.leaf_value[~node]), np.array([zero[f] for f in features]), o)
            out[:, [offset + f for f in features]] += values
    return out
