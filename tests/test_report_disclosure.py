"""Disclosure control: small cells blanked, person-level tables refused."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from vsvrisk.exceptions import ConfigError, VsvriskError
from vsvrisk.report import DisclosureError, assert_no_person_rows, suppress_small_cells


def _table(counts, **extra):
    n = len(counts)
    data = {"region_code": list(range(1, n + 1)), "region_name": [f"R{i}" for i in range(1, n + 1)],
            "n_persons": counts, "n_vsv": [c // 3 for c in counts],
            "rate": [0.1 + i / 100 for i in range(n)]}
    data.update(extra)
    return pd.DataFrame(data)


def test_counts_below_the_threshold_are_blanked_and_ten_is_kept():
    out = suppress_small_cells(_table([9, 10, 11]), threshold=10, total_published=False)
    assert out["suppressed"].tolist() == [True, False, False]
    assert out["n_persons"].isna().tolist() == [True, False, False]
    assert out["n_vsv"].isna().tolist() == [True, False, False]
    assert out["rate"].isna().tolist() == [True, False, False]
    assert out["n_persons"].iloc[1:].tolist() == [10, 11]


def test_keys_and_names_are_kept_and_column_order_is_unchanged():
    table = _table([3, 50, 60])
    out = suppress_small_cells(table)
    assert out["region_code"].tolist() == [1, 2, 3]
    assert out["region_name"].tolist() == ["R1", "R2", "R3"]
    assert list(out.columns) == [*table.columns, "suppressed"]
    assert table["n_persons"].tolist() == [3, 50, 60], "the input must not be changed"


def test_one_blanked_cell_with_a_published_total_blanks_the_next_smallest():
    out = suppress_small_cells(_table([40, 5, 12, 30, 12]), threshold=10)
    # 12 appears twice: the first in table order is taken.
    assert out["suppressed"].tolist() == [False, True, True, False, False]
    assert out.attrs["suppression"]["primary_rows"] == 1
    assert out.attrs["suppression"]["secondary_rows"] == 1


def test_no_secondary_blanking_without_a_published_total():
    out = suppress_small_cells(_table([40, 5, 12]), total_published=False)
    assert out["suppressed"].tolist() == [False, True, False]


def test_blanked_cells_that_add_up_to_a_small_cell_get_company():
    out = suppress_small_cells(_table([2, 3, 50, 70]), threshold=10)
    assert out["suppressed"].tolist() == [True, True, True, False]


def test_nothing_small_means_nothing_blanked():
    out = suppress_small_cells(_table([10, 20, 30]))
    assert not out["suppressed"].any()
    assert out["n_persons"].tolist() == [10, 20, 30]


def test_only_the_named_columns_and_the_count_are_blanked():
    out = suppress_small_cells(_table([9, 50]), columns=["rate"], total_published=False)
    assert out["rate"].isna().tolist() == [True, False]
    assert out["n_persons"].isna().tolist() == [True, False]
    assert out["n_vsv"].tolist() == [3, 16]


def test_counts_stay_whole_numbers_and_show_as_empty_in_a_csv():
    out = suppress_small_cells(_table([9, 10, 11]), total_published=False)
    assert str(out["n_persons"].dtype) == "Int64"
    text = out.to_csv(index=False, lineterminator="\n")
    assert text.splitlines()[1] == "1,R1,,,,True"
    assert text.splitlines()[2].startswith("2,R2,10,3,")
    back = pd.read_csv(io.StringIO(text))
    assert back["n_persons"].isna().tolist() == [True, False, False]


def test_a_missing_count_is_treated_as_small():
    table = _table([20, 30, 40])
    table["n_persons"] = table["n_persons"].astype("Int64")
    table.loc[0, "n_persons"] = pd.NA
    out = suppress_small_cells(table, total_published=False)
    assert out["suppressed"].tolist() == [True, False, False]


@pytest.mark.parametrize("threshold", [0, -5, 0.5], ids=["zero", "negative", "below one"])
def test_a_threshold_below_one_is_refused(threshold):
    with pytest.raises(ConfigError, match="threshold") as info:
        suppress_small_cells(_table([9, 10]), threshold=threshold)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "kwargs, name",
    [({"count_column": "persons"}, "persons"), ({"columns": ["rate", "nope"]}, "nope")],
    ids=["the count column is missing", "a column to suppress is missing"],
)
def test_missing_columns_are_named(kwargs, name):
    with pytest.raises(DisclosureError, match=name):
        suppress_small_cells(_table([9, 10]), **kwargs)


def test_a_person_id_column_is_refused():
    with pytest.raises(DisclosureError, match="person_id") as info:
        assert_no_person_rows(pd.DataFrame({"person_id": [1, 2], "p": [0.1, 0.2]}))
    assert isinstance(info.value, VsvriskError)


def test_a_person_id_index_is_refused():
    table = pd.DataFrame({"p": [0.1, 0.2]}, index=pd.Index([1, 2], name="person_id"))
    with pytest.raises(DisclosureError, match="person_id"):
        assert_no_person_rows(table)


def test_other_id_columns_and_a_row_limit_can_be_given():
    with pytest.raises(DisclosureError, match="rin"):
        assert_no_person_rows(pd.DataFrame({"rin": [1]}), id_columns="rin")
    with pytest.raises(DisclosureError, match="41 rows"):
        assert_no_person_rows(pd.DataFrame({"region_code": range(41)}), max_rows=40)
    assert_no_person_rows(pd.DataFrame({"region_code": range(40)}), max_rows=40)
