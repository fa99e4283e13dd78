"""The contract's value checks as pandera checks that take one numpy pass over 3 million rows.

pandera's built-in ``in_range`` and ``isin`` first drop the gaps of a nullable column (a copy of
the column) and test a category column through ``Categorical.isin``: together about 0.5 s of a
national table's validation. These checks answer the same question from the values the column
already holds (integers looked up in a table of the allowed ones, a category's codes compared
with the allowed codes), count a gap as passing as pandera's ``ignore_na`` does, and carry the
same statistics, so that the schema still says what it checks. A column of another dtype (a frame someone checks
with the schema directly) gets the plain pandas expression.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pandera.pandas as pa

from vsvrisk.data._messages import _MAX_EXAMPLES


def in_range_check(low: int, high: int, error: str) -> pa.Check:
    """pandera's ``in_range`` (both ends included; a gap passes), in one pass."""

    def values_in_range(values: pd.Series) -> pd.Series:
        numbers = _integers(values, fill=low)
        if numbers is None:
            passed = (((values >= low) & (values <= high)) | values.isna()).to_numpy(dtype=bool, na_value=True)
        else:
            passed = (numbers >= low) & (numbers <= high)
        return pd.Series(passed, index=values.index)

    return _check(values_in_range, "values_in_range", {"min_value": low, "max_value": high}, error)


def isin_check(allowed: Sequence, error: str) -> pa.Check:
    """pandera's ``isin`` (a gap passes), as a lookup of each code in a table of the allowed ones."""
    allowed = list(allowed)
    whole = all(isinstance(value, int) and not isinstance(value, bool) for value in allowed)
    low, table = 0, np.zeros(0, dtype=bool)
    if whole and allowed and max(allowed) - min(allowed) < 1 << 20:  # e.g. region codes: a table by value
        low, table = min(allowed), np.zeros(max(allowed) - min(allowed) + 1, dtype=bool)
        table[np.asarray(allowed, dtype=np.int64) - low] = True

    def values_allowed(values: pd.Series) -> pd.Series:
        numbers = _integers(values, fill=low) if len(table) else None
        if isinstance(values.dtype, pd.CategoricalDtype):
            passed = ~_has_code(values, ~values.cat.categories.isin(allowed))  # a gap (code -1) passes
        elif numbers is not None:
            inside = (numbers >= low) & (numbers < low + len(table))
            passed = inside & table[np.where(inside, numbers - low, 0)]
        else:
            passed = (values.isin(allowed) | values.isna()).to_numpy(dtype=bool)
        return pd.Series(passed, index=values.index)

    return _check(values_allowed, "values_allowed", {"allowed_values": allowed}, error)


def in_sectors(frame: pd.DataFrame, sectors: Sequence[str]) -> np.ndarray:
    """Which rows' sector is one of ``sectors`` (``Series.isin``; a gap is in none)."""
    sector = frame["sector"]
    if isinstance(sector.dtype, pd.CategoricalDtype):
        return _has_code(sector, sector.cat.categories.isin(sectors))
    return sector.isin(sectors).to_numpy(dtype=bool)


def _has_code(values: pd.Series, chosen: np.ndarray) -> np.ndarray:
    """Which rows of a category column hold one of the ``chosen`` categories (a mask over them)."""
    codes = values.cat.codes.to_numpy()
    if chosen.all():
        return codes >= 0
    picked = np.flatnonzero(chosen)
    if len(picked) > 8:  # many (a frame checked with the schema directly): a lookup by code
        return np.append(chosen, False)[codes]
    found = np.zeros(len(codes), dtype=bool)
    for code in picked:  # one comparison per code: a few, and cheaper than a lookup
        found |= codes == code
    return found


def _integers(values: pd.Series, fill: int) -> np.ndarray | None:
    """The values as int64 with gaps filled by ``fill``, when they are integers already."""
    if values.dtype == np.int64:
        return values.to_numpy()
    if values.dtype == pd.Int64Dtype():
        return values.to_numpy(dtype=np.int64, na_value=fill)
    return None


def _check(function: Callable, name: str, statistics: dict, error: str) -> pa.Check:
    # The gaps are handled inside (as passing), so pandera need not copy the column without them.
    return pa.Check(function, name=name, error=error, statistics=statistics, ignore_na=False,
                    n_failure_cases=_MAX_EXAMPLES)
