"""MLFLOW_TRACKING_URI points vsvrisk at a tracking server: train, promote and compare against one.

The test starts ``mlflow server`` on 127.0.0.1 (a free port, its own SQLite file and artifact
folder), waits for it a bounded time, and always stops it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import mlflow
import pytest
import yaml

from vsvrisk.cli import main

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
STARTUP_SECONDS = 90


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)  # the server and the workers it started, nothing else
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("server")
    port = _free_port()
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
               "--backend-store-uri", f"sqlite:///{folder / 'server.db'}",
               "--artifacts-destination", str(folder / "artifacts")]
    log = open(folder / "server.log", "w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=folder)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not start: {(folder / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield url, folder
    finally:
        _stop(process)
        log.close()


def test_train_promote_and_compare_against_a_tracking_server(server, tmp_path, monkeypatch, capsys):
    url, server_folder = server
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    spec = yaml.safe_load((CONFIGS / "logistic.yaml").read_text())
    spec["data"]["synthetic_n_persons"] = 10_000
    config = tmp_path / "logistic.yaml"
    config.write_text(yaml.safe_dump(spec))
    assert main(["train", "--config", str(config), "--experiment", "served"]) == 0
    mlflow.set_tracking_uri(url)
    (run,) = mlflow.search_runs(experiment_names=["served"], output_format="list")
    assert run.info.status == "FINISHED"
    assert {i.dataset.name for i in run.inputs.dataset_inputs} == {"cohort 2018/19", "cohort 2019/20"}
    assert main(["promote", "--run", run.info.run_id, "--alias", "champion"]) == 0
    model = mlflow.pyfunc.load_model("models:/vsvrisk-logistic-all@champion")
    assert model.metadata.run_id == run.info.run_id
    assert main(["compare", "--experiment", "served", "--n-boot", "20", "--out", str(tmp_path / "compare")]) == 0
    assert "only one run on this cohort" in capsys.readouterr().out
    # Nothing landed beside the working directory: the server holds the runs and the artifacts.
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "mlruns").exists()
    assert list((server_folder / "artifacts").rglob("MLmodel"))
