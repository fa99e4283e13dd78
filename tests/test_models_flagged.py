"""Predictions with one registration set (the risk to watch): a fitted RiskModel predicts one pupil
of each set it cannot tell apart once registered, and gives every pupil the numbers the plain path
gives (every pupil without the flag, predicted with it set), to the last bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vsvrisk.allocate import allocate, need_from_predictions
from vsvrisk.data.codes import PROBLEM_FLAGS
from vsvrisk.models import RiskModel
from vsvrisk.models import _lgbm_classifier as estimator  # where DISTINCT_ROWS_FROM is read
from vsvrisk.models._flagged import FlagPredictor
from vsvrisk.policy import expected_registration_gain

SMALL_TREES = {"n_estimators": 40, "num_leaves": 7, "min_child_samples": 50, "n_jobs": 1}
# Each model reads the flags directly, through problem_count / multiproblematiek (which every
# flag moves), or both; and the age and wealth percentile that make most pupils' rows distinct.
MODELS = {
    "logistic": ("logistic", {"vo": ["age_group", "vo_type", "psychosocial", "crime_suspect", "wealth_group"],
                              "mbo": ["age_group", "mbo_level", "psychosocial", "problem_debts", "parents"]}, {}),
    "lightgbm": ("lightgbm", {"vo": ["age", "vo_type", "psychosocial", "crime_suspect", "wealth_percentile",
                                     "delay_years"],
                              "mbo": ["age", "mbo_level", "mbo_field", "psychosocial", "problem_debts",
                                      "wealth_percentile"]}, SMALL_TREES),
    "logistic, counts": ("logistic", {"vo": ["age_group", "vo_type", "multiproblematiek", "psychosocial"],
                                      "mbo": ["age_group", "mbo_level", "problem_count"]}, {}),
    "lightgbm, counts": ("lightgbm", {"vo": ["age", "vo_type", "problem_count", "crime_suspect", "wealth_percentile"],
                                      "mbo": ["age", "mbo_level", "multiproblematiek", "wealth_percentile"]},
                         SMALL_TREES),
}


class Counting:
    """Counts the rows a model is asked to predict."""

    def __init__(self, model):
        self.model, self.rows = model, 0

    def __call__(self, X):
        self.rows += len(X)
        return type(self.model).predict_risk(self.model, X)


class NotARiskModel:
    """The same model behind another type: the plain path."""

    def __init__(self, model):
        self.model, self.selected_features_ = model, model.selected_features_

    def predict_risk(self, X):
        return self.model.predict_risk(X)


@pytest.fixture(scope="module")
def cohort():
    from vsvrisk.synth import generate

    return generate(20_000, seed=3).frame


@pytest.fixture(scope="module", params=list(MODELS))
def model(request, cohort):
    learner, features, params = MODELS[request.param]
    return RiskModel(learner, features, params=params).fit(cohort)


@pytest.fixture(scope="module")
def counting_model(cohort):
    learner, features, params = MODELS["lightgbm, counts"]
    return RiskModel(learner, features, params=params).fit(cohort)


def _plain(model, cohort, name):
    without = ~cohort[name].to_numpy(dtype=bool)
    return without, model.predict_risk(cohort.loc[without].assign(**{name: True})).to_numpy()


def test_every_registration_gets_the_plain_paths_numbers_from_fewer_predicted_rows(model, cohort, monkeypatch):
    counting = Counting(model)
    monkeypatch.setattr(model, "predict_risk", counting)
    predictor = FlagPredictor(model, cohort)
    asked = 0
    for name in PROBLEM_FLAGS:
        without, p = predictor.predict(name)
        expected_without, expected = _plain(model, cohort, name)
        assert np.array_equal(without, expected_without)
        assert np.array_equal(p, expected)  # bit for bit
        asked += int(without.sum())
    # The plain calls above counted too. A LightGBM model whose features take each flag as it is
    # predicts from its trees' tables (the classes with the flag's changed): no row is predicted
    # through the features; one with a count made from the flags predicts one row per key.
    counts = {"problem_count", "multiproblematiek"} & {v for names in model.selected_features_.values() for v in names}
    if model.learner == "lightgbm" and not counts:
        assert counting.rows == asked
    else:
        assert 0 < counting.rows - asked < 0.8 * asked


def test_the_table_predictor_gives_the_same_numbers_as_lightgbm(counting_model, cohort, monkeypatch):
    """Representatives and the plain path both above the size from which rows go through the
    per-tree tables: the learner classes are those tables' classes."""
    fitted = counting_model
    monkeypatch.setattr(estimator, "DISTINCT_ROWS_FROM", 100)
    predictor = FlagPredictor(fitted, cohort)
    for name in ("psychosocial", "crime_suspect", "parent_mental_health"):
        assert np.array_equal(predictor.predict(name)[1], _plain(fitted, cohort, name)[1])


def test_a_calibrated_model_and_a_pooled_one_get_the_plain_paths_numbers(cohort):
    for options in ({"calibration": "sigmoid"}, {"sectors": "pooled"}):
        features = {"all": ["age", "sector", "problem_count", "crime_suspect"]} if "sectors" in options else \
            MODELS["lightgbm"][1]
        fitted = RiskModel("lightgbm", features, params=SMALL_TREES, **options).fit(cohort)
        predictor = FlagPredictor(fitted, cohort)
        for name in ("crime_suspect", "problem_debts"):
            assert np.array_equal(predictor.predict(name)[1], _plain(fitted, cohort, name)[1])


def test_trees_that_never_split_give_the_plain_paths_numbers(cohort):
    # Every tree a single leaf (no group of 10 million pupils to split): no class to change.
    fitted = RiskModel("lightgbm", MODELS["lightgbm"][1], params={**SMALL_TREES, "min_child_samples": 10**7}).fit(cohort)
    predictor = FlagPredictor(fitted, cohort)
    for name in ("psychosocial", "crime_suspect"):
        without, p = predictor.predict(name)
        assert np.array_equal(p, _plain(fitted, cohort, name)[1]) and np.unique(p).size <= 2
        assert predictor._from_tables(name, without) is not None  # answered by the trees' tables


def test_the_risk_to_watch_is_the_same_table_as_on_the_plain_path(model, cohort):
    p = model.predict_risk(cohort).to_numpy()
    scenario = {"top_share": 0.25}
    allocation = allocate(need_from_predictions(cohort.assign(p=p), "p", scenario)["need"],
                          {"budget_eur": 90_000_000})
    table, national = expected_registration_gain(cohort, model, allocation, scenario=scenario, p=p)
    plain_table, plain_national = expected_registration_gain(cohort, NotARiskModel(model), allocation,
                                                             scenario=scenario, p=p)
    assert len(national) > 0
    pd.testing.assert_frame_equal(table, plain_table, check_exact=True)
    pd.testing.assert_frame_equal(national, plain_national, check_exact=True)


def test_input_columns_are_exactly_what_predictions_read(counting_model, cohort):
    fitted = counting_model
    read = fitted.input_columns_
    assert set(read) == {"sector", "birth_date", "school_year", "vo_type", "mbo_level", "wealth_percentile",
                         *PROBLEM_FLAGS}  # problem_count and multiproblematiek count every flag
    assert np.array_equal(fitted.predict_risk(cohort[read]).to_numpy(), fitted.predict_risk(cohort).to_numpy())
    for name in ("sector", "birth_date", "mbo_level", "parent_mental_health"):  # routing, age, a group, a count
        with pytest.raises(Exception, match=name):
            fitted.predict_risk(cohort[read].drop(columns=name))
