"""Need per region: the csv table, last year's allocation, and need from predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vsvrisk.allocate import (
    TopShare,
    allocate,
    need_from_predictions,
    need_from_table,
    parse_scenario,
    read_previous_allocation,
)
from vsvrisk.allocate.need import top_share_weights
from vsvrisk.exceptions import AllocationError, DataFileError

GOOD_ROWS = [f"{code},{code / 10}" for code in range(1, 41)]


def write(tmp_path, lines, name="need.csv"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
    return path


def with_row(position, row):
    rows = list(GOOD_ROWS)
    rows[position] = row
    return rows


# --------------------------------------------------------------------------- need table


def test_a_good_need_table_reads_as_40_regions_in_code_order(tmp_path):
    need = need_from_table(write(tmp_path, ["region_code,need"] + GOOD_ROWS[::-1]))
    assert need.index.tolist() == list(range(1, 41))
    assert need.name == "need" and need.index.name == "region_code"
    assert need.loc[29] == pytest.approx(2.9)


def test_extra_columns_blank_lines_and_a_byte_order_mark_are_fine(tmp_path):
    rows = [f"{code},Region {code},{code}" for code in range(1, 41)]
    path = tmp_path / "need.csv"
    path.write_text("\ufeffregion_code,region_name,need\n" + "\n".join(rows[:20]) + "\n\n"
                    + "\n".join(rows[20:]) + "\n", encoding="utf-8")
    assert need_from_table(path).sum() == 820


@pytest.mark.parametrize(
    "lines, error, fragments",
    [
        (["region_code,need"] + GOOD_ROWS[:-1], AllocationError, ["region 40 missing"]),
        (["region_code,need"] + GOOD_ROWS[:-3], AllocationError, ["regions 38, 39, 40 missing"]),
        (["region_code,need"] + GOOD_ROWS + ["7,1.0"], AllocationError,
         ["line 42", "region 7", "line 8"]),
        (["region_code,need"] + with_row(39, "41,4.0"), AllocationError, ["line 41", "'41'", "1..40"]),
        (["region_code,need"] + with_row(4, "5,-1"), AllocationError, ["line 6", "region 5", "need"]),
        (["region_code,need"] + with_row(4, "5,veel"), AllocationError,
         ["line 6", "region 5", "'veel'", "not a number"]),
        (["region_code,need"] + with_row(4, "5,"), AllocationError, ["line 6", "region 5", "empty"]),
        (["region_code,need"] + with_row(4, "5,nan"), AllocationError, ["region 5", "finite"]),
        (["regio,behoefte"] + GOOD_ROWS, DataFileError, ["region_code", "regio,behoefte"]),
        (["region_code,behoefte"] + GOOD_ROWS, DataFileError, ["'need'"]),
        (["region_code,name;need"] + GOOD_ROWS, DataFileError,
         ["'region_code,name;need'", "both ',' and ';'", "one character"]),
        ([], DataFileError, ["empty", "region_code,need"]),
        (["region_code,need"] + with_row(2, "3,0.3,extra"), DataFileError, ["line 4", "3 fields"]),
        (["region_code,need"] + with_row(2, "drie,0.3"), AllocationError, ["line 4", "'drie'"]),
    ],
    ids=[
        "a missing region is named",
        "several missing regions are all named",
        "a duplicated region names both lines",
        "unknown region code 41 is named with its line",
        "a negative need names the line and the region",
        "a need in words names the line, region and text",
        "an empty need cell asks for 0",
        "a need of nan is refused",
        "a wrong header names the column it lacks",
        "a header without need names the need column",
        "a header split two ways by ',' and ';' asks for one separator",
        "an empty file shows the header it expects",
        "a row with an extra field names the line",
        "a region code in words names the line",
    ],
)
def test_bad_need_tables_are_refused_with_a_message_that_names_the_problem(
        tmp_path, lines, error, fragments):
    with pytest.raises(error) as caught:
        need_from_table(write(tmp_path, lines))
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_a_need_table_that_does_not_exist_is_a_data_file_error(tmp_path):
    with pytest.raises(DataFileError, match="not found"):
        need_from_table(tmp_path / "nothing.csv")


# --------------------------------------------------------------------------- previous allocation


def test_an_allocation_written_by_allocate_reads_back_as_previous(tmp_path):
    need = pd.Series(np.arange(1.0, 41.0), index=range(1, 41))
    table = allocate(need, {"budget_eur": 90_000_000, "base_amount_eur": 250_000})
    path = tmp_path / "allocation.csv"
    table.to_csv(path, index=False)
    previous = read_previous_allocation(path)
    assert previous.name == "amount_eur"
    assert previous.tolist() == table["amount_eur"].tolist()
    # ... and it serves as the previous year for dampening.
    damped = allocate(need[::-1].set_axis(need.index), {"budget_eur": 90_000_000, "max_change": 0.05},
                      previous=previous)
    assert damped["change_pct"].abs().max() <= 5 + 1e-4


def test_a_previous_allocation_without_amount_eur_names_the_column(tmp_path):
    with pytest.raises(DataFileError, match="amount_eur"):
        read_previous_allocation(write(tmp_path, ["region_code,need"] + GOOD_ROWS))


# --------------------------------------------------------------------------- from predictions


def test_scenario_all_sums_every_probability_per_region_and_counts_persons():
    frame = pd.DataFrame({"region_code": [1, 1, 2, 40, 40, 40], "p": [0.1, 0.2, 0.3, 0.1, 0.1, 0.05]})
    table = need_from_predictions(frame)
    assert table.index.tolist() == list(range(1, 41))
    assert table.loc[[1, 2, 40], "need"].tolist() == pytest.approx([0.3, 0.3, 0.25])
    assert table.loc[[1, 2, 3, 40], "n_persons"].tolist() == [2, 1, 0, 3]
    assert table.loc[3, "need"] == 0  # a region without persons has need 0
    assert (table["n_counted"] == table["n_persons"]).all()


def test_top_share_counts_exactly_the_top_40_percent():
    # Ten persons with distinct probabilities: the top 40% are the four highest.
    frame = pd.DataFrame({
        "region_code": [1, 2, 3, 1, 2, 3, 1, 2, 3, 4],
        "p": [0.90, 0.80, 0.70, 0.60, 0.50, 0.40, 0.30, 0.20, 0.10, 0.05],
    })
    table = need_from_predictions(frame, scenario=TopShare(top_share=0.4))
    assert table.loc[[1, 2, 3, 4], "need"].tolist() == pytest.approx([0.9 + 0.6, 0.8, 0.7, 0.0])
    assert table.loc[[1, 2, 3, 4], "n_counted"].tolist() == [2, 1, 1, 0]
    assert table.loc[[1, 2, 3, 4], "n_persons"].tolist() == [3, 3, 3, 1]


def test_top_share_ties_at_the_cut_off_share_the_places_left():
    # Top 40% of 10 = 4 places: 0.9, 0.8, 0.7 take three; the three persons at 0.5 share the
    # last place, a third each.
    p = [0.9, 0.8, 0.7, 0.5, 0.5, 0.5, 0.3, 0.2, 0.1, 0.05]
    weights = top_share_weights(np.array(p), np.ones(10), 0.4)
    assert weights.tolist() == pytest.approx([1, 1, 1, 1 / 3, 1 / 3, 1 / 3, 0, 0, 0, 0])
    assert weights.sum() == pytest.approx(4)
    frame = pd.DataFrame({"region_code": [1, 1, 1, 2, 3, 4, 5, 5, 5, 5], "p": p})
    table = need_from_predictions(frame, scenario={"top_share": 0.4})
    assert table.loc[[1, 2, 3, 4, 5], "need"].tolist() == pytest.approx(
        [2.4, 0.5 / 3, 0.5 / 3, 0.5 / 3, 0.0])


def test_top_share_does_not_depend_on_row_order():
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"region_code": rng.integers(1, 41, 5000),
                          "p": rng.choice([0.01, 0.02, 0.05, 0.1, 0.3], 5000)})  # many ties
    first = need_from_predictions(frame, scenario={"top_share": 0.4})
    shuffled = need_from_predictions(frame.sample(frac=1, random_state=1), scenario={"top_share": 0.4})
    assert np.allclose(first["need"], shuffled["need"], rtol=1e-12)
    # The counted weight is exactly 40% of the persons.
    order = np.argsort(-frame["p"].to_numpy(), kind="stable")
    assert top_share_weights(frame["p"].to_numpy()[order], np.ones(5000), 0.4).sum() == pytest.approx(2000)


@pytest.mark.parametrize(
    "frame, keywords, fragment",
    [
        (pd.DataFrame({"region": [1], "p": [0.1]}), {}, "region_code"),
        (pd.DataFrame({"region_code": [1], "prob": [0.1]}), {}, "'p'"),
        (pd.DataFrame({"region_code": [41], "p": [0.1]}), {}, "'41'"),
        (pd.DataFrame({"region_code": [1, 2], "p": [0.1, 1.5]}), {}, "row 1"),
        (pd.DataFrame({"region_code": [1], "p": [np.nan]}), {}, "'p', row 0"),
        (pd.DataFrame({"region_code": [1], "p": [0.1]}), {"scenario": "top"}, "scenario"),
        (pd.DataFrame({"region_code": [1], "p": [0.1]}), {"scenario": {"top_share": 1.0}}, "top_share"),
    ],
    ids=["a missing region column is named", "a missing probability column is named",
         "an unknown region code is named", "a probability above 1 names its row",
         "a missing probability names its row", "an unknown scenario is named",
         "top_share of 1 is refused"],
)
def test_bad_predictions_name_the_column_or_key(frame, keywords, fragment):
    with pytest.raises(AllocationError, match=fragment.replace("(", r"\(")):
        need_from_predictions(frame, **keywords)


def test_scenarios_parse_from_yaml_shapes():
    assert parse_scenario("all") == "all"
    assert parse_scenario({"top_share": 0.4}) == TopShare(top_share=0.4)
    with pytest.raises(AllocationError, match="unknown key 'share'"):
        parse_scenario({"share": 0.4})
