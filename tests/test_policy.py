"""The policy analyses on a synthetic world where the answer is known (issue 17).

Each check compares with the generator's truth or with an independent calculation: the
logistic model's own coefficient for the changed persons' risks, the closed form of lambda when
no limit binds, the band's arithmetic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from vsvrisk.allocate import AllocationRules, allocate
from vsvrisk.exceptions import AllocationError, ConfigError
from vsvrisk.models import RiskModel
from vsvrisk.policy import (
    allocation_path,
    needs_from_cohorts,
    prevented_risk,
    prevention_check,
    register_more,
    registration_elasticity,
    risks_to_watch,
)
from vsvrisk.synth import generate

BUDGET, BASE = 90_000_000, 250_000
RULES = AllocationRules(budget_eur=BUDGET, base_amount_eur=BASE)  # no floor, no band: lambda is free for all
RIJNMOND, ZUIDOOST_BRABANT = 29, 37


@pytest.fixture(scope="module")
def world():
    frame = generate(20_000, school_years=[2018, 2019], seed=11).frame
    train = frame[frame.school_year == 2018].reset_index(drop=True)
    cohort = frame[frame.school_year == 2019].reset_index(drop=True)
    model = RiskModel.from_spec("configs/cbs-replica.yaml").fit(train)
    return train, cohort, model


# --------------------------------------------------------------------------- prevention


def test_prevention_cuts_the_regions_expected_vsv_by_exactly_the_fraction_with_one_odds_ratio(world):
    _, cohort, _ = world
    p = cohort["p_true"].to_numpy()
    mine = cohort["region_code"].to_numpy() == RIJNMOND
    after, shift = prevented_risk(p, mine, 0.3)
    assert after[mine].sum() == pytest.approx(0.7 * p[mine].sum(), rel=1e-12)
    np.testing.assert_array_equal(after[~mine], p[~mine])  # no other region touched
    np.testing.assert_allclose(logit(after[mine]) - logit(p[mine]), shift, atol=1e-9)  # the same odds ratio


def test_without_a_refit_prevention_costs_the_region_exactly_nothing(world):
    _, cohort, model = world
    table, summary = prevention_check(cohort, model, RULES, regions_preventing=[RIJNMOND, ZUIDOOST_BRABANT],
                                      fraction=0.5, seeds=[0, 1], refit=False)
    assert (table["change_eur"] == 0).all() and (summary["loss_eur"] == 0).all()
    # Not vacuous: the observed dropout of the preventing region did fall.
    assert (summary["observed_vsv_after"] < summary["observed_vsv_before"]).all()
    assert summary["expected_vsv_after"].to_numpy() == pytest.approx(0.5 * summary["expected_vsv_before"].to_numpy())


def test_with_a_refit_the_preventing_region_loses_money_in_every_draw(world):
    _, cohort, _ = world
    logistic = RiskModel.from_spec("configs/cbs-replica.yaml")
    table, summary = prevention_check(cohort, logistic, RULES, regions_preventing=[RIJNMOND], fraction=0.5,
                                      seeds=[0, 1])
    assert summary.loc[0, "loss_eur_low"] > 0
    assert table.groupby(["seed", "preventing_region"])["amount_after_eur"].sum().eq(BUDGET).all()
    assert summary.loc[0, "largest_gain_region"] != "Rijnmond"


def test_the_prevention_check_needs_the_true_risk(world):
    _, cohort, model = world
    with pytest.raises(ConfigError, match="p_true"):
        prevention_check(cohort.drop(columns="p_true"), model, RULES, refit=False)
    with pytest.raises(ConfigError, match="fraction"):
        prevention_check(cohort, model, RULES, fraction=1.0, refit=False)


# --------------------------------------------------------------------------- registration


def test_register_more_raises_the_regions_share_by_one_point_among_the_unregistered(world):
    _, cohort, _ = world
    frame, changed = register_more(cohort, RIJNMOND, "psychosocial", 1.0, seed=3)
    mine = cohort["region_code"].to_numpy() == RIJNMOND
    assert changed.sum() == round(0.01 * mine.sum())
    assert mine[changed].all() and not cohort["psychosocial"].to_numpy()[changed].any()
    assert frame["psychosocial"].to_numpy()[changed].all()
    assert frame.loc[~changed].equals(cohort.loc[~changed])
    np.testing.assert_array_equal(changed, register_more(cohort, RIJNMOND, "psychosocial", 1.0, seed=3)[1])


def test_one_point_more_psychosocial_gains_the_changed_need_times_lambda(world):
    """Acceptance: the gain equals the changed persons' need change times euros per unit of need."""
    _, cohort, model = world
    table, _ = registration_elasticity(cohort, model, RULES, registrations=["psychosocial"],
                                       regions_changed=[RIJNMOND], seed=5)
    row = table.iloc[0]
    _, changed = register_more(cohort, RIJNMOND, "psychosocial", 1.0, seed=5)
    # Independently: the logistic model adds its psychosocial coefficient to a changed person's log-odds.
    p = model.predict_risk(cohort).to_numpy()
    groups = model.model_groups(cohort)
    delta = 0.0
    for group in ("vo", "mbo"):
        names = list(model.models_[group][:-1].get_feature_names_out())
        coefficient = model.learner_of(group).coef_[0][names.index("psychosocial")]
        rows = changed & (groups == group)
        delta += (expit(logit(p[rows]) + coefficient) - p[rows]).sum()
    total = p.sum()
    lam = (BUDGET - 40 * BASE) / total  # no limit binds: every region is base + lambda x need
    assert row.n_changed == changed.sum() > 0
    assert row.need_change == pytest.approx(delta, rel=1e-9)
    assert row.eur_fixed > 0 and row.eur_fixed == pytest.approx(lam * delta, rel=1e-9)
    assert table.attrs["lambda"] == pytest.approx(lam, rel=1e-12)
    # After the budget is split again, the region keeps lambda' (need + delta) - lambda need.
    need = p[cohort["region_code"].to_numpy() == RIJNMOND].sum()
    rebalanced = (BUDGET - 40 * BASE) * ((need + delta) / (total + delta) - need / total)
    assert abs(row.eur_rebalanced - rebalanced) <= 1  # whole euros
    assert row.eur_per_person_fixed == pytest.approx(lam * delta / changed.sum())


def test_a_region_held_by_the_floor_gains_nothing_at_the_rules_price(world):
    _, cohort, model = world
    rules = AllocationRules(budget_eur=BUDGET, floor_eur=2_000_000)
    p = model.predict_risk(cohort)
    held = allocate(pd.Series(cohort.assign(p=p).groupby("region_code")["p"].sum().reindex(range(1, 41), fill_value=0)),
                    rules)
    region = int(held.loc[held["binding"] == "floor", "region_code"].iloc[0])
    table, _ = registration_elasticity(cohort, model, rules, registrations=["psychosocial"], regions_changed=[region])
    assert table.loc[0, "need_change"] > 0 and table.loc[0, "eur_fixed"] == 0


def test_after_a_refit_the_gain_shrinks_because_the_new_registrations_carry_no_risk(world):
    train, cohort, model = world
    table, national = registration_elasticity(cohort, model, RULES, registrations=["psychosocial"],
                                              regions_changed=[RIJNMOND], share_pp=5.0, refit_on=train)
    row = table.iloc[0]
    assert 0 < row.eur_refit < row.eur_rebalanced
    assert national.loc[0, "eur_per_person_refit"] == pytest.approx(row.eur_refit / row.n_changed)


def test_risks_to_watch_names_the_largest_elasticities_and_skips_suppressed_rows(world):
    _, cohort, model = world
    table, _ = registration_elasticity(cohort, model, RULES, registrations=["psychosocial", "crime_suspect"])
    table["suppressed"] = False
    top = table["eur_per_person_fixed"].idxmax()
    table.loc[top, "suppressed"] = True
    watch = risks_to_watch(table, 3)
    expected = table.drop(index=top).nlargest(3, "eur_per_person_fixed")
    assert watch["eur_per_person"].tolist() == expected["eur_per_person_fixed"].tolist()
    assert watch["who_registers"].notna().all()


# --------------------------------------------------------------------------- path


@pytest.fixture(scope="module")
def path_inputs(world):
    train, cohort, model = world
    needs = needs_from_cohorts(model, {2026: cohort, 2027: train, 2028: cohort})
    first = allocate(needs_from_cohorts(model, {0: train})[0], RULES)
    return first, needs


def test_a_band_wider_than_every_change_reaches_the_need_based_amounts_in_year_one(path_inputs):
    """Acceptance: with a band that never binds, the path is the need-based allocation every year."""
    first, needs = path_inputs
    targets = {year: allocate(need, RULES)["amount_eur"].to_numpy() for year, need in needs.items()}
    changes = [np.abs(targets[2026] / first["amount_eur"].to_numpy() - 1).max()]
    changes += [np.abs(targets[b] / targets[a] - 1).max() for a, b in ((2026, 2027), (2027, 2028))]
    band = min(1.0, 1.01 * max(changes) + 1e-6)
    path = allocation_path(first, needs, RULES, bands=[band], tolerance_pct=0.0)
    assert path.regions["reached_year"].eq(2026).all() and path.bands.loc[0, "all_reached_year"] == 2026
    for year, target in targets.items():
        np.testing.assert_array_equal(path.table.loc[path.table.year == year, "amount_eur"].to_numpy(), target)
    assert (path.table["binding"] == "none").all()


def test_under_a_narrow_band_no_yearly_change_exceeds_it_and_reached_means_within_tolerance(path_inputs):
    first, needs = path_inputs
    path = allocation_path(first, needs, RULES, bands=[0.01, 0.05], tolerance_pct=0.5)
    table = path.table
    limit = table["band"] * table["previous_eur"] + 1  # rounding moves an amount by less than a euro
    assert (table["change_eur"].abs() <= limit).all()
    assert (table.groupby(["band", "year"])["amount_eur"].sum() == BUDGET).all()
    merged = table.merge(path.regions[["band", "region_code", "reached_year"]], on=["band", "region_code"])
    reached = merged["reached_year"].notna() & (merged["year"] >= merged["reached_year"].fillna(10**4))
    assert (merged.loc[reached, "gap_pct"].abs() <= 0.5).all()
    before = merged["reached_year"].notna() & (merged["year"] == merged["reached_year"].fillna(10**4) - 1)
    assert (merged.loc[before, "gap_pct"].abs() > 0.5).all()


def test_a_band_too_tight_for_the_budget_names_the_year_and_the_band(path_inputs):
    first, needs = path_inputs
    richer = first.assign(amount_eur=first["amount_eur"] * 1.1)  # last year spent 10% more than this budget
    with pytest.raises(AllocationError, match=r"year 2026, band 2\.5%"):
        allocation_path(richer, needs, RULES, bands=[0.025])
