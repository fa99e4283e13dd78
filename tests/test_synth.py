"""The synthetic generator against its own truth and against the published figures."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

from vsvrisk.data import age_at_reference_date
from vsvrisk.data.codes import COLUMNS, PROBLEM_FLAGS
from vsvrisk.synth import INTERACTIONS, default_truth, generate, published_figures, published_rates
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


@functools.lru_cache(maxsize=None)
def _national_figures(year: int) -> pd.DataFrame:
    """A national-size cohort (1.5 M persons, as the published figures count) against its year's
    figures; only the small table is kept, so the three cohorts are never in memory together."""
    return published_figures(generate(1_500_000, school_years=[year], seed=year).frame).set_index("key")


@pytest.mark.parametrize("year", [2018, 2019, 2024], ids=lambda year: f"school year {year}")
def test_a_national_cohort_meets_every_figure_published_for_its_own_year(year):
    table = _national_figures(year)
    rates, _ = published_rates(year)
    for key in ("all", "vo", "mbo"):  # held to the figures of that year, not another's
        assert table.loc[key, "published"] == pytest.approx(rates[key])
    outside = table[~table["within"]]
    assert outside.empty, "\n".join(f"{key}: {row.value:.3f} outside {row.low:.3g}-{row.high:.3g} (published "
                                      f"{row.published:.3g}, {row.source})" for key, row in outside.iterrows())


def test_the_out_of_time_fall_from_2018_19_to_2019_20_is_the_published_one():
    ratio = _national_figures(2019).loc["all", "value"] / _national_figures(2018).loc["all", "value"]
    assert ratio == pytest.approx(1.72 / 2.01, abs=0.05)
    # and per sector, where the letter of 2021 gives both years
    assert _national_figures(2019).loc["vo", "value"] / _national_figures(2018).loc["vo", "value"] == pytest.approx(
        0.36 / 0.49, abs=0.05)
    assert _national_figures(2019).loc["mbo", "value"] / _national_figures(2018).loc["mbo", "value"] == pytest.approx(
        4.59 / 5.35, abs=0.05)


@pytest.mark.parametrize("year, expected", [
    (2018, {"all": 2.01, "vo": 0.49, "mbo": 5.35}),
    (2019, {"all": 1.72, "vo": 0.36, "mbo": 4.59}),
    (2016, {"all": 2.01, "vo": 0.49, "mbo": 5.35}),   # before the first figure: the nearest
    (2030, {"all": 2.1}),                              # after the last: the nearest
], ids=["2018/19 from the 2021 letter", "2019/20 from the 2021 letter", "2016/17 takes 2018/19",
        "2030/31 takes 2024/25"])
def test_each_year_has_the_figures_of_its_source(year, expected):
    rates, sources = published_rates(year)
    for key, value in expected.items():
        assert rates[key] == pytest.approx(value)
    assert all(sources.values())


def test_years_between_published_ones_are_interpolated_in_log_odds():
    def logit(percent):
        return np.log(percent / (100 - percent))

    for year in (2020, 2021, 2022):
        rates, sources = published_rates(year)
        weight = (year - 2019) / 4
        expected = (1 - weight) * logit(published_rates(2019)[0]["vo"]) + weight * logit(published_rates(2023)[0]["vo"])
        assert logit(rates["vo"]) == pytest.approx(expected)
        assert sources["vo"] == "interpolated 19/20-23/24"
    # and the truth's year effects interpolate between the same years
    truth = default_truth()
    middle = truth.year_effect(2021, "mbo")
    assert middle == pytest.approx((truth.year_effect(2019, "mbo") + truth.year_effect(2023, "mbo")) / 2)


def test_the_2024_letters_vo_and_mbo_move_with_the_whole_from_2018():
    rates, sources = published_rates(2024)
    shift = np.log(2.1 / 97.9) - np.log(2.01 / 97.99)
    assert rates["vo"] == pytest.approx(100 / (1 + np.exp(-(np.log(0.49 / 99.51) + shift))))
    assert sources["all"] == "Kamerbrief 2026" and sources["vo"] == "Kamerbrief 2026, moved"


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


@pytest.fixture(scope="module")
def wider_population():
    """2024/25 under the 2026 law (under 27), beside the same draw under the default (under 23)."""
    return (generate(400_000, school_years=[2024], seed=6, upper_age=27).frame,
            generate(400_000, school_years=[2024], seed=6).frame)


def test_wider_population_reaches_age_26_in_mbo_and_vavo_only(wider_population):
    wide, _ = wider_population
    age = age_at_reference_date(wide["birth_date"], wide["school_year"])
    assert age.max() == 26 and age.min() >= 10
    older = wide[age >= 23]
    assert set(older["sector"].astype(str)) == {"mbo", "vavo"}
    assert set(range(23, 27)) <= set(age[age >= 23])


def test_the_wider_definition_counts_about_28_percent_more_vsv(wider_population):
    wide, _ = wider_population
    age = age_at_reference_date(wide["birth_date"], wide["school_year"])
    expected = wide["p_true"].sum() / wide.loc[age < 23, "p_true"].sum()   # free of sampling noise
    assert expected == pytest.approx(1.28, abs=0.02)
    table = published_figures(wide).set_index("key")
    assert table.loc["wider_definition", "within"], table.loc["wider_definition"]
    assert table["within"].all(), table[~table["within"]]


def test_the_under_23_part_of_the_wider_population_is_the_default_population(wider_population):
    wide, default = wider_population
    age = age_at_reference_date(wide["birth_date"], wide["school_year"])
    core = wide[age < 23]
    # same share of every sector and the same expected rate, up to sampling noise
    for sector in ("vo", "mbo", "vavo"):
        share_core = (core["sector"] == sector).mean()
        share_default = (default["sector"] == sector).mean()
        assert share_core == pytest.approx(share_default, abs=4 * np.sqrt(share_default / len(core)))
    assert core["p_true"].mean() == pytest.approx(default["p_true"].mean(), rel=0.02)
    assert age_at_reference_date(default["birth_date"], default["school_year"]).max() == 22


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
