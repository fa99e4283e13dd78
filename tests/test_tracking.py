"""Training runs land in the MLflow store with their metrics, and no person-level rows."""

from __future__ import annotations

import re
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml

from vsvrisk.cli import main

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def _small_config(name: str, folder: Path) -> Path:
    spec = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
    spec["data"]["synthetic_n_persons"] = 20_000
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("store")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        for name in ("logistic", "lightgbm"):
            assert main(["train", "--config", str(_small_config(name, folder))]) == 0
        assert main(["compare", "--out", str(folder / "compare")]) == 0
        mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
        runs = mlflow.search_runs(experiment_names=["vsvrisk"])
    return folder, runs


def test_both_runs_are_recorded_with_their_metrics(store):
    _, runs = store
    assert sorted(runs["tags.learner"]) == ["lightgbm", "logistic"]
    assert (runs["status"] == "FINISHED").all()
    for column in ("metrics.vo_roc_auc", "metrics.mbo_brier", "metrics.mbo_calibration_slope", "metrics.need_share_l1"):
        assert runs[column].between(0, 2).all(), column


def test_artifacts_hold_plots_tables_and_the_model(store):
    folder, runs = store
    logistic = runs.loc[runs["tags.learner"] == "logistic", "run_id"].item()
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
