"""The rows of one school year: frame[frame.school_year == year], a slice where they are consecutive."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from vsvrisk.data import school_year_rows


@settings(max_examples=200, deadline=None)
@given(years=st.lists(st.sampled_from([2018, 2019, 2020, None]), max_size=40), sort=st.booleans(),
       year=st.sampled_from([2018, 2019, 2021]))
def test_the_rows_of_a_year_are_the_masked_rows(years, sort, year):
    if sort:  # cohort after cohort, as files are written: the slice path
        years = sorted(years, key=lambda y: (y is None, y or 0))
    frame = pd.DataFrame({"school_year": pd.array(years, dtype="Int64"), "person_id": [f"p{i}" for i in range(len(years))],
                          "vsv": np.arange(len(years)) % 3 == 0}, index=np.arange(len(years)) * 2 + 5)
    expected = frame[(frame["school_year"] == year).fillna(False).to_numpy(dtype=bool)]
    pd.testing.assert_frame_equal(school_year_rows(frame, year), expected)


def test_consecutive_rows_are_a_slice_and_a_change_to_it_stays_its_own():
    frame = pd.DataFrame({"school_year": [2018] * 3 + [2019] * 3, "x": np.arange(6.0)})
    cohort = school_year_rows(frame, 2019)
    assert np.shares_memory(cohort["x"].to_numpy(), frame["x"].to_numpy())  # no copy
    cohort.loc[cohort.index[0], "x"] = -1.0  # pandas copy-on-write: the frame keeps its value
    assert frame["x"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0] and cohort["x"].tolist() == [-1.0, 4.0, 5.0]
