"""Expected euros per additional registered pupil (the allocation's risk to watch), against a
logistic model whose answer is known in closed form.

The model is written out by hand: p = expit(A + B_PSY psychosocial + B_CRIME crime_suspect + z),
with z a per-pupil column, so a pupil's rise when registered is a difference of two expits and
lambda is the budget's variable part over the national need (no limit binds), or follows from the
floor's arithmetic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from vsvrisk.allocate import AllocationRules, allocate, need_from_predictions
from vsvrisk.data.codes import PROBLEM_FLAGS
from vsvrisk.policy import expected_registration_gain, registration_elasticity

A, B_PSY, B_CRIME = -3.0, 1.2, 0.7
BUDGET, BASE = 90_000_000, 250_000
N = 8_000  # 0.4 N whole: the top share is 3,200 pupils exactly


class KnownLogistic:
    """A fitted logistic model written out by hand; it counts its calls."""

    def __init__(self):
        self.calls = 0

    def predict_risk(self, X: pd.DataFrame) -> pd.Series:
        self.calls += 1
        logit = A + B_PSY * X["psychosocial"].astype(float) + B_CRIME * X["crime_suspect"].astype(float) + X["z"]
        return pd.Series(expit(logit.to_numpy()), index=X.index)


@pytest.fixture(scope="module")
def cohort():
    rng = np.random.default_rng(17)
    sizes = np.arange(1, 41) / np.arange(1, 41).sum()  # region 40 forty times region 1: small ones meet the floor
    frame = pd.DataFrame({"region_code": rng.choice(np.arange(1, 41), N, p=sizes), "z": rng.normal(0, 0.5, N)})
    for flag in PROBLEM_FLAGS:
        frame[flag] = rng.random(N) < 0.1
    return frame


def _by_hand(cohort: pd.DataFrame, flag: str, contribution=lambda p: p) -> pd.DataFrame:
    """Per region: the mean rise in need of a pupil without ``flag`` when registered, and their count."""
    other = "crime_suspect" if flag == "psychosocial" else "psychosocial"
    coefficient, other_coefficient = (B_PSY, B_CRIME) if flag == "psychosocial" else (B_CRIME, B_PSY)
    rows = cohort[~cohort[flag]]
    base = A + other_coefficient * rows[other].astype(float) + rows["z"]
    rise = contribution(expit(base + coefficient)) - contribution(expit(base))
    return rise.groupby(rows["region_code"]).agg(["mean", "size"]).reindex(range(1, 41))


def test_without_limits_each_region_gains_lambda_times_the_mean_rise_of_its_unregistered(cohort):
    model = KnownLogistic()
    p = model.predict_risk(cohort).to_numpy()
    allocation = allocate(need_from_predictions(cohort.assign(p=p))["need"], AllocationRules(budget_eur=BUDGET,
                                                                                             base_amount_eur=BASE))
    lam = (BUDGET - 40 * BASE) / p.sum()  # nothing binds: every region is base + lambda x need
    table, national = expected_registration_gain(cohort, model, allocation, p=p,
                                                 registrations=["psychosocial", "crime_suspect"])
    for flag in ("psychosocial", "crime_suspect"):
        expected = _by_hand(cohort, flag)
        got = table[table["registration"] == flag].set_index("region_code")
        np.testing.assert_allclose(got["eur_per_person_fixed"], lam * expected["mean"], rtol=1e-10)
        np.testing.assert_allclose(got["eur_per_pp_fixed"], lam * expected["mean"] * got["n_persons"] / 100, rtol=1e-10)
        assert got["n_unregistered"].tolist() == expected["size"].tolist()
        row = national.set_index("registration").loc[flag]
        everyone = (expected["mean"] * expected["size"]).sum() / expected["size"].sum()
        assert row["eur_per_person_fixed"] == pytest.approx(lam * everyone, rel=1e-10)
    assert table.attrs["lambda"] == pytest.approx(lam, rel=1e-12)
    assert model.calls == 3  # the baseline above, then one prediction per registration


def test_a_region_held_by_the_floor_gains_nothing_and_the_others_gain_at_the_solved_lambda(cohort):
    model = KnownLogistic()
    p = model.predict_risk(cohort).to_numpy()
    need = need_from_predictions(cohort.assign(p=p))["need"]
    floor = 1_800_000
    allocation = allocate(need, AllocationRules(budget_eur=BUDGET, floor_eur=floor))
    held = (allocation["binding"] == "floor").to_numpy()
    assert 0 < held.sum() < 40
    lam = (BUDGET - held.sum() * floor) / need.to_numpy()[~held].sum()  # the floor's arithmetic
    table, _ = expected_registration_gain(cohort, model, allocation, p=p, registrations=["psychosocial"])
    expected = _by_hand(cohort, "psychosocial")["mean"].to_numpy()
    np.testing.assert_allclose(table["eur_per_person_fixed"], np.where(held, 0.0, lam * expected), rtol=1e-9)


def test_under_the_top_share_a_pupil_counts_once_lifted_over_the_fixed_cut_off(cohort):
    model = KnownLogistic()
    p = model.predict_risk(cohort).to_numpy()
    scenario = {"top_share": 0.4}
    need = need_from_predictions(cohort.assign(p=p), "p", scenario)["need"]
    cut = np.sort(p)[::-1][int(0.4 * N) - 1]  # the 3,200th highest chance still counts
    assert need.sum() == pytest.approx(p[p >= cut].sum(), rel=1e-12)
    allocation = allocate(need, AllocationRules(budget_eur=BUDGET, base_amount_eur=BASE))
    lam = (BUDGET - 40 * BASE) / need.sum()
    table, _ = expected_registration_gain(cohort, model, allocation, scenario=scenario, p=p,
                                          registrations=["crime_suspect"])
    expected = _by_hand(cohort, "crime_suspect", lambda q: q * (q >= cut))["mean"]
    np.testing.assert_allclose(table["eur_per_person_fixed"], lam * expected.to_numpy(), rtol=1e-10)


def test_a_registration_the_model_does_not_use_is_left_out(cohort):
    model = KnownLogistic()  # no selected_features_: every flag is tried, once
    p = model.predict_risk(cohort).to_numpy()
    allocation = allocate(need_from_predictions(cohort.assign(p=p))["need"], {"budget_eur": BUDGET})
    table, national = expected_registration_gain(cohort, model, allocation, p=p)
    assert national["registration"].tolist() == ["psychosocial", "crime_suspect"]
    assert model.calls == 1 + len(PROBLEM_FLAGS)


def test_it_is_the_random_pick_analysis_with_every_unregistered_pupil_registered(cohort):
    """registration_elasticity registering all of a region's unregistered pupils (share_pp=100)
    gains exactly n_unregistered times the expected gain per pupil (scenario all, no limits)."""
    model = KnownLogistic()
    rules = AllocationRules(budget_eur=BUDGET, base_amount_eur=BASE)
    p = model.predict_risk(cohort).to_numpy()
    allocation = allocate(need_from_predictions(cohort.assign(p=p))["need"], rules)
    table, _ = expected_registration_gain(cohort, model, allocation, p=p, registrations=["psychosocial"])
    picked, _ = registration_elasticity(cohort, model, rules, registrations=["psychosocial"], share_pp=100,
                                        regions_changed=[29])
    row = table.set_index("region_code").loc[29]
    assert picked.loc[0, "n_changed"] == row["n_unregistered"]
    assert picked.loc[0, "eur_fixed"] == pytest.approx(row["n_unregistered"] * row["eur_per_person_fixed"], rel=1e-9)
