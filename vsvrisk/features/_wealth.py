"""Household wealth percentile in CBS's five groups."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from vsvrisk._compat import _fit_context
from sklearn.utils.validation import check_is_fitted

from vsvrisk.data.codes import WEALTH_GROUP_EDGES
from vsvrisk.data.codes import WEALTH_MISSING as MISSING
from vsvrisk.exceptions import SchemaError
from vsvrisk.features._base import check_frame, feature_names_out, first_rows, require_columns

__all__ = ["WealthGroup"]

def _group_name(column: str) -> str:
    # wealth_percentile -> wealth_group; any other column c -> c_group.
    stem = column.removesuffix("_percentile")
    return f"{stem}_group"


def _group_codes(X: pd.DataFrame, column: str, edges: np.ndarray, who: str) -> np.ndarray:
    """The group code of every row: 0 for q1, ..., k - 1 for qk, k for missing."""
    require_columns(X, [column], who)
    series = X[column]
    dtype = series.dtype
    if isinstance(dtype, (pd.CategoricalDtype, pd.StringDtype)) or (
        pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
    ):
        raise SchemaError(
            f"{who}: column '{column}' (dtype {series.dtype}) is not a percentile: "
            "it must hold numbers (missing allowed)"
        )
    # Nullable integers (Int64) become floats with NaN for a missing value.
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.isnan(values)
    with np.errstate(invalid="ignore"):
        outside = ~missing & ((values < edges[0]) | (values > edges[-1]))
    if outside.any():
        # scikit-learn's phrase for negative input, so its checks recognise the error.
        lead = f"Negative values in data passed to {who}" if np.nanmin(values) < 0 else who
        raise SchemaError(
            f"{lead}: column '{column}' has {int(outside.sum())} values outside "
            f"[{edges[0]:g}, {edges[-1]:g}] (rows {first_rows(outside, X.index)}): "
            "fix the data or the edges"
        )
    n_groups = len(edges) - 1
    # side="right" puts a value equal to an edge in the group it opens; the top edge
    # itself closes the last group.
    codes = np.searchsorted(edges, values, side="right") - 1
    codes = np.minimum(codes, n_groups - 1)
    codes[missing] = n_groups
    return codes


class WealthGroup(TransformerMixin, BaseEstimator):
    """Group a percentile into ``q1``, ..., ``qk``, with ``missing`` for an unknown value.

    With the default edges ``(0, 20, 40, 60, 80, 100)``: [0, 20) -> ``q1``, [20, 40) -> ``q2``,
    ..., [80, 100] -> ``q5`` (the last group is closed, so 100 is ``q5``), and a missing value
    -> ``missing``. The output is a ``category`` column whose categories are always
    ``q1, ..., qk, missing``, whatever the frame. A value outside the edges is an error.

    Each column in ``columns`` gives one group column: ``wealth_percentile`` ->
    ``wealth_group``; any other name ``c`` -> ``c_group``.

    Parameters
    ----------
    edges : sequence of numbers, default=(0, 20, 40, 60, 80, 100)
        Strictly increasing group boundaries; ``len(edges) - 1`` groups.
    columns : list of str or None, default=("wealth_percentile",)
        The percentile columns to group. ``None`` groups every column of ``X``.

    Attributes
    ----------
    categories_ : tuple of str
        ``q1, ..., qk, missing``.
    edges_ : ndarray of float
        The edges, checked.
    columns_ : tuple of str
        The columns grouped.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Set when ``X`` is a DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"wealth_percentile": pd.array([0, 19, 20, 100, None], dtype="Int64")})
    >>> WealthGroup().fit_transform(X)["wealth_group"].tolist()
    ['q1', 'q1', 'q2', 'q5', 'missing']
    """

    _parameter_constraints = {
        "edges": ["array-like"],
        "columns": ["array-like", None],
    }

    def __init__(self, edges=WEALTH_GROUP_EDGES, columns=("wealth_percentile",)):
        self.edges = edges
        self.columns = columns

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the edges and that every value in ``X`` lies within them.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self : WealthGroup
        """
        who = type(self).__name__
        try:
            edges = np.asarray(self.edges, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{who}: edges must be numbers, got {self.edges!r}") from None
        if edges.ndim != 1 or len(edges) < 2 or not np.all(np.isfinite(edges)):
            raise ValueError(
                f"{who}: edges must be at least two finite numbers, got {self.edges!r}"
            )
        if np.any(np.diff(edges) <= 0):
            raise ValueError(f"{who}: edges must be strictly increasing, got {self.edges!r}")
        X = check_frame(self, X, reset=True)
        columns = list(X.columns) if self.columns is None else [str(c) for c in self.columns]
        if not columns:
            raise ValueError(f"{who}: columns is empty: list at least one percentile column")
        for column in columns:
            _group_codes(X, column, edges, who)
        self.edges_ = edges
        self.columns_ = tuple(columns)
        self.categories_ = (*(f"q{i}" for i in range(1, len(edges))), MISSING)
        return self

    def transform(self, X):
        """Group every percentile column.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        Xt : DataFrame with one ``category`` column per grouped column, indexed as ``X``.
        """
        check_is_fitted(self)
        X = check_frame(self, X, reset=False)
        who = type(self).__name__
        categories = list(self.categories_)
        return pd.DataFrame(
            {
                _group_name(column): pd.Categorical.from_codes(
                    _group_codes(X, column, self.edges_, who), categories=categories
                )
                for column in self.columns_
            },
            index=X.index,
        )

    def get_feature_names_out(self, input_features=None):
        """The output columns: ``<stem>_group`` for each ``<stem>_percentile`` column."""
        check_is_fitted(self)
        return feature_names_out(self, input_features, map(_group_name, self.columns_))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        # Percentiles are never negative, so the generic checks shift their data to >= 0.
        tags.input_tags.positive_only = True
        tags.transformer_tags.preserves_dtype = []
        return tags
