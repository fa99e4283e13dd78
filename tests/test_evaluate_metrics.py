"""Evaluation metrics against quantities known by construction."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit, logit

from vsvrisk.evaluate import (
    calibration_intercept_slope,
    classification_metrics,
    need_shares,
    observed_expected,
    truth_distance,
)


@pytest.fixture(scope="module")
def calibrated():
    rng = np.random.default_rng(42)
    p = expit(rng.normal(-3, 1, 200_000))
    y = rng.random(p.size) < p
    return y, p


def test_perfect_probabilities_have_slope_one_and_intercept_zero(calibrated):
    y, p = calibrated
    intercept, slope = calibration_intercept_slope(y, p)
    assert abs(intercept) < 0.03
    assert abs(slope - 1) < 0.03


@pytest.mark.parametrize("stretch", [0.5, 2.0], ids=["too-flat predictions", "too-extreme predictions"])
def test_slope_recovers_the_inverse_of_a_stretch_of_the_log_odds(calibrated, stretch):
    y, p = calibrated
    centre = logit(p).mean()
    distorted = expit(centre + stretch * (logit(p) - centre))
    _, slope = calibration_intercept_slope(y, distorted)
    assert slope == pytest.approx(1 / stretch, rel=0.05)


def test_predictions_too_high_give_a_negative_intercept(calibrated):
    y, p = calibrated
    intercept, _ = calibration_intercept_slope(y, expit(logit(p) + 0.3))
    assert intercept == pytest.approx(-0.3, abs=0.03)


def test_scaled_brier_is_zero_for_the_prevalence_and_auc_half_for_noise(calibrated):
    y, _ = calibrated
    constant = np.full(y.size, y.mean())
    scores = classification_metrics(y, constant)
    assert scores["scaled_brier"] == pytest.approx(0.0, abs=1e-12)
    assert scores["roc_auc"] == pytest.approx(0.5)
    noise = np.random.default_rng(1).random(y.size)
    assert classification_metrics(y, noise)["roc_auc"] == pytest.approx(0.5, abs=0.01)


def test_metrics_of_a_single_class_are_undefined_not_an_error():
    scores = classification_metrics(np.zeros(10), np.full(10, 0.1))
    assert np.isnan(scores["roc_auc"]) and np.isnan(scores["calibration_slope"])
    assert scores["observed_rate"] == 0.0


def test_observed_expected_interval_covers_one_for_calibrated_groups(calibrated):
    y, p = calibrated
    groups = np.random.default_rng(3).integers(1, 41, y.size)
    table = observed_expected(y, p, groups)
    assert len(table) == 40
    covered = ((table["oe_low"] <= 1) & (table["oe_high"] >= 1)).mean()
    assert covered >= 0.85  # nominal 95%; 40 groups
    assert (table["oe_low"] < table["oe"]).all() and (table["oe"] < table["oe_high"]).all()


def test_need_shares_cover_every_region_and_sum_to_one():
    shares = need_shares([0.1, 0.1, 0.2], [1, 1, 40])
    assert len(shares) == 40 and shares.sum() == pytest.approx(1.0)
    assert shares[1] == pytest.approx(0.5) and shares[2] == 0.0


def test_truth_distance_is_zero_for_the_truth_itself(small_population):
    frame = small_population.frame
    distance = truth_distance(frame["vsv"].astype(float), frame["p_true_features"], frame["p_true"],
                              frame["p_true_features"], frame["region_code"])
    assert distance["mean_abs_error"] == 0.0 and distance["need_share_l1"] == pytest.approx(0.0, abs=1e-15)
    assert 0.5 < distance["truth_roc_auc"] <= distance["oracle_roc_auc"] + 0.01


def _row_by_row(y, p):
    """The scores computed on every row by scikit-learn and scipy directly (no pairs, no weights)."""
    from scipy.optimize import brentq
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

    lp = logit(np.clip(p, 1e-12, 1 - 1e-12))
    intercept = brentq(lambda a: expit(a + lp).sum() - y.sum(), -30, 30, xtol=1e-12)
    slope = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12).fit(lp[:, None], y).coef_[0, 0]
    return {"n": len(y), "observed_rate": y.mean(), "expected_rate": p.mean(), "brier": brier_score_loss(y, p),
            "log_loss": log_loss(y, np.clip(p, 1e-12, 1 - 1e-12), labels=[0, 1]), "roc_auc": roc_auc_score(y, p),
            "pr_auc": average_precision_score(y, p), "calibration_intercept": intercept, "calibration_slope": slope}


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(20, 3_000), levels=st.integers(2, 40))
def test_scores_on_distinct_pairs_equal_the_scores_of_every_row(seed, n, levels):
    # Risks with many ties (as a tree model's are): scoring the distinct (outcome, risk) pairs with
    # their counts must give what scikit-learn gives on the rows themselves.
    rng = np.random.default_rng(seed)
    p = rng.choice(expit(rng.normal(-2, 1.5, levels)), n)
    y = (rng.random(n) < p).astype(float)
    # Both outcomes at the lowest and at the highest risk: no separation, so the slope is finite.
    p[:4] = [p.min(), p.min(), p.max(), p.max()]
    y[:4] = [0, 1, 0, 1]
    scores, expected = classification_metrics(y, p), _row_by_row(y, p)
    for key, value in expected.items():
        assert scores[key] == pytest.approx(value, rel=1e-9, abs=1e-9), key


def test_sample_weights_count_rows_as_often_as_they_are_weighted():
    rng = np.random.default_rng(3)
    p = expit(rng.normal(-2, 1, 500))
    y = (rng.random(500) < p).astype(float)
    counts = rng.integers(1, 4, 500)
    weighted = classification_metrics(y, p, sample_weight=counts)
    repeated = classification_metrics(np.repeat(y, counts), np.repeat(p, counts))
    assert weighted.keys() == repeated.keys()
    for key in weighted:
        assert weighted[key] == pytest.approx(repeated[key], rel=1e-9), key
