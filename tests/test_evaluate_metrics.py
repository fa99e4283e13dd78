"""Evaluation metrics against quantities known by construction."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit, logit

from vsvrisk.evaluate import (
    calibration_intercept,
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


def _fits_to_forty_digits(y, lp, w):
    """The calibration intercept (``lp`` as offset) and slope, by Newton's method in 40-digit
    decimal arithmetic on the same numbers: an independent reference for the float64 fits."""
    from decimal import Decimal, localcontext

    with localcontext() as context:
        context.prec = 40
        ys, xs, ws = ([Decimal(float(v)) for v in column] for column in (y, lp, w))

        def expit(t):
            return 1 / (1 + (-t).exp())

        events = sum(wi * yi for wi, yi in zip(ws, ys))
        a = Decimal(0)
        for _ in range(30):
            q = [expit(a + x) for x in xs]
            a -= (sum(wi * qi for wi, qi in zip(ws, q)) - events) / sum(wi * qi * (1 - qi) for wi, qi in zip(ws, q))
        b0, b1 = a, Decimal(1)
        for _ in range(30):
            q = [expit(b0 + b1 * x) for x in xs]
            r = [wi * (yi - qi) for wi, yi, qi in zip(ws, ys, q)]
            v = [wi * qi * (1 - qi) for wi, qi in zip(ws, q)]
            g0, g1 = sum(r), sum(ri * x for ri, x in zip(r, xs))
            h00, h01 = sum(v), sum(vi * x for vi, x in zip(v, xs))
            h11 = sum(vi * x * x for vi, x in zip(v, xs))
            determinant = h00 * h11 - h01 * h01
            b0 += (h11 * g0 - h01 * g1) / determinant
            b1 += (h00 * g1 - h01 * g0) / determinant
        return float(a), float(b1)


@pytest.mark.parametrize("seed", range(3))
def test_calibration_fits_are_the_maximum_likelihood_to_rounding(seed):
    # The Newton fits stop a step after one of 1e-10 (quadratic convergence): their results are
    # the exact maximum-likelihood values up to rounding, checked against 40-digit arithmetic
    # (the former brentq and scikit-learn fits stopped at tolerances of 1e-10: off by up to 1e-10).
    from vsvrisk.evaluate.metrics import _distinct_pairs

    rng = np.random.default_rng(seed)
    p = rng.choice(expit(rng.normal(-2.5, 1.2, 60)), 5_000)
    y = (rng.random(p.size) < expit(0.3 + 0.8 * logit(p))).astype(float)  # miscalibrated
    pair_y, pair_p, counts = _distinct_pairs(y, p)
    exact_intercept, exact_slope = _fits_to_forty_digits(pair_y, logit(np.clip(pair_p, 1e-12, 1 - 1e-12)), counts)
    scores = classification_metrics(y, p)
    in_scores = (scores["calibration_intercept"], scores["calibration_slope"])
    for intercept, slope in (calibration_intercept_slope(y, p), in_scores):
        assert intercept == pytest.approx(exact_intercept, rel=1e-12, abs=1e-14)
        assert slope == pytest.approx(exact_slope, rel=1e-12)


def test_calibration_falls_back_to_the_reference_where_newton_has_no_answer():
    from vsvrisk.evaluate._calibration import slope_reference

    # A line separates the outcomes: there is no finite slope. Newton's steps do not settle, so
    # scikit-learn's fit answers, as it did before.
    p = np.linspace(0.05, 0.95, 40)
    y = (p > 0.5).astype(float)
    lp = logit(p)
    _, slope = calibration_intercept_slope(y, p)
    assert slope > 100 and slope == pytest.approx(slope_reference(y, lp, np.ones(len(y))), rel=1e-12)
    # No root within [-30, 30]: refused as brentq refuses it.
    with pytest.raises(ValueError):
        calibration_intercept(np.ones(5), np.full(5, 1e-12))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 2_000), levels=st.integers(1, 30))
def test_ranking_brier_and_log_loss_of_pairs_equal_scikit_learn_on_the_rows(seed, n, levels):
    # The sorted-pair formulas (exact sums of whole counts) against scikit-learn on every row, to
    # 1e-12: the order of summation is all that differs.
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

    rng = np.random.default_rng(seed)
    p = rng.choice(rng.uniform(0, 1, levels), n)
    y = (rng.random(n) < p).astype(float)
    y[0], y[-1] = 0, 1  # both outcomes
    scores = classification_metrics(y, p)
    assert scores["roc_auc"] == pytest.approx(roc_auc_score(y, p), rel=1e-12)
    assert scores["pr_auc"] == pytest.approx(average_precision_score(y, p), rel=1e-12)
    assert scores["brier"] == pytest.approx(brier_score_loss(y, p), rel=1e-12)
    assert scores["log_loss"] == pytest.approx(log_loss(y, np.clip(p, 1e-12, 1 - 1e-12)), rel=1e-12)


def test_the_pairs_of_a_subset_are_counted_from_the_cohort_as_from_the_subset():
    from vsvrisk.evaluate._pairs import PairCounts

    rng = np.random.default_rng(5)
    p = rng.choice(rng.uniform(0, 1, 300), 20_000)
    y = (rng.random(p.size) < p).astype(float)
    levels = rng.integers(-1, 4, p.size)  # -1: missing
    mask = rng.random(p.size) < 0.4
    counts = PairCounts(y, p)

    def by_unique(rows):  # each subset sorted on its own
        values, inverse = np.unique(p[rows], return_inverse=True)
        both = np.bincount(inverse * 2 + y[rows].astype(int), minlength=2 * len(values))
        kept = np.flatnonzero(both)
        return kept % 2, values[kept // 2], both[kept]

    for got, expected in [(counts.pairs(mask), by_unique(mask)), (counts.pairs(), by_unique(slice(None)))]:
        assert all(np.array_equal(a, b) for a, b in zip(got, expected))
    by_level = dict(counts.pairs_by_level(mask, levels, 5))
    assert sorted(by_level) == [0, 1, 2, 3]  # level 4 has no rows
    for level, got in by_level.items():
        assert all(np.array_equal(a, b) for a, b in zip(got, by_unique(mask & (levels == level))))


@pytest.mark.parametrize("risk", [1.2, -0.1, np.inf, np.nan], ids=["above 1", "below 0", "infinite", "missing"])
def test_a_risk_outside_zero_to_one_is_refused_as_scikit_learn_refuses_it(risk):
    # The pair formulas would return a number; scikit-learn's check on the rows answers instead.
    with pytest.raises(ValueError):
        classification_metrics([0, 1, 0, 1], [0.1, risk, 0.3, 0.5])
