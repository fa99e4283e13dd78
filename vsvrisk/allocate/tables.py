"""Per-region tables: checking a value for every region, and reading need or last year's amounts.

A per-region input (need, last year's allocation) must name every region 1..40 exactly once
with a finite value >= 0; :func:`region_values` checks that and says which region is wrong.
:func:`need_from_table` and :func:`read_previous_allocation` read such a table from csv or
xlsx with one-line errors naming the column and the fix.
"""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from vsvrisk.data.regions import REGION_CODES
from vsvrisk.exceptions import AllocationError, DataFileError

__all__ = ["need_from_table", "read_previous_allocation", "region_values"]

N_REGIONS = len(REGION_CODES)

# --------------------------------------------------------------------------- per-region values


def region_values(values: pd.Series | pd.DataFrame, column: str, *, what: str) -> np.ndarray:
    """Check a per-region input and return it as a float array in region-code order.

    ``values`` is a Series indexed by region code, or a DataFrame with ``column`` and the region
    codes in a ``region_code`` column (or as its index). Every region 1..40 must appear exactly
    once with a finite value >= 0; otherwise an :class:`AllocationError` names the region.

    Examples
    --------
    >>> region_values(pd.Series(1.0, index=range(40, 0, -1)), "need", what="need")[:3]
    array([1., 1., 1.])
    """
    if isinstance(values, pd.DataFrame):
        if column not in values.columns:
            raise AllocationError(f"{what}: no column '{column}': expected columns region_code,{column}")
        frame = values.set_index("region_code") if "region_code" in values.columns else values
        values = frame[column]
    if not isinstance(values, pd.Series):
        raise AllocationError(f"{what}: expected a Series indexed by region_code, "
                              f"not {type(values).__name__}")
    try:
        codes = pd.to_numeric(pd.Series(values.index, dtype=object), errors="raise").to_numpy(float)
        numbers = pd.to_numeric(values, errors="raise").to_numpy(float)
    except (TypeError, ValueError):
        raise AllocationError(f"{what}: region codes and values must be numbers") from None
    if not np.all(np.isfinite(codes) & (codes == np.round(codes))):
        raise AllocationError(f"{what}: region codes must be whole numbers 1..40")
    codes = codes.astype(np.int64)
    unknown = sorted(set(codes.tolist()) - set(REGION_CODES))
    if unknown:
        raise AllocationError(f"{what}: unknown region code {unknown[0]}: region codes are 1..40")
    counts = np.bincount(codes, minlength=N_REGIONS + 1)[1:]
    if (counts > 1).any():
        code = int(np.flatnonzero(counts > 1)[0]) + 1
        raise AllocationError(f"{what}: region {code} appears {counts[code - 1]} times: "
                              f"list each region once")
    if (counts == 0).any():
        missing = [str(code + 1) for code in np.flatnonzero(counts == 0)]
        raise AllocationError(f"{what}: region{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                              f"missing: list all 40 regions (0 for none)")
    ordered = np.empty(N_REGIONS)
    ordered[codes - 1] = numbers
    bad = ~np.isfinite(ordered) | (ordered < 0)
    if bad.any():
        code = int(np.flatnonzero(bad)[0]) + 1
        raise AllocationError(
            f"{what}: region {code} has {column} {ordered[code - 1]}: it must be a finite number >= 0"
        )
    return ordered


# --------------------------------------------------------------------------- tables on disk


def _read_region_table(path: str | os.PathLike, column: str, *, what: str) -> pd.Series:
    """Read ``region_code,<column>`` with line-exact messages; extra columns are ignored."""
    path = Path(path)
    expected = f"region_code,{column}"
    if not path.is_file():
        raise DataFileError(f"{what} {path} not found: check the path")
    text = path.read_text(encoding="utf-8-sig")  # Excel writes a byte order mark
    if not text.strip():
        raise DataFileError(f"{what} {path} is empty: expected the header '{expected}' and 40 rows")
    rows = list(csv.reader(io.StringIO(text)))
    header = [name.strip() for name in rows[0]]
    if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
        separator = "';'" if ";" in header[0] else "a tab"
        raise DataFileError(f"{what} {path} is separated by {separator}: save it comma-separated "
                            f"with the header '{expected}'")
    absent = [name for name in ("region_code", column) if name not in header]
    if absent:
        raise DataFileError(f"{what} {path}: the header '{','.join(header)}' has no column "
                            f"'{absent[0]}': the header must be '{expected}'")
    code_at, value_at = header.index("region_code"), header.index(column)
    seen: dict[int, int] = {}
    values = np.zeros(N_REGIONS)
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        where = f"{what} {path}, line {line}"
        if len(row) != len(header):
            raise DataFileError(f"{where}: {len(row)} fields where the header has {len(header)}")
        code_text, value_text = row[code_at].strip(), row[value_at].strip()
        try:
            code = float(code_text)
        except ValueError:
            code = math.nan
        if not (code.is_integer() and int(code) in REGION_CODES):
            raise AllocationError(f"{where}: region_code '{code_text}' is not a region: "
                                  f"region codes are 1..40")
        code = int(code)
        if code in seen:
            raise AllocationError(f"{where}: region {code} appears again (first on line "
                                  f"{seen[code]}): list each region once")
        seen[code] = line
        where = f"{where} (region {code})"
        if not value_text:
            raise AllocationError(f"{where}: {column} is empty: write 0 for a region with none")
        try:
            value = float(value_text)
        except ValueError:
            raise AllocationError(f"{where}: {column} '{value_text}' is not a number: write a "
                                  f"number >= 0 with a decimal point") from None
        if not math.isfinite(value) or value < 0:
            raise AllocationError(f"{where}: {column} is {value_text}: it must be a finite "
                                  f"number >= 0")
        values[code - 1] = value
    missing = [str(code) for code in REGION_CODES if code not in seen]
    if missing:
        raise AllocationError(f"{what} {path}: region{'s' if len(missing) > 1 else ''} "
                              f"{', '.join(missing)} missing: list all 40 regions "
                              f"(write 0 for a region with none)")
    index = pd.Index(REGION_CODES, name="region_code", dtype="int64")
    return pd.Series(values, index=index, name=column)


def need_from_table(path: str | os.PathLike) -> pd.Series:
    """Read need per region from a csv ``region_code,need`` (e.g. made outside vsvrisk).

    Every region 1..40 appears exactly once with a finite need >= 0 (0 for a region without
    need). Other columns are ignored, so an earlier ``allocation.csv`` can be read too.

    Parameters
    ----------
    path : path-like
        Comma-separated, with a header row.

    Returns
    -------
    Series
        ``need`` (float) indexed by ``region_code`` 1..40.

    Raises
    ------
    DataFileError
        The file is missing, empty, not comma-separated, or its header lacks a column.
    AllocationError
        A row is wrong (unknown or repeated region, need negative or not a number) or a region
        is missing; the message names the line and the region.

    See Also
    --------
    read_previous_allocation : the same format with ``amount_eur``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "need.csv"
    >>> _ = path.write_text("region_code,need\\n" + "".join(f"{r},{r / 10}\\n" for r in range(1, 41)))
    >>> need_from_table(path).loc[29]
    np.float64(2.9)
    """
    return _read_region_table(path, "need", what="need table")


def read_previous_allocation(path: str | os.PathLike) -> pd.Series:
    """Read last year's amounts from an ``allocation.csv`` (``region_code``, ``amount_eur``).

    Returns
    -------
    Series
        ``amount_eur`` (float) indexed by ``region_code`` 1..40, for ``allocate(previous=...)``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "allocation.csv"
    >>> rows = "".join(f"{r},Region {r},2250000\\n" for r in range(1, 41))
    >>> _ = path.write_text("region_code,region_name,amount_eur\\n" + rows)
    >>> float(read_previous_allocation(path).sum())
    90000000.0
    """
    return _read_region_table(path, "amount_eur", what="previous allocation")
