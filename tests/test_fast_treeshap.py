"""The fast exact TreeSHAP equals LightGBM's pred_contrib, and a plain numpy TreeSHAP, for any model.

The property test draws random boosters; the named regression tests are the inputs that once
crashed it or made it wrong (issue 15); ``_treeshap_reference`` is the numpy reference of the
compiled path (decisions taken from the raw values as LightGBM's C++ takes them).
"""

from __future__ import annotations

import lightgbm
import numpy as np
import pandas as pd
import pytest
import scipy.sparse
from _treeshap_reference import reference_pred_contrib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vsvrisk.explain import _engine
from vsvrisk.explain._shap_kernels import leaf_table
from vsvrisk.explain._shap_reference import leaf_contributions_reference
from vsvrisk.explain.fast_treeshap import FastTreeShap, fast_pred_contrib

ATOL = 1e-9


def _assert_equal_to_pred_contrib(model, X, **kwargs):
    expected = model.predict(X, pred_contrib=True, **kwargs)
    np.testing.assert_allclose(fast_pred_contrib(model, X, **kwargs), expected, rtol=0, atol=ATOL)
    return expected


def _mixed_data(n: int, seed: int, levels: int = 6):
    """Two numerical features (one with NaN, one with zeros) and one categorical, as floats."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.normal(size=n), rng.integers(0, levels, n), rng.normal(size=n)])
    X[rng.random(n) < 0.1, 0] = np.nan
    X[rng.random(n) < 0.2, 2] = 0.0
    y = np.nan_to_num(X[:, 0]) + (X[:, 1] % 3 == 0) + X[:, 2] * (X[:, 1] > 2) + rng.normal(size=n) * 0.3
    return X, y


@pytest.mark.parametrize("d", [1, 2, 3, 6, 10])
def test_compiled_leaf_tables_equal_the_numpy_reference(d):
    rng = np.random.default_rng(d)
    z = rng.random(d)
    z[0] = 0.0  # a split that no training row followed
    patterns = ((np.arange(1 << d)[:, None] >> np.arange(d)) & 1).astype(np.float64)
    np.testing.assert_allclose(leaf_table(1.7, z, 0, d), leaf_contributions_reference(1.7, z, patterns),
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("caps", [(1 << 14, 1 << 17, 1 << 14), (4, 64, 4), (1, 1, 1)],
                         ids=["whole subtrees per table", "small cuts", "every leaf computed per row"])
def test_every_compiled_route_equals_the_numpy_reference(caps, monkeypatch):
    monkeypatch.setattr(_engine, "MAX_STATES", caps[0])
    monkeypatch.setattr(_engine, "MAX_ENTRIES", caps[1])
    monkeypatch.setattr(_engine, "MAX_LEAF_STATES", caps[2])
    X, y = _mixed_data(3_000, seed=1)
    booster = lightgbm.train({"objective": "regression", "num_leaves": 24, "verbose": -1, "min_data_per_group": 5,
                              "cat_smooth": 1, "max_cat_to_onehot": 2}, lightgbm.Dataset(X, y, categorical_feature=[1]), 6)
    rows = X[:400]
    got = fast_pred_contrib(booster, rows)
    np.testing.assert_allclose(got, reference_pred_contrib(booster, rows), rtol=0, atol=ATOL)
    np.testing.assert_allclose(got, booster.predict(rows, pred_contrib=True), rtol=0, atol=ATOL)


_ODD_VALUES = [np.nan, 0.0, -0.0, 5e-36, -1e-35, 1e-34, -0.5, 2.7, -3.0, 1e6, 2.0**31 + 3, -(2.0**31) - 1, np.inf]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(leaves=st.integers(2, 48), depth=st.sampled_from([-1, 1, 2, 5]), levels=st.integers(2, 40),
       one_hot=st.sampled_from([1, 4, 64]), use_missing=st.booleans(), zero_as_missing=st.booleans(),
       objective=st.sampled_from(["binary", "regression", "huber", "poisson", "multiclass"]),
       boosting=st.sampled_from(["gbdt", "dart", "goss", "rf"]), rounds=st.integers(1, 5), seed=st.integers(0, 10**6))
def test_equal_to_pred_contrib_and_the_reference_for_random_boosters(leaves, depth, levels, one_hot, use_missing,
                                                                      zero_as_missing, objective, boosting, rounds, seed):
    X, y = _mixed_data(400, seed, levels)
    if objective in ("binary", "multiclass"):
        y = np.digitize(y, np.quantile(y, [0.5] if objective == "binary" else [0.33, 0.66]))
    if objective == "poisson":
        y = np.exp(y / 4)
    params = {"objective": objective, "num_leaves": leaves, "max_depth": depth, "max_cat_to_onehot": one_hot,
              "use_missing": use_missing, "zero_as_missing": zero_as_missing, "min_data_in_leaf": 3,
              "min_data_per_group": 3, "cat_smooth": 1, "verbose": -1, "seed": seed, "num_threads": 1}
    params |= {"num_class": 3} if objective == "multiclass" else {}
    params |= {"data_sample_strategy": "goss"} if boosting == "goss" else {"boosting": boosting}
    params |= {"bagging_fraction": 0.7, "bagging_freq": 1} if boosting == "rf" else {}
    booster = lightgbm.train(params, lightgbm.Dataset(X, y, categorical_feature=[1]), rounds)
    fresh, _ = _mixed_data(150, seed + 1, levels + 3)  # categories never seen in training too
    rng = np.random.default_rng(seed)
    cells = rng.random(fresh.shape) < 0.1
    fresh[cells] = rng.choice(_ODD_VALUES, cells.sum())
    expected = _assert_equal_to_pred_contrib(booster, fresh)
    np.testing.assert_allclose(reference_pred_contrib(booster, fresh), expected, rtol=0, atol=ATOL)


def test_regression_64_or_more_splits_on_one_categorical_feature_in_a_tree():
    # Once an OverflowError: one int64 bit per split of a feature in a tree.
    rng = np.random.default_rng(2)
    a, b = rng.integers(0, 30, 12_000), rng.integers(0, 30, 12_000)
    y = np.sin(a * 0.7) * np.cos(b * 1.3) + rng.normal(size=a.size) * 0.05
    X = np.column_stack([a, b]).astype(float)
    booster = lightgbm.train({"objective": "regression", "num_leaves": 255, "min_data_in_leaf": 5, "verbose": -1,
                              "min_data_per_group": 2, "cat_smooth": 0.1, "max_cat_threshold": 64, "cat_l2": 0.1},
                             lightgbm.Dataset(X, y, categorical_feature=[0, 1]), 2)
    splits = booster.trees_to_dataframe().groupby(["tree_index", "split_feature"]).size()
    assert splits.max() >= 64
    _assert_equal_to_pred_contrib(booster, X[:500])


def test_regression_huge_category_codes_are_exact_and_take_no_class_of_their_own():
    # Once seconds per 100 rows (1e6), a MemoryError (1e8), or IndexError / int32 wrap-around (2^31).
    X, y = _mixed_data(2_000, seed=3)
    booster = lightgbm.train({"objective": "regression", "verbose": -1, "max_cat_to_onehot": 1, "min_data_per_group": 5},
                             lightgbm.Dataset(X, y, categorical_feature=[1]), 5)
    rows = np.repeat(X[:8], 10, axis=0)
    rows[:, 1] = np.resize([1e6, 1e8, 2.0**31 - 1, 2.0**31, 2.0**31 + 3, 2.0**32 + 3, -(2.0**31), -(2.0**31) - 1,
                            2.0**63, np.inf, -np.inf, 3.0], rows.shape[0])
    explainer = FastTreeShap(booster)
    np.testing.assert_allclose(explainer.pred_contrib(rows), booster.predict(rows, pred_contrib=True), rtol=0, atol=ATOL)
    classes = explainer._classes  # one class per category a split names, and one for the rest
    assert classes.n_classes[classes.column[1]] <= 7


def test_regression_values_within_lightgbms_float_zero_threshold_are_missing():
    # kZeroThreshold is the float 1e-35f (about 1.0000000180e-35): 1.00000001e-35 is zero to LightGBM.
    rng = np.random.default_rng(4)
    X = rng.normal(size=(3_000, 2))
    X[rng.random(3_000) < 0.3, 0] = 0.0
    y = (X[:, 0] == 0) * 2.0 + X[:, 0] + X[:, 1]
    booster = lightgbm.train({"objective": "regression", "zero_as_missing": True, "verbose": -1},
                             lightgbm.Dataset(X, y), 5)
    rows = np.tile(X[:6], (4, 1))
    rows[:6, 0], rows[6:12, 0], rows[12:18, 0] = 1.00000001e-35, -1.00000001e-35, 1.0000001e-35
    _assert_equal_to_pred_contrib(booster, rows)
    for kind in (scipy.sparse.csr_matrix, scipy.sparse.csc_matrix):  # stored values, not rounded
        np.testing.assert_allclose(fast_pred_contrib(booster, kind(rows)).toarray(),
                                   booster.predict(kind(rows), pred_contrib=True).toarray(), rtol=0, atol=ATOL)


@pytest.mark.parametrize("kind", [scipy.sparse.csr_matrix, scipy.sparse.csc_matrix], ids=["CSR", "CSC"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_regression_sparse_input_is_answered_as_lightgbm_answers_it(kind, dtype):
    X, y = _mixed_data(1_000, seed=5)
    X[np.abs(X) < 0.5] = 0.0
    booster = lightgbm.train({"objective": "regression", "verbose": -1}, lightgbm.Dataset(X, y), 5)
    rows = kind(X[:200].astype(dtype))
    got, expected = fast_pred_contrib(booster, rows), booster.predict(rows, pred_contrib=True)
    assert type(got) is type(expected) and got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_allclose(got.toarray(), expected.toarray(), rtol=0, atol=1e-6 if dtype == np.float32 else ATOL)
    other = fast_pred_contrib(booster, scipy.sparse.coo_matrix(X[:200]))  # predict makes it a csr_matrix too
    assert isinstance(other, scipy.sparse.csr_matrix)


def test_regression_scikit_learn_estimators_are_explained_like_their_predict():
    # Once AttributeError: 'LGBMClassifier' object has no attribute 'best_iteration'.
    X, y = _mixed_data(2_000, seed=6)
    classifier = lightgbm.LGBMClassifier(n_estimators=60, num_leaves=8, learning_rate=0.3, verbose=-1)
    classifier.fit(X[:1_500], y[:1_500] > 0.5, eval_X=(X[1_500:],), eval_y=(y[1_500:] > 0.5,),
                   callbacks=[lightgbm.early_stopping(3, verbose=False)])
    assert 0 < classifier.best_iteration_ < 60
    regressor = lightgbm.LGBMRegressor(n_estimators=10, num_leaves=8, verbose=-1).fit(X, y)
    for model in (classifier, regressor):
        _assert_equal_to_pred_contrib(model, X[:300])
        _assert_equal_to_pred_contrib(model, X[:300], start_iteration=2, num_iteration=3)


def test_regression_num_iteration_zero_or_below_means_every_tree_and_none_the_best():
    # Once read as "the best iteration": wrong by 0.5 after early stopping with keep_training_booster.
    X, y = _mixed_data(3_000, seed=7)
    train, valid = lightgbm.Dataset(X[:2_000], y[:2_000]), lightgbm.Dataset(X[2_000:], y[2_000:])
    booster = lightgbm.train({"objective": "regression", "learning_rate": 0.5, "verbose": -1}, train, 200,
                             valid_sets=[valid], keep_training_booster=True,
                             callbacks=[lightgbm.early_stopping(3, verbose=False)])
    assert 0 < booster.best_iteration < booster.current_iteration()
    rows = X[:300]
    for kwargs in ({}, {"num_iteration": 0}, {"num_iteration": -1}, {"num_iteration": 2},
                   {"start_iteration": 1}, {"start_iteration": 2, "num_iteration": 0}, {"start_iteration": 10**6}):
        _assert_equal_to_pred_contrib(booster, rows, **kwargs)
    every = FastTreeShap(booster, num_iteration=0).pred_contrib(rows)
    best = FastTreeShap(booster).pred_contrib(rows)
    assert np.abs(every - best).max() > 1e-3  # the two readings differ on this model


def test_regression_negative_fractional_category_is_category_zero():
    # LightGBM's C++ casts -0.5 to int 0; it was once wrong by 0.8 here.
    X, y = _mixed_data(2_000, seed=8)
    y = y + 3.0 * (X[:, 1] == 0)
    booster = lightgbm.train({"objective": "regression", "verbose": -1, "min_data_per_group": 5},
                             lightgbm.Dataset(X, y, categorical_feature=[1]), 5)
    rows = X[:50].copy()
    rows[:, 1] = np.resize([-0.5, -0.999, -1.0, 0.0, 0.3, 2.9], 50)
    expected = _assert_equal_to_pred_contrib(booster, rows)
    zero = rows.copy()
    zero[:, 1] = np.resize([0.0, 0.0, -1.0, 0.0, 0.0, 2.0], 50)
    np.testing.assert_allclose(expected, booster.predict(zero, pred_contrib=True), rtol=0, atol=ATOL)


def test_inputs_predict_takes_and_the_width_it_refuses():
    X, y = _mixed_data(1_000, seed=9)
    booster = lightgbm.train({"objective": "regression", "verbose": -1}, lightgbm.Dataset(X, y), 4)
    expected = booster.predict(X[:100], pred_contrib=True)
    for rows in (X[:100].tolist(), X[:100].astype(np.float32), np.asfortranarray(X[:100])):
        np.testing.assert_allclose(fast_pred_contrib(booster, rows), booster.predict(rows, pred_contrib=True),
                                   rtol=0, atol=ATOL)
    integers = np.round(np.nan_to_num(X[:100]) * 1e7).astype(np.int64)  # predict reads these as float32
    _assert_equal_to_pred_contrib(booster, integers)
    np.testing.assert_allclose(fast_pred_contrib(booster, X[:100], n_jobs=-1), expected, rtol=0, atol=ATOL)
    assert fast_pred_contrib(booster, X[:0]).shape == (0, 4)
    with pytest.raises(ValueError, match=r"features in X \(2\).*trained with \(3\)"):
        fast_pred_contrib(booster, X[:10, :2])
    with pytest.raises(ValueError, match="2-dimensional"):
        fast_pred_contrib(booster, X[:, 0])
    with pytest.raises(TypeError, match="lightgbm.Booster"):
        FastTreeShap("model.txt")


@pytest.mark.parametrize("kind", ["ndarray", "DataFrame", "csr"])
def test_distinct_rows_given_back_to_their_rows_are_pred_contrib(kind):
    # What aggregate_shap reads: each distinct row once, the rows' map to them, the columns.
    X, y = _mixed_data(4_000, seed=11)
    X[:, 0] = np.round(X[:, 0], 1)  # repeated rows, as a cohort's categories give them
    X[:, 2] = np.round(X[:, 2])
    booster = lightgbm.train({"objective": "binary", "num_leaves": 7, "verbose": -1},
                             lightgbm.Dataset(X, (y > 0.5).astype(int)), 30)
    rows = {"ndarray": X, "DataFrame": pd.DataFrame(X, columns=booster.feature_name()),
            "csr": scipy.sparse.csr_matrix(np.nan_to_num(X))}[kind]
    expected = booster.predict(rows, pred_contrib=True)
    expected = expected.toarray() if scipy.sparse.issparse(expected) else expected
    values, inverse, columns = FastTreeShap(booster)._distinct_contrib(rows)
    np.testing.assert_allclose(values[inverse], expected[:, columns], rtol=0, atol=ATOL)
    assert not np.delete(expected, columns, axis=1).any()  # the columns left out are zero
    if kind != "csr":  # dense rows are explained once per distinct row of classes
        assert len(values) <= len(np.unique(np.nan_to_num(X, nan=-1e9), axis=0)) < len(X)
