"""evaluate_predictions against scikit-learn on each cell's rows, cells found independently."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq
from scipy.special import expit, logit
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from vsvrisk.evaluate import evaluate_predictions
from vsvrisk.evaluate.validation import _text_codes
from vsvrisk.features import WealthGroup


def _rows(y, p):
    lp = logit(np.clip(p, 1e-12, 1 - 1e-12))
    return {"n": len(y), "observed_rate": y.mean(), "expected_rate": p.mean(), "brier": brier_score_loss(y, p),
            "log_loss": log_loss(y, np.clip(p, 1e-12, 1 - 1e-12), labels=[0, 1]), "roc_auc": roc_auc_score(y, p),
            "pr_auc": average_precision_score(y, p),
            "calibration_intercept": brentq(lambda a: expit(a + lp).sum() - y.sum(), -30, 30, xtol=1e-14),
            "calibration_slope": LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12)
            .fit(lp[:, None], y).coef_[0, 0]}


@pytest.fixture(scope="module")
def evaluated(small_population):
    cohort = small_population.frame.query("school_year == 2019").reset_index(drop=True)
    p = np.round(cohort["p_true_features"].to_numpy(), 3)  # ties, as a tree model's risks have
    return cohort, p, evaluate_predictions(cohort, p)


def test_every_cell_scores_as_scikit_learn_scores_its_rows(evaluated):
    cohort, p, result = evaluated
    y = cohort["vsv"].to_numpy(float)
    sector = cohort["sector"].astype(str).to_numpy()
    characteristics = {
        "gender": cohort["gender"].astype(str), "urbanisation": cohort["urbanisation"].astype(str),
        "wealth_group": WealthGroup().fit_transform(cohort[["wealth_percentile"]])["wealth_group"].astype(str),
        "migration_background": cohort["migration_background"].astype(str),
    }
    expected_cells = {(s, name, level) for s in [*np.unique(sector), "all"] for name, values in characteristics.items()
                      for level in values[(sector == s) | (s == "all")].dropna().unique()}
    table = result.by_group.set_index(["sector", "characteristic", "level"])
    assert set(table.index) == expected_cells
    checked = 0
    for (s, name, level), row in table.iterrows():
        rows = ((sector == s) | (s == "all")) & (characteristics[name] == level).to_numpy()
        if not 0 < y[rows].sum() < rows.sum() or rows.sum() < 200:
            continue
        for key, value in _rows(y[rows], p[rows]).items():
            tolerance = 1e-9 if key.startswith("calibration") else 1e-12  # scikit-learn's fit: tol 1e-12
            got = row[key if key != "n" else "n_persons"]
            assert got == pytest.approx(value, rel=tolerance, abs=1e-14), (s, name, level, key)
        checked += 1
    assert checked >= 40
    for s in result.by_sector.index:
        rows = (sector == s) | (s == "all")
        expected = _rows(y[rows], p[rows])
        expected["truth_roc_auc"] = roc_auc_score(y[rows], cohort["p_true_features"][rows])
        expected["oracle_roc_auc"] = roc_auc_score(y[rows], cohort["p_true"][rows])
        for key, value in expected.items():
            tolerance = 1e-9 if key.startswith("calibration") else 1e-12
            assert result.by_sector.loc[s, key] == pytest.approx(value, rel=tolerance), (s, key)


@pytest.mark.parametrize("values", [
    pd.Series(["a", None, "b", "a"], dtype="category"),
    pd.Series([3, 1, 3, 2]),
    pd.Series([1, None, 2, 1], dtype="Int64"),
    pd.Series([1.0, np.nan, 2.5, 1.0]),
    pd.Series(["x", None, "y", "x"], dtype=object),
    pd.Series(pd.Categorical([1, 2, 1], categories=[1, 2, 3])),
], ids=["category", "int64", "Int64 with NA", "float with NaN", "object with None", "unused category"])
def test_levels_are_the_texts_of_the_values(values):
    codes, texts = _text_codes(values)
    expected_codes, expected_texts = pd.factorize(values.astype(str))
    known = codes >= 0
    assert np.array_equal(known, expected_codes >= 0)
    assert [texts[c] for c in codes[known]] == [expected_texts[c] for c in expected_codes[known]]
