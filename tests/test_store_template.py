"""A new SQLite store is a copy of MLflow's empty store, and works as one MLflow set up itself."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.store.db.utils import _get_latest_schema_revision

from vsvrisk import tracking
from vsvrisk._store_template import copy_empty_store


def _revision(database) -> str:
    with sqlite3.connect(database) as connection:
        return connection.execute("select version_num from alembic_version").fetchone()[0]


def _use_store(folder, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{folder / 'mlflow.db'}")
    with tracking.tracked_run("template", experiment="copied"):
        tracking.log_table(pd.DataFrame({"region_code": [1], "need": [0.5]}).set_index("region_code"),
                           "tables/need.csv")


def test_a_new_store_is_copied_from_the_cached_empty_store_and_keeps_its_own_artifacts(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.chdir(tmp_path)  # MLflow puts the Default experiment's artifacts under the working folder
    monkeypatch.setenv("VSVRISK_CACHE_DIR", str(cache))
    first, second = tmp_path / "first", tmp_path / "second"
    _use_store(first, monkeypatch)
    (template,) = cache.glob("mlflow-*-empty-store.db")
    assert mlflow.__version__ in template.name
    # The empty store is at MLflow's newest schema and holds no experiment: MLflow creates the
    # Default one in each copy, with that copy's artifact folder.
    assert _revision(template) == _get_latest_schema_revision()
    with sqlite3.connect(template) as connection:
        assert connection.execute("select count(*) from experiments").fetchone()[0] == 0
    _use_store(second, monkeypatch)
    assert _revision(second / "mlflow.db") == _get_latest_schema_revision()
    assert list((second / "mlruns").rglob("need.csv")) and list((first / "mlruns").rglob("need.csv"))
    client = mlflow.MlflowClient(f"sqlite:///{second / 'mlflow.db'}")
    assert str(second) in client.get_experiment_by_name("copied").artifact_location


def test_an_existing_store_is_never_overwritten(tmp_path, monkeypatch):
    monkeypatch.setenv("VSVRISK_CACHE_DIR", str(tmp_path / "cache"))
    database = tmp_path / "mlflow.db"
    database.write_bytes(b"not empty")
    assert copy_empty_store(database) is False
    assert database.read_bytes() == b"not empty"


def test_without_a_writable_cache_mlflow_sets_the_store_up_itself(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setenv("VSVRISK_CACHE_DIR", str(blocked / "cache"))  # a folder inside a file: cannot exist
    assert copy_empty_store(tmp_path / "store" / "mlflow.db") is False
    assert not (tmp_path / "store" / "mlflow.db").exists()
    _use_store(tmp_path / "store", monkeypatch)
    assert _revision(tmp_path / "store" / "mlflow.db") == _get_latest_schema_revision()


def test_a_reader_never_sees_half_a_store(tmp_path, monkeypatch):
    # The copy is written beside the store and moved into place: while its bytes are written the
    # store's own path does not exist, and a copy that fails midway leaves nothing behind
    # (test_faults once read a half-copied store: "database disk image is malformed").
    import shutil

    monkeypatch.setenv("VSVRISK_CACHE_DIR", str(tmp_path / "cache"))
    copy, half_written = shutil.copyfile, []

    def half_then_full(source, destination):
        with open(destination, "wb") as target:
            target.write(Path(source).read_bytes()[:100])
        half_written.append(database.exists())  # what a reader would find now
        return copy(source, destination)

    database = tmp_path / "store" / "mlflow.db"
    _ = copy_empty_store(tmp_path / "warm" / "mlflow.db")  # the cached template exists from here on
    monkeypatch.setattr(shutil, "copyfile", half_then_full)
    assert copy_empty_store(database) is True
    assert half_written == [False] and _revision(database) == _get_latest_schema_revision()

    def broken(source, destination):
        with open(destination, "wb") as target:
            target.write(Path(source).read_bytes()[:100])
        raise OSError("disk full")

    monkeypatch.setattr(shutil, "copyfile", broken)
    database = tmp_path / "other" / "mlflow.db"
    assert copy_empty_store(database) is False
    assert list(database.parent.iterdir()) == []
