"""Drift: the population stability index on distributions where it is known, and the warnings."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

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
