"""Age in completed years at the reference date, and CBS's age groups."""

from __future__ import annotations

import calendar
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from vsvrisk._compat import Interval, _fit_context
from sklearn.utils.validation import check_is_fitted

from vsvrisk.data.codes import (
    AGE_GROUP_BOUNDS,
    DEFAULT_UPPER_AGE,
    MODEL_GROUP,
    MODEL_GROUPS,
    REFERENCE_MONTH_DAY,
    age_group_categories,
    age_group_labels,
)
from vsvrisk.exceptions import SchemaError
from vsvrisk.features._base import check_frame, feature_names_out, first_rows, require_columns

__all__ = ["AgeAtReferenceDate", "age_group_categories"]  # the categories live in the code book


def _age_group_lookup(
    upper_age: int, categories: tuple[str, ...]
) -> dict[str, tuple[int, np.ndarray]]:
    """Per model group: the youngest age with its own row, and the category code of each age.

    ``codes[clip(age, first, last) - first]`` is the code of a person's group; the first label
    ("<=n") covers every age up to ``first`` and the last covers the oldest ages.
    """
    lookup = {}
    for group in MODEL_GROUPS:
        labels = age_group_labels(group, upper_age)
        first = [b for b in AGE_GROUP_BOUNDS[group] if b < upper_age][0] - 1
        lookup[group] = (first, np.array([categories.index(label) for label in labels]))
    return lookup


class AgeAtReferenceDate(TransformerMixin, BaseEstimator):
    """Age in completed years on the reference date of the school year, and its CBS group.

    The reference date of school year *t* is 1 October of year *t* (DESIGN section 3). Age is
    compared as (month, day) pairs, never by building a date, so a birthday on 29 February is
    simply later in the year than 28 February: in a year without 29 February such a person
    turns a year older on 1 March (after 28 February), and nothing can fail.

    Reads ``birth_date``, ``school_year`` and ``sector``; other columns are ignored. Writes:

    - ``age`` (int64): completed years on the reference date.
    - ``age_group`` (category): the CBS group of the person's model group (vo: ``<=14, 15, 16,
      17, 18, >=19``; mbo and vavo: ``<=16, 17, ..., upper_age - 1``). The categories are the
      union of both, in the order of :func:`age_group_categories`, the same for every frame.

    Parameters
    ----------
    reference_month, reference_day : int, default=10, 1
        The reference date within year *t* (29 February is allowed, 30 February is not).
    upper_age : int, default=23
        The population is younger than this (23; 27 under the 2026 definition). It sets the
        last mbo group; a row aged ``upper_age`` or more is outside the population and an
        error. Between 20 and 27, the range over which CBS's groups are defined.

    Attributes
    ----------
    categories_ : tuple of str
        The categories of ``age_group``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Set when ``X`` is a DataFrame.

    See Also
    --------
    age_group_categories : the categories of ``age_group``.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({
    ...     "birth_date": pd.to_datetime(["2002-10-01", "2002-10-02", "2004-02-29"]),
    ...     "school_year": [2018, 2018, 2018],
    ...     "sector": pd.Categorical(["mbo", "mbo", "vo"]),
    ... })
    >>> AgeAtReferenceDate().fit_transform(X)
       age age_group
    0   16      <=16
    1   15      <=16
    2   14      <=14
    """

    _parameter_constraints = {
        "reference_month": [Interval(Integral, 1, 12, closed="both")],
        "reference_day": [Interval(Integral, 1, 31, closed="both")],
        "upper_age": [Interval(Integral, 20, 27, closed="both")],
    }

    def __init__(
        self,
        reference_month=REFERENCE_MONTH_DAY[0],
        reference_day=REFERENCE_MONTH_DAY[1],
        upper_age=DEFAULT_UPPER_AGE,
    ):
        self.reference_month = reference_month
        self.reference_day = reference_day
        self.upper_age = upper_age

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the parameters and that ``X`` has the columns it needs.

        Parameters
        ----------
        X : DataFrame
            With ``birth_date``, ``school_year`` and ``sector``.
        y : ignored

        Returns
        -------
        self : AgeAtReferenceDate
        """
        # 2000 is a leap year: any (month, day) that exists in some year exists in it.
        days = calendar.monthrange(2000, self.reference_month)[1]
        if self.reference_day > days:
            raise ValueError(
                f"reference date {self.reference_day}/{self.reference_month} does not exist: "
                f"month {self.reference_month} has at most {days} days"
            )
        X = check_frame(self, X, reset=True)
        require_columns(X, ("birth_date", "school_year", "sector"), type(self).__name__)
        self.categories_ = age_group_categories(self.upper_age)
        return self

    def transform(self, X):
        """Compute ``age`` and ``age_group``.

        Parameters
        ----------
        X : DataFrame
            With ``birth_date`` (datetime), ``school_year`` (int) and ``sector``
            (``vo``, ``mbo`` or ``vavo``).

        Returns
        -------
        Xt : DataFrame with columns ``age`` and ``age_group``, indexed as ``X``.
        """
        check_is_fitted(self)
        X = check_frame(self, X, reset=False)
        who = type(self).__name__
        require_columns(X, ("birth_date", "school_year", "sector"), who)
        age = self._age(X, who)
        too_old = age >= self.upper_age
        if too_old.any():
            raise SchemaError(
                f"{who}: {int(too_old.sum())} rows are {self.upper_age} or older on the "
                f"reference date (rows {first_rows(too_old, X.index)}); the population is "
                f"younger than upper_age={self.upper_age}: filter these rows out or raise upper_age"
            )
        codes = self._group_codes(X["sector"], age, who)
        group = pd.Categorical.from_codes(codes, categories=list(self.categories_))
        return pd.DataFrame({"age": age, "age_group": group}, index=X.index)

    def _age(self, X: pd.DataFrame, who: str) -> np.ndarray:
        birth = X["birth_date"]
        if not pd.api.types.is_datetime64_any_dtype(birth):
            raise SchemaError(
                f"{who}: column 'birth_date' has dtype {birth.dtype}, not a date: convert it "
                "with pandas.to_datetime (files use ISO dates, YYYY-MM-DD)"
            )
        year = X["school_year"]
        for name, column in (("birth_date", birth), ("school_year", year)):
            missing = column.isna().to_numpy()
            if missing.any():
                raise SchemaError(
                    f"{who}: column '{name}' has {int(missing.sum())} missing values "
                    f"(rows {first_rows(missing, X.index)}): every row needs one"
                )
        if not pd.api.types.is_integer_dtype(year):
            raise SchemaError(f"{who}: column 'school_year' has dtype {year.dtype}, not integer")
        born_year = birth.dt.year.to_numpy(dtype=np.int64)
        born_month = birth.dt.month.to_numpy(dtype=np.int64)
        born_day = born_month * 100 + birth.dt.day.to_numpy(dtype=np.int64)
        # One year fewer when the birthday falls after the reference date in the calendar year.
        not_yet = born_day > self.reference_month * 100 + self.reference_day
        return year.to_numpy(dtype=np.int64) - born_year - not_yet

    def _group_codes(self, sector: pd.Series, age: np.ndarray, who: str) -> np.ndarray:
        # Work on the categories, not the rows: a handful of labels instead of 1.5 million.
        sector = sector.astype("category")
        known = [MODEL_GROUP.get(str(label)) for label in sector.cat.categories]
        sector_codes = sector.cat.codes.to_numpy()
        unknown = sector_codes < 0
        for code, group in enumerate(known):
            if group is None:
                unknown |= sector_codes == code
        if unknown.any():
            bad = sorted({str(value) for value in sector[unknown].astype(object)})
            raise SchemaError(
                f"{who}: column 'sector' has {int(unknown.sum())} rows with an unknown or "
                f"missing sector ({', '.join(bad)}; rows {first_rows(unknown, sector.index)}): "
                f"use one of {', '.join(MODEL_GROUP)}"
            )
        lookup = _age_group_lookup(self.upper_age, self.categories_)
        # An unused category that is no sector maps to -1; no row has it (checked above).
        position = [MODEL_GROUPS.index(group) if group else -1 for group in known]
        group_of_row = np.array(position, dtype=np.int64)[sector_codes] if known else sector_codes
        codes = np.empty(len(age), dtype=np.int64)
        for index, group in enumerate(MODEL_GROUPS):
            first, table = lookup[group]
            rows = group_of_row == index
            codes[rows] = table[np.clip(age[rows], first, first + len(table) - 1) - first]
        return codes

    def get_feature_names_out(self, input_features=None):
        """The output columns: ``age`` and ``age_group``."""
        check_is_fitted(self)
        return feature_names_out(self, input_features, ("age", "age_group"))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.transformer_tags.preserves_dtype = []
        return tags
