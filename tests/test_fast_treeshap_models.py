"""Every kind of model LightGBM makes, and every way of getting one, is explained as pred_contrib does."""

from __future__ import annotations

import lightgbm
import numpy as np
import pandas as pd
import pyarrow
import pytest

from vsvrisk.explain.fast_treeshap import ContribFallbackWarning, FastTreeShap, fast_pred_contrib

ATOL = 1e-9


def _data(n: int = 1_500, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.normal(size=n), rng.integers(0, 8, n), rng.uniform(0, 3, n), rng.normal(size=n)])
    X[rng.random(n) < 0.1, 3] = np.nan
    y = X[:, 0] + np.sin(X[:, 1]) + X[:, 2] ** 2 / 3 + rng.normal(size=n) * 0.2
    return X, y


def _check(model, X, **kwargs):
    np.testing.assert_allclose(fast_pred_contrib(model, X, **kwargs), model.predict(X, pred_contrib=True, **kwargs),
                               rtol=0, atol=ATOL)


_LABELS = {
    "binary": lambda y: (y > np.median(y)).astype(int),
    "cross_entropy": lambda y: 1 / (1 + np.exp(-y)),
    "cross_entropy_lambda": lambda y: 1 / (1 + np.exp(-y)),
    "multiclass": lambda y: np.digitize(y, np.quantile(y, [0.3, 0.7])),
    "multiclassova": lambda y: np.digitize(y, np.quantile(y, [0.3, 0.7])),
    "poisson": lambda y: np.round(np.exp(y / 3)),
    "gamma": lambda y: np.exp(y / 3),
    "tweedie": lambda y: np.exp(y / 3),
    "mape": lambda y: y + 10,
}


@pytest.mark.parametrize("objective", ["regression", "regression_l1", "huber", "fair", "quantile", "mape", "poisson",
                                       "gamma", "tweedie", "binary", "cross_entropy", "cross_entropy_lambda",
                                       "multiclass", "multiclassova"])
def test_every_objective(objective):
    X, y = _data()
    params = {"objective": objective, "num_leaves": 15, "verbose": -1, "num_threads": 1}
    params |= {"num_class": 3} if objective.startswith("multiclass") else {}
    booster = lightgbm.train(params, lightgbm.Dataset(X, _LABELS.get(objective, lambda v: v)(y),
                                                      categorical_feature=[1]), 4)
    _check(booster, X[:300])


@pytest.mark.parametrize("params", [
    {"boosting": "dart", "drop_rate": 0.5},
    {"data_sample_strategy": "goss"},
    {"boosting": "rf", "bagging_fraction": 0.6, "bagging_freq": 1},
    {"max_depth": 1},  # stumps
    {"min_data_in_leaf": 10_000},  # no split possible: single-leaf trees only
    {"linear_tree": False, "extra_trees": True, "path_smooth": 1.0},
], ids=["dart", "goss", "random forest", "stumps", "single leaves", "extra trees"])
def test_boosting_types_and_tree_shapes(params):
    X, y = _data()
    booster = lightgbm.train({"objective": "regression", "verbose": -1, "num_threads": 1, **params},
                             lightgbm.Dataset(X, y), 6)
    _check(booster, X[:300])


def test_init_score_continued_training_and_models_read_back(tmp_path):
    X, y = _data()
    with_init = lightgbm.train({"objective": "regression", "verbose": -1},
                               lightgbm.Dataset(X, y, init_score=np.full(len(y), 5.0)), 4)
    first = lightgbm.train({"objective": "binary", "verbose": -1}, lightgbm.Dataset(X, y > 1, categorical_feature=[1]), 3)
    continued = lightgbm.train({"objective": "binary", "verbose": -1},
                               lightgbm.Dataset(X, y > 1, categorical_feature=[1]), 3, init_model=first)
    assert continued.current_iteration() == 6
    path = tmp_path / "model.txt"
    continued.save_model(path)
    from_file, from_string = lightgbm.Booster(model_file=path), lightgbm.Booster(model_str=continued.model_to_string())
    for model in (with_init, continued, from_file, from_string):
        _check(model, X[:300])
    np.testing.assert_allclose(fast_pred_contrib(from_file, X[:50]), fast_pred_contrib(continued, X[:50]), atol=0)


def test_pandas_categories_unseen_levels_and_missing_values():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"level": pd.Categorical(rng.choice(list("abcdef"), 2_000)),
                          "score": rng.normal(size=2_000), "count": rng.integers(0, 5, 2_000)})
    y = frame["level"].cat.codes % 2 + frame["score"] + rng.normal(size=2_000) * 0.1
    booster = lightgbm.train({"objective": "regression", "verbose": -1, "min_data_per_group": 5},
                             lightgbm.Dataset(frame, y), 5)
    fresh = frame.iloc[:300].copy()
    fresh["level"] = pd.Categorical(rng.choice(list("abcxyz"), 300), categories=list("abcxyz"))  # other levels
    fresh.loc[fresh.index[::9], "level"] = np.nan
    fresh.loc[fresh.index[::7], "score"] = np.nan
    _check(booster, fresh)


def test_linear_trees_are_refused_as_pred_contrib_refuses_them():
    X, y = _data()
    booster = lightgbm.train({"objective": "regression", "linear_tree": True, "verbose": -1},
                             lightgbm.Dataset(np.nan_to_num(X), y), 3)
    with pytest.raises(lightgbm.basic.LightGBMError, match="linear trees"):
        booster.predict(np.nan_to_num(X[:5]), pred_contrib=True)
    with pytest.raises(ValueError, match="linear trees"):
        FastTreeShap(booster)


def test_inputs_only_lightgbm_reads_go_to_pred_contrib_with_a_warning():
    X, y = _data()
    booster = lightgbm.train({"objective": "regression", "verbose": -1}, lightgbm.Dataset(X, y), 3)
    table = pyarrow.table({f"Column_{i}": X[:100, i] for i in range(X.shape[1])})
    with pytest.warns(ContribFallbackWarning, match="Table.*booster.predict"):
        got = fast_pred_contrib(booster, table)
    np.testing.assert_allclose(got, booster.predict(X[:100], pred_contrib=True), rtol=0, atol=ATOL)


@pytest.mark.parametrize("n_jobs", [1, 2, 3])
def test_threads_share_the_rows_without_changing_a_value(n_jobs):
    X, y = _data(3_000)
    booster = lightgbm.train({"objective": "regression", "num_leaves": 31, "verbose": -1}, lightgbm.Dataset(X, y), 10)
    one = FastTreeShap(booster, n_jobs=1).pred_contrib(X)
    np.testing.assert_array_equal(FastTreeShap(booster, n_jobs=n_jobs).pred_contrib(X), one)
