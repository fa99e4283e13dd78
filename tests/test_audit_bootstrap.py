"""The audit's vectorised bootstrap: point estimates as fairlearn's MetricFrame gave them, every
replicate the metrics of its resampled persons, and intervals those of a bootstrap over persons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from _fairness_metricframe import _frame_rows as metricframe_rows  # the former implementation
from sklearn.metrics import roc_auc_score

import vsvrisk.audit.fairness as fairness
from vsvrisk.allocate.need import top_share_weights
from vsvrisk.audit import audit_predictions
from vsvrisk.audit._group_bootstrap import UnitTable, deal_units
from vsvrisk.synth import generate

RATED = ("roc_auc", "selection_rate", "tpr", "fpr")


def _cohort(n_persons):
    frame = generate(n_persons, seed=4).frame
    p = frame["p_true"].to_numpy()
    order = np.argsort(-p, kind="stable")
    selected = np.empty(len(p))
    selected[order] = top_share_weights(p[order], np.ones(len(p)), 0.4)
    return frame, p, frame["vsv"].to_numpy(float), selected


@pytest.fixture(scope="module")
def cohort():
    return _cohort(6_000)


@pytest.fixture(scope="module")
def larger_cohort():
    return _cohort(20_000)  # enough vo leavers per gender for a bootstrap over persons


def test_point_estimates_are_those_of_the_metricframe_implementation(cohort, monkeypatch):
    frame, p = cohort[0].iloc[:3_000], cohort[1][:3_000]
    new = audit_predictions(frame, p, n_boot=0, min_cell_size=20).table
    monkeypatch.setattr(fairness, "_frame_rows", _metricframe_rows)
    old = audit_predictions(frame, p, n_boot=0, min_cell_size=20).table
    assert len(new) == len(old) > 100
    pd.testing.assert_frame_equal(new.drop(columns=["expected", "oe", "oe_low", "oe_high"]),
                                  old.drop(columns=["expected", "oe", "oe_low", "oe_high"]))
    # A sum of risks is a float sum: equal up to the order of summation.
    for column in ("expected", "oe", "oe_low", "oe_high"):
        np.testing.assert_allclose(new[column].astype(float), old[column].astype(float), rtol=1e-12)


def _labels(frame):
    return pd.DataFrame({"sector": fairness._text_categories(frame["sector"]),
                         "gender": fairness._text_categories(frame["gender"])})


def _metricframe_rows(labels, names, sectors, y, p, selected, n_boot, seed, by_risk=None):
    return metricframe_rows(labels.astype(str), names, sectors, y, p, selected, n_boot, seed)


def test_a_replicate_is_the_metrics_of_its_resampled_persons(cohort):
    # Weights per unit are weights per person: check against sklearn on the weighted persons.
    frame, p, y, selected = cohort
    labels = _labels(frame)
    grouped = labels.groupby(["sector", "gender"], sort=True)
    cells = grouped.ngroup().to_numpy()
    level_of_cell = (grouped.size().index.get_level_values("gender") == "v").astype(int)
    unit, cell_of_unit = deal_units(cells, np.random.default_rng(0))
    table = UnitTable(unit, cell_of_unit, level_of_cell, y, p, selected)
    weights = np.random.default_rng(1).poisson(1.0, size=(3, len(cell_of_unit))) * 1.5
    metrics = table._metrics(weights)
    for r in range(3):
        person_weight = weights[r, unit]
        for g, members in enumerate([level_of_cell[cell_of_unit[unit]] == level for level in (0, 1)]
                                    + [cells == c for c in range(cells.max() + 1)]):
            w, yy, pp, ss = person_weight[members], y[members], p[members], selected[members]
            assert metrics["roc_auc"][r, g] == pytest.approx(roc_auc_score(yy, pp, sample_weight=w), rel=1e-12)
            assert metrics["selection_rate"][r, g] == pytest.approx((w * ss).sum() / w.sum(), rel=1e-12)
            assert metrics["tpr"][r, g] == pytest.approx((w * ss * yy).sum() / (w * yy).sum(), rel=1e-12)
            assert metrics["fpr"][r, g] == pytest.approx((w * ss * (1 - yy)).sum() / (w * (1 - yy)).sum(), rel=1e-12)


def _weighted_auc(weights, y, p):
    """Mann-Whitney AUC (ties one half) of every row of person weights, over distinct risks."""
    _, value = np.unique(p, return_inverse=True)
    by_value = sparse.csr_matrix((np.ones(len(p)), (np.arange(len(p)), value)))
    leavers, stayers = (weights * y) @ by_value, (weights * (1 - y)) @ by_value
    below = np.cumsum(stayers, axis=1) - stayers
    return (leavers * (below + 0.5 * stayers)).sum(axis=1) / (leavers.sum(axis=1) * stayers.sum(axis=1))


def _person_bootstrap(labels, y, p, selected, n_boot, seed):
    """Quantiles of a plain bootstrap over persons (the gender table), by brute force."""
    labels = labels.astype(str)
    groups = [("all", labels["gender"] == g) for g in ("m", "v")]
    groups += [(s, (labels["sector"] == s) & (labels["gender"] == g)) for s in ("vo", "mbo") for g in ("m", "v")]
    rng = np.random.default_rng(seed)
    weights = np.vstack([np.bincount(rng.integers(0, len(y), len(y)), minlength=len(y)) for _ in range(n_boot)])
    values = np.full((n_boot, len(groups), 4), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        for g, (_, members) in enumerate(groups):
            m = members.to_numpy()
            w, yy, ss = weights[:, m].astype(float), y[m], selected[m]
            values[:, g] = np.column_stack([_weighted_auc(w, yy, p[m]), w @ ss / w.sum(1),
                                            w @ (ss * yy) / (w @ yy), w @ (ss * (1 - yy)) / (w @ (1 - yy))])
    return groups, np.nanquantile(values, [0.025, 0.975], axis=0)


def test_intervals_are_those_of_a_bootstrap_over_persons_within_monte_carlo_error(larger_cohort):
    frame, p, y, selected = larger_cohort
    labels = _labels(frame)
    n_boot = 300
    table = fairness._frame_rows(labels, ["gender"], ["all", "vo", "mbo"], y, p, selected, n_boot, [0, 1])
    table = table.set_index(["sector", "level"])
    groups, (low, high) = _person_bootstrap(labels, y, p, selected, n_boot, seed=5)
    z = []
    for g, ((sector, _), gender) in enumerate(zip(groups, ["m", "v"] * 3)):
        row = table.loc[(sector, gender)]
        for k, metric in enumerate(RATED):
            sd = (high[g, k] - low[g, k]) / 3.92  # the bootstrap distribution's standard deviation
            if sd == 0:  # a rate of 1 in every replicate
                assert row[f"{metric}_low"] == row[f"{metric}_high"] == low[g, k]
                continue
            z += [(row[f"{metric}_low"] - low[g, k]) / sd, (row[f"{metric}_high"] - high[g, k]) / sd]
    z = np.array(z)
    # Two independent 300-replicate estimates of a 2.5% quantile differ by about 0.22 sd
    # (sqrt(2) x 2.67 / sqrt(300)); the 100 resampling units per cell add a little.
    assert np.sqrt(np.mean(z**2)) < 0.45, z.round(2)
    assert np.abs(z).max() < 1.2, z.round(2)
    assert abs(z.mean()) < 0.25, z.round(2)  # neither systematically wider nor narrower


def test_sector_intervals_agree_with_the_metricframe_implementation(cohort):
    # Within one sector a unit holds persons of one cell, as before: the same statistics.
    frame, p, y, selected = cohort
    labels = _labels(frame).iloc[:3_000]
    args = (labels, ["gender"], ["vo", "mbo"], y[:3_000], p[:3_000], selected[:3_000], 60, [0, 1])
    new = fairness._frame_rows(*args).set_index(["sector", "level"]).sort_index()
    old = _metricframe_rows(*args).set_index(["sector", "level"]).sort_index()
    z = []
    for metric in RATED:
        sd = ((old[f"{metric}_high"] - old[f"{metric}_low"]) / 3.92).to_numpy()
        for bound in ("low", "high"):
            z += list((new[f"{metric}_{bound}"].to_numpy() - old[f"{metric}_{bound}"].to_numpy()) / sd)
    z = np.array(z)[np.isfinite(z)]
    assert len(z) >= 24
    # 60 replicates each: the quantiles differ by about 0.5 sd (sqrt(2) x 2.67 / sqrt(60)).
    assert np.sqrt(np.mean(z**2)) < 0.8, z.round(2)
    assert abs(z.mean()) < 0.4, z.round(2)


def test_the_same_seed_gives_the_same_intervals(cohort):
    frame, p, _, _ = cohort
    first = audit_predictions(frame, p, n_boot=60, random_state=3, min_cell_size=10**9).table
    second = audit_predictions(frame, p, n_boot=60, random_state=3, min_cell_size=10**9).table
    pd.testing.assert_frame_equal(first, second)
    other = audit_predictions(frame, p, n_boot=60, random_state=4, min_cell_size=10**9).table
    assert not np.allclose(first["roc_auc_low"].astype(float), other["roc_auc_low"].astype(float), equal_nan=True)
