"""Per-region tables: checking a value for every region, and reading need or last year's amounts.

A per-region input (need, last year's allocation) must name every region 1..40 exactly once
with a finite value >= 0; :func:`region_values` checks that and says which region is wrong.
:func:`need_from_table` and :func:`read_previous_allocation` read such a table from csv, as
pandas writes it (``,`` and a decimal point) or as Dutch Excel does (``;``, a decimal comma,
perhaps thousands separators, Windows-1252 or UTF-8 with a byte order mark), with one-line
errors naming the line, the column and the fix.
"""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from vsvrisk._dialect import CsvDialect, detect_encoding, detect_numbers, detect_separator, read_numbers
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
    """Read ``region_code,<column>`` with line-exact messages; extra columns are ignored.

    Comma- or semicolon-separated, decimal point or comma, UTF-8 or Windows-1252: the dialect is
    detected (:mod:`vsvrisk._dialect`) and kept in the result's ``attrs["csv_dialect"]``.
    """
    path = Path(path)
    expected = f"region_code,{column}"
    if not path.is_file():
        raise DataFileError(f"{what} {path} not found: check the path")
    where = f"{what} {path}"
    encoding = detect_encoding(path, where)
    text = path.read_text(encoding=encoding)
    if not text.strip():
        raise DataFileError(f"{where} is empty: expected the header '{expected}' and 40 rows")
    separator = detect_separator(text.splitlines()[0], ("region_code", column), where)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=separator))
    header = [name.strip() for name in rows[0]]
    absent = [name for name in ("region_code", column) if name not in header]
    if absent:
        raise DataFileError(f"{where}: the header '{separator.join(header)}' has no column "
                            f"'{absent[0]}': the header must be '{expected}'")
    code_at, value_at = header.index("region_code"), header.index(column)
    body = []  # (line, region code text, value text) of every row that is not blank
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise DataFileError(f"{where}, line {line}: {len(row)} fields where the header has {len(header)}")
        body.append((line, row[code_at].strip(), row[value_at].strip()))
    decimal, thousands = detect_numbers({"region_code": [(line, code) for line, code, _ in body],
                                         column: [(line, value) for line, _, value in body if value]}, where)
    codes, _ = read_numbers([code for _, code, _ in body], decimal)
    numbers, readable = read_numbers([value for _, _, value in body], decimal)
    seen: dict[int, int] = {}
    values = np.zeros(N_REGIONS)
    for (line, code_text, value_text), code, value, is_number in zip(body, codes, numbers, readable, strict=True):
        here = f"{where}, line {line}"
        if not (float(code).is_integer() and int(code) in REGION_CODES):
            raise AllocationError(f"{here}: region_code '{code_text}' is not a region: "
                                  f"region codes are 1..40")
        code = int(code)
        if code in seen:
            raise AllocationError(f"{here}: region {code} appears again (first on line "
                                  f"{seen[code]}): list each region once")
        seen[code] = line
        here = f"{here} (region {code})"
        if not value_text:
            raise AllocationError(f"{here}: {column} is empty: write 0 for a region with none")
        if not is_number:
            raise AllocationError(f"{here}: {column} '{value_text}' is not a number: write a "
                                  f"number >= 0 without units, e.g. 1234,5 or 1234.5")
        if not math.isfinite(value) or value < 0:
            raise AllocationError(f"{here}: {column} is {value_text}: it must be a finite "
                                  f"number >= 0")
        values[code - 1] = value
    missing = [str(code) for code in REGION_CODES if code not in seen]
    if missing:
        raise AllocationError(f"{where}: region{'s' if len(missing) > 1 else ''} "
                              f"{', '.join(missing)} missing: list all 40 regions "
                              f"(write 0 for a region with none)")
    index = pd.Index(REGION_CODES, name="region_code", dtype="int64")
    table = pd.Series(values, index=index, name=column)
    table.attrs["csv_dialect"] = CsvDialect(encoding, separator, decimal, thousands).describe()
    return table


def need_from_table(path: str | os.PathLike) -> pd.Series:
    """Read need per region from a csv ``region_code,need`` (e.g. made outside vsvrisk).

    Every region 1..40 appears exactly once with a finite need >= 0 (0 for a region without
    need). Other columns are ignored, so an earlier ``allocation.csv`` can be read too.

    Parameters
    ----------
    path : path-like
        A csv file with a header row; separator (``,`` ``;`` or tab), decimal mark, thousands
        separator and encoding are detected from the file.

    Returns
    -------
    Series
        ``need`` (float) indexed by ``region_code`` 1..40; ``attrs["csv_dialect"]`` says how
        the file was written (``encoding``, ``separator``, ``decimal_mark``,
        ``thousands_separator``; null where no number uses the mark).

    Raises
    ------
    DataFileError
        The file is missing, empty, in an unknown encoding, or its header lacks a column; or
        its numbers can be read two ways (``1.234`` with nothing to say whether ``.`` is a
        decimal point or a thousands separator, or decimal points and commas mixed).
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

    The same table as Dutch Excel saves it reads the same:

    >>> rows = "".join(f"{r};{r / 10}\\r\\n".replace(".", ",") for r in range(1, 41))
    >>> _ = path.write_bytes(("region_code;need\\r\\n" + rows).encode("cp1252"))
    >>> need = need_from_table(path)
    >>> need.loc[29], need.attrs["csv_dialect"]["decimal_mark"]
    (np.float64(2.9), ',')
    """
    return _read_region_table(path, "need", what="need table")


def read_previous_allocation(path: str | os.PathLike) -> pd.Series:
    """Read last year's amounts from an ``allocation.csv`` (``region_code``, ``amount_eur``).

    The file is read as :func:`need_from_table` reads a need table, so the amounts may be
    written as Dutch Excel shows euros (``7.102.495``).

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
