"""The logistic models fitted on the distinct rows of their design: the same coefficients, odds
ratios and intervals as fitted on every row (scikit-learn and statsmodels on the rows)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from vsvrisk.features import build_feature_pipeline
from vsvrisk.models import RiskModel, load_model_spec, odds_ratios
from vsvrisk.models import _distinct
from vsvrisk.models.collinear import DropDuplicateColumns
from vsvrisk.synth import generate

CONFIGS = "configs"
_design = _distinct.distinct_design  # the function itself, for the tests that count its calls


@pytest.fixture(scope="module")
def cohort():
    return generate(60_000, school_years=[2018], seed=11).frame  # above the grouping threshold in vo and mbo


def _row_fit(spec, group, X, y, **params):
    return Pipeline([("features", build_feature_pipeline(spec.feature_spec(group))), ("collinear", DropDuplicateColumns()),
                     ("learner", LogisticRegression(**{"C": np.inf, "solver": "newton-cholesky", "max_iter": 200,
                                                       **params}))]).fit(X, y)


@pytest.mark.parametrize("config", ["cbs-replica", "logistic"])
def test_the_grouped_fit_has_the_coefficients_of_the_fit_on_every_row(cohort, config, monkeypatch):
    spec = load_model_spec(f"{CONFIGS}/{config}.yaml")
    grouped = []
    monkeypatch.setattr(_distinct, "distinct_design", lambda *a: grouped.append(1) or _design(*a))
    model = RiskModel.from_spec(spec).fit(cohort)
    assert len(grouped) == 2  # both model groups went through the distinct rows
    groups = model.model_groups(cohort)
    for group in model.models_:
        rows = groups == group
        reference = _row_fit(spec, group, cohort.loc[rows], cohort.loc[rows, "vsv"].astype(bool))
        learner = model.learner_of(group)
        np.testing.assert_allclose(learner.coef_, reference[-1].coef_, rtol=1e-8, atol=1e-9)
        np.testing.assert_allclose(learner.intercept_, reference[-1].intercept_, rtol=1e-8, atol=1e-9)
        np.testing.assert_allclose(model.models_[group].predict_proba(cohort.loc[rows])[:, 1],
                                   reference.predict_proba(cohort.loc[rows])[:, 1], rtol=1e-9)


def test_odds_ratios_and_intervals_equal_a_logit_on_every_row(cohort):
    model = RiskModel.from_spec(load_model_spec(f"{CONFIGS}/cbs-replica.yaml")).fit(cohort)
    table = odds_ratios(model, cohort)
    groups = model.model_groups(cohort)
    for group in model.models_:
        rows = groups == group
        design = sm.add_constant(model.feature_pipeline(group).transform(cohort.loc[rows]).to_numpy(float),
                                 has_constant="add")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = sm.Logit(cohort.loc[rows, "vsv"].to_numpy(float), design).fit(method="newton", maxiter=50, disp=0)
        mine = table[table["group"] == group]
        np.testing.assert_allclose(mine["coef"], fit.params, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(mine["std_err"], fit.bse, rtol=1e-6)
        np.testing.assert_allclose(mine["or_low"], np.exp(fit.conf_int(0.05)[:, 0]), rtol=1e-6)
        np.testing.assert_allclose(mine["p_value"], fit.pvalues, rtol=1e-5, atol=1e-12)


def test_class_weights_are_fitted_on_the_rows(cohort, monkeypatch):
    # "balanced" weights count rows: on the distinct rows they would weigh classes differently.
    spec = load_model_spec(f"{CONFIGS}/cbs-replica.yaml").model_copy(update={"params": {"class_weight": "balanced"}})
    monkeypatch.setattr(_distinct, "distinct_design", lambda *a: pytest.fail("grouped a class-weighted fit"))
    model = RiskModel.from_spec(spec).fit(cohort)
    rows = model.model_groups(cohort) == "vo"
    reference = _row_fit(spec, "vo", cohort.loc[rows], cohort.loc[rows, "vsv"].astype(bool), class_weight="balanced")
    np.testing.assert_allclose(model.learner_of("vo").coef_, reference[-1].coef_, rtol=1e-10)


def test_rows_that_share_a_hash_but_differ_are_never_grouped(monkeypatch):
    matrix = np.tile([[1.0, 0.0], [0.0, 1.0]], (15_000, 1))
    monkeypatch.setattr(pd.util, "hash_pandas_object", lambda frame, index: pd.Series(np.zeros(len(frame), np.uint64)))
    assert _distinct.distinct_design(matrix, np.zeros(len(matrix))) is None


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4), st.integers(2, 6), st.integers(0, 2**32 - 1))
def test_the_distinct_rows_and_counts_are_those_of_a_group_by(width, levels, seed):
    rng = np.random.default_rng(seed)
    matrix = rng.integers(0, levels, (25_000, width)).astype(float)
    y = rng.random(25_000) < 0.2
    rows, positives, negatives = _distinct.distinct_design(matrix, y)
    expected = pd.DataFrame(matrix).assign(y=y).groupby(list(range(width)))["y"].agg(["sum", "size"])
    got = pd.DataFrame(rows).assign(pos=positives, n=positives + negatives).set_index(list(range(width))).sort_index()
    assert got.index.equals(expected.index)
    np.testing.assert_array_equal(got["pos"], expected["sum"])
    np.testing.assert_array_equal(got["n"], expected["size"])
