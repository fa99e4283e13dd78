"""Exact TreeSHAP for LightGBM, as ``booster.predict(X, pred_contrib=True)`` gives it, only faster.

LightGBM's ``pred_contrib`` runs path-dependent TreeSHAP row by row and tree by tree:
``O(leaves x depth^2)`` for each. This module computes the same numbers with three shortcuts:

1. **classes** (:mod:`~vsvrisk._lgbm.classes`): every value becomes the class of values
   that every split of the model treats alike, decided exactly as LightGBM's
   ``Tree::Decision`` does (missing values, zero as missing at ``kZeroThreshold``, categorical
   bitsets, the ``int`` cast of a category); rows with the same classes are explained once.
2. **patterns** (:mod:`~vsvrisk.explain._shap_kernels`): a leaf's contributions depend only
   on which of its path features a row satisfies, so they are tabulated per pattern (as WOODELF
   does) instead of unwinding the path for every row (as LightGBM and GPU TreeSHAP do).
3. **cuts** (:mod:`~vsvrisk.explain._tree_tables`): a whole subtree, often the whole tree,
   answers a row with one table lookup per cut, not one per leaf and path feature.

Rows go through compiled loops (numba) on ``n_jobs`` threads. The result equals
``pred_contrib`` up to the order of floating-point sums (tested to 1e-9 on random boosters of
every kind LightGBM makes, and on the contribution tests of LightGBM's and shap's own suites).
Inputs it cannot read itself (a pyarrow or polars table, a file name) go to ``pred_contrib``
with a :class:`ContribFallbackWarning` that says so; it is never silently different.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import scipy.sparse

from vsvrisk._lgbm.classes import FeatureClasses
from vsvrisk._lgbm.model import ModelArrays, iteration_range, parse_model
from vsvrisk.explain._tree_tables import plan_tree

__all__ = ["ContribFallbackWarning", "FastTreeShap", "fast_pred_contrib"]


class ContribFallbackWarning(UserWarning):
    """Part of a request was answered by LightGBM's own ``pred_contrib``; the message says why."""


class FastTreeShap:
    """Exact TreeSHAP values of a LightGBM model, equal to ``booster.predict(X, pred_contrib=True)``.

    Parameters
    ----------
    model : lightgbm.Booster or fitted lightgbm.LGBMModel
        Any model LightGBM makes (any objective, boosting type and number of classes), trained,
        early stopped, continued, or loaded from a file or string.
    start_iteration : int, default=0
        First iteration explained, as in ``booster.predict``.
    num_iteration : int, optional
        Iterations explained, as in ``booster.predict``: ``None`` means the best iteration when
        there is one and ``start_iteration <= 0``, else all; ``<= 0`` means all from
        ``start_iteration`` on.
    n_jobs : int, default=2
        Threads that share the rows; -1: one per core.

    Examples
    --------
    >>> import lightgbm
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2_000, 3)); X[::7, 1] = np.nan
    >>> y = (X[:, 0] + np.nan_to_num(X[:, 1]) + rng.normal(size=2_000) > 0).astype(int)
    >>> booster = lightgbm.train({"objective": "binary", "num_leaves": 7, "verbose": -1},
    ...                          lightgbm.Dataset(X, y), num_boost_round=20)
    >>> fast = FastTreeShap(booster).pred_contrib(X)
    >>> bool(np.allclose(fast, booster.predict(X, pred_contrib=True), rtol=0, atol=1e-9))
    True
    """

    def __init__(self, model, *, start_iteration: int = 0, num_iteration: int | None = None, n_jobs: int = 2):
        self.booster = _booster_of(model)
        self.start_iteration = start_iteration
        self.num_iteration = num_iteration
        self.n_jobs = n_jobs
        if num_iteration is None:  # Booster.predict's own reading of None
            num_iteration = self.booster.best_iteration if start_iteration <= 0 else -1
        self._num_iteration = num_iteration
        full = parse_model(self.booster.model_to_string(num_iteration=-1))
        if full.is_linear:
            raise ValueError("LightGBM cannot explain linear trees (linear_tree=True): neither "
                             "pred_contrib nor this explainer gives SHAP values for them")
        first, last = iteration_range(full.num_iterations, start_iteration, num_iteration)
        per_iteration = full.num_tree_per_iteration
        self._model = ModelArrays(full.trees[first * per_iteration:last * per_iteration], per_iteration,
                                  full.n_features, full.feature_names, False)
        self.n_features = full.n_features
        self._fallback = None
        try:
            self._classes = FeatureClasses(self._model)
        except ValueError as error:  # a hand-edited model; LightGBM itself never makes one
            self._fallback = str(error)
            return
        width = self._classes.features.size + 1  # compact: the used features, then the base
        self._plans = [plan_tree(tree, self._classes, (i % per_iteration) * width)
                       for i, tree in enumerate(self._model.trees)]

    def pred_contrib(self, X):
        """Contributions in the model's raw score, shaped as ``pred_contrib`` shapes them.

        Parameters
        ----------
        X : array-like, DataFrame or scipy.sparse matrix
            Rows to explain, with the model's features.

        Returns
        -------
        ndarray (n_rows, n_classes * (n_features + 1)), or for sparse input a sparse matrix of
        the same format (a list of them, one per class, for multiclass models). The last
        column of each class is its base value (the trees' expected value).
        """
        kind, data = _read_input(self.booster, X)
        if kind == "other" or self._fallback is not None:
            return self._fallback_contrib(X, stacklevel=3)
        compact, inverse = self._compact(kind, data)
        targets = self._targets()
        if kind == "dense":
            values = np.zeros((inverse.size, self._n_outputs() * (self.n_features + 1)))
            values[:, targets] = compact[inverse]
            return values
        return _as_sparse(compact[inverse], targets, kind, data.dtype, self._n_outputs(), self.n_features + 1)

    def _distinct_contrib(self, X) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(values, inverse, columns)``: ``pred_contrib(X)[:, columns]`` is ``values[inverse]``.

        ``values`` holds each distinct row of ``X``'s classes once, ``columns`` are the columns of
        ``pred_contrib``'s answer that can be non-zero (the features the trees use and the base
        value, per class); a row of ``X`` is explained by its distinct row ``inverse[i]``. For a
        national cohort (a million rows, a few hundred thousand distinct) this skips writing the
        full (rows x features) table that :meth:`pred_contrib` returns. Dense input only (a
        DataFrame or ndarray); other input goes through :meth:`pred_contrib`, one row each.
        """
        kind, data = _read_input(self.booster, X)
        if kind != "dense" or self._fallback is not None:  # pred_contrib warns where it falls back
            values = self.pred_contrib(X)
            values = values.toarray() if scipy.sparse.issparse(values) else np.asarray(values)
            return values, np.arange(values.shape[0]), np.arange(values.shape[1])
        compact, inverse = self._compact(kind, data)
        return compact, inverse, self._targets()

    def _n_outputs(self) -> int:
        return self._model.num_tree_per_iteration

    def _targets(self) -> np.ndarray:
        """The columns of pred_contrib's layout that the compact columns (per class: the used
        features, then the base value) go to."""
        width = self.n_features + 1
        used = self._classes.features
        return np.concatenate([k * width + np.append(used, self.n_features) for k in range(self._n_outputs())])

    def _fallback_contrib(self, X, stacklevel: int):
        reason = self._fallback or f"input of type {type(X).__name__} is read by LightGBM only"
        warnings.warn(f"fast TreeSHAP: {reason}; answered by booster.predict(pred_contrib=True)",
                      ContribFallbackWarning, stacklevel=stacklevel)
        return self.booster.predict(X, pred_contrib=True, start_iteration=self.start_iteration,
                                    num_iteration=self._num_iteration)

    def _compact(self, kind: str, data) -> tuple[np.ndarray, np.ndarray]:
        """The compact contributions of the distinct rows of ``data``, and each row's distinct row."""
        if data.shape[1] != self.n_features:
            raise ValueError(f"the number of features in X ({data.shape[1]}) is not the number the model "
                             f"was trained with ({self.n_features})")
        used = self._classes.features
        if kind == "dense":
            columns = np.asarray(data[:, used], dtype=np.float64)
        else:
            columns = data.tocsc()[:, used].toarray().astype(np.float64, copy=False)
        codes = self._classes.encode(columns, sparse=kind != "dense")
        n_classes = self._n_outputs()
        jobs = (os.cpu_count() or 1) if self.n_jobs == -1 else max(1, int(self.n_jobs))
        if codes.shape[0] == 0:
            return np.zeros((0, n_classes * (used.size + 1))), np.zeros(0, dtype=np.int64)
        # imported here, not above: compiling tools (numba) load only when rows are explained
        from vsvrisk.explain._engine import explain_distinct

        return explain_distinct(self._plans, self._classes, codes, n_classes, jobs)


def _booster_of(model):
    booster = getattr(model, "booster_", model)  # a fitted LGBMModel raises if not fitted
    if not hasattr(booster, "model_to_string"):
        raise TypeError(f"expected a lightgbm.Booster or a fitted LightGBM estimator, got {type(model).__name__}")
    return booster


def _read_input(booster, X):
    """('dense', float ndarray), ('csr' | 'csc', sparse matrix) or ('other', None), as predict reads X."""
    if isinstance(X, pd.DataFrame):
        from vsvrisk._compat import lightgbm_data_from_pandas

        return "dense", lightgbm_data_from_pandas(X, booster.pandas_categorical)
    if isinstance(X, (scipy.sparse.csr_matrix, scipy.sparse.csc_matrix)):
        kind = "csr" if isinstance(X, scipy.sparse.csr_matrix) else "csc"
        return kind, X if X.dtype in (np.float32, np.float64) else X.astype(np.float64)
    if scipy.sparse.issparse(X):  # predict turns any other sparse input into a csr_matrix
        return _read_input(booster, scipy.sparse.csr_matrix(X))
    if isinstance(X, list):
        X = np.array(X)
    if isinstance(X, np.ndarray):
        if X.ndim != 2:
            raise ValueError(f"X must be 2-dimensional, got {X.ndim} dimension(s)")
        # predict passes float32 and float64 on as they are and turns anything else into float32
        return "dense", X if X.dtype in (np.float32, np.float64) else X.astype(np.float32)
    return "other", None


def _as_sparse(compact: np.ndarray, targets: np.ndarray, kind: str, dtype, n_classes: int, width: int):
    """``pred_contrib``'s answer to sparse input: the input's format and float type, one matrix
    per class (a list for multiclass models), built without a dense (rows x features) step."""
    build = scipy.sparse.csr_matrix if kind == "csr" else scipy.sparse.csc_matrix
    per_class = compact.shape[1] // n_classes
    matrices = []
    for k in range(n_classes):
        block = scipy.sparse.coo_matrix(compact[:, k * per_class:(k + 1) * per_class].astype(dtype, copy=False))
        matrix = build((block.data, (block.row, targets[k * per_class + block.col] - k * width)),
                       shape=(compact.shape[0], width))
        matrix.eliminate_zeros()
        matrices.append(matrix)
    return matrices[0] if n_classes == 1 else matrices


def fast_pred_contrib(model, X, *, start_iteration: int = 0, num_iteration: int | None = None, n_jobs: int = 2):
    """Exact TreeSHAP values of a LightGBM model, equal to ``booster.predict(X, pred_contrib=True)``.

    Shorthand for ``FastTreeShap(model, start_iteration=..., num_iteration=..., n_jobs=...).pred_contrib(X)``.

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
    return FastTreeShap(model, start_iteration=start_iteration, num_iteration=num_iteration,
                        n_jobs=n_jobs).pred_contrib(X)
