"""Exact TreeSHAP for LightGBM, faster: computed once per distinct split pattern, per leaf.

LightGBM's ``pred_contrib`` runs path-dependent TreeSHAP row by row: O(leaves x depth^2) per
row and tree. A national cohort repeats itself, and this module uses that three times:

1. **rows**: every value is mapped to its *class* between all thresholds the model uses for
   that feature (missing and zero get classes of their own, categories are their own class);
   rows with the same classes get the same SHAP values, so only distinct rows are explained;
2. **patterns per tree**: inside one tree, a row's SHAP values depend only on which side of
   each of that tree's splits it falls, so rows are grouped by their tree-level classes
   (categories merged when every split of the tree sends them the same way);
3. **bits per leaf**: a leaf's part of a SHAP value depends only on which of its path's
   features a row satisfies (a bit each), so each leaf's contributions are computed once per
   distinct bit pattern, from the Shapley weights of the product game
   ``v * prod_{j in S} o_j * prod_{j not in S} z_j`` (``z_j``: the share of the training rows
   that follows the path at the splits on feature ``j``, ``o_j``: whether the row does).

The splits are decided exactly as LightGBM's ``Tree::Decision`` does (missing values by
missing type and default direction, zero as missing, categories outside every split to the
right), and the result equals ``booster.predict(X, pred_contrib=True)`` up to floating-point
summation order (tested within 1e-9 on numerical, categorical, missing-valued and
zero-as-missing features). Two threads each take half of the trees.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["FastTreeShap", "fast_pred_contrib"]

_ZERO = 1e-35  # LightGBM's kZeroThreshold: |x| <= this is "zero" for zero-as-missing
_ZERO_MISSING, _NAN_MISSING = "Zero", "NaN"
# Keys are built in mixed radix; before a running key could pass this bound it is compacted
# to its distinct values (pandas.factorize), so it never overflows int64.
_KEY_LIMIT = 2**62


@dataclass
class _Leaf:
    value: float
    features: np.ndarray  # positions in the tree's feature list, unique along the path
    zero_fractions: np.ndarray
    satisfied: list  # per path feature: bool over the tree's classes of that feature


@dataclass
class _Tree:
    features: list  # model feature indices the tree splits on
    luts: list  # per feature: global class -> tree class
    leaves: list
    expected_value: float


class _GlobalClasses:
    """Per feature, the class of every value between all thresholds of all trees."""

    def __init__(self, structures: list, n_features: int):
        self.categorical, found = set(), {}
        for node in (node for structure in structures for node in _internal_nodes(structure)):
            if node["decision_type"] == "==":
                self.categorical.add(node["split_feature"])
            else:
                found.setdefault(node["split_feature"], set()).add(float(node["threshold"]))
        self.thresholds = [np.array(sorted(found.get(f, ()))) for f in range(n_features)]

    def encode(self, matrix: np.ndarray) -> tuple[np.ndarray, dict]:
        """Classes (n_features, n_rows), and per categorical feature the largest class seen."""
        codes = np.empty((matrix.shape[1], matrix.shape[0]), dtype=np.int32)
        n_categories = {}
        for f in range(matrix.shape[1]):
            column = matrix[:, f]
            missing = np.isnan(column)
            if f in self.categorical:
                # NaN and negative values go right at every categorical split: class 0.
                values = np.where(missing | (column < 0), -1, np.trunc(np.nan_to_num(column)))
                codes[f] = values.astype(np.int64) + 1
                n_categories[f] = int(codes[f].max(initial=0))
            else:
                thresholds = self.thresholds[f]
                codes[f] = np.searchsorted(thresholds, column, side="left")
                codes[f][np.abs(column) <= _ZERO] = thresholds.size + 1
                codes[f][missing] = thresholds.size + 2
        return codes, n_categories


def _internal_nodes(structure: dict):
    stack = [structure]
    while stack:
        node = stack.pop()
        if "split_feature" in node:
            yield node
            stack.extend((node["left_child"], node["right_child"]))


def _parse_tree(structure: dict, global_classes: _GlobalClasses, n_categories: dict) -> _Tree:
    """Leaves, paths and per-feature class tables of one dumped tree."""
    nodes, leaves_paths = [], []
    stack = [(structure, [])]  # iterative: a leaf-wise tree can be deeper than Python recursion
    while stack:
        node, path = stack.pop()
        if "split_feature" not in node:
            leaves_paths.append((node, path))
            continue
        nodes.append(node)
        stack.append((node["right_child"], path + [(node, False)]))
        stack.append((node["left_child"], path + [(node, True)]))
    features = sorted({node["split_feature"] for node in nodes})
    position = {f: i for i, f in enumerate(features)}
    luts, directions = [], {}
    for f in features:
        on_f = [node for node in nodes if node["split_feature"] == f]
        if f in global_classes.categorical:
            luts.append(_categorical_classes(on_f, n_categories[f] + 1, directions))
        else:
            luts.append(_numerical_classes(f, on_f, global_classes, directions))
    leaves = []
    for leaf, path in leaves_paths:
        zero, satisfied = {}, {}
        for node, left in path:
            child = node["left_child"] if left else node["right_child"]
            fraction = _count(child) / _count(node)
            p = position[node["split_feature"]]
            zero[p] = zero.get(p, 1.0) * fraction
            way = directions[id(node)] if left else ~directions[id(node)]
            satisfied[p] = satisfied[p] & way if p in satisfied else way
        order = sorted(zero)
        leaves.append(_Leaf(float(leaf.get("leaf_value", 0.0)), np.array(order, dtype=np.int64),
                            np.array([zero[p] for p in order]), [satisfied[p] for p in order]))
    if nodes:  # Tree::ExpectedValue: the leaves weighted by their training counts
        expected = sum(leaf["leaf_value"] * _count(leaf) for leaf, _ in leaves_paths) / _count(structure)
    else:
        expected = structure.get("leaf_value", 0.0)
    return _Tree(features, luts, leaves, float(expected))


def _count(node: dict) -> float:
    return float(node["leaf_count"] if "leaf_index" in node else node["internal_count"])


def _numerical_classes(f, on_f, global_classes, directions) -> np.ndarray:
    """Global class -> tree class for a numerical feature; each node's left-going classes."""
    everywhere = global_classes.thresholds[f]
    mine = np.array(sorted({float(node["threshold"]) for node in on_f}))
    n = mine.size
    lut = np.empty(everywhere.size + 3, dtype=np.int64)
    lut[: everywhere.size] = np.searchsorted(mine, everywhere, side="left")
    lut[everywhere.size] = n
    zero_as_missing = any(node["missing_type"] == _ZERO_MISSING for node in on_f)
    lut[everywhere.size + 1] = n + 1 if zero_as_missing else np.searchsorted(mine, 0.0, side="left")
    lut[everywhere.size + 2] = n + 2
    for node in on_f:
        k = int(np.searchsorted(mine, float(node["threshold"])))
        left = np.zeros(n + 3, dtype=bool)
        left[: k + 1] = True  # interval i holds (mine[i-1], mine[i]]: left when i <= k
        missing_type, default_left = node["missing_type"], bool(node["default_left"])
        left[n + 1] = default_left if missing_type == _ZERO_MISSING else 0.0 <= node["threshold"]
        # NaN: routed by default when missing is NaN; otherwise read as 0.0 first
        left[n + 2] = default_left if missing_type in (_NAN_MISSING, _ZERO_MISSING) else 0.0 <= node["threshold"]
        directions[id(node)] = left
    return lut


def _categorical_classes(on_f, size, directions) -> np.ndarray:
    """Global class (code + 1; 0: missing or negative) -> tree class, merging categories that
    every split of the tree sends the same way."""
    signature = np.zeros(size, dtype=np.int64)
    members = []
    for bit, node in enumerate(on_f):
        codes = np.array([int(c) + 1 for c in str(node["threshold"]).split("||")], dtype=np.int64)
        codes = codes[codes < size]
        signature[codes] |= 1 << bit
        members.append(codes)
    signature[0] = -1  # missing: its own class (goes right everywhere, like an unused code)
    signatures, lut = np.unique(signature, return_inverse=True)
    for bit, node in enumerate(on_f):
        directions[id(node)] = ((signatures >> bit) & 1).astype(bool) & (signatures >= 0)
    return lut.astype(np.int64)


def _shapley_weights(d: int) -> np.ndarray:
    return np.array([math.factorial(s) * math.factorial(d - 1 - s) / math.factorial(d) for s in range(d)])


def _leaf_contributions(leaf: _Leaf, bits: np.ndarray) -> np.ndarray:
    """SHAP contributions of one leaf, (n, d), for each row of ``bits`` (n, d) of 0/1."""
    z = leaf.zero_fractions
    n, d = bits.shape
    # Q(t) = prod_j (z_j + o_j t); the coalitions S of size s sit in the coefficient of t^s.
    poly = np.zeros((n, d + 1))
    poly[:, 0] = 1.0
    for j in range(d):
        shifted = poly[:, :-1] * bits[:, j : j + 1]
        poly *= z[j]
        poly[:, 1:] += shifted
    weights = _shapley_weights(d)
    out = np.empty((n, d))
    for i in range(d):
        # Q_i = Q / (z_i + o_i t): the game without feature i, by synthetic division.
        o = bits[:, i]
        without = np.empty((n, d))
        without[:, d - 1] = poly[:, d]
        for s in range(d - 1, 0, -1):
            without[:, s - 1] = poly[:, s] - z[i] * without[:, s]
        divided = poly[:, :d] / z[i]
        without = np.where(o[:, None] > 0, without, divided)
        out[:, i] = leaf.value * (o - z[i]) * (without @ weights)
    return out


class FastTreeShap:
    """Exact TreeSHAP values of a LightGBM booster, as ``booster.predict(X, pred_contrib=True)``.

    Parameters
    ----------
    booster : lightgbm.Booster
        A binary or regression model (one output per row).
    num_iteration : int, optional
        Trees to explain, as in ``booster.predict``; default: the best iteration if there is
        one, else all.
    n_jobs : int, default=2
        Threads, each explaining a share of the trees.

    Examples
    --------
    >>> import lightgbm
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2_000, 3)); X[::7, 1] = np.nan
    >>> y = (X[:, 0] + np.nan_to_num(X[:, 1]) + rng.normal(size=2_000) > 0).astype(int)
    >>> booster = lightgbm.train({"objective": "binary", "num_leaves": 7, "verbose": -1},
    ...                          lightgbm.Dataset(X, y), num_boost_round=20)
    >>> fast = FastTreeShap(booster).pred_contrib(X)
    >>> bool(np.allclose(fast, booster.predict(X, pred_contrib=True), atol=1e-9))
    True
    """

    def __init__(self, booster, *, num_iteration: int | None = None, n_jobs: int = 2):
        self.booster = booster
        self.n_jobs = n_jobs
        if num_iteration is None or num_iteration <= 0:
            num_iteration = booster.best_iteration or None
        dump = booster.dump_model(num_iteration=num_iteration)
        if dump.get("num_tree_per_iteration", 1) != 1:
            raise ValueError("fast TreeSHAP explains models with one output (binary, regression), "
                             f"not {dump['num_tree_per_iteration']} trees an iteration")
        if "\nis_linear=1" in booster.model_to_string(num_iteration=num_iteration):
            raise ValueError("fast TreeSHAP does not explain linear trees: use booster.predict(X, pred_contrib=True)")
        self.n_features = len(dump["feature_names"])
        self._structures = [info["tree_structure"] for info in dump["tree_info"]]
        self._classes = _GlobalClasses(self._structures, self.n_features)

    def pred_contrib(self, X) -> np.ndarray:
        """Contributions (n_rows, n_features + 1) in the model's raw score; last column: base value."""
        matrix = np.ascontiguousarray(_numeric_matrix(self.booster, X))
        if matrix.shape[1] != self.n_features:
            raise ValueError(f"X has {matrix.shape[1]} features; the model was trained on {self.n_features}")
        codes, n_categories = self._classes.encode(matrix)
        rows, distinct = _distinct_columns(codes)
        unique_codes = np.ascontiguousarray(codes[:, rows])
        del codes
        trees = [_parse_tree(structure, self._classes, n_categories) for structure in self._structures]
        shares = np.array_split(np.arange(len(trees)), max(1, min(self.n_jobs, len(trees))))
        with ThreadPoolExecutor(len(shares)) as pool:
            parts = list(pool.map(lambda share: _explain_trees([trees[t] for t in share], unique_codes,
                                                               self.n_features), shares))
        total = np.sum(parts, axis=0)
        return np.ascontiguousarray(total.T[distinct])


def _distinct_columns(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One representative column index per distinct column of ``codes``, and each column's group."""
    key = _mixed_radix(codes[f] for f in range(codes.shape[0]))
    groups, uniques = pd.factorize(key)
    first = np.empty(len(uniques), dtype=np.int64)
    first[groups[::-1]] = np.arange(groups.size - 1, -1, -1)
    return first, groups


def _mixed_radix(columns) -> np.ndarray:
    key, bound = None, 1
    for column in columns:
        n = int(column.max(initial=0)) + 1
        if key is None:
            key, bound = column.astype(np.int64), n
            continue
        if bound * n >= _KEY_LIMIT:
            key, uniques = pd.factorize(key)
            bound = len(uniques)
        key = key * n + column
        bound *= n
    return key


def _explain_trees(trees: list, codes: np.ndarray, n_features: int) -> np.ndarray:
    """Sum of the trees' contributions for each column of ``codes``: (n_features + 1, n)."""
    n = codes.shape[1]
    out = np.zeros((n_features + 1, n))
    for tree in trees:
        out[-1] += tree.expected_value
        if not tree.features:
            continue
        classes = [lut[codes[f]] for f, lut in zip(tree.features, tree.luts)]
        key = _mixed_radix(classes)
        pattern_of_row, patterns = pd.factorize(key)
        first = np.empty(len(patterns), dtype=np.int64)
        first[pattern_of_row] = np.arange(n)
        pattern_classes = [c[first] for c in classes]
        contributions = np.zeros((len(tree.features), len(patterns)))
        for leaf in tree.leaves:
            d = leaf.features.size
            if d == 0:
                continue
            leaf_code = np.zeros(len(patterns), dtype=np.int32 if d < 31 else np.int64)
            for j, (p, satisfied) in enumerate(zip(leaf.features, leaf.satisfied)):
                leaf_code |= satisfied[pattern_classes[p]].astype(leaf_code.dtype) << j
            present, code_of_pattern = _distinct_small(leaf_code, d)
            bits = ((present[:, None] >> np.arange(d)) & 1).astype(np.float64)
            table = np.ascontiguousarray(_leaf_contributions(leaf, bits).T)
            for j, p in enumerate(leaf.features):
                contributions[p] += table[j][code_of_pattern]
        for p, f in enumerate(tree.features):
            out[f] += contributions[p][pattern_of_row]
    return out


def _distinct_small(codes: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of ``codes`` (``d``-bit integers) and each one's index among them;
    a dense table instead of sorting while 2**d is small."""
    if d > 20:
        index, present = pd.factorize(codes)
        return np.asarray(present), index
    seen = np.zeros(1 << d, dtype=bool)
    seen[codes] = True
    present = np.flatnonzero(seen)
    position = np.zeros(1 << d, dtype=np.int32)
    position[present] = np.arange(present.size, dtype=np.int32)
    return present, position[codes]


def _numeric_matrix(booster, X) -> np.ndarray:
    """The float matrix LightGBM predicts on (category codes as the model learnt them)."""
    if isinstance(X, pd.DataFrame):
        from vsvrisk._compat import lightgbm_data_from_pandas

        return lightgbm_data_from_pandas(X, booster.pandas_categorical)
    return np.asarray(X, dtype=np.float64)


def fast_pred_contrib(booster, X, *, num_iteration: int | None = None, n_jobs: int = 2) -> np.ndarray:
    """Exact TreeSHAP values of a LightGBM booster, equal to ``booster.predict(X, pred_contrib=True)``.

    Shorthand for ``FastTreeShap(booster, num_iteration=..., n_jobs=...).pred_contrib(X)``.

    Examples
    --------
    >>> import lightgbm
    >>> rng = np.random.default_rng(1)
    >>> X = rng.integers(0, 4, size=(1_000, 2)).astype(float)
    >>> y = (X[:, 0] + rng.normal(size=1_000) > 1.5).astype(int)
    >>> booster = lightgbm.train({"objective": "binary", "num_leaves": 4, "verbose": -1},
    ...                          lightgbm.Dataset(X, y), num_boost_round=5)
    >>> fast_pred_contrib(booster, X).shape
    (1000, 3)
    """
    return FastTreeShap(booster, num_iteration=num_iteration, n_jobs=n_jobs).pred_contrib(X)
