"""Training runs land in the MLflow store with their metrics, and no person-level rows."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml

from vsvrisk import runs as runs_module
from vsvrisk import tracking
from vsvrisk._local_store import run_in_sqlite_store
from vsvrisk.cli import main
from vsvrisk.exceptions import ConfigError

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def _small_config(config: str, folder: Path, **changes) -> Path:
    spec = yaml.safe_load((CONFIGS / f"{config}.yaml").read_text())
    spec["data"]["synthetic_n_persons"] = 20_000
    spec.update(changes)
    path = folder / f"{changes.get('name', config)}-{changes.get('seed', 0)}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Four runs on one cohort, compared: logistic, LightGBM, and a recalibrated logistic model
    fitted twice, with seeds 0 and 1 (the seed picks the calibration split)."""
    folder = tmp_path_factory.mktemp("store")
    calibrated = {"name": "logistic-sigmoid", "calibration": "sigmoid"}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        # First, a run evaluated on another cohort (2017/18): compare leaves it out.
        other = {"name": "logistic-2017", "data": {"train_year": 2018, "eval_year": 2017, "synthetic_n_persons": 20_000}}
        for name, changes in (("logistic", other), ("logistic", {}), ("lightgbm", {}),
                              ("logistic", {**calibrated, "seed": 0}), ("logistic", {**calibrated, "seed": 1})):
            assert main(["train", "--config", str(_small_config(name, folder, **changes))]) == 0
        assert main(["compare", "--out", str(folder / "compare"), "--n-boot", "200"]) == 0
        mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
        runs = mlflow.search_runs(experiment_names=["vsvrisk"])
    return folder, runs


@pytest.fixture
def in_store(store, monkeypatch):
    """Work in the store's folder, on its SQLite file (other tests point MLflow elsewhere)."""
    folder, runs = store
    monkeypatch.chdir(folder)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    return folder, runs


def _training(runs: pd.DataFrame, name: str, seed: str = "0") -> str:
    return runs.loc[(runs["tags.mlflow.runName"] == name) & (runs["params.seed"] == seed), "run_id"].item()


def test_the_runs_are_recorded_with_their_metrics(store):
    _, runs = store
    assert sorted(runs["tags.learner"]) == ["lightgbm", "logistic", "logistic", "logistic", "logistic"]
    assert (runs["status"] == "FINISHED").all()
    for column in ("metrics.vo_roc_auc", "metrics.mbo_brier", "metrics.mbo_calibration_slope", "metrics.need_share_l1"):
        assert runs[column].between(0, 2).all(), column


def test_artifacts_hold_plots_tables_and_the_model(store):
    folder, runs = store
    logistic = _training(runs, "logistic-all")
    names = {p.name for p in (folder / "mlruns").rglob("*") if p.is_file()}
    assert {"calibration.png", "roc.png", "regional_oe.png", "odds_ratios.csv", "spec.json"} <= names
    model = mlflow.sklearn.load_model(f"runs:/{logistic}/model")
    assert set(model.models_) == {"vo", "mbo"}
    assert (folder / "compare" / "compare.html").is_file()


def test_no_person_id_anywhere_in_the_store(store):
    folder, _ = store
    person_id = re.compile(rb"20\d\d-\d{8}")  # the synthetic generator's person ids
    scanned = 0
    for path in [folder / "mlflow.db", *(folder / "mlruns").rglob("*")]:
        if path.is_file():
            scanned += 1
            assert not person_id.search(path.read_bytes()), path
    assert scanned > 10


def test_a_store_in_another_folder_keeps_its_artifacts_beside_it(tmp_path, monkeypatch):
    from vsvrisk import tracking

    store, elsewhere = tmp_path / "store", tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store / 'mlflow.db'}")
    with tracking.tracked_run("artifact-home", experiment="elsewhere"):
        tracking.log_table(pd.DataFrame({"region_code": [1], "need": [0.5]}).set_index("region_code"),
                           "tables/need.csv")
    assert list((store / "mlruns").rglob("need.csv")), "artifacts belong beside the store"
    assert not (elsewhere / "mlruns").exists()


def test_runs_differing_only_in_seed_show_no_detectable_auc_difference(store):
    folder, runs = store
    differences = pd.read_csv(folder / "compare" / "differences.csv")
    seeds = differences[differences["model_a"].str.startswith("logistic-sigmoid")
                        & differences["model_b"].str.startswith("logistic-sigmoid")]
    auc = seeds[seeds["measure"] == "roc_auc"]
    assert set(auc["sector"]) >= {"vo", "mbo", "all"}
    assert not auc["detectable"].any(), auc
    assert ((auc["low"] < 0) & (auc["high"] > 0)).all()
    assert (seeds["difference"] != 0).any(), "the two seeds gave two different models"
    # The comparison's own scores agree with what each training run logged (same persons, same model).
    scores = pd.read_csv(folder / "compare" / "scores.csv")
    logistic = runs[runs["tags.mlflow.runName"] == "logistic-all"].iloc[0]
    mbo = scores[(scores["model"] == "logistic-all") & (scores["sector"] == "mbo")].iloc[0]
    assert mbo["roc_auc"] == pytest.approx(logistic["metrics.mbo_roc_auc"], abs=1e-9)
    page = (folder / "compare" / "compare.html").read_text(encoding="utf-8")
    assert page.index("In one line per pair") < page.index("vo (secondary)") < page.index("Glossary")
    assert "no detectable difference in AUC" in page and "need_share_l1" not in page
    manifest = json.loads((folder / "compare" / "manifest.json").read_text())
    assert len(manifest["extra"]["runs"]) == 4 and manifest["extra"]["cohort"]["n_persons"] == 20_000
    (left_out,) = manifest["extra"]["left_out"]
    assert left_out.startswith("logistic-2017") and "another cohort" in left_out


def test_training_runs_carry_their_cohorts_as_datasets_and_a_description(in_store):
    found = mlflow.search_runs(experiment_names=["vsvrisk"], output_format="list",
                               filter_string="tags.vsvrisk_kind = 'train' and params.data.eval_year = '2019'")
    assert len(found) == 4
    for run in found:
        inputs = {i.tags[0].value: i.dataset for i in run.inputs.dataset_inputs}
        assert set(inputs) == {"training", "evaluation"}
        assert inputs["evaluation"].name == "cohort 2019/20" and inputs["training"].name == "cohort 2018/19"
        assert inputs["evaluation"].digest == run.data.tags["eval_cohort_sha256"][:12]
        assert json.loads(inputs["evaluation"].profile) == {"num_rows": 20_000, "school_year": 2019}
        assert "region_code" in inputs["evaluation"].schema and "person_id" in inputs["evaluation"].schema
        assert run.data.tags["mlflow.note.content"].startswith(f"**{run.data.tags['mlflow.runName']}**")
        assert "fitted on 2018/2019, evaluated out of time on 2019/2020" in run.data.tags["mlflow.note.content"]
    # Same cohort, same dataset: the runs share the digest.
    assert len({run.data.tags["eval_cohort_sha256"] for run in found}) == 1


def test_a_promoted_model_scores_a_cohort_through_pyfunc_and_allocates(in_store, small_population):
    folder, runs = in_store
    lightgbm = _training(runs, "lightgbm")
    assert main(["promote", "--run", lightgbm, "--alias", "champion"]) == 0
    cohort = small_population.frame[small_population.frame["school_year"] == 2019]
    model = mlflow.pyfunc.load_model("models:/vsvrisk-lightgbm@champion")
    risk = model.predict(cohort)[:, 1]
    expected = runs_module.load_model(lightgbm).predict_risk(cohort).to_numpy()
    np.testing.assert_allclose(risk, expected, rtol=0, atol=0)
    assert 0.5 < risk.sum() / cohort["p_true_features"].sum() < 2  # scores on the scale of the truth

    settings = yaml.safe_load((CONFIGS / "allocation-2026.yaml").read_text())
    settings.update(n_bootstrap=20, previous=None)
    config = folder / "allocation.yaml"
    config.write_text(yaml.safe_dump(settings))
    training = mlflow.get_run(lightgbm).info
    assert main(["allocate", "--config", str(config), "--model", "models:/vsvrisk-lightgbm@champion",
                 "--out", str(folder / "allocation")]) == 0
    manifest = json.loads((folder / "allocation" / "manifest.json").read_text())
    assert manifest["model_run_id"] == lightgbm
    assert manifest["extra"]["model_uri"] == "models:/vsvrisk-lightgbm@champion"
    children = tracking.child_runs(lightgbm, "allocate")
    assert len(children) == 1 and children[0].data.tags["mlflow.parentRunId"] == lightgbm
    after = mlflow.get_run(lightgbm).info
    assert (after.status, after.end_time) == (training.status, training.end_time)  # training's duration kept


def test_an_audit_and_a_card_are_child_runs_and_the_card_finds_the_audit(in_store):
    from vsvrisk.runs import audit_run, card_run

    folder, runs = in_store
    logistic = _training(runs, "logistic-all")
    before = mlflow.get_run(logistic).info
    audit_run(logistic, folder / "audit", n_boot=0)
    card = card_run(logistic, folder / "card")
    assert "No fairness audit was found" not in (card / "card.yaml").read_text(encoding="utf-8")
    kinds = sorted(run.data.tags["vsvrisk_kind"] for run in tracking.child_runs(logistic))
    assert kinds == ["audit", "card"]
    assert mlflow.get_run(logistic).info.end_time == before.end_time
    assert not mlflow.MlflowClient().list_artifacts(logistic, "audit")


@pytest.mark.parametrize(("argv", "named"), [
    (["promote", "--run", "0123456789abcdef"], "0123456789abcdef"),
    (["allocate", "--config", str(CONFIGS / "allocation-2026.yaml"), "--model", "vsvrisk-lightgbm@champion",
      "--out", "x"], "models:/NAME@ALIAS"),
    (["allocate", "--config", str(CONFIGS / "allocation-2026.yaml"), "--model", "models:/vsvrisk-nothing@champion",
      "--out", "x"], "vsvrisk promote"),
    (["compare", "--run", "0123456789abcdef"], "0123456789abcdef"),
    (["compare", "--run", "logistic-all", "--run", "logistic-2017"], "different cohorts"),
], ids=["promote names an unknown run", "allocate --model wants a models:/ URI",
        "allocate --model says how to make an alias", "compare names an unknown run",
        "compare refuses runs evaluated on different cohorts"])
def test_bad_model_references_are_one_line_errors(in_store, capsys, argv, named):
    folder, runs = in_store
    names = dict(zip(runs["tags.mlflow.runName"], runs["run_id"]))  # run names in argv stand for their ids
    assert main([names.get(word, word) for word in argv]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and named in error and len(error.strip().splitlines()) == 1
    assert not (folder / "x").exists()


def test_the_sqlite_look_up_finds_every_run_mlflow_finds_and_refuses_only_absent_ones(in_store, monkeypatch):
    folder, _ = in_store
    client = mlflow.MlflowClient()
    every = [run.info.run_id for experiment in client.search_experiments()
             for run in client.search_runs([experiment.experiment_id])]  # training runs and their child runs
    assert len(every) >= 6
    for run_id in every:
        assert run_in_sqlite_store(tracking.tracking_uri(), run_id) is True
        tracking.refuse_unknown_run(run_id)  # no error
        assert tracking.load_run(run_id).info.run_id == run_id
    for absent in ("0123456789abcdef", every[0][:8], every[0].upper()):  # a prefix or another case is not the id
        assert run_in_sqlite_store(tracking.tracking_uri(), absent) is False
        with pytest.raises(mlflow.exceptions.MlflowException):
            client.get_run(absent)  # MLflow does not find it either
        with pytest.raises(ConfigError, match="not found in the MLflow store"):
            tracking.refuse_unknown_run(absent)
    # The same store named by a relative URI, as MLFLOW_TRACKING_URI may give it.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db")
    assert run_in_sqlite_store(tracking.tracking_uri(), every[0]) is True


def test_other_stores_and_files_that_are_not_mlflow_stores_are_left_to_mlflow(tmp_path):
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as database:
        database.execute("CREATE TABLE experiments (name TEXT)")
    for uri in (f"sqlite:///{other}", "http://127.0.0.1:5000", f"file://{tmp_path}/mlruns", str(tmp_path),
                f"sqlite:///{tmp_path}/store.db?timeout=5", "sqlite://"):
        assert run_in_sqlite_store(uri, "0123456789abcdef") is None, uri
    assert run_in_sqlite_store(f"sqlite:///{tmp_path}/none.db", "0123456789abcdef") is False
    assert not (tmp_path / "none.db").exists()  # looking creates nothing


_CI_VARIABLES = ("PYTEST_CURRENT_TEST", "CI", "GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_URL", "MLFLOW_DISABLE_TELEMETRY",
                 "DO_NOT_TRACK")


@pytest.mark.parametrize("order, chosen, sends", [
    ("vsvrisk, mlflow", None, False),
    ("mlflow, vsvrisk", None, False),  # mlflow first: its usage reports were on, and are turned off
    ("vsvrisk, mlflow", "false", True),  # the user's own choice stands
])
def test_mlflow_sends_no_usage_reports_unless_the_user_chose_it(order, chosen, sends):
    # MLflow turns its reports off in CI and under pytest by itself: a clean environment here.
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in _CI_VARIABLES}
    if chosen is not None:
        env["MLFLOW_DISABLE_TELEMETRY"] = chosen
    code = (f"import {order}; from mlflow.telemetry import get_telemetry_client; "
            "print(get_telemetry_client() is not None, os.environ['MLFLOW_DISABLE_TELEMETRY'])")
    done = subprocess.run([sys.executable, "-c", "import os; " + code], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(sends), chosen or "true"]
