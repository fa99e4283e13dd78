"""Multiproblematiek: problems stacked across life domains, counted (DESIGN section 3)."""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from vsvrisk._compat import Interval, _fit_context
from sklearn.utils.validation import check_array, check_is_fitted

from vsvrisk.data.codes import MULTIPROBLEM_THRESHOLD, PROBLEM_FLAGS
from vsvrisk.exceptions import SchemaError
from vsvrisk.features._base import check_frame, feature_names_out, first_rows, require_columns

__all__ = ["Multiproblematiek"]


class Multiproblematiek(TransformerMixin, BaseEstimator):
    """Count the problem domains of each person; ``threshold`` or more is multiproblematiek.

    CBS counts problems across the life domains of the young person and the legal parents
    (debts, benefits, crime suspicion, youth and mental health care, ...); two or more is
    *multiproblematiek*, with a vsv rate about four times higher.

    A domain counts when its value is ``True`` or a non-zero number (as ``bool(value)``), so
    boolean and 0/1 columns both work. A missing value is an error: "unknown" is not "no
    problem", and counting it as either would bias the count.

    Writes ``problem_count`` (int64) and ``multiproblematiek`` (bool, count >= threshold).

    Parameters
    ----------
    domains : list of str or None, default=codes.PROBLEM_FLAGS
        The columns to count (the six flags of the person-year table). ``None`` counts every
        column of ``X``.
    threshold : int, default=2
        The number of problems from which a person has multiproblematiek; at most the number
        of domains.

    Attributes
    ----------
    domains_ : tuple of str
        The columns counted.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Set when ``X`` is a DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"problem_debts": [True, True, False],
    ...                   "psychosocial": [True, False, False]})
    >>> Multiproblematiek(domains=["problem_debts", "psychosocial"]).fit_transform(X)
       problem_count  multiproblematiek
    0              2               True
    1              1              False
    2              0              False
    """

    _parameter_constraints = {
        "domains": ["array-like", None],
        "threshold": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, domains=PROBLEM_FLAGS, threshold=MULTIPROBLEM_THRESHOLD):
        self.domains = domains
        self.threshold = threshold

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the domains and the flags in ``X``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self : Multiproblematiek
        """
        X = check_frame(self, X, reset=True)
        domains = list(X.columns) if self.domains is None else [str(name) for name in self.domains]
        who = type(self).__name__
        if not domains:
            raise ValueError(f"{who}: domains is empty: list at least one flag column")
        repeated = sorted({name for name in domains if domains.count(name) > 1})
        if repeated:
            raise ValueError(f"{who}: domains lists {', '.join(map(repr, repeated))} twice")
        if self.threshold > len(domains):
            raise ValueError(
                f"{who}: threshold={self.threshold} is more than the {len(domains)} feature(s) "
                "counted as domains, so nobody could have multiproblematiek: lower the threshold "
                "or add domains"
            )
        self._flags(X, domains, who)
        self.domains_ = tuple(domains)
        return self

    def transform(self, X):
        """Count the problems of each row.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        Xt : DataFrame with ``problem_count`` and ``multiproblematiek``, indexed as ``X``.
        """
        check_is_fitted(self)
        X = check_frame(self, X, reset=False)
        flags = self._flags(X, self.domains_, type(self).__name__)
        count = np.count_nonzero(flags, axis=1).astype(np.int64)
        return pd.DataFrame(
            {"problem_count": count, "multiproblematiek": count >= self.threshold}, index=X.index
        )

    @staticmethod
    def _flags(X: pd.DataFrame, domains, who: str) -> np.ndarray:
        require_columns(X, domains, who)
        flags = X[list(domains)]
        for name in domains:
            column = flags[name]
            if isinstance(column.dtype, (pd.CategoricalDtype, pd.StringDtype)) or (
                pd.api.types.is_datetime64_any_dtype(column.dtype)
            ):
                raise SchemaError(
                    f"{who}: column '{name}' (dtype {column.dtype}) is not a problem flag: "
                    "domains must be boolean or 0/1 columns"
                )
            missing = column.isna().to_numpy()
            if missing.any():
                raise SchemaError(
                    f"{who}: column '{name}' has {int(missing.sum())} missing (NaN) values "
                    f"(rows {first_rows(missing, X.index)}): a problem flag must be true or false"
                )
        # Object columns are read as numbers where they are numbers (scikit-learn's rule), and
        # infinities are refused: they are no flag.
        return check_array(flags, dtype="numeric", ensure_all_finite=True, ensure_min_samples=0)

    def get_feature_names_out(self, input_features=None):
        """The output columns: ``problem_count`` and ``multiproblematiek``."""
        check_is_fitted(self)
        return feature_names_out(self, input_features, ("problem_count", "multiproblematiek"))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags
