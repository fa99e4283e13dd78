"""Predictions from per-tree tables are LightGBM's own, to the last bit, for any binary booster.

The property test draws random binary boosters (leaves, depth, categorical levels and splits,
missing types, boosting types, early stopping) and rows with values LightGBM reads in its own
way (NaN, signed zeros, values within its float zero threshold, fractional, negative and huge
category codes); every probability and raw score must equal ``booster.predict``'s exactly.
Models the tables do not cover are handed back to LightGBM (``TablePredictor.of`` is None).
"""

from __future__ import annotations

import lightgbm
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vsvrisk._compat import lightgbm_data_from_pandas
from vsvrisk._lgbm import classes as table_classes
from vsvrisk._lgbm import predict as table_predict
from vsvrisk._lgbm.classes import distinct_rows, sorted_distinct
from vsvrisk._lgbm.frame import lightgbm_columns
from vsvrisk._lgbm.model import parse_model
from vsvrisk._lgbm.predict import TablePredictor
from vsvrisk.models.estimator import LGBMRiskClassifier

_ODD_VALUES = [np.nan, 0.0, -0.0, 5e-36, -1e-35, 1e-34, -0.5, 2.7, -3.0, 1e6, 2.0**31 + 3, -(2.0**31) - 1, np.inf, -np.inf]


def _data(n: int, seed: int, levels: int):
    """Two numerical features (one with NaN, one with zeros) and two categorical ones, as floats."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.normal(size=n), rng.integers(0, levels, n), rng.normal(size=n), rng.integers(0, 4, n)])
    X[rng.random(n) < 0.1, 0] = np.nan
    X[rng.random(n) < 0.2, 2] = 0.0
    score = np.nan_to_num(X[:, 0]) + (X[:, 1] % 3 == 0) + X[:, 2] * (X[:, 1] > 2) - (X[:, 3] == 1)
    y = (score + rng.normal(size=n) * 0.5 > 0.5).astype(int)
    return X, y


def _assert_identical(booster, X, **kwargs):
    predictor = TablePredictor.of(booster, **kwargs)
    assert predictor is not None
    np.testing.assert_array_equal(predictor.predict(X), booster.predict(X, **kwargs))
    np.testing.assert_array_equal(predictor.predict(X, raw_score=True), booster.predict(X, raw_score=True, **kwargs))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(leaves=st.integers(2, 24), depth=st.sampled_from([-1, 1, 2, 5]), levels=st.integers(2, 40),
       one_hot=st.sampled_from([1, 4, 64]), use_missing=st.booleans(), zero_as_missing=st.booleans(),
       boosting=st.sampled_from(["gbdt", "dart", "goss"]), rounds=st.integers(1, 12),
       sigmoid=st.sampled_from([1.0, 0.7]), seed=st.integers(0, 10**6))
def test_table_predictions_are_lightgbms_to_the_last_bit_for_random_binary_boosters(
        leaves, depth, levels, one_hot, use_missing, zero_as_missing, boosting, rounds, sigmoid, seed):
    X, y = _data(600, seed, levels)
    params = {"objective": "binary", "sigmoid": sigmoid, "num_leaves": leaves, "max_depth": depth,
              "max_cat_to_onehot": one_hot, "use_missing": use_missing, "zero_as_missing": zero_as_missing,
              "min_data_in_leaf": 3, "min_data_per_group": 3, "cat_smooth": 1, "verbose": -1, "seed": seed,
              "num_threads": 1}
    params |= {"data_sample_strategy": "goss"} if boosting == "goss" else {"boosting": boosting}
    booster = lightgbm.train(params, lightgbm.Dataset(X, y, categorical_feature=[1, 3]), rounds)
    fresh, _ = _data(300, seed + 1, levels + 3)  # categories never seen in training too
    rng = np.random.default_rng(seed)
    cells = rng.random(fresh.shape) < 0.15
    fresh[cells] = rng.choice(_ODD_VALUES, cells.sum())
    _assert_identical(booster, fresh)
    if booster.num_trees() > 2:
        _assert_identical(booster, fresh, start_iteration=1, num_iteration=2)


def test_an_early_stopped_booster_predicts_with_its_best_iteration_as_lightgbm_does():
    X, y = _data(3_000, seed=4, levels=8)
    train, valid = lightgbm.Dataset(X[:2_000], y[:2_000], categorical_feature=[1, 3]), None
    valid = lightgbm.Dataset(X[2_000:], y[2_000:], reference=train)
    booster = lightgbm.train({"objective": "binary", "verbose": -1, "learning_rate": 0.5, "num_leaves": 15}, train, 200,
                             valid_sets=[valid], callbacks=[lightgbm.early_stopping(3, verbose=False)], keep_training_booster=True)
    assert 0 < booster.best_iteration < booster.num_trees()
    _assert_identical(booster, X)
    _assert_identical(booster, X, num_iteration=-1)  # every tree


def test_models_the_tables_do_not_cover_are_left_to_lightgbm(monkeypatch):
    X, y = _data(1_000, seed=5, levels=6)
    data = lightgbm.Dataset(X, y, categorical_feature=[1, 3])
    regression = lightgbm.train({"objective": "regression", "verbose": -1}, data, 3)
    forest = lightgbm.train({"objective": "binary", "boosting": "rf", "bagging_fraction": 0.7, "bagging_freq": 1,
                             "verbose": -1}, data, 3)
    multiclass = lightgbm.train({"objective": "multiclass", "num_class": 3, "verbose": -1},
                                lightgbm.Dataset(X, (X[:, 1] % 3).astype(int), categorical_feature=[1, 3]), 2)
    linear = lightgbm.train({"objective": "binary", "linear_tree": True, "verbose": -1}, lightgbm.Dataset(X, y), 3)
    for booster in (regression, forest, multiclass, linear):
        assert TablePredictor.of(booster) is None
    binary = lightgbm.train({"objective": "binary", "num_leaves": 31, "verbose": -1}, data, 3)
    monkeypatch.setattr(table_predict, "MAX_TABLE", 4)  # every tree's table too large
    assert TablePredictor.of(binary) is None


@pytest.mark.parametrize("tables", [True, False], ids=["tables", "LightGBM per distinct row"])
def test_the_risk_classifier_predicts_a_large_frame_as_lightgbm_does(tables, monkeypatch):
    if not tables:
        monkeypatch.setattr(table_predict, "MAX_TABLE", 0)
    rng = np.random.default_rng(6)
    n = 60_000  # above DISTINCT_ROWS_FROM
    frame = pd.DataFrame({"a": rng.integers(0, 30, n).astype(float), "b": pd.Categorical(rng.choice(list("pqrs"), n)),
                          "c": rng.normal(size=n).round(1)})
    frame.loc[rng.random(n) < 0.05, "a"] = np.nan
    y = (frame["a"].fillna(3) / 30 + (frame["b"] == "q") + rng.normal(size=n) > 1).astype(int)
    model = LGBMRiskClassifier(n_estimators=25, num_leaves=7, verbose=-1).fit(frame, y)
    plain = lightgbm.LGBMClassifier.predict_proba(model, frame)
    np.testing.assert_array_equal(model.predict_proba(frame), plain)
    np.testing.assert_array_equal(model.decision_function(frame), model.booster_.predict(frame, raw_score=True))


def _distinct_by_sorting(codes, n_classes):
    """sorted_distinct's answer by brute force: rows as tuples in the radix order, sorted."""
    order = np.argsort(n_classes, kind="stable")
    rows = [tuple(row) for row in codes[:, order].tolist()]
    distinct = sorted(set(rows))
    number = {row: k for k, row in enumerate(distinct)}
    first = {}
    for i, row in enumerate(rows):
        first.setdefault(row, i)
    return np.array([first[row] for row in distinct]), np.array([number[row] for row in rows])


@pytest.mark.parametrize("n_classes", [[3, 2, 5, 4], [2**20] * 4 + [3]], ids=["one key", "key numbered on the way"])
def test_distinct_rows_are_those_of_a_sort_of_the_rows_first_seen_or_sorted(n_classes):
    rng = np.random.default_rng(7)
    n_classes = np.array(n_classes)
    # many repeats of a few rows, then more distinct rows than the hash table starts with
    codes = np.vstack([rng.integers(0, np.minimum(n_classes, 3), (5_000, n_classes.size)),
                       rng.integers(0, n_classes, (70_000, n_classes.size))]).astype(np.int32)
    codes[rng.random(codes.shape) < 0.3] = 0
    first, groups = sorted_distinct(codes, n_classes)
    expected_first, expected_groups = _distinct_by_sorting(codes, n_classes)
    np.testing.assert_array_equal(first, expected_first)
    np.testing.assert_array_equal(groups, expected_groups)
    # the same rows in order of first appearance
    first, groups = distinct_rows(codes, n_classes)
    np.testing.assert_array_equal(first, np.sort(expected_first))
    np.testing.assert_array_equal(first[groups], expected_first[expected_groups])


def test_categories_beyond_a_table_are_searched_to_the_same_classes(monkeypatch):
    rng = np.random.default_rng(8)
    n = 2_000
    X = np.column_stack([rng.choice([3, 7, 5_000_000, 6_000_000], n), rng.normal(size=n)]).astype(float)
    y = ((X[:, 0] > 5) & (X[:, 0] < 5.5e6) | (X[:, 1] > 1)).astype(int)
    booster = lightgbm.train({"objective": "binary", "num_leaves": 5, "min_data_per_group": 5, "cat_smooth": 1,
                              "min_data_in_leaf": 5, "verbose": -1}, lightgbm.Dataset(X, y, categorical_feature=[0]), 5)
    fresh = X.copy()
    fresh[::7, 0] = rng.choice([-0.5, 7.9, 5e6 + 0.5, 6e6 - 1, 2.0**31, np.nan, 6.0], len(fresh[::7]))
    classes = TablePredictor.of(booster).classes
    assert classes.values[0][-1] >= table_classes._DENSE_CATEGORY_TABLE
    assert classes._category_tables[0].size == 0  # searched, not looked up
    searched = classes.encode(fresh)
    monkeypatch.setattr(table_classes, "_DENSE_CATEGORY_TABLE", 2**31)
    tabled = table_classes.FeatureClasses(parse_model(booster.model_to_string()))
    assert tabled._category_tables[0].size == classes.values[0][-1] + 2
    np.testing.assert_array_equal(tabled.encode(fresh), searched)
    _assert_identical(booster, fresh)


def _frames():
    rng = np.random.default_rng(9)
    n = 500
    levels = pd.Categorical(rng.choice(["a", "b", "c", None], n), categories=["c", "b", "a"])  # not training's order
    base = {"x": rng.normal(size=n), "k": rng.integers(-3, 3, n), "flag": rng.random(n) < 0.5, "level": levels,
            "small": rng.normal(size=n).astype(np.float32)}
    yield "float64, int, bool, categories", pd.DataFrame(base)
    yield "an unseen category", pd.DataFrame(base | {"level": pd.Categorical(rng.choice(["a", "z"], n))})
    yield "no float64 column (float32 matrix)", pd.DataFrame(base | {"x": base["x"].astype(np.float32)})
    yield "a nullable column", pd.DataFrame(base | {"k": pd.array(np.where(base["k"] > 0, base["k"], None), "Int64")})


@pytest.mark.parametrize("name,frame", list(_frames()), ids=[name for name, _ in _frames()])
def test_a_frames_columns_are_those_of_lightgbms_matrix(name, frame):
    columns = lightgbm_columns(frame, [["a", "b", "c"]], [4, 0, 3, 1, 2])
    matrix = lightgbm_data_from_pandas(frame, [["a", "b", "c"]])
    for got, f in zip(columns, [4, 0, 3, 1, 2]):
        np.testing.assert_array_equal(got, matrix[:, f].astype(np.float64))
    if name.startswith("an unseen"):
        assert np.isnan(columns[2][frame["level"] == "z"]).all()


def test_a_frame_whose_categories_do_not_match_the_model_is_refused_as_lightgbm_refuses_it():
    frame = pd.DataFrame({"x": [1.0, 2.0], "level": pd.Categorical(["a", "b"])})
    with pytest.raises(ValueError, match="categorical_feature do not match"):
        lightgbm_columns(frame, [["a", "b"], ["c"]], [0, 1])
