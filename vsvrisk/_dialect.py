"""Which csv dialect a file is written in: encoding, separator, decimal mark, thousands separator.

Dutch Excel saves csv with ``;`` between cells and a decimal comma (both follow the Windows
region settings), in Windows-1252 ("CSV (gescheiden door lijstscheidingsteken)") or in UTF-8
with a byte order mark ("CSV UTF-8"), with CRLF line ends; pandas, R and English Excel write
``,`` and a decimal point. vsvrisk reads both. This module decides which one a file is, from
the file itself; the readers (:mod:`vsvrisk.data.io`, :mod:`vsvrisk.allocate.tables`) hand the
decision to pyarrow or pandas as options and never take a number apart themselves.

Every decision rests on evidence in the file, and a file whose evidence points two ways is
refused with one line naming the file, the column and the fix, because a guess here moves money:

- **encoding**: a byte order mark says UTF-8 or UTF-16 (Excel's "Unicode text"). Without one,
  the whole file must decode as UTF-8, or else as Windows-1252. UTF-8 is tried first because
  accented letters in Windows-1252 are practically never valid UTF-8, while the reverse reading
  would turn every UTF-8 "a-circumflex" into two letters. A file that is neither, or that holds
  NUL bytes (UTF-16 without its mark, or not text at all), is refused.
- **separator**: the header names the columns, so the separator is the one of ``,``, ``;`` and
  tab that splits the header into the expected names.
- **decimal mark**: from the numbers in the columns that are read. ``7,5`` and ``7.102.495`` can
  only be Dutch, ``7.5`` and ``7,102,495`` only English, ``1234`` reads the same either way, and
  ``1.234`` or ``1,234`` could be either: the other numbers in the file settle it. A file with
  numbers of both kinds, or whose only evidence could be either, is refused.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from vsvrisk.exceptions import DataFileError

__all__ = ["CsvDialect", "detect_encoding", "detect_numbers", "detect_separator", "read_numbers",
           "separator_name"]

_SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab"}
_BLOCK_SIZE = 1 << 20  # 1 MiB: a national file is checked without being held in memory
_FIX_ENCODING = "save it as 'CSV UTF-8'"


@dataclass(frozen=True)
class CsvDialect:
    """How a csv file is written, as detected; recorded in the manifest of a run that read it.

    Parameters
    ----------
    encoding : str
        Python codec name: ``utf-8``, ``utf-8-sig`` (UTF-8 with a byte order mark), ``utf-16``
        or ``cp1252`` (Windows-1252).
    separator : str
        ``,``, ``;`` or a tab.
    decimal : str or None
        ``.`` or ``,``: the style the numbers are written in (a Dutch file of whole euros with
        thousands points is ``,``); None where every number reads the same either way (digits
        only), or where the reader reads no fractions (person-year files).
    thousands : str or None
        The thousands separator that the numbers use, or None where none does.

    Examples
    --------
    >>> CsvDialect("cp1252", ";", ",", ".").describe()
    {'encoding': 'cp1252', 'separator': ';', 'decimal_mark': ',', 'thousands_separator': '.'}
    """

    encoding: str
    separator: str
    decimal: str | None = None
    thousands: str | None = None

    def describe(self) -> dict[str, str | None]:
        """The dialect as plain values for a manifest (null: the file has no such mark)."""
        return {"encoding": self.encoding, "separator": self.separator,
                "decimal_mark": self.decimal, "thousands_separator": self.thousands}


def separator_name(separator: str) -> str:
    """``comma``, ``semicolon`` or ``tab``, for messages."""
    return _SEPARATORS[separator]


# --------------------------------------------------------------------------- encoding


def detect_encoding(path: Path, where: str) -> str:
    """The codec that decodes the whole file, decided as the module docstring says.

    Parameters
    ----------
    path : Path
        An existing file.
    where : str
        How messages name the file (e.g. ``need table need.csv``).

    Returns
    -------
    str
        ``utf-8-sig``, ``utf-16``, ``utf-8`` or ``cp1252``.

    Raises
    ------
    DataFileError
        The file holds NUL bytes, or decodes neither as UTF-8 nor as Windows-1252.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "need.csv"
    >>> _ = path.write_bytes("regio;naam\\r\\n5;Súdwest-Fryslân\\r\\n".encode("cp1252"))
    >>> detect_encoding(path, "need.csv")
    'cp1252'
    """
    with path.open("rb") as handle:
        start = handle.read(4)
    if start.startswith(codecs.BOM_UTF8):
        candidates = ("utf-8-sig",)
    elif start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ("utf-16",)
    else:
        candidates = ("utf-8", "cp1252")
    for encoding in candidates:
        if _decodes(path, encoding, where):
            return encoding
    if candidates == ("utf-8", "cp1252"):
        raise DataFileError(f"{where} is neither UTF-8 nor Windows-1252 text: {_FIX_ENCODING}")
    raise DataFileError(f"{where} starts with a byte order mark but is not {candidates[0]} text: {_FIX_ENCODING}")


def _decodes(path: Path, encoding: str, where: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    with path.open("rb") as handle:
        try:
            while block := handle.read(_BLOCK_SIZE):
                if encoding != "utf-16" and b"\x00" in block:
                    raise DataFileError(f"{where} holds NUL bytes, so it is not a csv text file "
                                        f"(UTF-16 without its byte order mark?): {_FIX_ENCODING}")
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


# --------------------------------------------------------------------------- separator


def detect_separator(header: str, expected: Iterable[str], where: str) -> str:
    """The one of ``,``, ``;`` and tab that splits ``header`` into the most ``expected`` names.

    A header with none of them is one column (``,`` is returned; the caller reports the
    missing columns). Two separators that find the same number of expected names are refused.

    Examples
    --------
    >>> detect_separator("region_code;region_name;need", ["region_code", "need"], "need.csv")
    ';'
    """
    expected = set(expected)
    found = {separator: len(expected.intersection(_split(header, separator)))
             for separator in _SEPARATORS if separator in header}
    if not found:
        return ","
    best = max(found.values())
    winners = [separator for separator, count in found.items() if count == best]
    if len(winners) > 1:
        shown = " and ".join(f"'{separator}'" if separator != "\t" else "tabs" for separator in winners)
        raise DataFileError(f"{where}: the header '{header.strip()}' has both {shown} between its names, "
                            "so the separator is unclear: separate the columns with one character "
                            "(save it as CSV)")
    return winners[0]


def _split(line: str, separator: str) -> list[str]:
    try:
        return [name.strip() for name in next(csv.reader(io.StringIO(line), delimiter=separator), [])]
    except csv.Error:
        return []


# --------------------------------------------------------------------------- numbers


def _shape(decimal: str, thousands: str) -> re.Pattern:
    """A number written with this decimal mark, optionally grouped by ``thousands``."""
    mark, group = re.escape(decimal), re.escape(thousands)
    # A grouped number starts with 1-999, never 0: no program writes 0.123 for 123.
    whole = rf"(?:\d+|[1-9]\d{{0,2}}(?:{group}\d{{3}})+)"
    return re.compile(rf"[+-]?(?:(?:{whole}(?:{mark}\d*)?|{mark}\d+)(?:e[+-]?\d+)?|nan|inf|infinity)",
                      re.IGNORECASE)


_SHAPES = {".": _shape(".", ","), ",": _shape(",", ".")}


def detect_numbers(columns: Mapping[str, Sequence[tuple[int, str]]], where: str) -> tuple[str | None, str | None]:
    """The decimal mark and thousands separator of the numbers in ``columns``, from evidence.

    Parameters
    ----------
    columns : mapping of str to sequence of (int, str)
        Column name -> its cells as (line number, stripped text). Empty cells and text that is
        no number in either style are left to the caller to report.
    where : str
        How messages name the file.

    Returns
    -------
    (decimal, thousands)
        ``(".", ",")`` for the English style, ``(",", ".")`` for the Dutch one, the thousands
        separator None when no number uses it; ``(None, None)`` when every number reads the
        same in both.

    Raises
    ------
    DataFileError
        Numbers of both styles, or a number that can be read two ways (``1.234``) with no
        other number to settle it; the message names the column, line, value and fix.

    Examples
    --------
    >>> detect_numbers({"amount_eur": [(2, "7.102.495"), (3, "102.495")]}, "previous.csv")
    (',', '.')
    >>> detect_numbers({"need": [(2, "12"), (3, "7")]}, "need.csv")
    (None, None)
    """
    only: dict[str, tuple[str, int, str]] = {}  # style -> the first number that reads only that way
    either, used = None, set()
    for column, cells in columns.items():
        for line, text in cells:
            styles = [decimal for decimal, shape in _SHAPES.items() if shape.fullmatch(text)]
            if not styles:
                continue
            used.update(mark for mark in ".," if mark in text)
            if len(styles) == 1:
                only.setdefault(styles[0], (column, line, text))
            elif either is None and ("." in text or "," in text):  # a mark that changes the value
                either = (column, line, text)
    if len(only) == 2:
        (column_a, line_a, text_a), (column_b, line_b, text_b) = only[","], only["."]
        raise DataFileError(
            f"{where} mixes number styles: {column_a} '{text_a}' (line {line_a}) reads only with "
            f"a decimal comma, {column_b} '{text_b}' (line {line_b}) only with a decimal point: "
            "write every number the same way, without thousands separators (e.g. 1234,5 or 1234.5)")
    if only:
        decimal = next(iter(only))
        thousands = "," if decimal == "." else "."
        return decimal, thousands if thousands in used else None
    if either is not None:
        column, line, text = either
        english, dutch = (_plain(read_numbers([text], decimal)[0][0]) for decimal in ".,")
        raise DataFileError(
            f"{where}, line {line}: {column} '{text}' can be {english} (decimal point, English "
            f"style) or {dutch} (Dutch style), and no other number in the file says which: save "
            "the numbers without thousands separators and with more or fewer than 3 decimals")
    return None, None


def read_numbers(cells: Sequence[str], decimal: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Read stripped cells as floats in the style of ``decimal``; also say which ones are numbers.

    The style's thousands separator (``,`` with a decimal point, ``.`` with a decimal comma) is
    read where a number uses it; ``decimal`` None (no number needs a mark) reads as ``.``.

    pandas does the reading. Its python engine, because the C engine rounds some long numbers
    one unit in the last place differently when a thousands separator is set (pandas issue
    44145), and a Dutch table must give the same floats as the same table written with points.

    Returns
    -------
    (values, readable)
        Floats (nan where a cell is no number in this style) and a mask of the cells that are.

    Examples
    --------
    >>> values, readable = read_numbers(["7.102.495", "0,25", "veel"], ",")
    >>> values.tolist(), readable.tolist()
    ([7102495.0, 0.25, nan], [True, True, False])
    """
    decimal = decimal or "."
    shape = _SHAPES[decimal]
    readable = np.array([shape.fullmatch(text) is not None for text in cells], dtype=bool)
    values = np.full(len(cells), np.nan)
    if readable.any():
        text = "\n".join(cell for cell, ok in zip(cells, readable, strict=True) if ok)
        # One cell per line, so a separator that cannot occur in a number.
        frame = pd.read_csv(io.StringIO(text), header=None, sep="|", decimal=decimal,
                            thousands="," if decimal == "." else ".",
                            dtype="float64", engine="python", skip_blank_lines=False)
        values[readable] = frame.iloc[:, 0].to_numpy()
    return values, readable


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
