"""Drift: the population stability index on distributions where it is known, and the warnings."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vsvrisk.audit import calibration_change, drift_report, drift_warnings, population_stability_index
from vsvrisk.exceptions import ConfigError, SchemaError
from vsvrisk.synth import generate


def test_identical_distributions_have_no_drift():
    values = np.random.default_rng(0).normal(size=5_000)
    assert population_stability_index(values, values) == 0.0
    assert population_stability_index(["a", "b", "b"], ["b", "a", "b"]) == 0.0


def test_two_bins_by_hand():
    # 50/50 becomes 90/10: (0.9 - 0.5) ln(0.9 / 0.5) + (0.1 - 0.5) ln(0.1 / 0.5)
    by_hand = 0.4 * math.log(1.8) + 0.4 * math.log(5)
    assert by_hand == pytest.approx(0.8789, abs=1e-4)
    assert population_stability_index([0] * 50 + [1] * 50, [0] * 90 + [1] * 10) == pytest.approx(by_hand)
    assert population_stability_index([True] * 50 + [False] * 50, [True] * 90 + [False] * 10) == pytest.approx(by_hand)


def test_numeric_values_are_cut_at_the_expected_quantiles():
    # Deciles of 0..999 put 100 values in each bin; the actual cohort puts 20% in the first bin
    # and 10%, 10%, ... 10%, 0%: here the last bin is floored at 1e-4.
    expected = np.arange(1_000.0)
    actual = np.concatenate([np.arange(0, 100.0), np.arange(0, 100.0), np.arange(100, 900.0)])
    e = np.full(10, 0.1)
    a = np.array([0.2] + [0.1] * 8 + [1e-4])
    by_hand = float(np.sum((a - e) * np.log(a / e)))
    assert population_stability_index(expected, actual) == pytest.approx(by_hand)


def test_a_missing_value_is_a_bin_of_its_own():
    expected = pd.array([1, 2, 3, 4] * 25, dtype="Int64")
    actual = pd.array([1, 2, 3, 4] * 20 + [None] * 20, dtype="Int64")
    e = np.array([0.25] * 4 + [1e-4])
    a = np.array([0.2] * 4 + [0.2])
    assert population_stability_index(expected, actual) == pytest.approx(float(np.sum((a - e) * np.log(a / e))))


def test_drift_report_flags_a_shifted_cohort_and_says_so_in_one_line():
    train = generate(20_000, school_years=[2019], seed=1).frame
    scored = generate(20_000, school_years=[2019], seed=2).frame
    same = drift_report(train, scored)
    assert not same["flagged"].any()
    assert {"age", "delay_years", "wealth_percentile", "sector"} <= set(same["feature"])
    older = scored.assign(delay_years=scored["delay_years"] + 2)
    report = drift_report(train, older)
    assert report.loc[report["feature"] == "delay_years", "flagged"].item()
    warnings = drift_warnings(report)
    assert len(warnings) == 1 and "'delay_years'" in warnings[0] and "\n" not in warnings[0]


def test_the_change_in_calibration_in_the_large_between_cohorts():
    train = generate(30_000, school_years=[2019], seed=1).frame
    scored = generate(30_000, school_years=[2019], seed=2).frame
    # Predictions 30% too low for the scored cohort: its intercept rises by about ln(1.3).
    report = drift_report(train, scored, features=["gender"], p_train=train["p_true"],
                          p_scored=scored["p_true"] / 1.3)
    national = report[(report["check"] == "calibration_in_the_large") & (report["feature"] == "all")]
    assert national["value"].item() == pytest.approx(math.log(1.3), abs=0.08)
    assert national["flagged"].item()
    assert {"vo", "mbo"} <= set(report.loc[report["check"] == "calibration_in_the_large", "feature"])
    assert any("too low" in line for line in drift_warnings(report))
    # A cohort being scored has no outcomes: nothing to compare, no error.
    unknown = scored.assign(vsv=pd.array([None] * len(scored), dtype="boolean"))
    report = drift_report(train, unknown, features=["gender"], p_train=train["p_true"], p_scored=scored["p_true"])
    assert (report["check"] == "psi").all()
    change = calibration_change(train["vsv"], train["p_true"], scored["vsv"], scored["p_true"])
    assert abs(change["change"]) < 0.1


@pytest.mark.parametrize(
    ("call", "error", "named"),
    [
        (lambda: population_stability_index([1, 2], [1, 2], bins=1), ConfigError, "bins"),
        (lambda: population_stability_index([], [1, 2]), SchemaError, "at least one value"),
        (lambda: drift_report(pd.DataFrame({"a": [1]}), pd.DataFrame({"b": [1]}), ["a"]), SchemaError, "'a'"),
    ],
    ids=["one bin", "an empty cohort", "a feature missing from the scored cohort"],
)
def test_bad_input_is_refused_with_its_name(call, error, named):
    with pytest.raises(error, match=named):
        call()


def _shares_of_rows(expected: pd.Series, actual: pd.Series, bins: int = 10):
    """The numeric bins counted row by row: deciles of the known expected values, missing apart."""
    known = expected.dropna().to_numpy(dtype=float)
    edges = np.unique(np.quantile(known, np.linspace(0, 1, bins + 1)[1:-1]))

    def shares(values):
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
        codes = np.where(np.isnan(numbers), len(edges) + 1, np.searchsorted(edges, numbers, side="right"))
        return np.bincount(codes, minlength=len(edges) + 2) / len(numbers)

    e, a = np.maximum(shares(expected), 1e-4), np.maximum(shares(actual), 1e-4)
    return float(np.sum((a - e) * np.log(a / e)))


@pytest.mark.parametrize("dtype", ["Int64", "float64", "int64"])
def test_numeric_bins_from_value_counts_equal_counting_the_rows(dtype):
    # The quantiles and the shares come from each value's count; they must be those of the rows,
    # to the last bit (skewed values with ties, missing values where the type has them).
    rng = np.random.default_rng(11)
    expected = rng.geometric(0.05, 30_000).astype(float)
    actual = rng.geometric(0.06, 20_000).astype(float)
    if dtype != "int64":
        expected[rng.random(expected.size) < 0.03] = np.nan
        actual[rng.random(actual.size) < 0.08] = np.nan
    expected, actual = pd.Series(expected).astype(dtype), pd.Series(actual).astype(dtype)
    assert population_stability_index(expected, actual) == _shares_of_rows(expected, actual)
    continuous = pd.Series(rng.normal(size=5_000))  # every value distinct
    assert population_stability_index(continuous, continuous * 1.1) == _shares_of_rows(continuous, continuous * 1.1)


def test_calibration_in_the_large_per_sector_is_the_root_on_its_rows():
    from scipy.optimize import brentq
    from scipy.special import expit, logit

    train = generate(20_000, school_years=[2019], seed=3).frame
    scored = generate(20_000, school_years=[2019], seed=4).frame
    p_scored = scored["p_true"].to_numpy() * 0.8
    report = drift_report(train, scored, features=[], p_train=train["p_true"], p_scored=p_scored)
    report = report.set_index("feature")
    sector = scored["sector"].astype(str).to_numpy()
    for name in ["all", "vo", "mbo", "vavo"]:
        rows = (sector == name) | (name == "all")
        y, lp = scored["vsv"].to_numpy(float)[rows], logit(np.clip(p_scored[rows], 1e-12, 1 - 1e-12))
        root = brentq(lambda a: expit(a + lp).sum() - y.sum(), -30, 30, xtol=1e-15)
        assert report.loc[name, "scored_value"] == pytest.approx(root, abs=1e-13)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 400), levels=st.integers(1, 60), bins=st.integers(2, 20))
def test_quantiles_from_value_counts_are_those_of_the_rows_bit_for_bit(seed, n, levels, bins):
    from vsvrisk.audit.drift import _quantiles

    rng = np.random.default_rng(seed)
    rows = rng.choice(np.round(rng.normal(0, 50, levels), int(rng.integers(0, 3))), n)
    values, counts = np.unique(rows, return_counts=True)
    quantiles = np.linspace(0, 1, bins + 1)[1:-1]
    assert _quantiles(values, counts, quantiles) == np.quantile(rows, quantiles).tolist()
