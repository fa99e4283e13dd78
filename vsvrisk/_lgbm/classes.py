"""Each input value as its *class*: what every split of the model can tell about it, and no more.

Two values in the same class go the same way at every node of every tree, so the model
cannot tell them apart; the SHAP values are computed per class. The classes follow LightGBM's
``Tree::NumericalDecision`` and ``Tree::CategoricalDecision`` (``include/LightGBM/tree.h``):

- **numerical** feature with sorted thresholds ``t_0 < ... < t_{T-1}`` (over all trees): a
  non-missing value ``x`` has class ``2 * i + z``, with ``i`` the number of thresholds below
  ``x`` (so ``x <= t_k`` exactly when ``i <= k``) and ``z`` whether ``x`` is zero to LightGBM
  (``|x| <= kZeroThreshold``, the float ``1e-35f``, for zero-as-missing); NaN has class ``2T + 2``.
  Dense input is read as LightGBM's dense readers do (``RowPairFunctionFromDenseMatrix``): a
  value with ``|x| <= kZeroThreshold`` is passed on as exactly 0.0. Sparse input passes its stored
  values on unchanged (``RowFunctionFromCSR``), so there ``i`` is taken from ``x`` itself.
- **categorical** feature: class 0 for every value that goes right at every split (NaN, a value
  that casts to a negative ``int``, one outside ``int``'s range, and a category that no split
  names), and ``1 + k`` for the ``k``-th category named by some split. The cast truncates
  (``static_cast<int>``): -0.5 is category 0 and 2.7 is category 2. Outside ``int``'s range the
  cast gives ``INT_MIN`` on x86-64 (and saturates on ARM), which goes right: class 0 either way,
  checked against LightGBM in the tests.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from vsvrisk._lgbm.model import MISSING_NAN, MISSING_ZERO, ModelArrays

#: LightGBM's kZeroThreshold (include/LightGBM/meta.h): the double nearest the float 1e-35f.
ZERO_THRESHOLD = float(np.float32(1e-35))
_INT_LIMIT = 2.0**31  # values at or beyond this do not fit LightGBM's int cast
_DENSE_CATEGORY_TABLE = 1 << 22  # above this category code, look categories up by search
_KEY_LIMIT = 2**62  # mixed-radix keys are numbered (made smaller) before they could overflow
_THREADED_FROM = 100_000  # rows from which the columns are encoded on several threads


class FeatureClasses:
    """The classes of every feature the trees split on.

    Parameters
    ----------
    model : ModelArrays
        The trees explained.

    Attributes
    ----------
    features : ndarray of int
        The model's feature indices that some tree splits on; column ``j`` of :meth:`encode`'s
        result is feature ``features[j]``.
    categorical : ndarray of bool
        Per used feature, whether its splits are categorical.
    n_classes : ndarray of int
        Per used feature, its number of classes.
    """

    def __init__(self, model: ModelArrays):
        kinds, thresholds, categories = {}, {}, {}
        for tree in model.trees:
            for node, feature in enumerate(tree.split_feature):
                feature = int(feature)
                categorical = tree.is_categorical(node)
                if kinds.setdefault(feature, categorical) != categorical:
                    raise ValueError(f"feature {feature} has both numerical and categorical splits")
                if categorical:
                    categories.setdefault(feature, set()).update(tree.categories(node).tolist())
                else:
                    thresholds.setdefault(feature, set()).add(float(tree.threshold[node]))
        self.features = np.array(sorted(kinds), dtype=np.int64)
        self.column = {int(f): j for j, f in enumerate(self.features)}
        self.categorical = np.array([kinds[f] for f in self.features], dtype=bool)
        self.values = [np.array(sorted(categories[f] if kinds[f] else thresholds[f]),
                                dtype=np.int64 if kinds[f] else np.float64) for f in self.features]
        self.n_classes = np.array([v.size + 1 if c else 2 * v.size + 3
                                   for v, c in zip(self.values, self.categorical)], dtype=np.int64)
        # per categorical feature, category code -> class (an empty table: codes are searched)
        self._category_tables = {j: _category_table(self.values[j]) for j in np.flatnonzero(self.categorical).tolist()}

    def encode(self, columns, *, sparse: bool = False, n_jobs: int = 1) -> np.ndarray:
        """Classes (n_rows, n_used_features) int32 of the used features' values.

        ``columns`` holds the used features' values, one column each: a float matrix (any
        layout; float32 is read as LightGBM reads it, widened to double) or a list of 1-D
        arrays. ``sparse``: the values came from a sparse matrix (stored values are not rounded
        to zero). The result is column-major (each feature's classes side by side); its columns
        are encoded on up to ``n_jobs`` threads.
        """
        # imported here: the compiled loops (numba) load only when rows are encoded
        from vsvrisk._lgbm import _kernels

        if hasattr(columns, "shape"):
            n, columns = columns.shape[0], [columns[:, j] for j in range(columns.shape[1])]
        else:
            columns = list(columns)
            n = columns[0].shape[0] if columns else 0
        codes = np.empty((len(columns), n), dtype=np.int32)

        def encode_column(j):
            if self.categorical[j]:
                _kernels.encode_categorical(columns[j], self.values[j], self._category_tables[j], _INT_LIMIT, codes[j])
            else:
                _kernels.encode_numerical(columns[j], self.values[j], int(self.n_classes[j] - 1), ZERO_THRESHOLD,
                                          sparse, codes[j])

        if n_jobs > 1 and len(columns) > 1 and n >= _THREADED_FROM:
            with ThreadPoolExecutor(min(n_jobs, len(columns))) as pool:
                list(pool.map(encode_column, range(len(columns))))
        else:
            for j in range(len(columns)):
                encode_column(j)
        return codes.T

    def node_tables(self, tree) -> tuple[np.ndarray, np.ndarray, list, list, list]:
        """One tree's features and each split as a 0/1 table over its tree classes.

        Returns ``columns`` (the tree's features, as columns among the used ones), ``node_feature``
        (per node, its feature's position in ``columns``), ``luts`` (per tree feature, global class
        -> tree class, :meth:`tree_classes`), ``sizes`` (per tree feature, its number of tree
        classes) and ``lefts`` (per node, whether each tree class of its feature goes left).
        """
        node_column = np.array([self.column[int(f)] for f in tree.split_feature], dtype=np.int64)
        columns, node_feature = np.unique(node_column, return_inverse=True)
        luts, sizes, lefts = [], [], [None] * node_column.size
        for f, column in enumerate(columns.tolist()):
            nodes = np.flatnonzero(node_feature == f)
            lut, left = self.tree_classes(tree, column, nodes)
            luts.append(lut)
            sizes.append(left.shape[0])
            for i, node in enumerate(nodes.tolist()):
                lefts[node] = left[:, i]
        return columns, node_feature, luts, sizes, lefts

    def tree_classes(self, tree, column: int, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The classes one tree can tell apart on one feature, and where its nodes send them.

        Returns ``lut`` (global class -> tree class, int32) and ``left`` (n_tree_classes,
        len(nodes)): whether each tree class goes left at each of the tree's ``nodes`` on the
        feature. A numerical feature's tree classes are ``2 * i + z`` as the global ones, with
        ``i`` counted over this tree's thresholds only, and NaN last.
        """
        if self.categorical[column]:
            left = np.zeros((self.n_classes[column], nodes.size), dtype=bool)
            for i, node in enumerate(nodes):
                left[1:, i] = np.isin(self.values[column], tree.categories(node))
            return np.arange(self.n_classes[column], dtype=np.int32), left
        thresholds = self.values[column]
        at = np.searchsorted(thresholds, tree.threshold[nodes])  # each node's global threshold index
        mine = np.unique(at)
        interval, zero = np.divmod(np.arange(self.n_classes[column]), 2)
        lut = 2 * np.searchsorted(mine, interval, side="left") + zero
        lut[-1] = 2 * mine.size + 2  # NaN
        n_tree = 2 * mine.size + 3
        interval, zero = np.divmod(np.arange(n_tree), 2)
        nan = np.arange(n_tree) == n_tree - 1
        zero_interval = np.searchsorted(thresholds, 0.0, side="left")
        left = np.empty((n_tree, nodes.size), dtype=bool)
        for i, node in enumerate(nodes):
            k = int(np.searchsorted(mine, at[i]))
            left[:, i] = interval <= k  # x <= threshold: at most k of this tree's thresholds below x
            missing_type, default_left = tree.missing_type(node), tree.default_left(node)
            if missing_type == MISSING_ZERO:
                left[(zero == 1) & ~nan, i] = default_left
            # NaN is routed by default where missing is NaN; elsewhere it is read as 0.0 first
            # (and 0.0 is missing where missing is Zero).
            if missing_type in (MISSING_NAN, MISSING_ZERO):
                left[-1, i] = default_left
            else:
                left[-1, i] = zero_interval <= at[i]
        return lut.astype(np.int32), left


def _category_table(categories: np.ndarray) -> np.ndarray:
    """Category code -> class (one slot past the largest category standing for every code above
    it), or empty where the codes are too large for a table and are searched instead."""
    if categories.size == 0:
        return np.zeros(1, dtype=np.int32)
    if categories[-1] >= _DENSE_CATEGORY_TABLE:
        return np.zeros(0, dtype=np.int32)
    table = np.zeros(int(categories[-1]) + 2, dtype=np.int32)
    table[categories] = np.arange(1, categories.size + 1, dtype=np.int32)
    return table


def distinct_rows(codes: np.ndarray, n_classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``codes`` in order of first appearance (the row index of each, rising),
    and each row's group.

    Rows are numbered by a hash table of their mixed-radix keys: one pass, no sort.
    """
    first, groups, _, _ = _numbered(codes, n_classes)
    return first, groups


def sorted_distinct(codes: np.ndarray, n_classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``codes`` in sorted order (one row index each), and each row's group.

    Sorted with the features of fewest classes first, so that neighbouring rows differ in the
    finest features: a tree that does not tell those apart sees runs of equal rows. Each distinct
    row's index is its first occurrence. Only the distinct rows are sorted (:func:`distinct_rows`
    finds them).
    """
    first, groups, keys, radix_order = _numbered(codes, n_classes)
    if keys is not None:
        order = np.argsort(keys)  # distinct keys: no ties
    else:  # lexicographic in the radix order (lexsort's last key is its first)
        order = np.lexsort(codes[first][:, radix_order[::-1]].T)
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    return first[order], rank[groups]


def _numbered(codes: np.ndarray, n_classes: np.ndarray):
    """(first, groups) of :func:`distinct_rows`, each distinct row's mixed-radix key (None where a
    key would have overflowed: it was numbered on the way, a smaller radix with the same rows
    equal, and no longer sorts as the rows do) and the radix order of the columns."""
    from vsvrisk._lgbm import _kernels  # the compiled loops load only when rows are grouped

    key, bound, exact = np.zeros(codes.shape[0], dtype=np.int64), 1, True
    radix_order = np.argsort(n_classes, kind="stable")
    for j in radix_order.tolist():
        if bound * int(n_classes[j]) >= _KEY_LIMIT:
            key, first, _ = _kernels.number_keys(key)
            bound, exact = first.size, False
        _kernels.add_digit(key, int(n_classes[j]), codes[:, j])
        bound *= int(n_classes[j])
    groups, first, keys = _kernels.number_keys(key)
    return first, groups, keys if exact else None, radix_order
