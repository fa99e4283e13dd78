"""Reading and writing person-year tables: parquet, or csv with a header row.

Every file goes through :func:`vsvrisk.data.validate_person_years` on the way in. A csv file is
read as text first, so that a bad value is reported with its row instead of silently becoming
missing; a file that cannot be read at all is a :class:`DataFileError` with one line that says
how to fix it. vsvrisk writes csv with commas in UTF-8; it reads that, and what Dutch Excel
saves (``;``, Windows-1252 or UTF-8 with a byte order mark, CRLF): :mod:`vsvrisk._dialect`
detects which, and pyarrow reads it with those options.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from vsvrisk._atomic import atomic_output
from vsvrisk._dialect import CsvDialect, detect_encoding, detect_separator, separator_name
from vsvrisk.data.codes import COLUMNS, DEFAULT_UPPER_AGE
from vsvrisk.data.schema import validate_person_years
from vsvrisk.exceptions import DataFileError, SchemaError

__all__ = ["SUPPORTED_SUFFIXES", "read_person_years", "write_person_years"]

SUPPORTED_SUFFIXES = (".parquet", ".csv")


def read_person_years(
    path: str | os.PathLike, upper_age: int = DEFAULT_UPPER_AGE, require_target: bool = False,
    school_years=None,
) -> pd.DataFrame:
    """Read a person-year table from ``.parquet`` or ``.csv`` and validate it.

    Parameters
    ----------
    path : path-like
        A ``.parquet`` file, or a ``.csv`` file with a header row: booleans ``true``/``false``
        (``1``/``0`` accepted), dates ``YYYY-MM-DD``, an empty cell for a missing value. The
        separator (``,`` ``;`` or tab) and the encoding (UTF-8 with or without a byte order
        mark, UTF-16 with one, or Windows-1252) are detected from the file.
    upper_age : int, default=23
        Exclusive upper age of the population on the reference date (27 under the 2026 law).
    require_target : bool, default=False
        Require the target ``vsv`` for every row.
    school_years : sequence of int, optional
        Read (and validate) only the rows of these school years, in the file's order: from
        parquet, a row filter on the read itself. ``None``: every row.

    Returns
    -------
    DataFrame
        The validated table with the code book's dtypes (see
        :func:`vsvrisk.data.validate_person_years`). From a csv file, ``attrs["csv_dialect"]``
        records how it was written (``encoding``, ``separator``; ``decimal_mark`` and
        ``thousands_separator`` are null: the table's numbers are whole).

    Raises
    ------
    DataFileError
        The file is missing, empty, of an unknown type or encoding, or cannot be parsed.
    SchemaError
        The table breaks the data contract; one message per problem, each starting with the
        file name.

    See Also
    --------
    write_person_years : the inverse; a written table reads back identical.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "people.csv"
    >>> _ = path.write_text(
    ...     "person_id,school_year,birth_date,region_code,sector,vo_type,mbo_level,mbo_pathway,"
    ...     "mbo_field,gender,delay_years,psychosocial,crime_suspect,problem_debts,"
    ...     "benefits_household,parent_crime_suspect,parent_mental_health,wealth_percentile,"
    ...     "parents,mother_education,urbanisation\\n"
    ...     "p1,2018,2004-05-17,29,vo,havo,,,,v,0,false,false,false,false,false,false,55,both,mid,1\\n"
    ... )
    >>> table = read_person_years(path)
    >>> table.loc[0, "sector"], str(table["birth_date"].dtype)
    ('vo', 'datetime64[ns]')
    """
    path = Path(path)
    years = None if school_years is None else sorted({int(year) for year in school_years})
    frame, dialect = (_read_parquet(path, years), None) if _suffix(path) == ".parquet" else _read_csv(path)
    if years is not None and "school_year" in frame:
        # Also after a filtered parquet read (cheap): a csv's cells are text until validation,
        # and a parquet file whose school_year the filter cannot read was read whole.
        keep = _in_years(frame["school_year"], years)
        if not keep.all():
            frame = frame[keep].reset_index(drop=True)
        if len(frame) == 0:
            raise SchemaError(f"{path.name}: no rows of school year {', '.join(map(str, years))}: "
                              "pass a file with that cohort")
    if len(frame) == 0:
        raise DataFileError(f"{path} has no data rows, only column names: export the table with its rows")
    try:
        table = validate_person_years(frame, upper_age=upper_age, require_target=require_target)
    except SchemaError as error:
        # Name the file in every message: the command line prints them without context.
        raise SchemaError([f"{path.name}: {problem}" for problem in error.problems]) from None
    if dialect is not None:
        table.attrs["csv_dialect"] = dialect.describe()
    return table


def write_person_years(frame: pd.DataFrame, path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write a person-year table to ``.parquet`` or ``.csv``, all or nothing.

    The csv form follows the file conventions of DESIGN section 4: a comma delimiter, a header
    row, booleans ``true``/``false``, ISO dates, an empty cell for a missing value. The frame is
    written as given (it is not validated: a population under the 2026 definition is valid with
    another upper age); unknown columns are written too, and come back as text from a csv.

    Parameters
    ----------
    frame : DataFrame
        The table, normally the output of :func:`read_person_years` or the generator.
    path : path-like
        Target file; its suffix chooses the format.
    overwrite : bool, default=False
        Replace an existing file; otherwise an existing file is an error.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    DataFileError
        The suffix is not ``.parquet`` or ``.csv``.
    OutputExistsError
        The file exists and ``overwrite`` is false.

    See Also
    --------
    read_person_years : reads it back, identical.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> table = pd.DataFrame({"person_id": ["p1"], "psychosocial": [True],
    ...                       "birth_date": pd.to_datetime(["2004-05-17"])})
    >>> print(write_person_years(table, folder / "people.csv").read_text(), end="")
    person_id,psychosocial,birth_date
    p1,true,2004-05-17
    """
    path = Path(path)
    suffix = _suffix(path, must_exist=False)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"write_person_years expects a DataFrame, got {type(frame).__name__}")
    with atomic_output(path, overwrite=overwrite) as temporary:
        if suffix == ".parquet":
            frame.to_parquet(temporary, engine="pyarrow", index=False)
        else:
            _write_csv(frame, temporary)
    return path


def _suffix(path: Path, must_exist: bool = True) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        kind = f"a '{path.suffix}' file" if path.suffix else "a file without a suffix"
        raise DataFileError(
            f"{path} is {kind}; supported are {' and '.join(SUPPORTED_SUFFIXES)}: "
            "export the table as parquet or as csv"
        )
    if not must_exist:
        return suffix
    if not path.exists():
        raise DataFileError(f"data file {path} not found: check the path (relative to {Path.cwd()})")
    if not path.is_file():
        raise DataFileError(f"{path} is not a file: give the path of one {suffix} file")
    if path.stat().st_size == 0:
        raise DataFileError(f"data file {path} is empty (0 bytes): export the table again")
    return suffix


def _read_parquet(path: Path, school_years: list[int] | None = None) -> pd.DataFrame:
    if school_years is not None:
        try:  # only the rows of those years leave the file
            return pd.read_parquet(path, engine="pyarrow", filters=[("school_year", "in", school_years)])
        except (pa.ArrowException, OSError, ValueError, TypeError):
            pass  # no school_year column, or not a number: read it all, and validation says what is wrong
    try:
        return pd.read_parquet(path, engine="pyarrow")
    except (pa.ArrowException, OSError, ValueError) as error:
        reason = _first_line(error).rstrip(".")
        raise DataFileError(f"{path} cannot be read as parquet ({reason}): re-export it") from None


def _in_years(school_year: pd.Series, years: list[int]) -> np.ndarray:
    """Which rows are of these school years (text that is not a number is in none)."""
    if school_year.dtype == np.int64:  # read typed: a comparison a year, not isin's sort (0.07 s)
        values = school_year.to_numpy()
        return np.logical_or.reduce([values == year for year in years]) if years else np.zeros(len(values), bool)
    return pd.to_numeric(school_year, errors="coerce").isin(years).to_numpy()


def _read_csv(path: Path) -> tuple[pd.DataFrame, CsvDialect]:
    encoding = detect_encoding(path, str(path))
    line = _first_line_of(path, encoding)
    separator = detect_separator(line, COLUMNS, str(path))
    header = _csv_header(path, line, separator)
    doubled = sorted({name for name in header if header.count(name) > 1})
    if doubled:
        raise DataFileError(f"{path} has the column(s) {', '.join(doubled)} more than once: keep one of each")
    # Every number of the contract is whole, and the text goes to validation as text, so no
    # decimal mark is needed: a '55,0' or '2.018' is reported there as not a whole number.
    dialect = CsvDialect(encoding, separator)
    try:
        # pyarrow's reader is about ten times faster than pandas' on a national file.
        return _arrow_csv(path, header, dialect).to_pandas(), dialect
    except pa.ArrowInvalid as error:
        cells = f"{separator_name(separator)}-separated cells"
        raise DataFileError(f"{path} cannot be read as csv ({_csv_trouble(path, header, dialect, error)}): "
                            f"every row needs as many {cells} as the header") from None


def _arrow_csv(path: Path, header: list[str], dialect: CsvDialect, use_threads: bool = True,
               handler=None) -> pa.Table:
    # The byte order mark of utf-8-sig sits in the header row, which is skipped.
    encoding = "utf8" if dialect.encoding in ("utf-8", "utf-8-sig") else dialect.encoding
    return pa_csv.read_csv(
        path,
        read_options=pa_csv.ReadOptions(column_names=header, skip_rows=1, use_threads=use_threads,
                                        encoding=encoding),
        parse_options=pa_csv.ParseOptions(delimiter=dialect.separator, invalid_row_handler=handler),
        convert_options=pa_csv.ConvertOptions(
            column_types={name: pa.string() for name in header},  # text first: validation converts
            null_values=[""],  # only an empty cell is missing, not "NA" or "null"
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )


def _csv_trouble(path: Path, header: list[str], dialect: CsvDialect, error: pa.ArrowInvalid) -> str:
    """Which line is malformed: read again on one thread, which knows line numbers."""
    rows = []

    def note(row):
        rows.append(row)
        return "error"

    with contextlib.suppress(pa.ArrowInvalid):
        _arrow_csv(path, header, dialect, use_threads=False, handler=note)
    if rows and rows[0].number:
        row = rows[0]
        return (f"line {row.number} (data row {row.number - 1}) has {row.actual_columns} cells, "
                f"the header {row.expected_columns}")
    return _first_line(error)


def _first_line_of(path: Path, encoding: str) -> str:
    with path.open(encoding=encoding, newline="") as handle:
        return handle.readline().rstrip("\r\n")


def _csv_header(path: Path, line: str, separator: str) -> list[str]:
    try:
        header = next(csv.reader([line], delimiter=separator), [])
    except csv.Error as error:
        raise DataFileError(f"{path}: the header row cannot be read ({error}): re-export it") from None
    header = [name.strip() for name in header]
    if not any(header):
        raise DataFileError(f"{path} has no header row: the first line must name the columns")
    return header


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Booleans as true/false, dates as YYYY-MM-DD, missing as an empty cell; quotes only if needed."""
    # Text columns go over as strings, so that mixed Python objects in an extra column still write.
    table = pa.Table.from_pandas(
        frame.astype({name: "string" for name, values in frame.items() if values.dtype == object}),
        preserve_index=False,
    )
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_dictionary(field.type):  # categories: their codes
            column = column.cast(pa.string())
        elif pa.types.is_timestamp(field.type):  # a date has no time of day in this table
            column = column.cast(pa.date32(), safe=False)
        columns.append(column)
    # Text assembled piecewise (e.g. by concatenation) can arrive in thousands of tiny chunks,
    # which the writer pays for per chunk: one chunk per column.
    table = pa.table(columns, names=table.column_names).combine_chunks()
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(table.column_names)  # pyarrow quotes every name
    for quoting in ("none", "needed"):  # unquoted reads best; a comma, quote or newline needs quotes
        try:
            with pa.OSFile(str(path), "wb") as handle:  # a native file: a Python one is ten times slower
                handle.write(header.getvalue().encode("utf-8"))
                options = pa_csv.WriteOptions(include_header=False, quoting_style=quoting)
                pa_csv.write_csv(table, handle, write_options=options)
            return
        except pa.ArrowInvalid:
            if quoting == "needed":
                raise


def _first_line(error: BaseException) -> str:
    message = str(error).strip()
    return message.splitlines()[0] if message else type(error).__name__
