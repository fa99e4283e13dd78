"""The synthetic generator against its own truth and against the published figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vsvrisk.data.codes import COLUMNS, PROBLEM_FLAGS
from vsvrisk.synth import INTERACTIONS, default_truth, generate, published_figures
from vsvrisk.synth import population as population_module


def _logit(p):
    return np.log(p / (1 - p))


@pytest.mark.parametrize("key", [
    "all", "vo", "mbo", "mbo_1", "mbo_2", "mbo_3", "mbo_4", "under_18", "age_18_22",
    "multiproblem_ratio", "need_share_29", "need_share_21", "need_share_37",
])
def test_cohort_2019_reproduces_published_figure(population_2019, key):
    table = published_figures(population_2019.frame).set_index("key")
    row = table.loc[key]
    assert row["low"] <= row["value"] <= row["high"], f"{key}: {row['value']:.3f} outside {row['low']}-{row['high']}"


def test_2018_cohort_has_more_vsv_than_2019():
    frame = generate(200_000, school_years=[2018, 2019], seed=2).frame
    rates = frame.groupby("school_year")["vsv"].mean()
    assert rates[2018] > rates[2019] * 1.08


def test_same_seed_same_frame_bit_for_bit():
    first = generate(3_000, school_years=[2018, 2019], seed=11).frame
    second = generate(3_000, school_years=[2018, 2019], seed=11).frame
    pd.testing.assert_frame_equal(first, second, check_exact=True)
    other = generate(3_000, school_years=[2018, 2019], seed=12).frame
    assert not first["birth_date"].equals(other["birth_date"])


def test_chunks_give_unique_ids_and_the_requested_size(monkeypatch):
    monkeypatch.setattr(population_module, "CHUNK_SIZE", 700)
    frame = generate(2_000, school_years=[2019, 2020], seed=3).frame
    assert frame.groupby("school_year").size().tolist() == [2_000, 2_000]
    assert not frame.duplicated(["school_year", "person_id"]).any()


def test_columns_and_dtypes_follow_the_code_book(small_population):
    frame = small_population.frame
    assert list(frame.columns) == [*COLUMNS, "p_true", "p_true_features"]
    for column, dtype in COLUMNS.items():
        assert str(frame[column].dtype) == dtype, column


def test_sector_columns_are_filled_inside_their_sector_only(small_population):
    frame = small_population.frame
    vo, mbo = frame["sector"] == "vo", frame["sector"] == "mbo"
    assert frame.loc[vo, "vo_type"].notna().all() and frame.loc[~vo, "vo_type"].isna().all()
    for column in ("mbo_level", "mbo_pathway", "mbo_field"):
        assert frame.loc[mbo, column].notna().all() and frame.loc[~mbo, column].isna().all()


def test_p_true_is_the_truth_applied_to_the_observable_columns(small_population):
    frame, truth = small_population.frame, small_population.truth
    np.testing.assert_allclose(truth.probability(frame), frame["p_true"], rtol=0, atol=1e-12)
    effect = frame["region_code"].map(truth.region_effects).to_numpy()
    np.testing.assert_allclose(
        _logit(frame["p_true"]) - _logit(frame["p_true_features"]), effect, atol=1e-9
    )


def test_vsv_is_drawn_from_p_true(population_2019):
    frame = population_2019.frame
    vsv = frame["vsv"].astype(float)
    decile = pd.qcut(frame["p_true"], 10, labels=False, duplicates="drop")
    observed = vsv.groupby(decile).mean()
    expected = frame["p_true"].groupby(decile).mean()
    n = vsv.groupby(decile).size()
    standard_error = np.sqrt(expected * (1 - expected) / n)
    assert (np.abs(observed - expected) < 4 * standard_error + 1e-4).all()


def test_logistic_truth_has_main_effects_only():
    frame = generate(5_000, seed=4, truth="logistic").frame
    truth = default_truth("logistic")
    assert truth.interactions == {}
    assert (truth.region_effects == 0).all()
    np.testing.assert_array_equal(frame["p_true"], frame["p_true_features"])


def test_nonlinear_truth_differs_from_main_effects_where_interactions_apply(small_population):
    frame = small_population.frame
    nonlinear, logistic = default_truth("nonlinear"), default_truth("logistic")
    difference = nonlinear.log_odds(frame, include_region=False) - logistic.log_odds(frame)
    low_bbl = ((frame["mbo_pathway"] == "bbl") & (frame["mbo_level"] <= 2)).fillna(False).to_numpy()
    no_other_term = (
        (frame["delay_years"] == 0)
        & ~(frame["psychosocial"] & frame["crime_suspect"])
        & (frame["wealth_percentile"].fillna(0) < 95)
        & (frame["migration_background"] != "non_western")
    ).to_numpy()
    np.testing.assert_allclose(difference[no_other_term & ~low_bbl], 0.0, atol=1e-12)
    assert (no_other_term & low_bbl).sum() > 20
    np.testing.assert_allclose(difference[no_other_term & low_bbl], INTERACTIONS["bbl_low_level"][0], atol=1e-12)


def test_regional_effects_are_centred_and_part_of_the_world_not_the_sample():
    truth = default_truth()
    assert abs(truth.region_effects.mean()) < 1e-12
    assert 0.05 < truth.region_effects.std() < 0.2
    a = generate(1_000, seed=1).truth.region_effects
    b = generate(1_000, seed=2).truth.region_effects
    pd.testing.assert_series_equal(a, b)


def test_wider_population_reaches_age_26_under_the_2026_definition():
    frame = generate(20_000, seed=5, upper_age=27).frame
    from vsvrisk.data import age_at_reference_date

    age = age_at_reference_date(frame["birth_date"], frame["school_year"])
    assert age.max() == 26 and (age >= 23).sum() > 100 and age.min() >= 10


def test_multiproblematiek_flags_are_correlated(population_2019):
    flags = population_2019.frame[list(PROBLEM_FLAGS)].astype(float)
    correlations = flags.corr().to_numpy()[np.triu_indices(len(PROBLEM_FLAGS), 1)]
    assert (correlations > 0).all()


def test_a_planted_group_effect_raises_exactly_that_groups_log_odds(small_population):
    frame = small_population.frame
    plain = default_truth()
    planted = default_truth(planted=("migration_background", "western", 0.7))
    difference = planted.log_odds(frame) - plain.log_odds(frame)
    western = (frame["migration_background"] == "western").to_numpy()
    np.testing.assert_allclose(difference[western], 0.7)
    np.testing.assert_allclose(difference[~western], 0.0)
    drawn = generate(2_000, seed=3, truth=planted).frame
    np.testing.assert_allclose(drawn["p_true"], planted.probability(drawn))
