"""The contribution tests of LightGBM's and shap's own suites, run on the fast TreeSHAP.

Ported from LightGBM's ``tests/python_package_test/test_engine.py`` and ``test_sklearn.py``
(every ``pred_contrib`` case) and shap's ``tests/explainers/test_tree.py`` (the LightGBM
cases but the interaction values, which ``pred_contrib`` does not give). Where those suites
check that contributions add up to the raw score (to 1e-4), these check equality with
``pred_contrib`` to 1e-9 as well. Data is made here: scikit-learn's bundled sets (breast
cancer, iris) and synthetic stand-ins for the two that shap downloads (California housing,
adult census), with the same shapes and kinds of columns. Sizes and rounds are those of the
originals except where a comment says why not.
"""

from __future__ import annotations

import lightgbm
import numpy as np
import pandas as pd
import pytest
import scipy.sparse
from sklearn.datasets import load_breast_cancer, load_iris, make_multilabel_classification, make_regression
from sklearn.model_selection import train_test_split

from vsvrisk.explain.fast_treeshap import FastTreeShap, fast_pred_contrib

ATOL = 1e-9


def _same(got, expected):
    if isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected)
        for mine, theirs in zip(got, expected):
            _same(mine, theirs)
        return
    assert type(got) is type(expected) and got.shape == expected.shape and got.dtype == expected.dtype
    dense = (lambda m: m.toarray()) if scipy.sparse.issparse(expected) else np.asarray
    np.testing.assert_allclose(dense(got), dense(expected), rtol=0, atol=ATOL)


def _california(n_points: int = 500):
    """Stand-in for shap.datasets.california: 8 numerical columns, plus the categorical column 8
    that shap's tests declare (``categorical_feature=[8]``)."""
    X, y = make_regression(n_samples=n_points, n_features=8, n_informative=6, noise=10.0, random_state=0)
    frame = pd.DataFrame(X, columns=["MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup",
                                     "Latitude", "Longitude"])
    frame["Region"] = np.random.default_rng(0).integers(0, 10, n_points)
    return frame, (y + 40.0 * (frame["Region"] % 3 == 0)) / 100.0


def _adult(n_points: int = 500):
    """Stand-in for shap.datasets.adult: 12 columns of integer codes and counts, a 0/1 label."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({
        "Age": rng.integers(17, 90, n_points).astype(float), "Workclass": rng.integers(0, 8, n_points),
        "Education-Num": rng.integers(1, 16, n_points).astype(float), "Marital Status": rng.integers(0, 7, n_points),
        "Occupation": rng.integers(0, 14, n_points), "Relationship": rng.integers(0, 6, n_points),
        "Race": rng.integers(0, 5, n_points), "Sex": rng.integers(0, 2, n_points),
        "Capital Gain": np.where(rng.random(n_points) < 0.1, rng.integers(1, 99_999, n_points), 0).astype(float),
        "Capital Loss": np.where(rng.random(n_points) < 0.05, rng.integers(1, 4_356, n_points), 0).astype(float),
        "Hours per week": rng.integers(1, 99, n_points).astype(float), "Country": rng.integers(0, 41, n_points)})
    logit = 0.04 * (frame["Age"] - 40) + 0.3 * (frame["Education-Num"] - 10) + (frame["Relationship"] == 0)
    return frame, (rng.random(n_points) < 1 / (1 + np.exp(-logit))).astype(int)


# --- LightGBM: tests/python_package_test/test_engine.py -------------------------------------

def test_lightgbm_contribs():
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, _ = train_test_split(X, y, test_size=0.1, random_state=42)
    gbm = lightgbm.train({"objective": "binary", "metric": "binary_logloss", "verbose": -1},
                         lightgbm.Dataset(X_train, y_train), num_boost_round=20)
    contribs = fast_pred_contrib(gbm, X_test)
    assert np.linalg.norm(gbm.predict(X_test, raw_score=True) - contribs.sum(axis=1)) < 1e-4
    _same(contribs, gbm.predict(X_test, pred_contrib=True))


@pytest.mark.parametrize("n_labels", [1, 4], ids=["binary", "multiclass"])
def test_lightgbm_contribs_sparse(n_labels):
    X, y = make_multilabel_classification(n_samples=100, sparse=True, n_features=20, n_classes=1,
                                          n_labels=n_labels if n_labels > 1 else 2, random_state=0)
    y = y.flatten()
    X_train, X_test, y_train, _ = train_test_split(X, y, test_size=0.1, random_state=42)
    params = {"objective": "multiclass", "num_class": n_labels} if n_labels > 1 else {"objective": "binary"}
    gbm = lightgbm.train({**params, "verbose": -1}, lightgbm.Dataset(X_train, y_train), num_boost_round=20)
    contribs_csr = fast_pred_contrib(gbm, X_test)
    matrices = contribs_csr if n_labels > 1 else [contribs_csr]
    assert all(scipy.sparse.isspmatrix_csr(m) for m in matrices)
    contribs_dense = fast_pred_contrib(gbm, X_test.toarray())
    stacked = np.hstack([m.toarray() for m in matrices])
    np.testing.assert_allclose(stacked, contribs_dense, rtol=0, atol=1e-12)
    raw = gbm.predict(X_test, raw_score=True).reshape(X_test.shape[0], -1)
    assert np.linalg.norm(raw - contribs_dense.reshape(X_test.shape[0], -1, 21).sum(axis=2)) < 1e-4
    contribs_csc = fast_pred_contrib(gbm, X_test.tocsc())
    assert all(scipy.sparse.isspmatrix_csc(m) for m in (contribs_csc if n_labels > 1 else [contribs_csc]))
    _same(contribs_csr, gbm.predict(X_test, pred_contrib=True))
    _same(contribs_csc, gbm.predict(X_test.tocsc(), pred_contrib=True))


def test_lightgbm_predict_contrib_int64():
    X, y = make_multilabel_classification(n_samples=100, sparse=True, n_features=5, n_classes=1, n_labels=2,
                                          random_state=0)
    y = y.flatten()
    X_train, X_test, y_train, _ = train_test_split(X, y, test_size=0.1, random_state=42)
    X_test.indptr = X_test.indptr.astype(np.int64)
    params = {"objective": "binary", "num_leaves": 7, "min_data_in_bin": 1, "min_data_in_leaf": 1, "seed": 708,
              "verbose": -1}
    booster = lightgbm.train(params, lightgbm.Dataset(X_train, label=y_train), num_boost_round=5)
    preds = fast_pred_contrib(booster, X_test)
    assert preds.shape == (X_test.shape[0], X_test.shape[1] + 1)
    _same(preds, booster.predict(X_test, pred_contrib=True))


def test_lightgbm_int32_max_sparse_contribs():
    # LightGBM's case has 3,000,000 rows, past int32 in its C API's output buffers; this path
    # builds the output with scipy (int64 indices where needed), so 300,000 rows keep the
    # shapes and the sparse pattern at a tenth of the memory.
    rng = np.random.default_rng(0)
    gbm = lightgbm.train({"objective": "binary", "verbose": -1}, lightgbm.Dataset(rng.uniform(size=(100, 1000)),
                                                                                 [0] * 50 + [1] * 50), 2)
    shape = (300_000, 1000)
    rows = np.repeat(np.arange(0, shape[0], shape[0] // 6), 10)
    columns = np.tile(np.arange(0, 1000, 100), 6)
    test_features = scipy.sparse.csr_matrix((rng.random(rows.size), (rows, columns)), shape=shape)
    y_pred_csr = fast_pred_contrib(gbm, test_features)
    assert y_pred_csr.shape == (shape[0], shape[1] + 1)
    y_pred_csc = fast_pred_contrib(gbm, test_features.tocsc())
    assert y_pred_csc.shape == (shape[0], shape[1] + 1)
    some = test_features[:1_000]
    np.testing.assert_allclose(y_pred_csr[:1_000].toarray(), gbm.predict(some, pred_contrib=True).toarray(),
                               rtol=0, atol=ATOL)


@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
@pytest.mark.parametrize("early_stopping_rounds", [None, 5], ids=["all rounds", "early stopping"])
def test_lightgbm_predict_with_start_iteration(task, early_stopping_rounds):
    if task == "multiclass":
        X, y = load_iris(return_X_y=True)
        params = {"objective": "multiclass", "num_class": 3, "verbose": -1, "metric": "multi_error"}
    elif task == "binary":
        X, y = load_breast_cancer(return_X_y=True)
        params = {"objective": "binary", "verbose": -1, "metric": "auc"}
    else:
        X, y = make_regression(n_samples=1_000, n_features=5, random_state=0)
        params = {"objective": "regression", "verbose": -1}
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.1, random_state=42)
    callbacks = [lightgbm.early_stopping(early_stopping_rounds, verbose=False)] if early_stopping_rounds else []
    booster = lightgbm.train(params, lightgbm.Dataset(X_train, label=y_train), num_boost_round=50,
                             valid_sets=[lightgbm.Dataset(X_test, label=y_test)], callbacks=callbacks)
    all_pred_contrib = fast_pred_contrib(booster, X)
    for step in (10, 12):
        pred_contrib = np.zeros_like(all_pred_contrib)
        for start_iter in range(0, 50, step):
            pred_contrib += fast_pred_contrib(booster, X, start_iteration=start_iter, num_iteration=step)
        if not early_stopping_rounds or booster.best_iteration == 50:
            np.testing.assert_allclose(all_pred_contrib, pred_contrib, rtol=0, atol=1e-9)
    pred4 = fast_pred_contrib(booster, X, start_iteration=10, num_iteration=-1)
    pred5 = fast_pred_contrib(booster, X, start_iteration=10, num_iteration=40)
    pred6 = fast_pred_contrib(booster, X, start_iteration=10, num_iteration=0)
    np.testing.assert_allclose(pred4, pred5, rtol=0, atol=ATOL)
    np.testing.assert_allclose(pred4, pred6, rtol=0, atol=ATOL)
    _same(pred4, booster.predict(X, start_iteration=10, num_iteration=-1, pred_contrib=True))


@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
@pytest.mark.parametrize("rounds", [1, 2])
def test_lightgbm_predict_output_shape(task, rounds):
    rng = np.random.default_rng(0)
    n_samples, n_features, n_classes = 1_000, 10 if task == "multiclass" else 4, 3
    X = rng.normal(size=(n_samples, n_features))
    y = {"regression": X[:, 0] + X[:, 1], "binary": (X[:, 0] > 0).astype(int),
         "multiclass": np.digitize(X[:, 0] + X[:, 2], [-0.5, 0.5])}[task]
    params = {"objective": task, "verbosity": -1} | ({"num_class": n_classes} if task == "multiclass" else {})
    bst = lightgbm.train(params, lightgbm.Dataset(X, label=y), num_boost_round=rounds)
    width = n_classes * (n_features + 1) if task == "multiclass" else n_features + 1
    assert fast_pred_contrib(bst, X).shape == (n_samples, width)
    _same(fast_pred_contrib(bst, X), bst.predict(X, pred_contrib=True))


# --- LightGBM: tests/python_package_test/test_sklearn.py ------------------------------------

def test_lightgbm_sklearn_and_engine_give_the_same_contributions():
    X, y = load_iris(return_X_y=True)
    X_train, X_test, y_train, _ = train_test_split(X, y, test_size=0.2, random_state=42)
    params = {"n_estimators": 10, "verbose": -1}
    gbm = lightgbm.train({"objective": "multiclass", "num_class": 3, "verbose": -1}, lightgbm.Dataset(X_train, y_train),
                         num_boost_round=10)
    clf = lightgbm.LGBMClassifier(**params).fit(X_train, y_train)
    _same(fast_pred_contrib(clf, X_test), fast_pred_contrib(gbm, X_test))
    _same(fast_pred_contrib(clf, X_test), clf.predict(X_test, pred_contrib=True))
    _same(fast_pred_contrib(clf, X_test, start_iteration=10), clf.predict(X_test, pred_contrib=True, start_iteration=10))
    _same(fast_pred_contrib(clf, X_test, start_iteration=5), gbm.predict(X_test, pred_contrib=True, start_iteration=5))


@pytest.mark.parametrize("X_type", ["numpy", "pd_DataFrame", "scipy_csr", "scipy_csc", "list2d"])
def test_lightgbm_prediction_dtypes(X_type):
    X, y = make_regression(n_samples=200, n_features=4, random_state=1)
    model = lightgbm.LGBMRegressor(n_estimators=5, verbose=-1).fit(X, y)
    data = {"numpy": X, "pd_DataFrame": pd.DataFrame(X), "scipy_csr": scipy.sparse.csr_matrix(X),
            "scipy_csc": scipy.sparse.csc_matrix(X), "list2d": X.tolist()}[X_type]
    contrib = fast_pred_contrib(model, data)
    assert contrib.dtype == np.float64
    _same(contrib, model.predict(data, pred_contrib=True))


# --- shap: tests/explainers/test_tree.py, the LightGBM cases --------------------------------

@pytest.mark.parametrize("objective", [None, "mean_squared_error"], ids=["default", "mse"])
def test_shap_lightgbm_regressor(objective):
    X, y = _california(1_000)  # shap uses all 20,640 rows; 1,000 keep this quick
    model = lightgbm.LGBMRegressor(objective=objective, verbose=-1).fit(X, y, categorical_feature=[8])
    contrib = fast_pred_contrib(model, X)
    assert np.abs(contrib.sum(1) - model.predict(X, raw_score=True)).max() < 1e-4
    _same(contrib, model.predict(X, pred_contrib=True))


@pytest.mark.parametrize("dataset", ["iris", "adult"])
def test_shap_lightgbm_nonsklearn_api(dataset):
    X, y = (load_iris(return_X_y=True, as_frame=True) if dataset == "iris" else _adult(2_000))
    params = ({"objective": "binary", "metric": ["binary_error"]} if dataset == "iris" else {"metric": ["rmse"]})
    y = (y > 0).astype(int) if dataset == "iris" else y
    params |= {"num_threads": 1, "n_estimators": 8000, "early_stopping_round": 50, "random_state": 7, "verbose": -1}
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
    train = lightgbm.Dataset(X_train, y_train)
    booster = lightgbm.train(params, train, valid_sets=[train, lightgbm.Dataset(X_test, y_test, reference=train)])
    contrib = fast_pred_contrib(booster, X_test)
    assert np.abs(contrib.sum(1) - booster.predict(X_test, raw_score=True)).max() < 1e-4
    _same(contrib, booster.predict(X_test, pred_contrib=True))


@pytest.mark.parametrize("constant", [False, True], ids=["california", "constant target"])
def test_shap_lightgbm_booster(constant):
    X, y = _california(500)
    if constant:  # once failed in shap: trees without a split
        y = np.full(len(y), np.mean(y))
    model = lightgbm.train({"objective": "regression", "verbosity": -1, "num_threads": 1},
                           lightgbm.Dataset(data=X, label=y, categorical_feature=[8]), num_boost_round=1_000)
    explanation = fast_pred_contrib(model, X)
    assert explanation.shape == (X.shape[0], X.shape[1] + 1)
    assert np.abs(explanation.sum(1) - model.predict(X, raw_score=True)).max() < 1e-4
    _same(explanation, model.predict(X, pred_contrib=True))


def test_shap_lightgbm_binary():
    X_train, X_test, y_train, _ = train_test_split(*_adult(500), test_size=0.2, random_state=0)
    model = lightgbm.train({"objective": "binary", "verbosity": -1, "num_threads": 1},
                           lightgbm.Dataset(data=X_train, label=y_train), num_boost_round=1_000)
    contrib = fast_pred_contrib(model, X_test)
    assert contrib[:, :-1].shape == X_test.shape
    np.testing.assert_allclose(contrib.sum(1), model.predict(X_test, raw_score=True), atol=1e-4)
    _same(contrib, model.predict(X_test, pred_contrib=True))


@pytest.mark.parametrize("constant", [False, True], ids=["iris", "constant label"])
def test_shap_lightgbm_multiclass(constant):
    X, y = load_iris(return_X_y=True, as_frame=True)
    if constant:
        model = lightgbm.LGBMClassifier(n_estimators=50, num_classes=3, objective="multiclass", n_jobs=1, verbose=-1)
        model.fit(X, y.where(y == 1, 1))  # every label 1: shap once failed on trees without a split
    else:
        model = lightgbm.LGBMClassifier(n_jobs=1, verbose=-1).fit(X, y)
    contrib = fast_pred_contrib(model, X)
    n_classes = model.booster_.num_model_per_iteration()
    sums = contrib.reshape(len(X), n_classes, -1).sum(axis=2)
    assert np.abs(sums - model.predict(X, raw_score=True).reshape(len(X), -1)).max() < 1e-4
    _same(contrib, model.predict(X, pred_contrib=True))
    assert FastTreeShap(model).n_features == X.shape[1]
