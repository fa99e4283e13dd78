"""A large frame is predicted once per distinct learner row, from per-tree tables or (for a model
the tables do not cover) by LightGBM: either way the same numbers as LightGBM's, to the last bit."""

from __future__ import annotations

import weakref

import lightgbm
import numpy as np
import pandas as pd
import pytest

from vsvrisk._lgbm import predict as table_predict
from vsvrisk.models import RiskModel
from vsvrisk.models import _lgbm_classifier as estimator  # where DISTINCT_ROWS_FROM is read
from vsvrisk.models.estimator import LGBMRiskClassifier


@pytest.fixture(scope="module")
def fitted():
    """A learner on a frame with many repeated rows, NaN, -0.0 and a category column."""
    rng = np.random.default_rng(3)
    n = 6_000
    frame = pd.DataFrame({
        "delay": rng.integers(0, 4, n).astype(float),
        "wealth": np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 5, n) * 20.0),
        "flag": rng.integers(0, 2, n).astype(float),
        "level": pd.Categorical(rng.choice(["a", "b", "c"], n)),
    })
    frame.loc[frame["flag"] == 0, "flag"] = np.where(rng.random(int((frame["flag"] == 0).sum())) < 0.5, -0.0, 0.0)
    y = (rng.random(n) < 0.1 + 0.05 * frame["delay"] + 0.1 * frame["flag"]).astype(int)
    learner = LGBMRiskClassifier(n_estimators=30, num_leaves=7, min_child_samples=20, verbose=-1).fit(frame, y)
    return learner, frame


@pytest.fixture(params=["LightGBM per distinct row", "tables"])
def route(request, monkeypatch):
    """Which way a large frame goes: tables off (every tree too large for one), or on."""
    monkeypatch.setattr(table_predict, "_BUILT", weakref.WeakKeyDictionary())  # nothing built before counts
    if request.param != "tables":
        monkeypatch.setattr(table_predict, "MAX_TABLE", 0)
    return request.param


@pytest.fixture
def counting(monkeypatch, route):
    """Every run through the distinct rows lowered to tiny frames; the rows LightGBM is asked
    (none where the tables answer)."""
    monkeypatch.setattr(estimator, "DISTINCT_ROWS_FROM", 1)
    asked = []
    original = lightgbm.Booster.predict

    def predict(self, data, *args, **kwargs):
        asked.append(len(data))
        return original(self, data, *args, **kwargs)

    monkeypatch.setattr(lightgbm.Booster, "predict", predict)
    return asked


def test_probabilities_and_margins_equal_the_boosters_bit_for_bit(fitted, counting, route):
    learner, frame = fitted
    probability = learner.predict_proba(frame)
    margin = learner.decision_function(frame)
    labels = learner.predict(frame)
    distinct = len(frame.drop_duplicates())
    assert distinct < len(frame) / 10
    assert counting == ([] if route == "tables" else [distinct] * 3)  # LightGBM saw each distinct row once
    reference = lightgbm.Booster(model_str=learner.booster_.model_to_string())  # not the estimator's own path
    expected = reference.predict(frame)
    assert np.array_equal(probability[:, 1], expected)
    assert np.array_equal(probability[:, 0], 1.0 - expected)
    assert np.array_equal(margin, reference.predict(frame, raw_score=True))
    assert np.array_equal(labels, (expected > 0.5).astype(int))


def test_zero_and_minus_zero_and_every_nan_are_one_row_to_it(fitted, counting, route):
    learner, frame = fitted
    rows = frame.iloc[[0] * 4].copy()
    rows["flag"] = [0.0, -0.0, 0.0, -0.0]
    rows["wealth"] = [np.nan, np.float64("nan"), -np.float64("nan"), np.nan]
    assert np.array_equal(learner.predict_proba(rows), learner.predict_proba(rows.iloc[[0]]).repeat(4, axis=0))
    assert counting == ([] if route == "tables" else [1, 1])
    reference = lightgbm.Booster(model_str=learner.booster_.model_to_string())
    assert np.array_equal(learner.predict_proba(rows)[:, 1], reference.predict(rows))


def test_a_missing_category_is_a_row_like_any_other(fitted, counting, route):
    learner, frame = fitted
    rows = frame.iloc[:200].copy()
    rows.loc[rows.index[::3], "level"] = None
    reference = lightgbm.Booster(model_str=learner.booster_.model_to_string())
    assert np.array_equal(learner.predict_proba(rows)[:, 1], reference.predict(rows))
    if route != "tables":
        assert counting[0] == len(rows.drop_duplicates()) < len(rows)


def test_mostly_distinct_rows_are_predicted_as_they_are(fitted, counting, route):
    learner, frame = fitted
    rows = frame.assign(wealth=np.linspace(0, 100, len(frame)))
    reference = lightgbm.Booster(model_str=learner.booster_.model_to_string())
    assert np.array_equal(learner.predict_proba(rows)[:, 1], reference.predict(rows))
    assert counting[0] == len(rows)  # the reference's
    if route != "tables":
        assert counting[1] == len(rows)


def test_a_risk_model_scores_a_cohort_the_same_above_and_below_the_threshold(small_population, counting, route,
                                                                             monkeypatch):
    frame = small_population.frame
    model = RiskModel("lightgbm", {"vo": ["vo_type", "delay_years", "gender"], "mbo": ["mbo_level", "gender"]},
                      params={"n_estimators": 20}).fit(frame[frame["school_year"] == 2018])
    cohort = frame[frame["school_year"] == 2019]
    monkeypatch.setattr(estimator, "DISTINCT_ROWS_FROM", 10**12)
    plain = model.predict_risk(cohort)
    assert sum(counting) == len(cohort)
    monkeypatch.setattr(estimator, "DISTINCT_ROWS_FROM", 1)
    counting.clear()
    pd.testing.assert_series_equal(model.predict_risk(cohort), plain, check_exact=True)
    assert sum(counting) == 0 if route == "tables" else sum(counting) < len(cohort) / 100  # a few dozen distinct rows a group
