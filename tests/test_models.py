"""Risk models against the synthetic truth, and the estimator contract."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator

from vsvrisk.exceptions import ConfigError, SchemaError
from vsvrisk.models import RiskModel, forward_select, load_model_spec, odds_ratios
from vsvrisk.models.spec import StepwiseSpec
from vsvrisk.synth import default_truth, generate

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
COMMON = ["age_group", "gender", "delay_years", "psychosocial", "crime_suspect", "problem_debts",
          "benefits_household", "parent_crime_suspect", "parent_mental_health", "multiproblematiek",
          "wealth_group", "parents", "mother_education", "urbanisation"]
#: Every variable of the truth: a main-effects logistic model on these is correctly specified.
TRUTH_FEATURES = {"vo": ["vo_type", *COMMON], "mbo": ["mbo_level", "mbo_pathway", "mbo_field", *COMMON]}
FLAGS = {"psychosocial", "crime_suspect", "problem_debts", "benefits_household", "parent_crime_suspect",
         "parent_mental_health", "multiproblematiek"}


@pytest.fixture(scope="module")
def logistic_world():
    return generate(400_000, school_years=[2019], seed=21, truth="logistic")


def _true_contrast(truth, group: str, term: str, references: dict) -> float | None:
    """The truth's coefficient of a one-hot or numeric column, or None when it has none."""
    if term in FLAGS:
        return truth.coefficient(group, term, True) - truth.coefficient(group, term, False)
    if term == "delay_years":
        return truth.coefficient(group, "delay_years")
    for variable, reference in references.items():
        if term.startswith(variable + "_"):
            level = term[len(variable) + 1:]
            if level == "none":  # the vavo indicator absorbs several truth terms
                return None
            cast = (lambda v: int(v)) if variable in ("mbo_level", "urbanisation") else (lambda v: v)
            return truth.coefficient(group, variable, cast(level)) - truth.coefficient(group, variable, cast(reference))
    return None


def test_logistic_intervals_cover_the_true_coefficients(logistic_world):
    frame, truth = logistic_world.frame, logistic_world.truth
    model = RiskModel("logistic", TRUTH_FEATURES).fit(frame)
    table = odds_ratios(model, frame)
    covered, checked = 0, 0
    for group in ("vo", "mbo"):
        encoder = model.feature_pipeline(group)[0].named_steps["encode"]
        for row in table[table.group == group].itertuples():
            true = _true_contrast(truth, group, row.term, encoder.reference_)
            if true is None:
                continue
            checked += 1
            covered += np.log(row.or_low) <= true <= np.log(row.or_high)
    assert checked >= 60
    assert covered / checked >= 0.90, f"{covered}/{checked} intervals cover the truth"


def test_logistic_predictions_track_the_true_probabilities(logistic_world):
    frame = logistic_world.frame
    p = RiskModel("logistic", TRUTH_FEATURES).fit(frame).predict_risk(frame)
    assert np.corrcoef(np.log(p), np.log(frame["p_true"]))[0, 1] > 0.97


def test_excluded_feature_is_refused_naming_it(small_population):
    features = {"vo": ["vo_type", "migration_background"], "mbo": ["mbo_level"]}
    with pytest.raises(ConfigError, match="migration_background"):
        RiskModel("logistic", features).fit(small_population.frame)
    allowed = RiskModel("logistic", features, allow_excluded=True).fit(small_population.frame)
    assert "migration_background" in allowed.selected_features_["vo"]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"learner": "xgboost"}, "learner"),
        ({"calibraton": "sigmoid"}, "calibraton"),
        ({"features": {"vo": ["vo_type", "shoe_size"], "mbo": ["mbo_level"]}}, "shoe_size"),
        ({"sectors": "pooled"}, "all"),
        ({"calibration": "platt"}, "calibration"),
        ({"data": {"train_year": 2018, "eval_year": 2018}}, "eval_year"),
        ({"stepwise": {"enabled": True}, "learner": "lightgbm"}, "stepwise"),
    ],
    ids=["an unknown learner", "a misspelt key", "an unknown feature", "pooled without an 'all' list",
         "an unknown calibration", "evaluation on the training year", "stepwise for lightgbm"],
)
def test_bad_spec_gives_one_line_naming_the_key(change, named):
    spec = {"name": "x", "learner": "logistic", "features": {"vo": ["vo_type"], "mbo": ["mbo_level"]}, **change}
    with pytest.raises(ConfigError) as error:
        load_model_spec(spec)
    assert named in str(error.value) and "\n" not in str(error.value)


def test_every_shipped_config_is_valid():
    for path in sorted(CONFIGS.glob("*.yaml")):
        if path.name in ("features.yaml", "allocation-2026.yaml", "impact.yaml", "policy.yaml") or path.name.startswith("sweep-"):
            continue
        spec = load_model_spec(path)
        assert spec.name and "migration_background" not in str(spec.features)


def test_clone_and_get_params_round_trip():
    model = RiskModel.from_spec(CONFIGS / "lightgbm.yaml")
    twin = clone(model)
    assert twin.get_params() == model.get_params()
    assert model.get_params()["params"]["num_leaves"] == 7


def test_lightgbm_is_deterministic_and_aligned_with_the_index(small_population):
    frame = small_population.frame.sample(frac=1.0, random_state=0)
    spec = load_model_spec(CONFIGS / "lightgbm.yaml")
    first = RiskModel.from_spec(spec).fit(frame).predict_risk(frame)
    second = RiskModel.from_spec(spec).fit(frame).predict_risk(frame)
    pd.testing.assert_series_equal(first, second)
    assert first.index.equals(frame.index)
    proba = RiskModel.from_spec(spec).fit(frame).predict_proba(frame)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_calibration_wraps_a_frozen_model_and_keeps_probabilities_honest(population_2019):
    frame = population_2019.frame
    spec = load_model_spec(CONFIGS / "lightgbm-calibrated.yaml")
    model = RiskModel.from_spec(spec).fit(frame)
    assert isinstance(model.models_["mbo"], CalibratedClassifierCV)
    assert isinstance(model.models_["mbo"].estimator, FrozenEstimator)
    p = model.predict_risk(frame)
    # same cohort: the calibrated mean equals the observed rate within sampling error
    assert p.mean() == pytest.approx(frame["vsv"].mean(), rel=0.05)


def test_lightgbm_finds_the_level_by_pathway_interaction(population_2019):
    frame = population_2019.frame
    lightgbm = RiskModel.from_spec(CONFIGS / "lightgbm.yaml").fit(frame).predict_risk(frame)
    logistic = RiskModel.from_spec(CONFIGS / "logistic.yaml").fit(frame).predict_risk(frame)
    cell = ((frame["mbo_pathway"] == "bbl") & (frame["mbo_level"] <= 2)).fillna(False)
    truth = frame.loc[cell, "p_true_features"].mean()
    # The truth lowers the risk of bbl pupils at levels 1-2; main effects cannot see it.
    assert abs(lightgbm[cell].mean() - truth) < abs(logistic[cell].mean() - truth)


def test_forward_selection_picks_the_strongest_variable_first(population_2019):
    frame = population_2019.frame
    vo = frame[frame["sector"] == "vo"]
    spec = load_model_spec({"name": "s", "learner": "logistic", "features": TRUTH_FEATURES}).feature_spec("vo")
    chosen = forward_select(vo, vo["vsv"].astype(bool), spec, StepwiseSpec(max_features=1, sample_size=150_000), seed=0)
    # The truth's largest contributions to the variance of vo log-odds: school type and age.
    truth = default_truth()
    assert chosen in (["vo_type"], ["age_group"]), chosen
    assert truth.coefficient("vo", "vo_type", "pro") - truth.coefficient("vo", "vo_type", "vwo") > 1


def test_fit_refuses_rows_without_a_target(small_population):
    frame = small_population.frame.copy()
    frame["vsv"] = frame["vsv"].astype("boolean")
    frame.loc[frame.index[:5], "vsv"] = pd.NA
    with pytest.raises(SchemaError, match="target is missing"):
        RiskModel("logistic", {"vo": ["vo_type"], "mbo": ["mbo_level"]}).fit(frame)


def test_grouped_cross_validation_keeps_each_region_in_one_test_fold(small_population):
    from sklearn.model_selection import GroupKFold

    from vsvrisk.evaluate.validation import grouped_cross_validation

    cohort = small_population.frame[small_population.frame["school_year"] == 2019].reset_index(drop=True)
    model = RiskModel("logistic", {"vo": ["vo_type", "age_group"], "mbo": ["mbo_level", "age_group"]})
    scores = grouped_cross_validation(model, cohort, n_splits=4)
    assert sorted(scores["fold"].unique()) == [0, 1, 2, 3]
    assert scores.loc[scores["sector"] == "all", "roc_auc"].between(0.6, 0.95).all()
    seen = [set(cohort.loc[test, "region_code"]) for _, test in GroupKFold(4).split(cohort, groups=cohort["region_code"])]
    assert sum(len(regions) for regions in seen) == 40 and set().union(*seen) == set(range(1, 41))


def test_the_order_of_the_model_groups_in_a_spec_changes_nothing():
    # yaml.safe_dump sorts keys (mbo before vo): the same config must fit the same model.
    frame = generate(6_000, school_years=[2018], seed=4).frame
    spec = yaml.safe_load((Path(__file__).resolve().parents[1] / "configs" / "lightgbm.yaml").read_text())
    spec["params"]["n_estimators"] = 20
    reordered = {**spec, "features": dict(reversed(list(spec["features"].items())))}
    assert list(reordered["features"]) == ["mbo", "vo"]
    first = RiskModel.from_spec(spec).fit(frame).predict_risk(frame)
    second = RiskModel.from_spec(reordered).fit(frame).predict_risk(frame)
    np.testing.assert_array_equal(first.to_numpy(), second.to_numpy())


@pytest.mark.parametrize("cores", ["1", "2", "4"])
def test_groups_fitted_side_by_side_grow_the_same_trees_as_one_after_the_other(monkeypatch, cores):
    # OMP_NUM_THREADS is what the library reads as the cores it may use: 2 and 4 fit vo and mbo
    # side by side (1 and 2 LightGBM threads each), 1 one after the other; a spec that sets
    # n_jobs is fitted one group after the other on its own threads (the reference here).
    from vsvrisk.models._threads import side_by_side_threads

    frame = generate(8_000, school_years=[2018], seed=5).frame
    spec = yaml.safe_load((Path(__file__).resolve().parents[1] / "configs" / "lightgbm.yaml").read_text())
    spec["params"]["n_estimators"] = 30
    reference = RiskModel.from_spec({**spec, "params": {**spec["params"], "n_jobs": 1}}).fit(frame)
    monkeypatch.setenv("OMP_NUM_THREADS", cores)
    threads = side_by_side_threads("lightgbm", 2, {"deterministic": True, "force_row_wise": True}, set())
    assert threads == {"1": None, "2": 1, "4": 2}[cores]
    model = RiskModel.from_spec(spec).fit(frame)
    assert list(model.selected_features_) == list(spec["features"])  # the spec's order
    for group in ("vo", "mbo"):
        learner = model.learner_of(group)
        trees = learner.booster_.model_to_string().split("\nparameters:")[0]
        assert trees == reference.learner_of(group).booster_.model_to_string().split("\nparameters:")[0]
        assert learner.get_params()["n_jobs"] is None  # predictions use every core, as the spec asks
    np.testing.assert_array_equal(model.predict_risk(frame).to_numpy(), reference.predict_risk(frame).to_numpy())


def test_a_spec_that_sets_threads_or_a_logistic_learner_is_fitted_one_group_after_the_other():
    from vsvrisk.models._threads import side_by_side_threads

    exact = {"deterministic": True, "force_row_wise": True}
    assert side_by_side_threads("lightgbm", 2, exact, {"num_threads"}) is None
    assert side_by_side_threads("lightgbm", 1, exact, set()) is None  # one pooled group
    assert side_by_side_threads("logistic", 2, exact, set()) is None
    assert side_by_side_threads("lightgbm", 2, {"deterministic": False, "force_row_wise": True}, set()) is None


def test_when_one_group_fails_side_by_side_the_other_stops_at_its_next_tree():
    # A group whose fit fails (here: its stand-in raises at once) makes the other group's
    # LightGBM stop at its next tree rather than train on; the error is the failing group's.
    import threading
    import time

    import lightgbm

    from vsvrisk.models._threads import SideBySide

    side, trees = SideBySide(threads=1), []
    rng = np.random.default_rng(0)
    X, y = rng.random((20_000, 5)), rng.random(20_000) < 0.3
    started = threading.Event()

    def fit(group):
        if group == "fails":
            started.wait(30)
            raise ValueError("the other group's data are broken")

        def count(env):
            trees.append(env.iteration)
            started.set()
            time.sleep(0.01)

        return lightgbm.train({"verbose": -1, "num_threads": 1}, lightgbm.Dataset(X, y), num_boost_round=2_000,
                              callbacks=[count, side.callback()])

    with pytest.raises(ValueError, match="broken"):
        side.map(fit, ["trains", "fails"])
    assert 0 < len(trees) < 500  # stopped, not 2,000 trees of ~10 ms each


def test_work_beside_the_fit_runs_on_the_core_the_first_group_to_finish_leaves():
    # Two stand-in groups: "short" finishes at once, "long" only when told. The work handed over
    # starts on short's thread while long still trains, and holds its result after the block.
    import threading

    from vsvrisk.models._threads import SideBySide, beside_the_fit

    long_may_end, seen = threading.Event(), {}

    def fit(group):
        if group == "long":
            assert long_may_end.wait(30), "the work beside the fit never started"
        return group

    def work(value):
        seen["thread"] = threading.current_thread().name
        seen["long was training"] = not long_may_end.is_set()
        long_may_end.set()
        return value * 2

    with beside_the_fit() as beside:
        doubled = beside(work, 21)
        assert SideBySide(threads=1).map(fit, ["long", "short"]) == ["long", "short"]
    assert doubled.result(timeout=30) == 42
    assert seen["long was training"] and seen["thread"].startswith("vsvrisk-fit")


def test_work_beside_no_fit_runs_as_the_block_ends_and_keeps_its_error():
    from vsvrisk.models._threads import beside_the_fit

    ran = []
    with beside_the_fit() as beside:
        first = beside(ran.append, "first")
        failed = beside(int, "not a number")
        assert not ran  # a logistic fit, or none: nothing runs until the block ends
    assert ran == ["first"] and first.result() is None
    with pytest.raises(ValueError, match="not a number"):
        failed.result()
    with pytest.raises(KeyError), beside_the_fit() as beside:  # an error in the block: nothing runs
        never = beside(ran.append, "never")
        raise KeyError("the fit failed")
    assert never.cancelled() and ran == ["first"]
