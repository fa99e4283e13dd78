"""Bootstrap of need over persons, and intervals from the rules run on every replicate."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from vsvrisk.allocate import (
    TopShare,
    allocate,
    allocation_intervals,
    bootstrap_need,
    need_from_predictions,
    replicate_weights,
    weighted_need,
)
from vsvrisk.exceptions import AllocationError

TOP_40 = TopShare(top_share=0.4)
SCENARIOS = pytest.mark.parametrize("scenario", ["all", TOP_40], ids=["scenario all", "top 40%"])


def persons(n, seed=0, ties=False):
    rng = np.random.default_rng(seed)
    codes = rng.integers(1, 41, n)
    p = rng.beta(0.5, 20, n)
    if ties:  # a model on categorical features gives few distinct probabilities
        p = np.round(p, 2)
    return codes, p


# --------------------------------------------------------------------------- the weights


def test_replicate_weights_are_poisson_one():
    weights = replicate_weights(1_000_000, 0, seed=11)
    assert weights.mean() == pytest.approx(1, abs=0.005)
    assert weights.var() == pytest.approx(1, abs=0.01)
    frequencies = np.bincount(weights, minlength=6)[:6] / weights.size
    pmf = [math.exp(-1) / math.factorial(k) for k in range(6)]
    standard_errors = [math.sqrt(q * (1 - q) / weights.size) for q in pmf]
    assert all(abs(f - q) < 5 * se for f, q, se in zip(frequencies, pmf, standard_errors))


def test_replicate_weights_are_the_documented_inverse_cdf_draw_across_chunks():
    # 600,001 persons spans three chunks of the fast route and ends on half a word; the reference
    # is one plain call: person 2j takes the low 32 bits of the stream's 64-bit word j, person
    # 2j + 1 the high, and the weight counts the Poisson(1) cumulative probabilities x 2**32
    # (rounded) at or below them.
    n = 600_001
    generator = np.random.default_rng(np.random.SeedSequence(5, spawn_key=(3,)))
    words = generator.bit_generator.random_raw((n + 1) // 2)
    u = np.column_stack([words & 0xFFFFFFFF, words >> 32]).ravel()[:n]
    cdf = np.cumsum([math.exp(-1) / math.factorial(k) for k in range(30)])
    thresholds = np.array([round(q * 2**32) for q in cdf if round(q * 2**32) < 2**32], dtype=np.uint64)
    reference = np.searchsorted(thresholds, u, side="right")
    assert np.array_equal(replicate_weights(n, 3, seed=5), reference)


def test_the_weights_32_bit_probabilities_are_poisson_one_within_two_to_the_minus_33():
    from vsvrisk import _bootstrap

    thresholds = _bootstrap.THRESHOLDS.astype(float)
    exact = np.cumsum([math.exp(-1) / math.factorial(k) for k in range(thresholds.size)])
    assert np.abs(thresholds / 2**32 - exact).max() <= 2.0**-33
    # weights 0 .. 12: what Poisson(1) puts above 12 (6e-11) is counted as 12
    assert thresholds.size == 12
    assert 1 - sum(math.exp(-1) / math.factorial(k) for k in range(13)) < 1e-10


# --------------------------------------------------------------------------- the bootstrap


@SCENARIOS
def test_the_same_seed_gives_identical_numbers_and_another_seed_does_not(scenario):
    codes, p = persons(20_000)
    first = bootstrap_need(codes, p, 20, seed=7, scenario=scenario)
    assert np.array_equal(first, bootstrap_need(codes, p, 20, seed=7, scenario=scenario))
    assert not np.array_equal(first, bootstrap_need(codes, p, 20, seed=8, scenario=scenario))
    # Replicate r does not depend on how many replicates are asked for.
    assert np.array_equal(first[:5], bootstrap_need(codes, p, 5, seed=7, scenario=scenario))


@SCENARIOS
def test_the_bootstrap_is_the_need_of_its_own_weights(scenario):
    codes, p = persons(300_000, ties=True)  # more than one chunk of persons
    need = bootstrap_need(codes, p, 3, seed=2, scenario=scenario)
    weights = np.vstack([replicate_weights(codes.size, r, seed=2) for r in range(3)])
    assert np.allclose(need, weighted_need(weights, codes, p, scenario), rtol=1e-12, atol=0)


def _slow_need(weights, codes, p, top_share=None):
    """Reference by hand: a person with weight w is w copies of that person; with a top share,
    copies count highest probability first until top_share x (number of copies) places are
    filled (the copy on the boundary counts in part)."""
    copies = [(prob, code) for w, prob, code in zip(weights, p, codes) for _ in range(int(w))]
    copies.sort(key=lambda copy: -copy[0])
    places = len(copies) if top_share is None else top_share * len(copies)
    need = [0.0] * 40
    for prob, code in copies:
        counted = min(1.0, places)
        if counted <= 0:
            break
        need[code - 1] += counted * prob
        places -= counted
    return need


@pytest.mark.parametrize("top_share", [None, 0.4, 0.25], ids=["scenario all", "top 40%", "top 25%"])
@pytest.mark.parametrize("seed", [9, 10, 11])
def test_the_poisson_route_agrees_with_a_slow_reference_on_the_same_weights(top_share, seed):
    rng = np.random.default_rng(seed)
    codes = rng.integers(1, 6, 30)
    p = rng.permutation(np.linspace(0.01, 0.6, 30))  # distinct, so ties play no part here
    weights = replicate_weights(30, 0, seed=seed)
    scenario = "all" if top_share is None else TopShare(top_share=top_share)
    fast = weighted_need(weights, codes, p, scenario)[0]
    assert np.allclose(fast, _slow_need(weights, codes, p, top_share), rtol=1e-12, atol=1e-12)


@SCENARIOS
def test_the_bootstrap_mean_is_the_point_need_within_a_few_standard_errors(scenario):
    codes, p = persons(50_000, seed=1)
    point = need_from_predictions(pd.DataFrame({"region_code": codes, "p": p}),
                                  scenario=scenario)["need"].to_numpy()
    need = bootstrap_need(codes, p, 200, seed=4, scenario=scenario)
    standard_error = need.std(axis=0, ddof=1) / math.sqrt(200)
    assert (np.abs(need.mean(axis=0) - point) < 4 * standard_error + 1e-9).all()


@SCENARIOS
def test_intervals_narrow_as_the_population_grows(scenario):
    widths = []
    for n in (4_000, 40_000):
        codes, p = persons(n, seed=2)
        need = bootstrap_need(codes, p, 200, seed=6, scenario=scenario)
        table = allocation_intervals(need, {"budget_eur": 90_000_000})
        widths.append((table["share_high"] - table["share_low"]).to_numpy())
    ratio = widths[1] / widths[0]
    assert np.median(ratio) == pytest.approx(1 / math.sqrt(10), rel=0.35)
    assert (ratio < 0.8).mean() > 0.9


def test_bad_person_arrays_are_refused():
    with pytest.raises(AllocationError, match="row 1"):
        bootstrap_need(np.array([1, 41]), np.array([0.1, 0.2]), 2, seed=1)
    with pytest.raises(AllocationError, match="row 0"):
        bootstrap_need(np.array([1, 2]), np.array([1.2, 0.2]), 2, seed=1)
    with pytest.raises(AllocationError, match="seed"):
        bootstrap_need(np.array([1, 2]), np.array([0.1, 0.2]), 2, seed=-1)
    with pytest.raises(AllocationError, match="n_jobs"):
        bootstrap_need(np.array([1, 2]), np.array([0.1, 0.2]), 2, seed=1, n_jobs=0)


# --------------------------------------------------------------------------- the intervals


def test_identical_replicates_give_intervals_of_zero_width_at_the_point_allocation():
    need = pd.Series(np.arange(1.0, 41.0), index=range(1, 41))
    rules = {"budget_eur": 90_000_000, "base_amount_eur": 250_000}
    table = allocation_intervals(np.tile(need.to_numpy(), (5, 1)), rules)
    point = allocate(need, rules)
    assert table["region_code"].tolist() == list(range(1, 41))
    assert table["amount_low"].tolist() == point["amount_eur"].tolist()
    assert table["amount_high"].tolist() == point["amount_eur"].tolist()
    assert np.allclose(table["share_low"], point["share"])
    assert "p_change_above" not in table


def test_the_chance_of_a_large_change_respects_the_band():
    codes, p = persons(20_000, seed=5)
    need = bootstrap_need(codes, p, 100, seed=1)
    previous = allocate(pd.Series(need.mean(axis=0), index=range(1, 41)),
                        {"budget_eur": 90_000_000})["amount_eur"].set_axis(range(1, 41))
    damped = allocation_intervals(need, {"budget_eur": 90_000_000, "max_change": 0.05}, previous,
                                  threshold_pct=5.0)
    assert (damped["p_change_above"] == 0).all()  # the band holds at 5%
    loose = allocation_intervals(need, {"budget_eur": 90_000_000, "max_change": 1.0}, previous,
                                 threshold_pct=5.0)
    assert loose["p_change_above"].max() > 0.2  # small regions move a lot
    assert (loose["p_decrease_above"] <= loose["p_change_above"]).all()
    assert (loose["amount_low"] <= loose["amount_high"]).all()


def test_model_refit_replicates_plug_in_as_rows_of_the_same_matrix():
    codes, p = persons(10_000, seed=8)
    sampling = bootstrap_need(codes, p, 50, seed=1)
    refits = sampling * np.random.default_rng(0).uniform(0.95, 1.05, sampling.shape)  # stand-in
    table = allocation_intervals(np.vstack([sampling, refits]), {"budget_eur": 90_000_000})
    assert table.attrs["n_replicates"] == 100


@pytest.mark.parametrize(
    "replicates, keywords, fragment",
    [
        (np.ones((3, 39)), {}, "shape"),
        (-np.ones((3, 40)), {}, ">= 0"),
        (np.ones((3, 40)), {"level": 1.5}, "level"),
        (np.vstack([np.ones(40), np.zeros(40)]), {}, "replicate 1 of 2"),
    ],
    ids=["a matrix without 40 columns", "negative need", "a level above 1",
         "a replicate without a solution is named"],
)
def test_bad_replicates_are_refused(replicates, keywords, fragment):
    with pytest.raises(AllocationError, match=fragment):
        allocation_intervals(replicates, {"budget_eur": 1000}, **keywords)


@pytest.mark.parametrize("scenario", ["all", {"top_share": 0.4}], ids=["scenario all", "scenario top share"])
def test_threads_change_no_number_and_each_replicate_is_its_weights_summed_by_bincount(scenario):
    # 600,000 persons: three chunks, so the chunked order of summation is exercised.
    n, top_share = 600_000, None if scenario == "all" else 0.4
    rng = np.random.default_rng(0)
    codes, p = rng.integers(1, 41, n), np.round(rng.beta(0.5, 20, n), 3)  # ties at the cut-off
    serial = bootstrap_need(codes, p, 6, seed=5, scenario=scenario, n_jobs=1)
    np.testing.assert_array_equal(serial, bootstrap_need(codes, p, 6, seed=5, scenario=scenario, n_jobs=2))
    np.testing.assert_array_equal(serial, bootstrap_need(codes, p, 6, seed=5, scenario=scenario, n_jobs=3))
    # An independent reference in plain numpy, replicate by replicate: the weights, the persons
    # sorted by risk for a top share, and np.bincount over chunks of 2**18 persons.
    chunk, order = 1 << 18, np.argsort(-p, kind="stable")
    for r in range(6):
        w = replicate_weights(n, r, seed=5)
        if top_share is None:
            need = sum(np.bincount(codes[s:s + chunk], weights=w[s:s + chunk] * p[s:s + chunk], minlength=41)
                       for s in range(0, n, chunk))
        else:
            ws, ps, cs = w[order], p[order], codes[order]
            cumulative = np.cumsum(ws, dtype=np.int64)
            target = top_share * cumulative[-1]  # places; a whole number when 0.4 x total is one
            target = round(target) if abs(target - round(target)) < 1e-6 else target
            crossing = int(np.searchsorted(cumulative, target, side="left"))
            first = int(np.searchsorted(-ps, -ps[crossing], side="left"))
            last = int(np.searchsorted(-ps, -ps[crossing], side="right"))
            above = cumulative[first - 1] if first else 0
            fraction = (target - above) / (cumulative[last - 1] - above)
            need = np.bincount(cs[:first], weights=ws[:first] * ps[:first], minlength=41)
            need = need + fraction * np.bincount(cs[first:last], weights=ws[first:last] * ps[first:last], minlength=41)
        np.testing.assert_array_equal(serial[r], need[1:])
