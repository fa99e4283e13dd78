"""Conversion of a person-year frame to the code book's dtypes, value by value.

Each converter takes a column and returns the converted column and a mask of the values it
could not read (text in a number column, an unknown code, a date that does not exist): those
become missing, and :func:`_convert` reports each such column once, so pandas never raises on
a bad value and it is not reported a second time by the schema.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from vsvrisk.data._messages import _found, _message
from vsvrisk.data.codes import CATEGORICAL_CODES, COLUMNS

#: Fixed categories, so that every cohort, read from any file, has identical dtypes.
_CATEGORY_DTYPES = {name: pd.CategoricalDtype(list(codes)) for name, codes in CATEGORICAL_CODES.items()}
_TRUE, _FALSE = ("true", "1"), ("false", "0")
# What datetime64[ns] can hold; the age rule refuses anything near these dates anyway.
_FIRST_DATE, _LAST_DATE = pd.Timestamp("1678-01-01"), pd.Timestamp("2261-12-31")



def _from_text(values: pd.Series, convert: Callable) -> tuple[pd.Series, np.ndarray]:
    """Convert text through its distinct values: 1.5 million cells hold only a few thousand."""
    if values.dtype == object:  # Python objects (a parquet date, a list): as the text they print
        values = values.astype("string")
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = pd.Series(uniques).astype("string").str.strip()
    converted, bad = convert(text.mask(text == ""))  # an empty cell is missing
    # Code -1 (a missing cell) takes the fill value, and picks the appended False.
    result = pd.Series(converted.array.take(codes, allow_fill=True), index=values.index)
    return result, np.append(bad, False)[codes]


def _whole(number: pd.Series, present: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    # Whole numbers only, and small enough for int64 (a float holds integers exactly up to 2**53).
    whole = ((number % 1 == 0) & (number.abs() <= 2**53)).to_numpy(dtype=bool, na_value=False)
    return number.where(whole).astype("Int64"), present & ~whole


def _to_integer(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_integer_dtype(values.dtype):
        return values, np.zeros(len(values), bool)
    if pd.api.types.is_bool_dtype(values.dtype):  # true/false is not a number of years
        return pd.Series(pd.NA, index=values.index, dtype="Int64"), values.notna().to_numpy()
    if pd.api.types.is_float_dtype(values.dtype):
        return _whole(values.astype("Float64"), values.notna().to_numpy())
    return _from_text(values, lambda text: _whole(pd.to_numeric(text, errors="coerce").astype("Float64"),
                                                   text.notna().to_numpy()))


def _booleans(is_true, is_false, present: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    is_true = is_true.to_numpy(dtype=bool, na_value=False)
    known = is_true | is_false.to_numpy(dtype=bool, na_value=False)
    return pd.Series(pd.arrays.BooleanArray(is_true, ~known)), present & ~known


def _to_boolean(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_bool_dtype(values.dtype):  # bool and the nullable boolean
        return values, np.zeros(len(values), bool)
    if pd.api.types.is_numeric_dtype(values.dtype):  # 1/0 from a typed file
        result, bad = _booleans(values == 1, values == 0, values.notna().to_numpy())
        return result.set_axis(values.index), bad
    return _from_text(values, lambda text: _booleans(text.str.lower().isin(_TRUE), text.str.lower().isin(_FALSE),
                                                     text.notna().to_numpy()))


def _in_date_range(parsed: pd.Series, present: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    parsed = parsed.where((parsed >= _FIRST_DATE) & (parsed <= _LAST_DATE))
    return parsed.astype("datetime64[ns]"), present & parsed.isna().to_numpy()


def _to_date(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_localize(None)
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return _in_date_range(values, values.notna().to_numpy())
    return _from_text(values, lambda text: _in_date_range(
        pd.to_datetime(text, format="%Y-%m-%d", errors="coerce"), text.notna().to_numpy()))


def _to_category(values: pd.Series, dtype: pd.CategoricalDtype) -> tuple[pd.Series, np.ndarray]:
    if isinstance(values.dtype, pd.CategoricalDtype) and set(values.cat.categories) <= set(dtype.categories):
        return values.astype(dtype), np.zeros(len(values), bool)  # recodes without touching text

    def from_text(text):
        codes = dtype.categories.get_indexer(text)  # -1: missing, or not a code
        return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype)), text.notna().to_numpy() & (codes == -1)

    return _from_text(values, from_text)


def _to_string(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    text = values.astype("string")
    return text.mask(text == ""), np.zeros(len(values), bool)


_CONVERTERS = {"int64": _to_integer, "Int64": _to_integer, "bool": _to_boolean, "boolean": _to_boolean,
               "datetime64[ns]": _to_date, "string": _to_string}
_EXPECTED = {  # in-memory dtype -> (what the values must be, how to write them)
    "int64": ("values must be whole numbers", "write digits only, without decimals or units"),
    "Int64": ("values must be whole numbers or empty", "write digits only, or leave the cell empty"),
    "bool": ("values must be true or false", "write true/false or 1/0"),
    "boolean": ("values must be true, false or empty", "write true/false or 1/0, or leave the cell empty"),
    "datetime64[ns]": ("values must be dates written YYYY-MM-DD", "write ISO dates, e.g. 2004-10-01"),
    "string": ("values must be text", "write the value as text"),
}


def _convert(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, np.ndarray], list[tuple]]:
    converted, unreadable, problems = {}, {}, []
    for position, (name, dtype) in enumerate(COLUMNS.items()):
        if name not in frame.columns:
            continue
        values = frame[name]
        if name in _CATEGORY_DTYPES:
            convert = lambda values, name=name: _to_category(values, _CATEGORY_DTYPES[name])  # noqa: E731
            rule, fix = f"values must be one of {', '.join(CATEGORICAL_CODES[name])}", "use the code book's codes"
        else:
            convert, (rule, fix) = _CONVERTERS[dtype], _EXPECTED[dtype]
        try:
            result, bad = convert(values)
        except (TypeError, ValueError, OverflowError) as error:
            # A column type nobody foresaw still gets a readable message rather than a traceback.
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            problems.append(((position, -1), f"column '{name}': cannot be read as {dtype} ({reason}): "
                                             "correct the column's values"))
            result, bad = pd.Series(pd.NA, index=values.index, dtype=object), np.ones(len(values), bool)
        else:
            if bad.any():
                rows = np.flatnonzero(bad)
                problems.append(((position, -1), _message(name, rule + _found(values, rows), rows, fix)))
            # Exactly the code book's dtype (int32 -> int64, bool -> boolean, ...), except that a
            # non-nullable column with gaps keeps a nullable dtype: pandera reports the gaps.
            if dtype not in ("int64", "bool") or not result.isna().any():
                result = result.astype(_CATEGORY_DTYPES.get(name, dtype))
        converted[name], unreadable[name] = result, bad
    converted.update({name: frame[name] for name in frame.columns if name not in COLUMNS})
    # copy=False: one block per column instead of stacking 3 M rows of each dtype into one (0.5 s);
    # pandas copies on write, so the frame given and the frame returned stay independent.
    return pd.DataFrame(converted, index=frame.index, copy=False), unreadable, problems


