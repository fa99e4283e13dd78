"""Encode the model matrix: fixed ``category`` columns (LightGBM) or one-hot (logistic model)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from vsvrisk._compat import StrOptions, _check_feature_names_in, _fit_context

from vsvrisk.exceptions import SchemaError
from vsvrisk.features._base import check_frame, require_columns

__all__ = ["CategoryEncoder"]

#: What pandas.api.types.infer_dtype calls an object column that holds only numbers.
_NUMERIC_KINDS = {"integer", "floating", "mixed-integer-float", "decimal", "boolean", "empty"}


def _is_categorical(series: pd.Series) -> bool:
    """A column is categorical by default when it holds labels: category, string or object text."""
    dtype = series.dtype
    if isinstance(dtype, (pd.CategoricalDtype, pd.StringDtype)):
        return True
    return pd.api.types.is_object_dtype(dtype) and (
        pd.api.types.infer_dtype(series, skipna=True) not in _NUMERIC_KINDS
    )


def _check_values(series: pd.Series, column: str, who: str) -> None:
    # A dict or a list in a cell is no level and no number; say so instead of "unhashable".
    if pd.api.types.is_object_dtype(series.dtype):
        kind = pd.api.types.infer_dtype(series, skipna=True)
        if kind not in _NUMERIC_KINDS | {"string", "mixed-integer"}:
            raise TypeError(
                f"{who}: column '{column}' holds {kind} values; each argument must be a "
                "string or a number"
            )


def _learn_levels(series: pd.Series) -> list:
    """The levels seen in ``series``: in the dtype's order for a category, else sorted."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        seen = np.unique(codes[codes >= 0])
        return list(series.cat.categories[seen])
    values = pd.unique(series.dropna())
    try:
        return sorted(values)
    except TypeError:  # numbers and strings together: order them as text
        return sorted(values, key=str)


def _level_codes(series: pd.Series, levels: list) -> np.ndarray:
    """The position of each value in ``levels``; -1 for a missing or unknown value."""
    # A hash lookup in pandas (or, for a category column, a lookup of its few categories):
    # far faster than a Python dict over 1.5 million rows.
    index = pd.Index(levels)
    if isinstance(series.dtype, pd.CategoricalDtype):
        mapping = np.append(index.get_indexer(series.cat.categories), -1)
        return mapping[series.cat.codes.to_numpy()].astype(np.int32)  # code -1 picks the -1
    return index.get_indexer(series).astype(np.int32)


class CategoryEncoder(TransformerMixin, BaseEstimator):
    """Encode categorical columns for a learner; other columns pass through as numbers.

    Two encodings of the same fitted levels:

    - ``"category"`` (for LightGBM): each categorical column becomes a pandas ``category``
      column whose categories are the levels learnt in ``fit``, as text. Train and score
      frames therefore get identical categories, which LightGBM needs to map its splits.
      A value not seen in ``fit`` becomes missing (NaN), with a warning.
    - ``"onehot"`` (for the logistic model): one 0/1 column per level (as scikit-learn's
      ``OneHotEncoder`` makes them), columns named ``<column>_<level>``. With
      ``drop="first"`` the reference level of each column is dropped, so a logistic model's
      coefficients are log odds ratios against it: by default the first level (the dtype's first category that was seen, or the
      smallest value), or the one given in ``reference``. A value not seen in ``fit`` becomes
      all zeros (as ``handle_unknown="ignore"``), with a warning: with a reference dropped, that
      is the reference level's row, so such a person is scored as the reference.

    The levels of a column are those seen in ``fit``: for a ``category`` column in the order
    of its categories, otherwise sorted; they are kept as text (``mbo_level`` 1 becomes
    ``"1"``). A missing value becomes the level ``missing_level`` (default ``"none"``: for
    ``mbo_level`` outside mbo it means "not in mbo"), appended last when it was seen in
    ``fit``; with ``missing_level=None`` it stays missing (NaN, or all zeros one-hot).

    Every other column (boolean, integer, float) passes through as float64, missing as NaN.

    Parameters
    ----------
    columns : list of str or None, default=None
        The categorical columns. ``None``: every column of ``category``, string or text dtype.
        Integer codes such as ``mbo_level`` and ``urbanisation`` are only categorical when
        listed here.
    encoding : {"category", "onehot"}, default="category"
    drop : {"first"} or None, default="first"
        One-hot only: drop each column's reference level, or keep every level.
    reference : dict or None, default=None
        One-hot only: the reference level per column, e.g. ``{"parents": "both"}``; a number
        is compared as text (``{"mbo_level": 4}`` means level ``"4"``).
    missing_level : str or None, default="none"
        The level a missing value becomes; ``None`` keeps it missing.

    Attributes
    ----------
    categories_ : dict of str to list of str
        The levels of each categorical column, in output order.
    reference_ : dict of str to str
        The dropped level of each categorical column (one-hot with ``drop="first"`` only,
        otherwise empty).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Set when ``X`` is a DataFrame.

    See Also
    --------
    sklearn.preprocessing.OneHotEncoder : the same one-hot columns, without pandas output,
        reference levels or a missing level.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"parents": pd.Categorical(["one", "both", "none"],
    ...                                             categories=["both", "one", "none"]),
    ...                   "mbo_level": pd.array([2, None, 4], dtype="Int64"),
    ...                   "crime_suspect": [True, False, False]})
    >>> encoder = CategoryEncoder(columns=["parents", "mbo_level"], encoding="onehot",
    ...                           reference={"mbo_level": 4})
    >>> encoder.fit_transform(X)
       parents_one  parents_none  mbo_level_2  mbo_level_none  crime_suspect
    0          1.0           0.0          1.0             0.0            1.0
    1          0.0           0.0          0.0             1.0            0.0
    2          0.0           1.0          0.0             0.0            0.0
    >>> as_category = encoder.set_params(encoding="category").fit_transform(X)
    >>> as_category["mbo_level"].cat.categories.tolist()
    ['2', '4', 'none']
    """

    _parameter_constraints = {
        "columns": ["array-like", None],
        "encoding": [StrOptions({"category", "onehot"})],
        "drop": [StrOptions({"first"}), None],
        "reference": [dict, None],
        "missing_level": [str, None],
    }

    def __init__(
        self, columns=None, encoding="category", drop="first", reference=None, missing_level="none"
    ):
        self.columns = columns
        self.encoding = encoding
        self.drop = drop
        self.reference = reference
        self.missing_level = missing_level

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the levels of every categorical column (and the reference levels).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self : CategoryEncoder
        """
        who = type(self).__name__
        X = check_frame(self, X, reset=True)
        if self.columns is None:
            categorical = [c for c in X.columns if _is_categorical(X[c])]
        else:
            categorical = [str(c) for c in self.columns]
            require_columns(X, categorical, who)
        for column in X.columns:
            _check_values(X[column], column, who)
            if column not in categorical:
                self._numeric(X[column], column, who)
        levels, categories = {}, {}
        for column in categorical:
            series = X[column]
            values = _learn_levels(series)
            labels = [str(value) for value in values]
            if len(set(labels)) < len(labels):
                raise SchemaError(f"{who}: column '{column}' has levels that read the same as text")
            if self.missing_level is not None and series.isna().any():
                if self.missing_level in labels:
                    raise SchemaError(
                        f"{who}: column '{column}' has missing values and a level "
                        f"'{self.missing_level}' already: choose another missing_level"
                    )
                labels.append(self.missing_level)
            if not labels:
                raise SchemaError(
                    f"{who}: column '{column}' has no values in fit, so it has no levels: "
                    "leave it out or set missing_level"
                )
            levels[column], categories[column] = values, labels
        reference = self._check_reference(categories, who)
        self._levels = levels
        self.categories_ = categories
        self.reference_ = reference if self.encoding == "onehot" and self.drop == "first" else {}
        return self

    def _check_reference(self, categories: dict, who: str) -> dict:
        given = dict(self.reference or {})
        for column, level in given.items():
            if column not in categories:
                raise SchemaError(
                    f"{who}: reference names column '{column}', which is not categorical here: "
                    f"use one of {', '.join(categories) or '(none)'}"
                )
            if str(level) not in categories[column]:
                raise SchemaError(
                    f"{who}: reference level '{level}' of column '{column}' was not seen in fit: "
                    f"use one of {', '.join(categories[column])}"
                )
        return {
            column: str(given[column]) if column in given else labels[0]
            for column, labels in categories.items()
            if labels
        }

    def transform(self, X):
        """Encode ``X`` with the levels learnt in ``fit``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        Xt : DataFrame, indexed as ``X``, with the columns of :meth:`get_feature_names_out`.
        """
        check_is_fitted(self)
        X = check_frame(self, X, reset=False)
        who = type(self).__name__
        onehot = self.encoding == "onehot"
        codes, numeric = {}, {}
        for column in X.columns:
            if column in self.categories_:
                unseen_as = "all zeros" if onehot else "NaN"
                codes[column] = self._codes(X[column], column, unseen_as=unseen_as)
            else:
                numeric[column] = self._numeric(X[column], column, who)
        if not onehot:
            output = {
                column: pd.Categorical.from_codes(codes[column], self.categories_[column])
                if column in codes
                else numeric[column]
                for column in X.columns
            }
            return pd.DataFrame(output, index=X.index)
        names = self.get_feature_names_out()
        # Column-major: what pandas stores, and each output column is one contiguous write (a
        # level's column compares the codes with it; an unseen value, code -1, matches none).
        matrix = np.empty((len(X), len(names)), dtype=np.float64, order="F")
        start = 0
        for column in X.columns:
            if column not in codes:
                matrix[:, start] = numeric[column]
                start += 1
                continue
            for index, level in enumerate(self.categories_[column]):
                if level != self.reference_.get(column):
                    np.equal(codes[column], index, out=matrix[:, start], casting="unsafe")
                    start += 1
        return pd.DataFrame(matrix, columns=names, index=X.index, copy=False)

    def _codes(self, series: pd.Series, column: str, unseen_as: str) -> np.ndarray:
        codes = _level_codes(series, self._levels[column])
        missing = series.isna().to_numpy()
        if self.missing_level is not None and self.missing_level in self.categories_[column]:
            codes[missing] = self.categories_[column].index(self.missing_level)
        unseen = (codes < 0) & ~missing
        if self.missing_level is not None and self.missing_level not in self.categories_[column]:
            unseen |= missing  # missing never seen in fit: as new as an unseen level
        if unseen.any():
            example = series[unseen].iloc[0]
            warnings.warn(
                f"{type(self).__name__}: column '{column}' has {int(unseen.sum())} values not seen "
                f"in fit (e.g. {example!r}); they are encoded as {unseen_as}",
                UserWarning,
                stacklevel=3,
            )
        return codes

    @staticmethod
    def _numeric(series: pd.Series, column: str, who: str) -> np.ndarray:
        try:
            return series.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            raise SchemaError(
                f"{who}: column '{column}' (dtype {series.dtype}) is neither numeric nor listed "
                "in columns: add it to columns or leave it out of the model matrix"
            ) from None

    def _output_levels(self, column: str) -> list[str]:
        return [level for level in self.categories_[column] if level != self.reference_.get(column)]

    def get_feature_names_out(self, input_features=None):
        """The output columns: the input columns, each categorical one expanded when one-hot."""
        check_is_fitted(self)
        columns = _check_feature_names_in(self, input_features)
        if self.encoding != "onehot":
            return np.asarray(columns, dtype=object)
        names = []
        for column in columns:
            if column in self.categories_:
                names.extend(f"{column}_{level}" for level in self._output_levels(column))
            else:
                names.append(column)
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags
