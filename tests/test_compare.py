"""Paired comparison of models: DeLong against its definition, intervals that cover, sentences.

Every check holds the code against something independent of it: the pairwise (Mann-Whitney)
definition of the placement values, fresh samples drawn from a known truth, or predictions
that are equal by construction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from vsvrisk.allocate import replicate_weights
from vsvrisk.evaluate import compare_predictions, delong_auc_difference, need_distance_bootstrap
from vsvrisk.exceptions import ConfigError


def _pairwise_delong(y, p_a, p_b):
    """DeLong (1988) straight from the definition: psi over every positive-negative pair."""
    y = np.asarray(y, dtype=bool)
    placements = []
    for p in (np.asarray(p_a), np.asarray(p_b)):
        x, z = p[y][:, None], p[~y][None, :]
        psi = (x > z) + 0.5 * (x == z)
        placements.append((psi.mean(axis=1), psi.mean(axis=0), psi.mean()))
    m, n = y.sum(), (~y).sum()
    s10 = np.cov(np.vstack([placements[0][0], placements[1][0]]))
    s01 = np.cov(np.vstack([placements[0][1], placements[1][1]]))
    s = s10 / m + s01 / n
    return placements[0][2], placements[1][2], s[0, 0] + s[1, 1] - 2 * s[0, 1]


def test_delong_matches_the_pairwise_definition_with_ties():
    rng = np.random.default_rng(0)
    y = rng.random(400) < 0.3
    p_a = np.round(y * 0.5 + rng.random(400), 1)  # rounded: many ties
    p_b = np.round(y * 0.2 + rng.random(400), 2)
    auc_a, auc_b, variance = _pairwise_delong(y, p_a, p_b)
    result = delong_auc_difference(y, p_a, p_b)
    assert result["auc_a"] == pytest.approx(auc_a, abs=1e-12) == roc_auc_score(y, p_a)
    assert result["auc_b"] == pytest.approx(auc_b, abs=1e-12)
    assert result["se"] ** 2 == pytest.approx(variance, rel=1e-9)


def test_delong_intervals_cover_a_zero_difference_about_95_percent_of_the_time():
    # Two models of equal quality by construction: the same signal, independent noise.
    rng = np.random.default_rng(1)
    misses = 0
    for _ in range(300):
        y = rng.random(1_500) < 0.15
        result = delong_auc_difference(y, y + rng.normal(0, 1, 1_500), y + rng.normal(0, 1, 1_500))
        misses += not (result["low"] <= 0 <= result["high"])
    assert 0.02 <= misses / 300 <= 0.09, misses


def test_identical_predictions_differ_by_nothing():
    rng = np.random.default_rng(2)
    y, p = rng.random(500) < 0.2, rng.random(500)
    result = delong_auc_difference(y, p, p.copy())
    assert result["difference"] == 0 and result["low"] == 0 == result["high"] and result["p_value"] == 1


def _shares(p, codes):
    sums = pd.Series(p).groupby(codes).sum()
    return sums / sums.sum()


def test_need_distance_is_the_l1_of_shares_and_its_standard_error_matches_fresh_samples():
    rng = np.random.default_rng(3)
    n = 20_000

    def sample():
        codes = rng.integers(1, 41, n)
        truth = rng.uniform(0.005, 0.1, n)
        # a: unbiased noise; b: the same noise and 20% too much risk in region 7.
        a = truth * rng.uniform(0.6, 1.4, n)
        return codes, truth, a, np.where(codes == 7, 1.2 * a, a)

    fresh = []
    for _ in range(200):
        codes, truth, a, b = sample()
        fresh.append([np.abs(_shares(p, codes) - _shares(truth, codes)).sum() for p in (a, b)])
    fresh = np.array(fresh)
    codes, truth, a, b = sample()
    result = need_distance_bootstrap(codes, {"a": a, "b": b}, truth, n_boot=300, seed=4)
    expected = [np.abs(_shares(p, codes) - _shares(truth, codes)).sum() for p in (a, b)]
    assert [result["distance"]["a"], result["distance"]["b"]] == pytest.approx(expected, rel=1e-12)
    difference = result["differences"][("a", "b")]
    assert difference["high"] < 0, "b's bias in one region is a real difference"
    spread = np.std(fresh[:, 0] - fresh[:, 1], ddof=1)
    assert 0.7 < difference["se"] / spread < 1.4, (difference["se"], spread)


def _biased_models(n=20_000, seed=5):
    """A truth and two models with a clear bias in every region (+-20% and +-10%), so that the
    sign of every |share - truth share| is stable under resampling and the delta method holds."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(1, 41, n)
    truth = rng.uniform(0.005, 0.1, n)
    bias = np.where(np.arange(41) % 2 == 0, 1.2, 0.8)
    a = truth * bias[codes] * rng.uniform(0.9, 1.1, n)
    b = truth * (1 + (bias[codes] - 1) / 2) * rng.uniform(0.9, 1.1, n)
    return codes, truth, a, b


def _delta_method_se(codes, truth, models):
    """Standard error of each need distance, and of their difference, by the delta method.

    D = sum_r |A_r / A - T_r / T|; its derivative in the weight of person i (region r_i) is
    sign_r_i (a_i / A - t_i / T) - (a_i / A) sum_r sign_r s_r + (t_i / T) sum_r sign_r t_r.
    A bootstrap weight has variance 1 (Poisson(1), or a multinomial count), so the variance of
    the replicates is about the sum of the squared derivatives.
    """
    shares_t = np.bincount(codes, truth, 41) / truth.sum()
    gradients = []
    for a in models:
        shares_a = np.bincount(codes, a, 41) / a.sum()
        sign = np.sign(shares_a - shares_t)
        gradients.append(sign[codes] * (a / a.sum() - truth / truth.sum())
                         - a / a.sum() * (sign * shares_a).sum() + truth / truth.sum() * (sign * shares_t).sum())
    return [np.sqrt((g ** 2).sum()) for g in gradients] + [np.sqrt(((gradients[0] - gradients[1]) ** 2).sum())]


def test_need_distance_standard_errors_agree_with_the_delta_method():
    codes, truth, a, b = _biased_models()
    result = need_distance_bootstrap(codes, {"a": a, "b": b}, truth, n_boot=600, seed=2)
    se_a, se_b = _bootstrap_se(result, "a"), _bootstrap_se(result, "b")
    expected = _delta_method_se(codes, truth, [a, b])
    # 600 replicates estimate a standard error to about 3% (1 / sqrt(2 x 600)); 12% is 4 of those.
    assert [se_a, se_b, result["differences"][("a", "b")]["se"]] == pytest.approx(expected, rel=0.12)


def test_need_distance_replicates_are_the_documented_weights_and_threads_change_no_number():
    codes, truth, a, b = _biased_models(n=300_000)  # two chunks of persons
    one = need_distance_bootstrap(codes, {"a": a, "b": b}, truth, n_boot=6, seed=9, n_jobs=1)
    assert one == need_distance_bootstrap(codes, {"a": a, "b": b}, truth, n_boot=6, seed=9, n_jobs=2)
    # Independently: replicate r weighs person i by replicate_weights(n, r)[i], summed by bincount.
    distances = []
    for r in range(6):
        w = replicate_weights(codes.size, r, seed=9)
        shares = [np.bincount(codes, w * x, 41)[1:] / (w * x).sum() for x in (a, b, truth)]
        distances.append([np.abs(shares[0] - shares[2]).sum(), np.abs(shares[1] - shares[2]).sum()])
    distances = np.array(distances)
    assert _bootstrap_se(one, "a") == pytest.approx(distances[:, 0].std(ddof=1), rel=1e-9)
    assert one["differences"][("a", "b")]["se"] == pytest.approx((distances[:, 0] - distances[:, 1]).std(ddof=1),
                                                                 rel=1e-9)


def _bootstrap_se(result, name):
    """The bootstrap standard error behind a distance's interval (estimate +- 1.96 se, 95%)."""
    low, high = result["interval"][name]
    return (high - low) / (2 * 1.959963984540054)


@pytest.fixture(scope="module")
def cohort(small_population):
    return small_population.frame[small_population.frame["school_year"] == 2019].reset_index(drop=True)


def test_a_model_compared_with_itself_has_no_detectable_difference(cohort):
    p = cohort["p_true_features"].to_numpy()
    result = compare_predictions(cohort, {"A": p, "B": p.copy()}, n_boot=50)
    assert not result.differences["detectable"].any()
    assert result.sentences == ["A against B: no detectable difference (AUC, Brier score, log loss, need shares)."]


def test_the_truth_beats_a_model_that_misplaces_need_and_the_sentence_says_so(cohort):
    truth = cohort["p_true_features"].to_numpy()
    # Half the risk in the four largest regions' share moved: need shares far from the truth.
    wrong = np.where(cohort["region_code"].isin([21, 28, 29, 19]), 0.5 * truth, truth)
    result = compare_predictions(cohort, {"truth": truth, "misplaced": wrong}, n_boot=100)
    need = result.differences.query("measure == 'need_distance'").iloc[0]
    expected = np.abs(_shares(wrong, cohort["region_code"]) - _shares(truth, cohort["region_code"])).sum()
    assert need["b"] == pytest.approx(expected) and need["a"] == 0
    assert need["detectable"] and need["better"] == "truth"
    assert result.reference == "truth"
    # Halving four regions' risks also spoils the pooled ranking, so the sentence may name AUC,
    # Brier and log loss first; the need clause belongs to the truth all the same.
    sentence = result.sentences[0]
    assert sentence.startswith("truth against misplaced: truth ")
    assert "has need shares" in sentence and "closer to the truth" in sentence and "misplaced has" not in sentence
    # Named the other way round, the winner's advantage still reads as a positive number.
    noisy = np.minimum(truth * np.random.default_rng(5).uniform(0.2, 1.8, len(truth)), 1)  # ranks worse
    flipped = compare_predictions(cohort, {"noisy": noisy, "truth": truth}, n_boot=20)
    auc = flipped.differences.query("measure == 'roc_auc' and detectable")
    assert not auc.empty
    for row in auc.itertuples():
        assert row.better == "truth" and f"({abs(row.difference):+.4f})" in flipped.sentences[0]
    scores = result.scores.set_index(["model", "sector"])
    assert scores.loc[("truth", "mbo"), "roc_auc"] == pytest.approx(
        roc_auc_score(cohort["vsv"][cohort["sector"] == "mbo"], truth[cohort["sector"] == "mbo"]))


def test_without_a_truth_need_is_held_against_the_observed_vsv(cohort):
    observed = cohort.drop(columns=["p_true", "p_true_features"])
    p = cohort["p_true_features"].to_numpy()
    result = compare_predictions(observed, {"A": p, "B": np.full(len(p), p.mean())}, n_boot=50)
    assert result.reference == "observed"
    expected = np.abs(_shares(p, cohort["region_code"]) - _shares(cohort["vsv"].astype(float), cohort["region_code"])).sum()
    assert result.need.set_index("model").loc["A", "need_distance"] == pytest.approx(expected)


def test_one_model_alone_gets_its_scores_and_no_pairs(cohort):
    result = compare_predictions(cohort, {"A": cohort["p_true_features"].to_numpy()}, n_boot=20)
    assert result.differences.empty and "measure" in result.differences and result.sentences == []
    assert set(result.scores["sector"]) >= {"vo", "mbo", "all"}


@pytest.mark.parametrize("predictions, named", [
    ({}, "at least one model"),
    ({"A": np.zeros(3), "B": np.zeros(2)}, "'A'"),
], ids=["no model is refused", "predictions of the wrong length are named"])
def test_bad_comparisons_are_refused(cohort, predictions, named):
    with pytest.raises(ConfigError, match=named):
        compare_predictions(cohort, predictions)


@pytest.mark.parametrize(("value", "signed", "shown"), [
    (-4.1e-06, True, "-4.1e-06"), (3.2e-06, True, "+3.2e-06"), (3.2e-05, True, "+0.00003"), (0.0, True, "+0.00000"),
    (0.00046, True, "+0.00046"), (-0.0084, False, "-0.00840"),
])
def test_a_difference_smaller_than_the_digits_shown_keeps_its_size_not_a_signed_zero(value, signed, shown):
    from vsvrisk.report.comparison import _number

    assert _number(value, 5, signed) == shown
