"""Reading and writing person-year files, and every way a file can be wrong."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vsvrisk.data import read_person_years, validate_person_years, write_person_years
from vsvrisk.data.codes import CATEGORICAL_CODES, COLUMNS
from vsvrisk.exceptions import DataFileError, OutputExistsError, SchemaError

# The file as a person exports it: booleans as true/false, a few as 1/0 or True/False, empty
# cells for missing values, and the columns in an order of their own.
VALID_CSV = """\
person_id,school_year,birth_date,region_code,sector,vo_type,mbo_level,mbo_pathway,mbo_field,gender,delay_years,wealth_percentile,parents,mother_education,urbanisation,vsv,psychosocial,crime_suspect,problem_debts,benefits_household,parent_crime_suspect,parent_mental_health,migration_background
p01,2018,2005-03-14,1,vo,havo,,,,v,0,55,both,mid,1,false,true,false,false,false,false,true,none
p02,2018,2004-10-01,14,vo,vmbo_bb,,,,m,1,12,one,low,2,true,false,false,false,false,true,false,western
p03,2018,2006-01-30,29,vo,vwo,,,,v,0,,both,high,1,false,false,false,false,true,false,false,non_western
p04,2018,2003-07-07,40,vo,pro,,,,m,2,3,none,unknown,3,false,0,0,1,0,0,0,none
p05,2018,2005-12-24,21,vo,vmbo_kb,,,,m,0,80,both,mid,4,false,False,True,False,False,False,False,none
p06,2018,2004-02-29,37,vo,vso,,,,v,3,45,one,low,5,false,true,false,false,false,false,true,western
p07,2018,2005-06-01,12,vo,vmbo_gt,,,,v,0,100,both,high,2,false,false,false,false,false,true,false,non_western
p08,2018,2001-11-11,29,mbo,,1,bol,techniek,m,2,8,one,low,1,true,false,false,false,true,false,false,none
p09,2018,2002-04-04,21,mbo,,2,bbl,economie,v,1,30,both,mid,1,false,false,false,true,false,false,false,none
p10,2018,2000-10-02,19,mbo,,3,bol,zorg_welzijn,v,0,66,both,unknown,2,false,false,true,false,false,false,false,western
p11,2018,2001-01-15,3,mbo,,4,bol,groen,m,0,,none,high,5,false,true,false,false,false,false,true,non_western
p12,2018,2002-08-20,28,mbo,,4,bbl,combinatie,m,1,91,both,mid,1,true,false,false,false,false,true,false,none
p13,2018,1999-03-03,33,vavo,,,,,v,4,20,one,low,4,true,false,false,false,true,false,false,none
p14,2018,2000-12-12,35,vavo,,,,,m,2,0,both,mid,3,false,false,false,true,false,false,false,western
p01,2019,2005-03-14,1,vo,havo,,,,v,0,57,both,mid,1,,false,true,false,false,false,false,non_western
p02,2019,2004-10-01,14,mbo,,2,bol,techniek,m,1,10,one,low,2,,true,false,false,false,false,true,none
p15,2019,2006-09-30,40,vo,havo,,,,m,0,75,both,high,2,,false,false,false,false,true,false,none
p16,2019,2001-05-05,29,mbo,,3,bbl,zorg_welzijn,v,0,40,one,mid,1,,false,false,false,true,false,false,western
p17,2019,1999-12-31,14,vavo,,,,,v,1,,none,unknown,2,,false,false,true,false,false,false,non_western
p18,2019,2007-02-02,5,vo,vwo,,,,m,0,99,both,high,5,,false,true,false,false,false,false,none
"""


def valid_table() -> pd.DataFrame:
    return validate_person_years(_text_table())


def _text_table() -> pd.DataFrame:
    return pd.read_csv(io.StringIO(VALID_CSV), dtype=str, keep_default_na=False)


# --- makers of bad files: each takes a folder and returns the path of the file it wrote -----


def edited(*edits):
    """The valid csv with cells replaced: each edit is (1-based data row, column, text)."""

    def make(folder: Path) -> Path:
        text = _text_table()
        for row, column, value in edits:
            text.loc[row - 1, column] = value
        path = folder / "people.csv"
        text.to_csv(path, index=False)
        return path

    return make


def without(column: str, suffix: str = ".csv"):
    def make(folder: Path) -> Path:
        return write_person_years(valid_table().drop(columns=column), folder / f"people{suffix}")

    return make


def raw(name: str, content: str | bytes):
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    return make


def truncated_parquet(folder: Path) -> Path:
    path = write_person_years(valid_table(), folder / "people.parquet")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


def empty_parquet(folder: Path) -> Path:
    return write_person_years(valid_table().iloc[:0], folder / "people.parquet")


def header_with(separator: str, start: str):
    """The valid csv separated by ``separator``, but with a header that begins with ``start``."""
    header, rest = VALID_CSV.replace(",", separator).split("\n", 1)
    return raw("people.csv", start + header.split(separator, 2)[2] + "\n" + rest)


BAD_INPUTS = [
    # (maker, read options, error, fragments that must all be in the message: what, where, fix)
    pytest.param(without("gender"), {}, SchemaError, ["missing required column 'gender'", "add them"],
                 id="a missing gender column is named"),
    pytest.param(edited((3, "delay_years", "three")), {}, SchemaError,
                 ["column 'delay_years'", "whole numbers", "'three'", "(row 3)", "write digits only"],
                 id="text in delay_years is reported with its row"),
    pytest.param(edited((2, "region_code", "41")), {}, SchemaError,
                 ["column 'region_code'", "found 41", "(row 2)", "use today's regions"],
                 id="region code 41 is unknown"),
    pytest.param(edited((1, "sector", "hbo")), {}, SchemaError,
                 ["column 'sector'", "one of vo, mbo, vavo", "'hbo'", "use the code book's codes"],
                 id="sector hbo is not a sector and the allowed ones are listed"),
    pytest.param(edited((4, "delay_years", "-1")), {}, SchemaError,
                 ["column 'delay_years'", "between 0 and 10", "(row 4)", "correct the accumulated delay"],
                 id="a negative delay is refused"),
    pytest.param(edited((1, "wealth_percentile", "101")), {}, SchemaError,
                 ["column 'wealth_percentile'", "between 0 and 100 or empty", "leave the cell empty"],
                 id="wealth percentile 101 is refused"),
    pytest.param(edited((3, "person_id", "p01")), {}, SchemaError,
                 ["column 'person_id'", "'p01' in 2018", "(rows 1, 3)", "keep one row per person"],
                 id="the same person twice in one school year is named"),
    pytest.param(edited((1, "birth_date", "2018-10-02")), {}, SchemaError,
                 ["column 'birth_date'", "after the reference date", "correct birth_date or school_year"],
                 id="a birth date after the reference date has its own message"),
    pytest.param(edited((1, "birth_date", "1995-09-30")), {}, SchemaError,
                 ["column 'birth_date'", "below 23", "found age 23", "set the upper age"],
                 id="age 23 is outside the default population"),
    pytest.param(raw("people.csv", b""), {}, DataFileError, ["people.csv", "empty (0 bytes)", "export the table"],
                 id="an empty file of 0 bytes is refused"),
    pytest.param(raw("people.csv", VALID_CSV.splitlines()[0] + "\n"), {}, DataFileError,
                 ["people.csv", "no data rows", "export the table with its rows"],
                 id="a csv with only a header is refused"),
    pytest.param(header_with(";", "person_id,school_year;"), {}, DataFileError,
                 ["people.csv", "line 2 (data row 1) has 23 cells, the header 22", "semicolon-separated cells"],
                 id="a comma in the header of a semicolon file is caught at the first row"),
    pytest.param(edited((5, "psychosocial", "yes")), {}, SchemaError,
                 ["column 'psychosocial'", "true or false", "'yes'", "write true/false or 1/0"],
                 id="yes in a flag is not a boolean"),
    pytest.param(edited((2, "birth_date", "2004-13-45")), {}, SchemaError,
                 ["column 'birth_date'", "YYYY-MM-DD", "'2004-13-45'", "write ISO dates"],
                 id="a date that does not exist is reported"),
    pytest.param(edited((8, "vo_type", "havo")), {}, SchemaError,
                 ["column 'vo_type'", "empty outside sector vo", "(row 8)", "leave vo_type empty"],
                 id="a vo type for an mbo pupil is refused"),
    pytest.param(edited((9, "mbo_level", "")), {}, SchemaError,
                 ["column 'mbo_level'", "filled for sector mbo", "(row 9)", "fill in the level"],
                 id="a missing level for an mbo pupil is refused"),
    pytest.param(edited((13, "mbo_pathway", "bol")), {}, SchemaError,
                 ["column 'mbo_pathway'", "empty outside sector mbo", "(row 13)", "correct the sector"],
                 id="an mbo pathway for a vavo pupil is refused"),
    pytest.param(edited((6, "urbanisation", "6")), {}, SchemaError,
                 ["column 'urbanisation'", "between 1 and 5", "found 6", "CBS's coding"],
                 id="urbanisation 6 is outside CBS's five classes"),
    pytest.param(edited((7, "gender", "x")), {}, SchemaError,
                 ["column 'gender'", "one of m, v", "'x'", "use the code book's codes"],
                 id="an unknown gender code lists the allowed codes"),
    pytest.param(edited((1, "school_year", "1999"), (1, "birth_date", "1985-01-01")), {}, SchemaError,
                 ["column 'school_year'", "between 2000 and 2040", "2018 for 2018/19"],
                 id="school year 1999 is before the range"),
    pytest.param(truncated_parquet, {}, DataFileError,
                 ["people.parquet", "cannot be read as parquet", "re-export it"],
                 id="a truncated parquet file is told to re-export"),
    pytest.param(raw("people.parquet", b"not parquet at all"), {}, DataFileError,
                 ["people.parquet", "cannot be read as parquet", "re-export it"],
                 id="a csv renamed to parquet cannot be read as parquet"),
    pytest.param(empty_parquet, {}, DataFileError, ["people.parquet", "no data rows"],
                 id="a parquet file without rows is refused"),
    pytest.param(without("gender", ".parquet"), {}, SchemaError,
                 ["people.parquet: missing required column 'gender'"],
                 id="a parquet file without gender names the file and the column"),
    pytest.param(lambda folder: folder / "nowhere.csv", {}, DataFileError,
                 ["nowhere.csv", "not found", "check the path"],
                 id="a file that does not exist is not found"),
    pytest.param(raw("people.xlsx", b"PK"), {}, DataFileError,
                 ["a '.xlsx' file", ".parquet and .csv", "export the table"],
                 id="an excel file is not a supported type"),
    pytest.param(raw("people.csv", VALID_CSV.replace("p03,2018", "p03,2018,extra", 1)), {}, DataFileError,
                 ["people.csv", "line 4 (data row 3) has 24 cells, the header 23", "as many comma-separated cells"],
                 id="a row with more cells than the header is refused"),
    pytest.param(raw("people.csv", VALID_CSV.replace(",none\np05", "\np05", 1)), {}, DataFileError,
                 ["people.csv", "line 5 (data row 4) has 22 cells, the header 23", "as many comma-separated cells"],
                 id="a row with fewer cells than the header is refused"),
    pytest.param(raw("people.csv", VALID_CSV.encode().replace(b"p07", b"p\x81\x9d", 1)), {}, DataFileError,
                 ["people.csv", "neither UTF-8 nor Windows-1252", "save it as 'CSV UTF-8'"],
                 id="a csv in neither UTF-8 nor Windows-1252 is told to save as UTF-8"),
    pytest.param(raw("people.csv", VALID_CSV.encode("utf-16-le")), {}, DataFileError,
                 ["people.csv", "NUL bytes", "save it as 'CSV UTF-8'"],
                 id="UTF-16 without its byte order mark is refused, not read as garbage"),
    pytest.param(raw("people.csv", VALID_CSV.replace("gender", "sector", 1)), {}, DataFileError,
                 ["sector", "more than once", "keep one of each"],
                 id="a column named twice in the header is refused"),
    pytest.param(edited((1, "wealth_percentile", "NA")), {}, SchemaError,
                 ["column 'wealth_percentile'", "'NA'", "leave the cell empty"],
                 id="NA written out is not an empty cell"),
    pytest.param(edited((2, "crime_suspect", "")), {}, SchemaError,
                 ["column 'crime_suspect'", "may not be missing", "(row 2)", "fill in true or false"],
                 id="a missing flag is refused"),
    pytest.param(without("vsv"), {"require_target": True}, SchemaError, ["missing required column 'vsv'"],
                 id="the target is required when training"),
    pytest.param(edited((1, "mother_education", "Mid")), {}, SchemaError,
                 ["column 'mother_education'", "low, mid, high, unknown", "'Mid'"],
                 id="codes are case sensitive"),
]


@pytest.mark.parametrize(("make", "options", "error", "fragments"), BAD_INPUTS)
def test_bad_input_is_one_clear_error(tmp_path, make, options, error, fragments):
    path = make(tmp_path)
    with pytest.raises((SchemaError, DataFileError)) as caught:
        read_person_years(path, **options)
    assert caught.type is error
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message
    assert "\n" not in message
    if error is SchemaError:
        (problem,) = caught.value.problems  # exactly one problem: no knock-on messages
        assert problem.startswith(f"{path.name}: ")
        assert problem.rsplit(": ", 1)[1]  # a fix follows the last colon


def test_at_least_eighteen_distinct_bad_inputs():
    assert len({case.id for case in BAD_INPUTS}) == len(BAD_INPUTS) >= 18


def test_age_23_is_accepted_under_the_2026_definition(tmp_path):
    path = edited((1, "birth_date", "1995-09-30"))(tmp_path)
    table = read_person_years(path, upper_age=27)
    assert table.loc[0, "birth_date"] == pd.Timestamp("1995-09-30")


def test_several_problems_in_one_file_give_one_message_each(tmp_path):
    path = edited((1, "region_code", "41"), (2, "gender", "x"), (3, "delay_years", "-2"), (4, "psychosocial", "yes"))(
        tmp_path
    )
    with pytest.raises(SchemaError) as caught:
        read_person_years(path)
    assert len(caught.value.problems) == 4
    assert str(caught.value).startswith("4 problems: people.csv: column 'region_code'")


def test_a_message_lists_at_most_three_example_rows(tmp_path):
    path = edited(*[(row, "urbanisation", "9") for row in (2, 4, 6, 8, 10)])(tmp_path)
    with pytest.raises(SchemaError, match=r"\(rows 2, 4, 6 and 2 more\)"):
        read_person_years(path)


# --- good files -----------------------------------------------------------------------------


def code_book_dtypes() -> dict[str, object]:
    """The code book's dtypes, built from its code lists (not from the code under test)."""
    return {
        name: (pd.CategoricalDtype(list(CATEGORICAL_CODES[name])) if dtype == "category"
               else pd.api.types.pandas_dtype(dtype))
        for name, dtype in COLUMNS.items()
    }


@pytest.mark.parametrize("suffix", [".csv", ".parquet"], ids=["from csv", "from parquet"])
def test_dtypes_after_reading_are_exactly_the_code_books(tmp_path, suffix):
    path = tmp_path / f"people{suffix}"
    if suffix == ".csv":
        path.write_text(VALID_CSV)
    else:
        valid_table().to_parquet(path)
    table = read_person_years(path)
    assert dict(table.dtypes) == code_book_dtypes()
    for name, codes in CATEGORICAL_CODES.items():
        assert list(table[name].cat.categories) == list(codes)
    assert table.loc[3, ["psychosocial", "problem_debts"]].tolist() == [False, True]  # written 0 and 1
    assert bool(table.loc[4, "crime_suspect"]) is True  # written True


@pytest.mark.parametrize("suffix", [".csv", ".parquet"], ids=["through csv", "through parquet"])
def test_write_then_read_gives_an_identical_table(tmp_path, suffix):
    table = valid_table()
    path = write_person_years(table, tmp_path / f"people{suffix}")
    pd.testing.assert_frame_equal(read_person_years(path), table, check_exact=True)


def test_a_parquet_file_from_another_tool_reads_to_the_same_table(tmp_path):
    # Another tool's export: dates as date32, flags as 0/1 integers, codes as plain strings,
    # counts as nullable floats.
    table = valid_table()
    columns = {}
    for name, values in table.items():
        if name == "birth_date":
            columns[name] = pa.array(values.dt.date, pa.date32())
        elif values.dtype == bool:
            columns[name] = pa.array(values.astype("int8"))
        elif name in ("mbo_level", "wealth_percentile"):
            columns[name] = pa.array(values.astype("float64").to_numpy(na_value=float("nan")), from_pandas=True)
        else:
            columns[name] = pa.array(values.astype(object).where(values.notna(), None).tolist())
    path = tmp_path / "export.parquet"
    pq.write_table(pa.table(columns), path)
    pd.testing.assert_frame_equal(read_person_years(path), table)


def test_csv_is_written_with_the_file_conventions(tmp_path):
    path = write_person_years(valid_table(), tmp_path / "people.csv")
    header, first, *_, last = path.read_text(encoding="utf-8").splitlines()
    assert header.split(",") == list(COLUMNS)
    assert first == "p01,2018,2005-03-14,1,vo,havo,,,,v,0,true,false,false,false,false,true,55,both,mid,1,none,false"
    assert last.endswith(",5,none,")  # missing target: an empty cell


def test_text_with_commas_and_quotes_survives_a_csv_round_trip(tmp_path):
    table = valid_table()
    table["note"] = pd.Series(['moved, twice', 'said "no"', "two\nlines", None] * 5, dtype="string")
    table["person_id"] = table["person_id"].str.replace("p0", "p,0")
    path = write_person_years(table, tmp_path / "people.csv")
    back = read_person_years(path)
    pd.testing.assert_frame_equal(back.drop(columns="note"), table.drop(columns="note"))
    assert back["note"].tolist()[:3] == table["note"].tolist()[:3] and pd.isna(back["note"].iloc[3])


def test_unknown_extra_column_is_kept_and_ignored(tmp_path):
    text = _text_table()
    text.insert(2, "school_name", ["De Linie", "", "42", "x"] * 5)
    path = tmp_path / "people.csv"
    text.to_csv(path, index=False)
    table = read_person_years(path)
    assert list(table.columns) == [*COLUMNS, "school_name"]
    names = table["school_name"]
    assert names.iloc[0] == "De Linie" and pd.isna(names.iloc[1]) and names.iloc[2] == "42"  # as text


def test_same_person_in_different_school_years_is_fine(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(VALID_CSV)
    table = read_person_years(path)
    assert table.loc[table["person_id"] == "p02", "school_year"].tolist() == [2018, 2019]


def test_a_csv_saved_by_excel_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(b"\xef\xbb\xbf" + VALID_CSV.encode())
    assert read_person_years(path).columns[0] == "person_id"


def test_writing_refuses_an_existing_file_unless_asked(tmp_path):
    path = write_person_years(valid_table(), tmp_path / "people.parquet")
    with pytest.raises(OutputExistsError, match="overwrite"):
        write_person_years(valid_table(), path)
    write_person_years(valid_table().iloc[:3], path, overwrite=True)
    assert len(read_person_years(path)) == 3


def test_writing_an_unknown_type_is_refused(tmp_path):
    with pytest.raises(DataFileError, match=r"\.parquet and \.csv"):
        write_person_years(valid_table(), tmp_path / "people.xlsx")


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    table = valid_table()
    table["mixed"] = pd.Series([1, "a"] * 10, dtype=object)  # pyarrow refuses mixed objects
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError)):
        write_person_years(table, tmp_path / "people.parquet")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".csv", ".parquet"], ids=["from csv", "from parquet"])
def test_reading_one_school_year_gives_that_cohort_of_the_whole_file(tmp_path, small_population, suffix):
    frame = small_population.frame.drop(columns=["p_true", "p_true_features"])
    path = write_person_years(frame, tmp_path / f"people{suffix}")
    whole = read_person_years(path)
    expected = whole[whole["school_year"] == 2018].reset_index(drop=True)
    assert 0 < len(expected) < len(whole)
    pd.testing.assert_frame_equal(read_person_years(path, school_years=[2018]), expected, check_exact=True)


def test_reading_a_school_year_the_file_lacks_names_it(tmp_path):
    path = write_person_years(valid_table(), tmp_path / "people.parquet")
    with pytest.raises(SchemaError, match="no rows of school year 2031"):
        read_person_years(path, school_years=[2031])
