"""The data contract of the person-year table (DESIGN section 4), checked in memory."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vsvrisk.data import age_at_reference_date, person_year_schema, validate_person_years
from vsvrisk.data import _convert as convert_module
from vsvrisk.data import schema as schema_module
from vsvrisk.data.codes import CATEGORICAL_CODES, COLUMNS, PROBLEM_FLAGS
from vsvrisk.exceptions import ConfigError, SchemaError

_COLUMNS = [
    "person_id", "school_year", "birth_date", "region_code", "sector", "vo_type", "mbo_level",
    "mbo_pathway", "mbo_field", "gender", "delay_years", "wealth_percentile", "parents",
    "mother_education", "urbanisation", "vsv",
]
_ROWS = [
    # Ages on 1 October cover the edges: p02 turns 14 on the reference date itself, p06 is
    # born on 29 February, p10 turns 18 a day after it, p13 and p17 are 19.
    ("p01", 2018, "2005-03-14", 1, "vo", "havo", None, None, None, "v", 0, 55, "both", "mid", 1, False),
    ("p02", 2018, "2004-10-01", 14, "vo", "vmbo_bb", None, None, None, "m", 1, 12, "one", "low", 2, True),
    ("p03", 2018, "2006-01-30", 29, "vo", "vwo", None, None, None, "v", 0, None, "both", "high", 1, False),
    ("p04", 2018, "2003-07-07", 40, "vo", "pro", None, None, None, "m", 2, 3, "none", "unknown", 3, False),
    ("p05", 2018, "2005-12-24", 21, "vo", "vmbo_kb", None, None, None, "m", 0, 80, "both", "mid", 4, False),
    ("p06", 2018, "2004-02-29", 37, "vo", "vso", None, None, None, "v", 3, 45, "one", "low", 5, False),
    ("p07", 2018, "2005-06-01", 12, "vo", "vmbo_gt", None, None, None, "v", 0, 100, "both", "high", 2, False),
    ("p08", 2018, "2001-11-11", 29, "mbo", None, 1, "bol", "techniek", "m", 2, 8, "one", "low", 1, True),
    ("p09", 2018, "2002-04-04", 21, "mbo", None, 2, "bbl", "economie", "v", 1, 30, "both", "mid", 1, False),
    ("p10", 2018, "2000-10-02", 19, "mbo", None, 3, "bol", "zorg_welzijn", "v", 0, 66, "both", "unknown", 2, False),
    ("p11", 2018, "2001-01-15", 3, "mbo", None, 4, "bol", "groen", "m", 0, None, "none", "high", 5, False),
    ("p12", 2018, "2002-08-20", 28, "mbo", None, 4, "bbl", "combinatie", "m", 1, 91, "both", "mid", 1, True),
    ("p13", 2018, "1999-03-03", 33, "vavo", None, None, None, None, "v", 4, 20, "one", "low", 4, True),
    ("p14", 2018, "2000-12-12", 35, "vavo", None, None, None, None, "m", 2, 0, "both", "mid", 3, False),
    # The next school year, scored (vsv missing); p01 and p02 appear again, p02 now in mbo.
    ("p01", 2019, "2005-03-14", 1, "vo", "havo", None, None, None, "v", 0, 57, "both", "mid", 1, None),
    ("p02", 2019, "2004-10-01", 14, "mbo", None, 2, "bol", "techniek", "m", 1, 10, "one", "low", 2, None),
    ("p15", 2019, "2006-09-30", 40, "vo", "havo", None, None, None, "m", 0, 75, "both", "high", 2, None),
    ("p16", 2019, "2001-05-05", 29, "mbo", None, 3, "bbl", "zorg_welzijn", "v", 0, 40, "one", "mid", 1, None),
    ("p17", 2019, "1999-12-31", 14, "vavo", None, None, None, None, "v", 1, None, "none", "unknown", 2, None),
    ("p18", 2019, "2007-02-02", 5, "vo", "vwo", None, None, None, "m", 0, 99, "both", "high", 5, None),
]


def valid_person_years() -> pd.DataFrame:
    """Twenty valid person-years (vo, mbo and vavo, two school years), as plain Python values."""
    frame = pd.DataFrame(_ROWS, columns=_COLUMNS)
    for offset, flag in enumerate(PROBLEM_FLAGS):
        frame[flag] = [(row + offset) % 5 == 0 for row in range(len(frame))]
    frame["migration_background"] = ["none", "western", "non_western", "none"] * 5
    return frame


def with_value(frame: pd.DataFrame, column: str, rows, value) -> pd.DataFrame:
    """A copy with ``value`` in ``column`` at ``rows`` (object dtype, so any value fits)."""
    frame = frame.copy()
    frame[column] = frame[column].astype(object)
    frame.loc[rows, column] = value
    return frame


def problems_of(frame: pd.DataFrame, **kwargs) -> list[str]:
    with pytest.raises(SchemaError) as caught:
        validate_person_years(frame, **kwargs)
    return caught.value.problems


def expected_dtype(name: str):
    """The code book's dtype, built from the code lists (not from the code under test)."""
    if COLUMNS[name] == "category":
        return pd.CategoricalDtype(list(CATEGORICAL_CODES[name]))
    return np.dtype(COLUMNS[name]) if COLUMNS[name] in ("int64", "bool", "datetime64[ns]") else COLUMNS[name]


# --- a valid table --------------------------------------------------------------------------


def test_valid_table_gets_the_code_book_dtypes_in_code_book_order():
    table = validate_person_years(valid_person_years())
    assert list(table.columns) == list(COLUMNS)
    for name in COLUMNS:
        assert table[name].dtype == expected_dtype(name), name
    for name, codes in CATEGORICAL_CODES.items():
        assert list(table[name].cat.categories) == list(codes)
    assert table["mbo_level"].isna().sum() == 13 and table["wealth_percentile"].isna().sum() == 3
    assert table["vsv"].isna().sum() == 6


def test_typed_columns_of_a_neighbouring_dtype_get_exactly_the_code_books():
    frame = valid_person_years()
    mbo = frame[frame["sector"] == "mbo"].copy()
    mbo["vsv"] = mbo["vsv"].fillna(False).astype(bool)  # bool, not the nullable boolean
    mbo["mbo_level"] = mbo["mbo_level"].astype("int64")  # no gaps in an all-mbo table
    mbo["school_year"] = mbo["school_year"].astype("int32")
    mbo["region_code"] = mbo["region_code"].astype("Int64")
    mbo["delay_years"] = mbo["delay_years"].astype("float64")
    mbo["psychosocial"] = mbo["psychosocial"].astype("boolean")
    mbo["wealth_percentile"] = mbo["wealth_percentile"].astype("Int32")
    mbo["birth_date"] = pd.to_datetime(mbo["birth_date"]).astype("datetime64[s]")
    mbo["gender"] = mbo["gender"].astype("category")  # categories of its own: only m and v seen
    table = validate_person_years(mbo)
    for name in COLUMNS:
        assert table[name].dtype == expected_dtype(name), name


def test_validation_is_idempotent_and_resets_the_index():
    frame = valid_person_years()
    frame.index = range(100, 120)
    once = validate_person_years(frame)
    assert list(once.index) == list(range(20))
    pd.testing.assert_frame_equal(validate_person_years(once), once)


def test_text_cells_are_converted_like_typed_ones():
    frame = valid_person_years()
    text = frame.astype(object).where(frame.notna(), "").astype(str)
    text[list(PROBLEM_FLAGS)] = frame[list(PROBLEM_FLAGS)].replace({True: "1", False: "0"}).astype(str)
    text["vsv"] = frame["vsv"].map({True: "True", False: "False"}).fillna("")
    pd.testing.assert_frame_equal(validate_person_years(text), validate_person_years(frame))


def test_optional_columns_may_be_absent_and_stay_absent():
    table = validate_person_years(valid_person_years().drop(columns=["vsv", "migration_background"]))
    assert "vsv" not in table.columns and "migration_background" not in table.columns


def test_unknown_extra_column_is_kept_after_the_code_book_and_ignored():
    frame = valid_person_years()
    frame.insert(0, "school_name", ["x", None, 3.5, "not checked"] * 5)
    table = validate_person_years(frame)
    assert list(table.columns) == [*COLUMNS, "school_name"]
    assert table["school_name"].tolist() == frame["school_name"].tolist()


def test_same_person_in_different_school_years_is_fine():
    table = validate_person_years(valid_person_years())
    assert (table["person_id"] == "p01").sum() == 2


def test_age_23_is_refused_by_default_and_accepted_under_the_2026_definition():
    frame = with_value(valid_person_years(), "birth_date", 0, "1995-10-01")  # 23 on 1 Oct 2018
    (problem,) = problems_of(frame)
    assert problem.startswith("column 'birth_date'") and "below 23" in problem and "found age 23" in problem
    assert validate_person_years(frame, upper_age=27).loc[0, "birth_date"] == pd.Timestamp("1995-10-01")
    older = with_value(frame, "birth_date", 0, "1991-10-01")  # 27: outside even the wider population
    assert "below 27" in problems_of(older, upper_age=27)[0]


@pytest.mark.parametrize(
    ("birth_date", "valid"),
    [("2008-10-01", True), ("2008-10-02", False), ("1995-10-02", True), ("1995-10-01", False)],
    ids=[
        "turning ten on the reference date is in",
        "turning ten a day later is out",
        "turning 23 a day later is in",
        "turning 23 on the reference date is out",
    ],
)
def test_age_edges_on_the_reference_date(birth_date, valid):
    frame = with_value(valid_person_years(), "birth_date", 0, birth_date)
    if valid:
        validate_person_years(frame)
    else:
        (problem,) = problems_of(frame)
        assert problem.startswith("column 'birth_date'") and "at least 10 and below 23" in problem


def test_birth_date_after_the_reference_date_has_its_own_message_once():
    (problem,) = problems_of(with_value(valid_person_years(), "birth_date", 0, "2018-10-02"))
    assert "after the reference date" in problem and "(row 1)" in problem


# --- several problems, few rows -------------------------------------------------------------


def test_a_message_names_at_most_three_example_rows():
    (problem,) = problems_of(with_value(valid_person_years(), "delay_years", [1, 4, 6, 9, 12, 17], -1))
    assert "(rows 2, 5, 7 and 3 more)" in problem
    rows = re.search(r"\(rows ([^)]*)\)", problem).group(1)
    assert len(re.findall(r"\d+", rows.split(" and ")[0])) == 3


def test_several_problems_give_one_message_each_in_column_order():
    frame = with_value(valid_person_years(), "urbanisation", 3, 6)
    frame = with_value(frame, "region_code", 5, 41)
    frame = with_value(frame, "gender", 7, "x")
    problems = problems_of(frame)
    assert len(problems) == 3
    assert [problem.split("'")[1] for problem in problems] == ["region_code", "gender", "urbanisation"]


def test_a_value_that_cannot_be_converted_is_reported_once():
    # 'three' becomes missing after conversion; it must not also be reported as a gap.
    (problem,) = problems_of(with_value(valid_person_years(), "delay_years", 2, "three"))
    assert "whole numbers" in problem and "'three'" in problem and "(row 3)" in problem


def test_an_unknown_vo_type_is_not_also_reported_as_missing_for_a_vo_pupil():
    (problem,) = problems_of(with_value(valid_person_years(), "vo_type", 0, "gymnasium"))
    assert "'gymnasium'" in problem and "pro, vmbo_bb" in problem


@pytest.mark.parametrize(
    ("column", "row", "value", "words"),
    [
        ("mbo_pathway", 12, "bol", "must be empty outside sector mbo"),
        ("mbo_field", 7, None, "must be filled for sector mbo"),
        ("wealth_percentile", 0, 12.5, "whole numbers"),
        ("parents", 0, "Both", "both, one, none"),
        ("person_id", 0, "", "may not be missing"),
        ("crime_suspect", 0, 2, "true or false"),
        ("birth_date", 0, "0001-01-01", "YYYY-MM-DD"),
        ("migration_background", 0, "dutch", "none, western, non_western"),
        ("delay_years", 0, ["a", "list"], "whole numbers"),
    ],
    ids=[
        "an mbo pathway for a vavo pupil is refused",
        "a missing mbo field for an mbo pupil is refused",
        "a fractional wealth percentile is refused",
        "a capitalised parents code is refused",
        "an empty person id is refused",
        "a flag of 2 is refused",
        "a date outside the calendar pandas holds is refused",
        "an unknown migration background is refused",
        "a Python list in a cell is reported, not raised",
    ],
)
def test_bad_values_in_memory(column, row, value, words):
    (problem,) = problems_of(with_value(valid_person_years(), column, row, value))
    assert problem.startswith(f"column '{column}'") and words in problem
    assert f"(row {row + 1})" in problem and problem.count(": ") >= 2  # rule, then fix


def test_the_target_is_optional_unless_required():
    frame = valid_person_years()
    validate_person_years(frame)
    (problem,) = problems_of(frame, require_target=True)
    assert problem.startswith("column 'vsv': values may not be missing (rows 15, 16, 17 and 3 more)")
    (problem,) = problems_of(frame.drop(columns="vsv"), require_target=True)
    assert "missing required column 'vsv'" in problem


def test_a_column_no_converter_foresaw_is_reported_not_raised(monkeypatch):
    def unforeseen(values):
        raise TypeError("something new")

    monkeypatch.setitem(convert_module._CONVERTERS, "int64", unforeseen)
    problems = problems_of(valid_person_years())
    assert len(problems) == 4  # school_year, region_code, delay_years, urbanisation; no knock-on gaps
    assert problems[0] == "column 'school_year': cannot be read as int64 (something new): correct the column's values"


def test_missing_required_columns_are_named_together():
    (problem,) = problems_of(valid_person_years().drop(columns=["gender", "sector"]))
    assert "'sector', 'gender'" in problem and "add them" in problem


def test_an_empty_table_is_refused():
    (problem,) = problems_of(valid_person_years().iloc[:0])
    assert "no rows" in problem


def test_a_duplicate_person_names_the_person_and_year():
    (problem,) = problems_of(with_value(valid_person_years(), "person_id", 2, "p01"))
    assert "'p01' in 2018" in problem and "(rows 1, 3)" in problem


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d"])),
                          st.one_of(st.none(), st.integers(1990, 2040), st.just(10**9))), max_size=30))
def test_duplicates_within_a_year_are_the_rows_pandas_calls_duplicated(pairs):
    # The counting shortcut against DataFrame.duplicated on the pairs; a gap in either column
    # never makes a pair (those rows get their own message).
    frame = pd.DataFrame({"person_id": pd.array([p for p, _ in pairs], dtype="string"),
                          "school_year": pd.array([y for _, y in pairs], dtype="Int64")})
    expected = (frame.duplicated(["school_year", "person_id"], keep=False)
                & frame["person_id"].notna() & frame["school_year"].notna()).to_numpy()
    assert np.array_equal(schema_module._duplicated_within_year(frame), expected)


def test_something_other_than_a_table_is_refused():
    with pytest.raises(SchemaError, match="DataFrame"):
        validate_person_years([{"person_id": "p1"}])


def test_an_upper_age_that_is_not_a_whole_number_above_ten_is_refused():
    with pytest.raises(ConfigError, match="upper_age"):
        validate_person_years(valid_person_years(), upper_age=9)


# --- the pandera schema ---------------------------------------------------------------------


def test_schema_accepts_a_validated_table_and_knows_the_target_rule():
    table = validate_person_years(valid_person_years())
    assert isinstance(person_year_schema(), pa.DataFrameSchema)
    person_year_schema().validate(table)
    assert not person_year_schema().columns["vsv"].required
    assert person_year_schema(require_target=True).columns["vsv"].required
    with pytest.raises(pa.errors.SchemaError):
        person_year_schema(require_target=True).validate(table)  # vsv missing in 2019


# --- age at the reference date --------------------------------------------------------------


def test_age_counts_completed_years_on_1_october():
    births = pd.Series(pd.to_datetime(["2004-10-01", "2004-10-02", "2004-09-30", "2004-02-29", "2004-02-29"]))
    years = pd.Series([2018, 2018, 2018, 2018, 2020])
    age = age_at_reference_date(births, years)
    assert age.tolist() == [14, 13, 14, 14, 16] and age.dtype == np.int64


def test_age_refuses_missing_dates():
    with pytest.raises(ValueError, match="missing"):
        age_at_reference_date(pd.Series(pd.to_datetime(["2004-10-01", None])), 2018)


@settings(max_examples=200, deadline=None)
@given(births=st.lists(st.dates(dt.date(1960, 1, 1), dt.date(2040, 12, 31)), min_size=1, max_size=30),
       year=st.integers(2000, 2040))
def test_age_agrees_with_counting_birthdays(births, year):
    reference = dt.date(year, 10, 1)
    expected = [year - b.year - ((b.month, b.day) > (reference.month, reference.day)) for b in births]
    age = age_at_reference_date(pd.Series(pd.to_datetime(births)), pd.Series([year] * len(births)))
    assert age.tolist() == expected
