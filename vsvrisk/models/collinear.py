"""Drop columns of a model matrix that an unpenalised logistic model cannot identify."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["DropDuplicateColumns"]


class DropDuplicateColumns(TransformerMixin, BaseEstimator):
    """Drop constant columns and columns identical to an earlier one (learnt in ``fit``).

    Why: in the mbo model with vavo pupils, ``mbo_level_none``, ``mbo_pathway_none`` and
    ``mbo_field_none`` are all the same indicator ("a vavo pupil"), and in the vo model every
    mbo column is constant. An unpenalised logistic regression cannot separate such columns
    (its information matrix is singular); keeping the first of each identical set keeps the
    model identified and its odds ratios readable (``mbo_level_none`` is then "vavo").

    Attributes
    ----------
    dropped_ : list of str
        Columns removed, each constant or a copy of a kept column.
    feature_names_out_ : ndarray of str

    Examples
    --------
    >>> X = pd.DataFrame({"a": [1.0, 0.0, 1.0], "b": [1.0, 0.0, 1.0], "c": [2.0, 2.0, 2.0], "d": [0.0, 1.0, 1.0]})
    >>> DropDuplicateColumns().fit(X).dropped_
    ['b', 'c']
    """

    def fit(self, X: pd.DataFrame, y=None):
        X = pd.DataFrame(X)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        seen: dict[str, list[str]] = {}
        kept, dropped = [], []
        for name in X.columns:
            values = X[name].to_numpy()
            if len(values) and (values == values[0]).all():
                dropped.append(name)
                continue
            digest = hashlib.sha1(np.ascontiguousarray(values).tobytes()).hexdigest()
            twins = seen.setdefault(digest, [])
            if any(np.array_equal(values, X[other].to_numpy()) for other in twins):
                dropped.append(name)
                continue
            twins.append(name)
            kept.append(name)
        self.dropped_ = dropped
        self.feature_names_out_ = np.asarray(kept, dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "feature_names_out_")
        return pd.DataFrame(X)[list(self.feature_names_out_)]

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()
