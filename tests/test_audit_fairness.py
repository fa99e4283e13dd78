"""The fairness audit: it finds the planted miscalibration and nothing else, its numbers are the
numbers, small cells are suppressed, and the written audit is reproducible byte for byte."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats
from sklearn.metrics import roc_auc_score

from vsvrisk.audit import audit_predictions
from vsvrisk.runs import audit_run
from vsvrisk.exceptions import ConfigError, OutputExistsError, SchemaError
from vsvrisk.models import RiskModel
from vsvrisk.synth import default_truth, generate

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.fixture(scope="module")
def planted():
    """A logistic world where western migration background carries 0.7 extra log-odds.

    The logistic truth has no other term a main-effects model misses (no interactions, no
    regional effect, no direct effect of non-western background), so the planted group is the
    only true miscalibration. The model is trained large enough (400,000 pupils, about 1,600
    early leavers in vo) that its own estimation error stays far inside the 0.8-1.25 band.
    """
    truth = default_truth("logistic", planted=("migration_background", "western", 0.7))
    train = generate(400_000, school_years=[2019], seed=102, truth=truth).frame
    cohort = generate(150_000, school_years=[2019], seed=202, truth=truth).frame
    model = RiskModel.from_spec(CONFIGS / "logistic.yaml").fit(train)
    return cohort, model.predict_risk(cohort).to_numpy()


def test_the_planted_group_is_flagged_and_no_other(planted):
    cohort, p = planted
    result = audit_predictions(cohort, p, n_boot=0)
    table = result.table
    western = table[(table.sector == "all") & (table.characteristic == "migration_background") & (table.level == "western")]
    assert bool(western["flag"].item())
    assert 1.5 < western["oe_ratio"].item() < 2.3  # exp(0.7) = 2.0, diluted by the reference's share
    # Every flagged row is the western group, alone or in a pair; nothing else is flagged.
    flagged = result.flagged
    assert len(flagged) >= 1
    for characteristic, level in zip(flagged["characteristic"], flagged["level"]):
        position = characteristic.split(":").index("migration_background")
        assert level.split(":")[position] == "western", (characteristic, level)
    assert result.findings()[0].startswith("all sectors: migration_background = western")


def test_point_estimates_are_those_of_the_persons(planted):
    # The audit computes over resampling units, not persons: the point estimates must not notice.
    cohort, p = planted
    frame, p = cohort.iloc[:30_000], p[:30_000]
    result = audit_predictions(frame, p, n_boot=0, top_share=0.4)
    table = result.table.set_index(["sector", "characteristic", "level"])
    y = frame["vsv"].to_numpy(float)
    girls = (frame["gender"] == "v").to_numpy()
    row = table.loc[("all", "gender", "v")]
    assert row["n_persons"] == girls.sum()
    assert row["observed"] == y[girls].sum()
    assert row["expected"] == pytest.approx(p[girls].sum())
    assert row["roc_auc"] == pytest.approx(roc_auc_score(y[girls], p[girls]))
    assert row["oe_low"] == pytest.approx(stats.chi2.ppf(0.025, 2 * y[girls].sum()) / 2 / p[girls].sum())
    selected = p >= result.cutoff  # no ties at the cut-off of a continuous risk
    assert row["selection_rate"] == pytest.approx(selected[girls].mean())
    assert row["tpr"] == pytest.approx(selected[girls & (y == 1)].mean())
    assert row["fpr"] == pytest.approx(selected[girls & (y == 0)].mean())
    # The whole cohort is 40% selected: the sexes' selection rates average to it.
    sexes = result.table[(result.table.sector == "all") & (result.table.characteristic == "gender")]
    assert (sexes["selection_rate"] * sexes["n_persons"]).sum() / sexes["n_persons"].sum() == pytest.approx(0.4)
    reference = table.loc[("all", "gender", "m")]
    assert row["tpr_ratio"] == pytest.approx(row["tpr"] / reference["tpr"])
    assert reference["is_reference"] and pd.isna(reference["oe_ratio_low"])


def test_the_ratio_interval_is_exact_and_simultaneous(planted):
    cohort, p = planted
    result = audit_predictions(cohort.iloc[:30_000], p[:30_000], n_boot=0, min_cell_size=10**9)
    table = result.table.set_index(["sector", "characteristic", "level"])
    group, reference = table.loc[("all", "gender", "v")], table.loc[("all", "gender", "m")]
    # Conditional on both groups' leavers, the group's count is binomial; Bonferroni over m.
    k, n = group["observed"], group["observed"] + reference["observed"]
    alpha = 0.05 / result.settings["n_comparisons"]
    low = stats.beta.ppf(alpha / 2, k, n - k + 1)
    assert group["oe_ratio_low"] == pytest.approx(low / (1 - low) * reference["expected"] / group["expected"])
    assert group["oe_ratio_low"] < group["oe_ratio"] < group["oe_ratio_high"]


def test_bootstrap_intervals_surround_the_estimates():
    frame = generate(8_000, seed=4).frame
    result = audit_predictions(frame, frame["p_true"], n_boot=20, min_cell_size=10**9)
    shown = result.table.dropna(subset=["roc_auc_low", "roc_auc_high"])
    assert len(shown) > 10
    for metric in ("roc_auc", "selection_rate", "tpr", "fpr"):
        inside = shown[metric].between(shown[f"{metric}_low"] - 0.02, shown[f"{metric}_high"] + 0.02)
        assert inside.mean() > 0.9, metric
        assert (shown[f"{metric}_low"] <= shown[f"{metric}_high"]).all(), metric


def test_small_cells_are_suppressed_flag_included():
    frame = generate(3_000, seed=5).frame
    result = audit_predictions(frame, frame["p_true"], n_boot=0, min_cell_size=10**9, threshold=10)
    table = result.table
    small = table["suppressed"].astype(bool)
    assert small.any()  # vavo has cells of a few pupils
    assert table.loc[small, ["n_persons", "observed", "oe", "roc_auc", "flag"]].isna().all().all()
    assert not table.loc[~small, "n_persons"].lt(10).any()


def test_pairs_only_where_every_cell_is_large_enough(planted):
    cohort, p = planted
    result = audit_predictions(cohort.iloc[:30_000], p[:30_000], n_boot=0, min_cell_size=500)
    pairs = result.table[result.table["characteristic"].str.contains(":")]
    for (sector, characteristic), block in pairs.groupby(["sector", "characteristic"]):
        assert block["n_persons"].min() >= 500, (sector, characteristic)
    assert any("urbanisation:wealth_group" in line for line in result.skipped)


def test_a_cohort_without_migration_background_is_audited_on_the_rest():
    frame = generate(3_000, seed=5).frame.drop(columns="migration_background")
    result = audit_predictions(frame, frame["p_true"], n_boot=0, min_cell_size=10**9)
    assert list(dict.fromkeys(result.table["characteristic"])) == ["gender", "urbanisation", "wealth_group"]


def _frame(**change):
    frame = generate(2_000, seed=6).frame
    return frame.assign(**change) if change else frame


@pytest.mark.parametrize(
    ("frame", "options", "error", "named"),
    [
        (lambda: _frame().drop(columns="vsv"), {}, SchemaError, "vsv"),
        (lambda: _frame().drop(columns="gender"), {}, SchemaError, "gender"),
        (_frame, {"top_share": 1.5}, ConfigError, "top_share"),
        (_frame, {"n_boot": -1}, ConfigError, "n_boot"),
        (_frame, {"reference": {"religion": "x"}}, ConfigError, "religion"),
        (_frame, {"reference": {"gender": "x"}}, ConfigError, "gender"),
        (_frame, {"p": np.full(10, 0.1)}, SchemaError, "p must"),
    ],
    ids=["a cohort without outcomes", "a cohort without gender", "a top share above one",
         "a negative number of bootstrap samples", "a reference for an unknown characteristic",
         "a reference level that does not occur", "risks of the wrong length"],
)
def test_bad_input_is_refused_with_its_name(frame, options, error, named):
    data = frame()
    p = options.pop("p", np.full(len(data), 0.05))
    options.setdefault("n_boot", 0)
    with pytest.raises(error, match=re.escape(named)):
        audit_predictions(data, p, **options)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    from vsvrisk.runs import train

    folder = tmp_path_factory.mktemp("audit_store")
    spec = yaml.safe_load((CONFIGS / "logistic.yaml").read_text())
    spec["data"]["synthetic_n_persons"] = 20_000
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        run = train(spec)
        yield folder, run.run_id


def test_audit_run_is_byte_identical_and_holds_no_person_rows(trained_run, monkeypatch):
    folder, run_id = trained_run
    monkeypatch.chdir(folder)
    first = audit_run(run_id, folder / "first", n_boot=3)
    second = audit_run(run_id, folder / "second", n_boot=3)
    assert sorted(p.name for p in first.iterdir()) == ["audit.csv", "audit.html", "manifest.json"]
    for name in ("audit.csv", "audit.html"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert not re.search(rb"20\d\d-\d{8}", (first / "audit.csv").read_bytes())  # no person ids
    table = pd.read_csv(first / "audit.csv")
    assert {"oe_ratio", "roc_auc_low", "flag", "suppressed"} <= set(table.columns)
    with pytest.raises(OutputExistsError):
        audit_run(run_id, first)
