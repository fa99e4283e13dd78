"""The person-year rules as one numpy pass each, against plain pandas and pandera's own checks.

Validation of a national table runs its rules on codes, integers and text fingerprints instead of
pandera's built-in checks and pandas' hashing of the ids (vsvrisk/data/_checks.py,
_duplicates.py). Each fast path is compared here with the plain pandas or pandera result, on
frames that break the contract in the ways it names: a duplicate person-year, an age outside the
range, a missing required value, a bad code.
"""

from __future__ import annotations

import datetime as dt
from unittest import mock

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pyarrow
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vsvrisk.data import _duplicates, validate_person_years
from vsvrisk.data import schema as schema_module
from vsvrisk.data._checks import in_range_check, isin_check
from vsvrisk.data.codes import CATEGORICAL_CODES, SECTOR_COLUMNS
from vsvrisk.data.io import _in_years
from vsvrisk.exceptions import SchemaError

from test_data_schema import valid_person_years


def _pandas_duplicated(ids: pd.Series, years: pd.Series) -> np.ndarray:
    frame = pd.DataFrame({"person_id": ids, "school_year": years})
    return (frame.duplicated(keep=False) & ids.notna() & years.notna()).to_numpy()


# --- duplicate person-years ------------------------------------------------------------------

_IDS = st.one_of(
    st.none(),
    st.sampled_from(["", "a", "b", "2018-00000001", "2018-00000002", "é", "\x00", "a\x00"]),
    st.text(max_size=12),
    # Long ids that share a prefix and differ in the middle (past the 32 bytes the fingerprint
    # reads from the front, before the 16 it reads from the back): fingerprints collide, the
    # text comparison decides.
    st.builds(lambda middle: f"{'p' * 30}{middle}{'q' * 20}", st.text(max_size=4)),
)


@settings(max_examples=300, deadline=None)
@given(pairs=st.lists(st.tuples(_IDS, st.one_of(st.none(), st.sampled_from([2018, 2019, -1, 10**12]))),
                      max_size=40),
       chunk=st.integers(1, 7), block=st.sampled_from([2, 5, 1 << 16]))
def test_duplicates_by_fingerprint_are_the_rows_pandas_calls_duplicated(pairs, chunk, block):
    ids = [person for person, _ in pairs]
    # Arrow text in several chunks, as a parquet read delivers it (each chunk its own buffers).
    chunks = [pyarrow.array(ids[start:start + chunk], pyarrow.large_string())
              for start in range(0, len(ids), chunk)] or [pyarrow.array([], pyarrow.large_string())]
    frame = pd.DataFrame({
        "person_id": pd.Series(pd.arrays.ArrowStringArray(pyarrow.chunked_array(chunks)), dtype="string"),
        "school_year": pd.array([year for _, year in pairs], dtype="Int64"),
    })
    assert frame["person_id"].dtype.storage == "pyarrow"
    expected = _pandas_duplicated(frame["person_id"], frame["school_year"])
    with mock.patch.object(_duplicates, "_BLOCK_ROWS", block):  # rows fingerprinted a block at a time
        assert np.array_equal(schema_module._duplicated_within_year(frame), expected)


@pytest.mark.parametrize(
    "fingerprint",
    [lambda values: np.zeros(len(values), np.uint64), lambda values: None],
    ids=["every fingerprint colliding still finds exactly the duplicates",
         "text that cannot be fingerprinted goes the plain way"],
)
def test_duplicates_do_not_depend_on_the_fingerprint(monkeypatch, fingerprint):
    ids = pd.Series(["a", "b", "a", None, "c", "b", "a"], dtype="string")
    years = pd.Series([2018, 2018, 2018, 2018, 2019, 2019, 2019])
    monkeypatch.setattr(_duplicates, "_text_fingerprints", fingerprint)
    found = _duplicates._duplicated_within_year(pd.DataFrame({"person_id": ids, "school_year": years}))
    assert found.tolist() == [True, False, True, False, False, False, False]


@settings(max_examples=200, deadline=None)
@given(text=st.lists(st.text(max_size=50), min_size=1, max_size=20), start=st.integers(0, 5))
def test_equal_text_has_equal_fingerprints_whatever_its_buffers(text, start):
    # The same values as a slice of a longer large_string array and as a fresh string array:
    # other offsets, another offset width, other neighbouring bytes.
    padded = pyarrow.array(["x" * 9] * start + text + ["y" * 7], pyarrow.large_string())
    sliced = pd.Series(pd.arrays.ArrowStringArray(padded.slice(start, len(text))), dtype="string")
    fresh = pd.Series(pd.arrays.ArrowStringArray(pyarrow.array(text, pyarrow.string())), dtype="string")
    a, b = _duplicates._text_fingerprints(sliced), _duplicates._text_fingerprints(fresh)
    assert np.array_equal(a, b)
    distinct = {value: print_ for value, print_ in zip(text, a, strict=True)}
    # Text of up to 48 bytes is read whole: different text, different fingerprint.
    short = {value: print_ for value, print_ in distinct.items() if len(value.encode()) <= 48}
    assert len(set(short.values())) == len(short)


@pytest.mark.parametrize(
    "dtype",
    [pd.StringDtype("python"), pd.ArrowDtype(pyarrow.string_view()), object],
    ids=["text held as Python strings", "Arrow string views", "Python objects"],
)
def test_text_without_arrow_offsets_has_no_fingerprint_and_is_compared_plainly(dtype):
    ids = pd.Series(["a", "b", "a", None], dtype=dtype)
    assert _duplicates._text_fingerprints(ids) is None
    found = _duplicates._duplicated_within_year(pd.DataFrame({"person_id": ids, "school_year": [2018] * 4}))
    assert found.tolist() == [True, False, True, False]


def test_a_national_size_id_column_is_checked_by_fingerprint():
    # 200,000 ids in the national format with three duplicates planted; nothing slow needed.
    ids = pd.Series([f"2018-{n:08d}" for n in range(200_000)], dtype="string")
    ids[[10, 150_000, 199_999]] = ["2018-00000003", "2018-00000004", "2018-00000003"]
    years = pd.Series(np.full(200_000, 2018))
    found = schema_module._duplicated_within_year(pd.DataFrame({"person_id": ids, "school_year": years}))
    assert np.flatnonzero(found).tolist() == [3, 4, 10, 150_000, 199_999]


# --- value checks against pandera's built-ins ------------------------------------------------


_INTEGER_COLUMNS = st.lists(st.one_of(st.none(), st.integers(-5, 120)), min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(values=_INTEGER_COLUMNS, dtype=st.sampled_from(["int64", "Int64", "float64", "object"]))
def test_range_check_fails_the_rows_pandera_in_range_fails(values, dtype):
    if dtype == "int64":
        values = [0 if value is None else value for value in values]
    series = pd.Series(pd.array(values, dtype="Int64")).astype(dtype)
    ours = in_range_check(0, 100, error="x")(series).check_output.to_numpy(dtype=bool)
    theirs = pa.Check.in_range(0, 100)(series)
    # pandera drops the gaps before it checks (ignore_na); a gap passes.
    expected = theirs.check_output.reindex(series.index, fill_value=True).to_numpy(dtype=bool)
    assert np.array_equal(ours, expected)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.sampled_from(["vo", "mbo", "vavo", "hbo", "Vo"])), min_size=1,
                       max_size=30),
       categories=st.sampled_from([None, ["vo", "mbo", "vavo"], ["vo", "mbo", "vavo", "hbo", "Vo"], ["hbo"],
                                   ["vo", "hbo", "Vo", *(f"x{n}" for n in range(12))]]))
def test_code_check_fails_the_rows_pandera_isin_fails(values, categories):
    # Categories of the code book, more than the code book (a frame checked with the schema
    # directly), or text (object dtype).
    if categories is None:
        series = pd.Series(values, dtype=object)
    else:
        series = pd.Series(pd.Categorical([value if value in categories else None for value in values],
                                          categories=categories))
    allowed = CATEGORICAL_CODES["sector"]
    ours = isin_check(allowed, error="x")(series).check_output.to_numpy(dtype=bool)
    theirs = pa.Check.isin(allowed)(series).check_output.reindex(series.index, fill_value=True)
    assert np.array_equal(ours, theirs.to_numpy(dtype=bool))


@pytest.mark.parametrize("dtype", ["int64", "Int64", "float64"], ids=["int64", "nullable Int64", "float"])
def test_region_check_fails_the_rows_pandera_isin_fails(dtype):
    series = pd.Series(pd.array([1, 40, 0, 41, -3, None if dtype != "int64" else 7, 20, 10**12],
                                dtype="Int64")).astype(dtype)
    ours = isin_check(range(1, 41), error="x")(series).check_output.to_numpy(dtype=bool)
    theirs = pa.Check.isin(list(range(1, 41)))(series).check_output.reindex(series.index, fill_value=True)
    assert np.array_equal(ours, theirs.to_numpy(dtype=bool))


# --- the rules of a whole table, on the frame validation converts ----------------------------


def _broken_table(seed: int) -> pd.DataFrame:
    """Valid rows repeated, then broken where the contract names: every rule has failures."""
    rng = np.random.default_rng(seed)
    frame = pd.concat([valid_person_years()] * 5, ignore_index=True)
    frame["person_id"] = [f"p{row:03d}" for row in range(len(frame))]
    frame = frame.astype({"birth_date": object, "vo_type": object, "mbo_level": object, "mbo_pathway": object,
                          "mbo_field": object})

    def rows(count, sectors=("vo", "mbo", "vavo")):
        return rng.choice(np.flatnonzero(frame["sector"].isin(sectors)), count, replace=False)

    frame.loc[rows(3), "person_id"] = "p001"  # duplicate person-years (p001 is the second row)
    frame.loc[rows(3), "birth_date"] = "1980-05-05"  # too old
    frame.loc[rows(2), "birth_date"] = "2030-01-01"  # born after the reference date
    frame.loc[rows(2), "urbanisation"] = None  # a missing required value
    frame.loc[rows(3), "delay_years"] = 11  # out of range
    frame.loc[rows(2), "region_code"] = 41  # not a region
    frame.loc[rows(2), "gender"] = "x"  # a bad code
    for column, value in {"vo_type": "havo", "mbo_level": 2, "mbo_pathway": "bol", "mbo_field": "groen"}.items():
        inside = SECTOR_COLUMNS[column]
        frame.loc[rows(2, inside), column] = None  # missing inside its sector
        frame.loc[rows(2, [name for name in ("vo", "mbo", "vavo") if name not in inside]), column] = value
    return frame


def _reference_failures(frame: pd.DataFrame, upper_age: int) -> dict[str, np.ndarray]:
    """The rows each table rule fails, computed the plain way from the converted frame."""
    sector = frame["sector"].astype(object)
    expected = {}
    for column, sectors in SECTOR_COLUMNS.items():
        inside = sector.isin(sectors)
        expected[f"{column}: filled inside"] = (inside & frame[column].isna()).to_numpy()
        expected[f"{column}: empty outside"] = (sector.notna() & ~inside & frame[column].notna()).to_numpy()
    ages = []
    for birth, year in zip(frame["birth_date"], frame["school_year"], strict=True):
        if pd.isna(birth) or pd.isna(year):
            ages.append(None)
        else:  # counting birthdays, as a person does
            ages.append(year - birth.year - ((birth.month, birth.day) > (10, 1)))
    expected["birth_date: after reference"] = np.array([age is not None and age < 0 for age in ages])
    expected["birth_date: age"] = np.array([age is not None and age >= 0 and not 10 <= age < upper_age
                                            for age in ages])
    expected["person_id: unique"] = _pandas_duplicated(frame["person_id"], frame["school_year"])
    return expected


@pytest.mark.parametrize("seed", [0, 1, 2], ids=["one draw", "another draw", "a third draw"])
def test_every_table_rule_fails_the_rows_plain_pandas_finds(seed):
    converted, _, _ = schema_module._convert(_broken_table(seed))
    _, rules = schema_module._build(23, False)
    expected = _reference_failures(converted, 23)
    for key, rule in rules.items():
        if not rule.wide:
            continue
        failed = ~rule.check(converted).check_output.to_numpy(dtype=bool)
        assert np.array_equal(failed, expected[key]), key
        assert failed.any(), key  # the table breaks every rule


def test_a_broken_table_gets_one_message_per_rule_naming_field_and_fix():
    with pytest.raises(SchemaError) as caught:
        validate_person_years(_broken_table(0))
    problems = caught.value.problems
    assert all(problem.count("\n") == 0 and problem.startswith("column '") for problem in problems)
    named = [problem.split("'")[1] for problem in problems]
    for column in ("person_id", "birth_date", "region_code", "vo_type", "mbo_field", "gender", "delay_years",
                   "urbanisation"):
        assert column in named, column
    (duplicates,) = [problem for problem in problems if problem.startswith("column 'person_id'")]
    assert "'p001' in" in duplicates and "keep one row per person per school year" in duplicates


# --- ages and school years -------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(births=st.lists(st.datetimes(dt.datetime(1678, 1, 1), dt.datetime(2262, 4, 11)), min_size=1, max_size=30),
       year=st.integers(1600, 2300))
def test_age_from_one_calendar_field_counts_birthdays_at_any_time_of_day(births, year):
    # Times of day, and dates up to the last one pandas holds (where the shortcut would overflow
    # and the three-field way answers instead).
    expected = [year - b.year - ((b.month, b.day) > (10, 1)) for b in births]
    series = pd.Series(pd.to_datetime(births)).astype("datetime64[ns]")
    assert schema_module._age_values(series, np.full(len(births), year)).tolist() == expected


@pytest.mark.parametrize(
    ("values", "years"),
    [([2018, 2019, 2018, 2020], [2018]), ([2018, 2019, 2018, 2020], [2018, 2020]), ([2018], []),
     (["2018", "x", "2019", None], [2019])],
    ids=["one school year", "two school years", "no school year", "text, as from a csv"],
)
def test_school_years_are_chosen_as_isin_chooses_them(values, years):
    series = pd.Series(values)
    expected = pd.to_numeric(series, errors="coerce").isin(years).to_numpy()
    assert _in_years(series, years).tolist() == expected.tolist()


def test_age_of_a_local_birth_time_counts_birthdays_across_daylight_saving():
    # 00:30 on 2 October in Amsterdam is summer time; 91 days of 24 hours later it is still
    # 31 December in winter time, so the one-field shortcut does not apply to local times.
    births = pd.Series(pd.to_datetime(["2004-10-02 00:30", "2004-10-01 23:30"])).dt.tz_localize("Europe/Amsterdam")
    assert schema_module._age_values(births, 2018).tolist() == [13, 14]
