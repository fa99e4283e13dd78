"""The pattern-sharing TreeSHAP path equals LightGBM's own pred_contrib."""

from __future__ import annotations

import lightgbm
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vsvrisk.explain.fast_treeshap import fast_pred_contrib


def _frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "age": rng.integers(12, 23, n).astype(float),
        "wealth": np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 101, n)).astype(float),
        "delay": np.where(rng.random(n) < 0.3, 0.0, rng.integers(1, 4, n)).astype(float),
        "level": pd.Categorical(rng.choice(["1", "2", "3", "4", "none"], n)),
        "parents": pd.Categorical(rng.choice(["both", "one", "none"], n, p=[0.7, 0.25, 0.05])),
    })
    frame.loc[rng.random(n) < 0.05, "parents"] = np.nan
    logit = (-3 + 0.2 * (frame["age"] - 16) + 0.4 * frame["delay"] - 0.01 * frame["wealth"].fillna(20)
             + frame["level"].map({"1": 1.5, "2": 0.8, "3": 0.0, "4": -0.2, "none": 0.5}).astype(float)
             + frame["parents"].map({"both": 0.0, "one": 0.4, "none": 0.9}).astype(float).fillna(0.6))
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame, y


@pytest.mark.parametrize("zero_as_missing", [False, True], ids=["NaN as missing", "zero as missing"])
def test_equal_to_pred_contrib_with_numerical_categorical_and_missing_features(zero_as_missing):
    frame, y = _frame(20_000, seed=1)
    params = {"objective": "binary", "num_leaves": 31, "min_child_samples": 20, "verbose": -1,
              "zero_as_missing": zero_as_missing, "cat_smooth": 1, "min_data_per_group": 5}
    booster = lightgbm.train(params, lightgbm.Dataset(frame, y), num_boost_round=40)
    fresh, _ = _frame(5_000, seed=2)  # rows the model never saw, other missing patterns
    expected = booster.predict(fresh, pred_contrib=True)
    np.testing.assert_allclose(fast_pred_contrib(booster, fresh), expected, rtol=0, atol=1e-9)


def test_contributions_add_up_to_the_raw_margin():
    frame, y = _frame(10_000, seed=3)
    booster = lightgbm.train({"objective": "binary", "num_leaves": 15, "verbose": -1}, lightgbm.Dataset(frame, y), 25)
    contributions = fast_pred_contrib(booster, frame)
    np.testing.assert_allclose(contributions.sum(axis=1), booster.predict(frame, raw_score=True), atol=1e-9)


def test_categories_the_model_never_saw_and_negative_values_go_where_lightgbm_sends_them():
    frame, y = _frame(10_000, seed=4)
    booster = lightgbm.train({"objective": "binary", "num_leaves": 15, "verbose": -1, "max_cat_to_onehot": 2},
                             lightgbm.Dataset(frame, y), 20)
    from vsvrisk._compat import lightgbm_data_from_pandas

    rows = lightgbm_data_from_pandas(frame.iloc[:2_000], booster.pandas_categorical).copy()
    level = list(frame.columns).index("level")
    rows[::5, level] = 7.0  # a code beyond every category seen in training
    rows[1::5, level] = -1.0
    rows[2::5, level] = 2.6  # LightGBM truncates a fractional code
    rows[3::7, 0] = np.nan  # age missing, never seen missing in training
    np.testing.assert_allclose(fast_pred_contrib(booster, rows), booster.predict(rows, pred_contrib=True),
                               rtol=0, atol=1e-9)


def test_best_iteration_and_num_iteration_select_the_same_trees_as_predict():
    frame, y = _frame(8_000, seed=5)
    train, valid = lightgbm.Dataset(frame.iloc[:6_000], y[:6_000]), lightgbm.Dataset(frame.iloc[6_000:], y[6_000:])
    booster = lightgbm.train({"objective": "binary", "num_leaves": 15, "verbose": -1, "learning_rate": 0.3},
                             train, 200, valid_sets=[valid], keep_training_booster=True,
                             callbacks=[lightgbm.early_stopping(5, verbose=False)])
    assert 0 < booster.best_iteration < booster.num_trees()
    np.testing.assert_allclose(fast_pred_contrib(booster, frame), booster.predict(frame, pred_contrib=True), atol=1e-9)
    np.testing.assert_allclose(fast_pred_contrib(booster, frame, num_iteration=3),
                               booster.predict(frame, pred_contrib=True, num_iteration=3), atol=1e-9)


def test_single_leaf_trees_deep_paths_and_one_thread():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(3_000, 6))
    X[rng.random(X.shape) < 0.05] = 0.0
    y = (X[:, 0] * X[:, 1] + X[:, 2] > 0).astype(int)
    params = {"objective": "binary", "num_leaves": 63, "min_child_samples": 5, "verbose": -1,
              "zero_as_missing": True, "use_missing": True}
    booster = lightgbm.train(params, lightgbm.Dataset(X, y), 30)
    constant = lightgbm.train({"objective": "binary", "verbose": -1, "min_data_in_leaf": 10_000},
                              lightgbm.Dataset(X, y), 3)  # no split possible: stumps only
    for model in (booster, constant):
        expected = model.predict(X, pred_contrib=True)
        np.testing.assert_allclose(fast_pred_contrib(model, X, n_jobs=1), expected, atol=1e-9)


def test_multiclass_models_and_the_wrong_number_of_features():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(600, 2))
    multiclass = lightgbm.train({"objective": "multiclass", "num_class": 3, "verbose": -1},
                                lightgbm.Dataset(X, rng.integers(0, 3, 600)), 2)
    np.testing.assert_allclose(fast_pred_contrib(multiclass, X), multiclass.predict(X, pred_contrib=True),
                               rtol=0, atol=1e-9)
    wrong_width = lightgbm.train({"objective": "binary", "verbose": -1}, lightgbm.Dataset(X, rng.integers(0, 2, 600)), 2)
    with pytest.raises(ValueError, match=r"features in X \(1\).*trained with \(2\)"):
        fast_pred_contrib(wrong_width, X[:, :1])


@settings(max_examples=12, deadline=None)
@given(leaves=st.integers(2, 48), zero_as_missing=st.booleans(), use_missing=st.booleans(),
       missing=st.sampled_from([0.0, 0.02, 0.3]), seed=st.integers(0, 10_000))
def test_equal_to_pred_contrib_for_any_settings(leaves, zero_as_missing, use_missing, missing, seed):
    frame, y = _frame(3_000, seed=seed)
    rng = np.random.default_rng(seed)
    frame.loc[rng.random(len(frame)) < missing, "delay"] = np.nan
    params = {"objective": "binary", "num_leaves": leaves, "min_child_samples": 5, "verbose": -1,
              "zero_as_missing": zero_as_missing, "use_missing": use_missing, "min_data_per_group": 5}
    booster = lightgbm.train(params, lightgbm.Dataset(frame, y), num_boost_round=8)
    fresh, _ = _frame(1_000, seed=seed + 1)
    np.testing.assert_allclose(fast_pred_contrib(booster, fresh), booster.predict(fresh, pred_contrib=True),
                               rtol=0, atol=1e-9)
