"""Predictions of a binary LightGBM model, bit for bit what ``booster.predict`` gives, from tables.

LightGBM predicts a row by walking every tree, one branch a node, and on a large cohort most of
those branches are mispredicted by the processor. Here each tree becomes one table instead: its
features' values become classes (:class:`~vsvrisk._lgbm.classes.FeatureClasses`, decided as
``Tree::Decision`` decides), and the table holds the leaf value of every combination of the tree's
classes. A row then costs one look-up per feature of the tree and one in the table, with no
branch. The leaf values are added tree after tree starting from 0.0, the order in which
``GBDT::PredictRaw`` adds them, and the probability is ``1 / (1 + exp(-sigmoid * score))`` as in
``BinaryLogloss::ConvertOutput``: the same doubles (tested against ``booster.predict``).

A model this does not cover (another objective, random forest averaging, linear trees, several
outputs, a tree whose table would be too large) gets ``None`` from :meth:`TablePredictor.of`,
and the caller asks LightGBM itself.
"""

from __future__ import annotations

import math
import os
import re
import weakref
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

from vsvrisk._lgbm.classes import FeatureClasses, distinct_rows
from vsvrisk._lgbm.model import iteration_range, parse_model

#: The most entries one tree's table may have (8 bytes each); a larger tree is left to LightGBM.
MAX_TABLE = 1 << 16
#: Rows a thread takes through every tree at a time (their codes stay in cache).
_CHUNK_ROWS = 4096
#: The predictors built, per booster (gone with it).
_BUILT = weakref.WeakKeyDictionary()


class TablePredictor:
    """The trees of a fitted binary booster as tables over the classes of their features.

    Build it with :meth:`of`, which returns ``None`` for a model it does not cover.

    Examples
    --------
    >>> import lightgbm
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(5_000, 3)); X[::9, 2] = np.nan
    >>> y = (X[:, 0] + rng.normal(size=5_000) > 0).astype(int)
    >>> booster = lightgbm.train({"objective": "binary", "num_leaves": 7, "verbose": -1},
    ...                          lightgbm.Dataset(X, y), num_boost_round=30)
    >>> predictor = TablePredictor.of(booster)
    >>> bool(np.array_equal(predictor.predict(X), booster.predict(X)))
    True
    """

    def __init__(self, classes, sigmoid, tree_features, columns, luts, lut_offsets, tables, table_offsets):
        self.classes = classes
        self.sigmoid = sigmoid
        self._arrays = (tree_features, columns, luts, lut_offsets, tables, table_offsets)

    @classmethod
    def of(cls, booster, *, start_iteration: int = 0, num_iteration: int | None = None) -> TablePredictor | None:
        """The predictor of ``booster`` as ``booster.predict(start_iteration=..., num_iteration=...)``
        reads them, or ``None`` where this module does not cover the model."""
        # Kept while the booster lives (a cohort is predicted several times by one model); the
        # key changes when the booster is trained further.
        key = (booster.current_iteration(), booster.best_iteration, start_iteration, num_iteration)
        known = _BUILT.setdefault(booster, {})
        if key not in known:
            known[key] = cls._build(booster, start_iteration, num_iteration)
        return known[key]

    @classmethod
    def _build(cls, booster, start_iteration: int, num_iteration: int | None) -> TablePredictor | None:
        text = booster.model_to_string(num_iteration=-1)
        header = text.partition("\nTree=")[0]
        objective = re.search(r"^objective=binary sigmoid:(\S+)$", header, re.MULTILINE)
        if objective is None or "average_output" in header.splitlines():
            return None
        model = parse_model(text)
        if model.is_linear or model.num_tree_per_iteration != 1:
            return None
        if num_iteration is None:  # Booster.predict's own reading of None
            num_iteration = booster.best_iteration if start_iteration <= 0 else -1
        first, last = iteration_range(model.num_iterations, start_iteration, num_iteration)
        model.trees = model.trees[first:last]
        try:
            classes = FeatureClasses(model)
        except ValueError:  # a hand-edited model with numerical and categorical splits on one feature
            return None
        parts = [_tree_table(tree, classes) for tree in model.trees]
        if any(part is None for part in parts):
            return None
        columns = [part[0] for part in parts]
        # each feature's tree class times its stride in the tree's table: a row's entry is a sum
        luts = [lut * stride for part in parts for lut, stride in zip(part[1], part[2].tolist())]
        sizes = [part[3].size for part in parts]
        return cls(
            classes,
            float(objective.group(1)),
            np.concatenate([[0], np.cumsum([c.size for c in columns])]).astype(np.int64),
            _joined(columns, np.int64),
            _joined(luts, np.int64),
            np.concatenate([[0], np.cumsum([lut.size for lut in luts])[:-1]]).astype(np.int64),
            _joined([part[3] for part in parts], np.float64),
            np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64),
        )

    def predict(self, data, *, raw_score: bool = False, n_jobs: int = -1, used_only: bool = False,
                n_rows: int | None = None) -> np.ndarray:
        """The probability (or with ``raw_score`` the raw score) of each row of the float matrix
        ``data`` (the model's features, as LightGBM's dense readers take them; any layout).

        With ``used_only``, ``data`` holds only the features the trees split on
        (``self.classes.features``): a matrix, or a list of 1-D columns with ``n_rows`` rows.
        """
        jobs = (os.cpu_count() or 1) if n_jobs is None or n_jobs < 1 else int(n_jobs)
        used = self.classes.features
        n = data.shape[0] if n_rows is None else n_rows
        columns = data if used_only else [data[:, f] for f in used.tolist()]
        codes = self.classes.encode(columns, n_jobs=jobs) if used.size else np.zeros((n, 0), dtype=np.int32)
        return self.predict_codes(codes, raw_score=raw_score, n_jobs=jobs)

    def predict_codes(self, codes: np.ndarray, *, raw_score: bool = False, n_jobs: int = -1) -> np.ndarray:
        """:meth:`predict` of rows given as their classes: ``codes`` (n_rows, n_used_features),
        as ``self.classes.encode`` returns them."""
        jobs = (os.cpu_count() or 1) if n_jobs is None or n_jobs < 1 else int(n_jobs)
        # Rows of equal classes go to the same leaves: each distinct one once, a feature's classes
        # side by side, in order of first appearance (sorted, as TreeSHAP takes them, measured no
        # faster for the tables of 7-leaf trees, and gathering rising rows is a straight read).
        first, rows = distinct_rows(codes, self.classes.n_classes)
        codes = codes.T
        # the narrowest integers that hold every class: less to read a tree
        codes = np.take(codes, first, axis=1).astype(_narrowest(int(self.classes.n_classes.max(initial=1))))
        n = first.size
        out = np.empty(n)
        jobs = max(1, min(jobs, n // _CHUNK_ROWS or 1))
        bounds = np.linspace(0, n, jobs + 1).astype(np.int64)

        def run(j):
            _predict_rows(codes, out, bounds[j], bounds[j + 1], not raw_score, self.sigmoid, *self._arrays)

        with ThreadPoolExecutor(jobs) as pool:
            list(pool.map(run, range(jobs)))
        return out[rows]


def _tree_table(tree, classes: FeatureClasses):
    """(columns, luts, strides, table) of one tree, or None when its table would be too large."""
    if tree.num_leaves == 1:
        return np.zeros(0, dtype=np.int64), [], np.zeros(0, dtype=np.int64), tree.leaf_value[:1].copy()
    columns, node_feature, luts, sizes, lefts = classes.node_tables(tree)
    luts = [lut.astype(np.int64) for lut in luts]
    if math.prod(sizes) > MAX_TABLE:
        return None
    # every combination of the tree's classes (the first feature varies slowest), walked down at once
    combination = np.indices(sizes).reshape(len(sizes), -1)
    goes_left = np.concatenate(lefts)
    offsets = np.concatenate([[0], np.cumsum([left.size for left in lefts])[:-1]])
    node = np.zeros(combination.shape[1], dtype=np.int64)
    inside = np.flatnonzero(node >= 0)
    while inside.size:
        at = node[inside]
        left = goes_left[offsets[at] + combination[node_feature[at], inside]]
        node[inside] = np.where(left, tree.left_child[at], tree.right_child[at])
        inside = inside[node[inside] >= 0]
    strides = np.array([math.prod(sizes[f + 1:]) for f in range(len(sizes))], dtype=np.int64)
    return columns, luts, strides, tree.leaf_value[~node]


def _narrowest(n_classes: int):
    return np.uint8 if n_classes <= 1 << 8 else np.uint16 if n_classes <= 1 << 16 else np.int32


def _joined(parts: list, dtype) -> np.ndarray:
    parts = [p for p in parts if p.size]
    return np.ascontiguousarray(np.concatenate(parts), dtype=dtype) if parts else np.zeros(0, dtype=dtype)


@njit(nogil=True, cache=True, boundscheck=False, error_model="numpy")
def _predict_rows(codes, out, start, stop, probability, sigmoid, tree_features, columns, luts, lut_offsets, tables,
                  table_offsets):  # pragma: no cover - compiled
    """Rows ``start:stop`` of ``codes`` (features x rows: one feature's classes side by side)."""
    n_trees = table_offsets.size
    index = np.empty(_CHUNK_ROWS, dtype=np.int64)
    for low in range(start, stop, _CHUNK_ROWS):
        high = min(stop, low + _CHUNK_ROWS)
        # slices from 0, no offset in the row loops: measured 1.8x faster
        rows, chunk = high - low, out[low:high]
        chunk[:] = 0.0
        for t in range(n_trees):
            first, last, table = tree_features[t], tree_features[t + 1], table_offsets[t]
            index[:rows] = table
            for f in range(first, last):  # feature by feature: the row loop reads one column straight
                column, lut = codes[columns[f], low:high], lut_offsets[f]
                for r in range(rows):
                    index[r] += luts[lut + column[r]]
            for r in range(rows):
                chunk[r] += tables[index[r]]
        if probability:
            for r in range(rows):
                chunk[r] = 1.0 / (1.0 + math.exp(-sigmoid * chunk[r]))
