"""The allocation rules (DESIGN section 9): hand-computed cases, rounding, errors, properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from vsvrisk.allocate.rules import (
    AllocationRules,
    InfeasibleRulesError,
    allocate,
    largest_remainder,
)
from vsvrisk.exceptions import AllocationError

CODES = list(range(1, 41))


def by_region(values) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=float), index=pd.Index(CODES, name="region_code"))


ONE_TO_FORTY = by_region(range(1, 41))  # sums to 820


# --------------------------------------------------------------------------- hand-computed cases


def test_need_one_to_forty_with_budget_820_gives_lambda_one_and_amount_equal_to_need():
    table = allocate(ONE_TO_FORTY, AllocationRules(budget_eur=820))
    assert table.attrs["lambda"] == pytest.approx(1.0, abs=1e-12)
    assert table["amount_eur"].tolist() == list(range(1, 41))
    assert table["region_code"].tolist() == CODES
    assert (table["binding"] == "none").all()
    assert table["share"].tolist() == pytest.approx([n / 820 for n in range(1, 41)])
    assert table["amount_share"].sum() == pytest.approx(1.0)


def test_output_columns_and_types():
    table = allocate(ONE_TO_FORTY, {"budget_eur": 820})
    assert table.columns.tolist() == [
        "region_code", "region_name", "need", "share", "amount_eur", "amount_share",
        "lower_eur", "upper_eur", "binding", "amount_unrounded_eur",
    ]
    assert table["amount_eur"].dtype == np.int64
    assert table.loc[table.region_code == 29, "region_name"].item() == "Rijnmond"
    assert table["upper_eur"].isna().all()  # no upper limit without a previous year


def test_base_amount_is_added_before_need_is_counted():
    # 40 x 10 = 400 fixed; the other 820 follow need with lambda 1.
    table = allocate(ONE_TO_FORTY, {"budget_eur": 1220, "base_amount_eur": 10})
    assert table["amount_eur"].tolist() == [10 + n for n in range(1, 41)]
    assert table.attrs["lambda"] == pytest.approx(1.0)


def test_a_floor_that_binds_lifts_the_smallest_regions():
    # max(5, n): regions 1-4 are lifted to 5 (4 x 5 - 10 = 10 euros more), region 5 just
    # touches the floor (not binding); 820 + 10 = 830 keeps lambda at 1.
    table = allocate(ONE_TO_FORTY, {"budget_eur": 830, "floor_eur": 5})
    assert table["amount_eur"].tolist() == [max(5, n) for n in range(1, 41)]
    assert table["binding"].tolist() == ["floor"] * 4 + ["none"] * 36
    assert table.attrs["lambda"] == pytest.approx(1.0)


def test_a_band_that_binds_holds_regions_within_previous_plus_or_minus_max_change():
    # previous 20 everywhere, max_change 0.5: lo 10, hi 30. clip(n, 10, 30) adds up to
    # 9 x 10 + (10 + ... + 30) + 10 x 30 = 90 + 420 + 300 = 810, so lambda is 1.
    table = allocate(ONE_TO_FORTY, {"budget_eur": 810, "max_change": 0.5}, previous=by_region([20] * 40))
    assert table["amount_eur"].tolist() == [min(max(n, 10), 30) for n in range(1, 41)]
    assert table["binding"].tolist() == ["lower_band"] * 9 + ["none"] * 21 + ["upper_band"] * 10
    assert table["lower_eur"].eq(10).all() and table["upper_eur"].eq(30).all()
    assert table["previous_eur"].eq(20).all()
    assert table.loc[0, "change_eur"] == -10 and table.loc[0, "change_pct"] == -50
    assert table.columns[6:9].tolist() == ["previous_eur", "change_eur", "change_pct"]


def test_a_floor_wins_over_the_lower_band():
    # floor 12 > previous x 0.5 = 10: lo is 12 and the rule that binds is the floor.
    # 11 x 12 + (12 + ... + 30) + 10 x 30 = 132 + 399 + 300 = 831.
    table = allocate(ONE_TO_FORTY, {"budget_eur": 831, "floor_eur": 12, "max_change": 0.5},
                     previous=by_region([20] * 40))
    assert table["amount_eur"].tolist() == [min(max(n, 12), 30) for n in range(1, 41)]
    assert table["binding"].tolist()[:11] == ["floor"] * 11


def test_regions_without_need_get_the_base_amount_or_the_floor():
    need = by_region([0] * 5 + list(range(1, 36)))
    table = allocate(need, {"budget_eur": 100_000, "base_amount_eur": 1000, "floor_eur": 1500})
    assert table["amount_eur"].head(5).tolist() == [1500] * 5
    table = allocate(need, {"budget_eur": 100_000, "base_amount_eur": 1000})
    assert table["amount_eur"].head(5).tolist() == [1000] * 5


def test_need_may_be_a_frame_with_region_code_and_need_columns():
    frame = pd.DataFrame({"region_code": CODES[::-1], "need": list(range(40, 0, -1))})
    assert allocate(frame, {"budget_eur": 820})["amount_eur"].tolist() == list(range(1, 41))


# --------------------------------------------------------------------------- rounding


def test_equal_remainders_go_to_the_lower_region_code_first():
    # 40 equal needs, budget 1003: each region 25.075; 40 x 25 = 1000 leaves 3 euros, which
    # go to regions 1, 2 and 3.
    table = allocate(by_region([1.0] * 40), {"budget_eur": 1003})
    assert table["amount_eur"].tolist() == [26, 26, 26] + [25] * 37


def test_largest_remainders_win_before_code_order():
    # Regions 39 and 40 have twice the need: 2000/42 = 47.619 (remainder .619) and
    # 4000/42 = 95.238 (.238). Floors add up to 38 x 47 + 2 x 95 = 1976: 24 euros to give, all
    # to the 38 regions with remainder .619, lowest codes first.
    table = allocate(by_region([1.0] * 38 + [2.0] * 2), {"budget_eur": 2000})
    assert table["amount_eur"].tolist() == [48] * 24 + [47] * 14 + [95, 95]


@pytest.mark.parametrize(
    "amounts, total, expected",
    [
        ([1.5, 1.5, 1.0], 4, [2, 1, 1]),
        ([0.2, 0.7, 2.1], 3, [0, 1, 2]),
        ([0.5, 0.5, 0.5, 0.5], 2, [1, 1, 0, 0]),
        ([3.0, 4.0], 7, [3, 4]),
    ],
    ids=["a tie goes to the first", "the largest remainder wins", "two ties of four",
         "whole amounts stay"],
)
def test_largest_remainder_by_hand(amounts, total, expected):
    assert largest_remainder(amounts, total).tolist() == expected


# --------------------------------------------------------------------------- bad inputs


def test_previous_without_max_change_is_refused():
    with pytest.raises(AllocationError, match="max_change"):
        allocate(ONE_TO_FORTY, {"budget_eur": 820}, previous=by_region([20] * 40))


def test_max_change_without_previous_is_refused():
    with pytest.raises(AllocationError, match="previous"):
        allocate(ONE_TO_FORTY, {"budget_eur": 820, "max_change": 0.05})


def _replace(values, position, value):
    values = list(values)
    values[position] = value
    return values


@pytest.mark.parametrize(
    "need, fragment",
    [
        (pd.Series(range(1, 40), index=range(1, 40), dtype=float), "region 40 missing"),
        (pd.Series(range(1, 42), index=list(range(1, 41)) + [41], dtype=float), "41"),
        (pd.Series(range(1, 42), index=list(range(1, 41)) + [7], dtype=float), "region 7 appears 2"),
        (by_region(_replace(range(1, 41), 4, -1.0)), "region 5"),
        (by_region(_replace(range(1, 41), 4, np.nan)), "region 5"),
        (by_region(_replace(range(1, 41), 4, np.inf)), "region 5"),
        (pd.Series(["a"] * 40, index=CODES), "numbers"),
        (pd.DataFrame({"region_code": CODES, "behoefte": 1.0}), "need"),
    ],
    ids=["a missing region is named", "an unknown region code is named",
         "a duplicated region is named", "a negative need names its region",
         "a missing need names its region", "an infinite need names its region",
         "text instead of numbers is refused", "a frame without a need column is refused"],
)
def test_bad_need_is_an_allocation_error_naming_the_problem(need, fragment):
    with pytest.raises(AllocationError, match=fragment):
        allocate(need, {"budget_eur": 820})


@pytest.mark.parametrize(
    "rules, key",
    [({"budget_eur": 0}, "budget_eur"), ({"budget_eur": 10, "floor_eur": -1}, "floor_eur"),
     ({"budget_eur": 10, "max_change": 1.5}, "max_change"), ({"budget_eur": 10, "bugdet": 1}, "bugdet")],
    ids=["a budget of zero", "a negative floor", "max_change above 1", "a misspelt rule"],
)
def test_bad_rules_name_the_rule(rules, key):
    with pytest.raises(AllocationError, match=key):
        allocate(ONE_TO_FORTY, rules)


def test_a_negative_previous_amount_is_refused():
    with pytest.raises(AllocationError, match="previous allocation: region 3"):
        allocate(ONE_TO_FORTY, {"budget_eur": 820, "max_change": 0.1},
                 previous=by_region(_replace([20] * 40, 2, -5)))


# --------------------------------------------------------------------------- infeasible rules


FLAT_PREVIOUS = by_region([2_250_000] * 40)  # 90 million last year


@pytest.mark.parametrize(
    "rules, previous, rule, value",
    [
        ({"budget_eur": 90_000_000, "base_amount_eur": 2_400_000}, None,
         "base_amount_eur", "2,250,000"),
        ({"budget_eur": 90_000_000, "floor_eur": 2_300_000}, None, "floor_eur", "2,250,000"),
        ({"budget_eur": 80_000_000, "max_change": 0.05}, FLAT_PREVIOUS, "max_change", "0.1112"),
        ({"budget_eur": 100_000_000, "max_change": 0.05}, FLAT_PREVIOUS, "max_change", "0.1112"),
        ({"budget_eur": 80_000_000, "max_change": 0.05}, FLAT_PREVIOUS, "budget_eur", "85,500,000"),
        ({"budget_eur": 100_000_000, "max_change": 0.05}, FLAT_PREVIOUS, "budget_eur", "94,500,000"),
        ({"budget_eur": 80_000_000, "max_change": 0.2, "floor_eur": 2_100_000}, FLAT_PREVIOUS,
         "floor_eur", "2,000,000"),
    ],
    ids=["40 x base above the budget: lower the base",
         "40 x floor above the budget: lower the floor",
         "budget cut below the lower band: raise max_change",
         "budget grown beyond the upper band: raise max_change",
         "budget cut below the lower band: or raise the budget",
         "budget grown beyond the upper band: or lower the budget",
         "floor above the lowered budget: lower the floor"],
)
def test_infeasible_rules_say_what_to_relax_and_relaxing_works(rules, previous, rule, value):
    with pytest.raises(InfeasibleRulesError) as caught:
        allocate(ONE_TO_FORTY, rules, previous)
    message = str(caught.value)
    assert "\n" not in message
    assert rule in message and value in message
    relaxed = {**rules, rule: caught.value.relaxations[rule]}
    assert f"{caught.value.relaxations[rule]:,}".startswith(value.split(".")[0])
    table = allocate(ONE_TO_FORTY, relaxed, previous)
    assert table["amount_eur"].sum() == relaxed["budget_eur"]


def test_the_message_for_a_base_amount_above_the_budget_reads_as_designed():
    with pytest.raises(InfeasibleRulesError) as caught:
        allocate(ONE_TO_FORTY, {"budget_eur": 90_000_000, "base_amount_eur": 2_400_000})
    assert str(caught.value).startswith(
        "40 x base_amount_eur = 96,000,000 exceeds budget_eur 90,000,000 by 6,000,000: "
        "lower base_amount_eur to at most 2,250,000"
    )


def test_zero_need_everywhere_is_an_error_unless_the_base_amounts_make_the_budget():
    zero = by_region([0.0] * 40)
    with pytest.raises(InfeasibleRulesError, match="need is 0"):
        allocate(zero, {"budget_eur": 1000})
    table = allocate(zero, {"budget_eur": 1000, "base_amount_eur": 25})
    assert table["amount_eur"].eq(25).all() and table["share"].isna().all()


# --------------------------------------------------------------------------- properties

# Need is a sum of probabilities: 0, or at least a millionth (shares of 1e-300 would only test
# floating-point overflow, not the rules).
needs = st.lists(st.one_of(st.just(0.0), st.floats(1e-6, 1e4)), min_size=40, max_size=40).filter(
    lambda values: sum(values) > 0
)
budgets = st.integers(1, 2_000_000_000)
fractions = st.floats(0, 1, exclude_max=True)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _rules_without_previous(budget, base_fraction, floor_fraction):
    return AllocationRules(budget_eur=budget, base_amount_eur=int(budget / 40 * base_fraction),
                           floor_eur=int(budget / 40 * floor_fraction))


@PROPERTY
@given(needs, budgets, fractions, fractions)
def test_amounts_add_up_to_the_budget_exactly_and_stay_within_their_limits(need, budget, base, floor):
    table = allocate(by_region(need), _rules_without_previous(budget, base, floor))
    assert int(table["amount_eur"].sum()) == budget
    assert abs(table["amount_unrounded_eur"].sum() - budget) <= 1e-6 * max(1, budget / 1e8)
    assert (table["amount_eur"] >= table["lower_eur"]).all()  # a floor is whole euros


@PROPERTY
@given(needs, st.lists(st.floats(0, 1e7), min_size=40, max_size=40), st.floats(0.5, 1.5),
       fractions, fractions, st.floats(0.001, 1))
def test_with_a_band_amounts_add_up_and_stay_within_one_euro_of_lo_and_hi(
        need, previous, budget_factor, base, floor, max_change):
    # A budget around last year's total, so that both feasible and infeasible bands occur.
    budget = max(1, int(sum(previous) * budget_factor))
    rules = AllocationRules(budget_eur=budget, base_amount_eur=int(budget / 80 * base),
                            floor_eur=int(budget / 80 * floor), max_change=max_change)
    try:
        table = allocate(by_region(need), rules, by_region(previous))
    except InfeasibleRulesError as error:
        if not error.relaxations:
            assert "no change of one rule alone" in str(error)
        for rule, value in error.relaxations.items():  # every suggested relaxation works
            relaxed = rules.model_copy(update={rule: value})
            table = allocate(by_region(need), relaxed, by_region(previous))
            assert table["amount_eur"].sum() == relaxed.budget_eur
        return
    assert int(table["amount_eur"].sum()) == budget
    assert abs(table["amount_unrounded_eur"].sum() - budget) <= 1e-6 * max(1, budget / 1e8)
    assert (table["amount_eur"] >= table["lower_eur"] - 1).all()
    assert (table["amount_eur"] <= table["upper_eur"] + 1).all()


@PROPERTY
@given(needs, budgets, fractions, fractions)
def test_more_need_never_means_fewer_euros_without_a_band(need, budget, base, floor):
    table = allocate(by_region(need), _rules_without_previous(budget, base, floor))
    order = np.argsort(table["need"].to_numpy(), kind="stable")
    amounts, values = table["amount_eur"].to_numpy()[order], table["need"].to_numpy()[order]
    more = values[1:] > values[:-1]
    assert (amounts[1:][more] >= amounts[:-1][more]).all()


@PROPERTY
@given(needs, budgets, st.integers(0, 39), st.floats(0, 1e4))
def test_raising_one_regions_need_never_lowers_its_amount(need, budget, region, extra):
    rules = AllocationRules(budget_eur=budget)
    before = allocate(by_region(need), rules)["amount_unrounded_eur"][region]
    more = list(need)
    more[region] += extra
    after = allocate(by_region(more), rules)["amount_unrounded_eur"][region]
    assert after >= before - 1e-9 * budget


@PROPERTY
@given(needs, budgets, fractions, st.integers(-20, 20), st.floats(1e-3, 1e3))
def test_scaling_all_needs_changes_nothing(need, budget, base, power, factor):
    rules = _rules_without_previous(budget, base, 0)
    reference = allocate(by_region(need), rules)
    # A power of two scales exactly in floating point, so the euros are identical.
    scaled = allocate(by_region(np.asarray(need) * 2.0**power), rules)
    assert scaled["amount_eur"].tolist() == reference["amount_eur"].tolist()
    # Any other factor: the unrounded amounts agree to round-off.
    other = allocate(by_region(np.asarray(need) * factor), rules)
    assert np.allclose(other["amount_unrounded_eur"], reference["amount_unrounded_eur"],
                       rtol=1e-9, atol=1e-6)


@PROPERTY
@given(needs, budgets, fractions, fractions, st.sets(st.integers(0, 39), min_size=1, max_size=39))
def test_regions_without_need_get_exactly_base_or_floor(need, budget, base, floor, empty):
    need = [0.0 if position in empty else value for position, value in enumerate(need)]
    assume(sum(need) > 0)
    rules = _rules_without_previous(budget, base, floor)
    table = allocate(by_region(need), rules)
    expected = max(rules.base_amount_eur, rules.floor_eur)
    assert (table["amount_eur"].to_numpy()[sorted(empty)] == expected).all()


@PROPERTY
@given(needs, budgets, st.floats(1.0001, 3))
def test_base_or_floor_above_the_budget_name_the_value_that_works(need, budget, excess):
    assume(budget >= 40)
    for rule in ("base_amount_eur", "floor_eur"):
        rules = AllocationRules(budget_eur=budget, **{rule: int(budget / 40 * excess) + 1})
        with pytest.raises(InfeasibleRulesError) as caught:
            allocate(by_region(need), rules)
        value = caught.value.relaxations[rule]
        assert rule in str(caught.value) and f"{value:,}" in str(caught.value)
        assert value == budget // 40
        allocate(by_region(need), rules.model_copy(update={rule: value}))
