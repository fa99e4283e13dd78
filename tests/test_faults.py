"""Faults: interrupts leave no partial output and a FAILED run; concurrent runs; broken files."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from vsvrisk.cli import main

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def _spec(folder: Path, name: str, n_persons: int) -> Path:
    spec = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
    spec["data"]["synthetic_n_persons"] = n_persons
    path = folder / f"{name}-{n_persons}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _vsvrisk(folder: Path, *arguments: str) -> subprocess.Popen:
    # MLflow exports the URI of the last store an in-process run used; the child must find
    # the store of its own working directory.
    environment = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    return subprocess.Popen([sys.executable, "-m", "vsvrisk.cli", *arguments], cwd=folder, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _statuses(folder: Path) -> list[str]:
    database = folder / "mlflow.db"
    if not database.exists():
        return []
    try:
        with sqlite3.connect(database, timeout=1) as connection:
            return [row[0] for row in connection.execute("select status from runs")]
    except sqlite3.OperationalError:  # tables not made yet
        return []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "a kill (SIGTERM)"])
def test_an_interrupted_training_marks_its_run_failed(tmp_path, signum):
    process = _vsvrisk(tmp_path, "train", "--config", str(_spec(tmp_path, "lightgbm", 300_000)))
    deadline = time.monotonic() + 120
    while "RUNNING" not in _statuses(tmp_path):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the run never started"
        time.sleep(0.2)
    time.sleep(1.0)  # well inside the fit
    process.send_signal(signum)
    _, error = process.communicate(timeout=120)
    assert process.returncode == 130
    assert error.strip().splitlines()[-1] == "error: interrupted; no output was written"
    assert _statuses(tmp_path) == ["FAILED"]


def test_an_interrupted_allocation_leaves_no_output_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    from vsvrisk.runs import train

    run_id = train(_spec(tmp_path, "logistic", 20_000)).run_id
    config = yaml.safe_load((CONFIGS / "allocation-2026.yaml").read_text())
    config["n_model_refits"] = 200  # slow on purpose: the signal lands in the refits
    (tmp_path / "allocation.yaml").write_text(yaml.safe_dump(config))
    process = _vsvrisk(tmp_path, "allocate", "--config", "allocation.yaml", "--run", run_id, "--out", "report")
    time.sleep(8)
    assert process.poll() is None, process.communicate()
    process.send_signal(signal.SIGTERM)
    _, error = process.communicate(timeout=60)
    assert process.returncode == 130, error
    assert not (tmp_path / "report").exists()
    assert not list(tmp_path.glob(".report*"))


def test_two_trainings_at_once_on_one_new_store_are_both_recorded(tmp_path):
    processes = [_vsvrisk(tmp_path, "train", "--config", str(_spec(tmp_path, name, 20_000)))
                 for name in ("logistic", "lightgbm")]
    for process in processes:
        _, error = process.communicate(timeout=300)
        assert process.returncode == 0, error
    assert sorted(_statuses(tmp_path)) == ["FINISHED", "FINISHED"]


@pytest.mark.parametrize("keep", [0.5, 0.05], ids=["a parquet cut in half", "a parquet cut to its start"])
def test_a_truncated_parquet_file_is_one_line_and_exit_two(tmp_path, capsys, keep):
    assert main(["synth", "--n-persons", "2000", "--school-years", "2018", "2019", "--out", str(tmp_path / "whole.parquet")]) == 0
    data = (tmp_path / "whole.parquet").read_bytes()
    (tmp_path / "cut.parquet").write_bytes(data[: int(len(data) * keep)])
    capsys.readouterr()
    assert main(["train", "--config", str(_spec(tmp_path, "logistic", 2000)), "--data", str(tmp_path / "cut.parquet")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "\n" not in error and "cut.parquet" in error
