"""MLflow glue: where runs go, how a run ends, what may be logged.

The store is a local SQLite file by default (``sqlite:///mlflow.db`` in the working directory,
artifacts under ``mlruns/``), or whatever ``MLFLOW_TRACKING_URI`` says. Person-level rows never
go into MLflow: every table passes :func:`vsvrisk.report.assert_no_person_rows` first.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "DEFAULT_EXPERIMENT",
    "tracking_uri",
    "configure",
    "experiment_id",
    "tracked_run",
    "log_table",
    "log_figure",
    "load_run",
    "load_model",
    "load_spec",
]

DEFAULT_EXPERIMENT = "vsvrisk"


def tracking_uri() -> str:
    """The tracking URI: ``MLFLOW_TRACKING_URI`` or ``sqlite:///mlflow.db`` in the working dir."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlflow.db'}"


def configure() -> str:
    """Point MLflow at the store explicitly (current MLflow refuses implicit file stores)."""
    import mlflow

    # Progress bars of artifact downloads and the store's set-up notes would garble the CLI's
    # output (an error must be one line); the pickle notice is known: DESIGN section 10 chose
    # cloudpickle because the skops format fails on a ColumnTransformer.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for name, level in (("mlflow", logging.WARNING), ("alembic", logging.WARNING), ("mlflow.sklearn", logging.ERROR)):
        logging.getLogger(name).setLevel(level)
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    if uri.startswith("sqlite:///"):
        _initialise_sqlite_store(Path(uri.removeprefix("sqlite:///")))
    return uri


@contextmanager
def _store_lock(database: Path) -> Iterator[None]:
    """An exclusive lock beside the SQLite file, held while the store is set up."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no concurrent runs to guard
        yield
        return
    database.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{database}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_initialised: set[str] = set()


def _initialise_sqlite_store(database: Path) -> None:
    # MLflow creates its tables on first contact; two processes doing that at once on a new
    # SQLite file collide ("table ... already exists"). Creating them under a file lock makes
    # concurrent `vsvrisk train` runs on one store safe; later writes use SQLite's own locking.
    key = str(database)
    if key in _initialised:
        return
    from mlflow import MlflowClient

    with _store_lock(database):
        MlflowClient().search_experiments(max_results=1)
    _initialised.add(key)


def experiment_id(name: str = DEFAULT_EXPERIMENT) -> str:
    """Id of an experiment, created with artifacts in ``mlruns/`` beside the SQLite store when it
    does not exist (so a store in another folder keeps its artifacts with it)."""
    from mlflow import MlflowClient

    uri = configure()
    client = MlflowClient()
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    if not uri.startswith("sqlite:///"):
        return client.create_experiment(name)
    database = Path(uri.removeprefix("sqlite:///"))
    with _store_lock(database):  # another process may be creating the same experiment
        experiment = client.get_experiment_by_name(name)
        if experiment is not None:
            return experiment.experiment_id
        return client.create_experiment(name, artifact_location=(database.parent / "mlruns").resolve().as_uri())


@contextmanager
def tracked_run(run_name: str, *, experiment: str = DEFAULT_EXPERIMENT, tags: dict | None = None) -> Iterator[Any]:
    """Start an MLflow run that ends FINISHED on success and FAILED on any error or Ctrl-C.

    Yields
    ------
    mlflow.ActiveRun
    """
    import mlflow

    eid = experiment_id(experiment)
    run = mlflow.start_run(experiment_id=eid, run_name=run_name, tags=tags)
    try:
        yield run
    except BaseException:
        mlflow.end_run(status="FAILED")
        raise
    mlflow.end_run(status="FINISHED")


def log_table(table: pd.DataFrame, artifact_file: str) -> None:
    """Log an aggregate table as a CSV artifact (refused if it holds person-level rows)."""
    import mlflow

    from vsvrisk.report import assert_no_person_rows

    assert_no_person_rows(table)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(artifact_file).name
        table.to_csv(path, index=table.index.name is not None)
        mlflow.log_artifact(str(path), artifact_path=str(Path(artifact_file).parent) if Path(artifact_file).parent != Path(".") else None)


def log_figure(figure, artifact_file: str) -> None:
    """Log a matplotlib figure as a PNG artifact and close it."""
    import matplotlib.pyplot as plt
    import mlflow

    mlflow.log_figure(figure, artifact_file)
    plt.close(figure)


def log_json(data: dict, artifact_file: str) -> None:
    """Log a JSON-ready mapping as an artifact."""
    import mlflow

    mlflow.log_text(json.dumps(data, indent=2, sort_keys=True, default=str), artifact_file)


def load_run(run_id: str):
    """Fetch a run by id, with a one-line error when it does not exist in the store."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from vsvrisk.exceptions import ConfigError

    configure()
    try:
        return MlflowClient().get_run(run_id)
    except MlflowException:
        raise ConfigError(
            f"run '{run_id}' not found in the MLflow store {tracking_uri()}: "
            "list runs with 'vsvrisk compare' or set MLFLOW_TRACKING_URI"
        ) from None


def load_model(run_id: str):
    """The fitted :class:`~vsvrisk.models.RiskModel` of a training run."""
    import mlflow.sklearn

    load_run(run_id)  # a clear error for an unknown id
    return mlflow.sklearn.load_model(f"runs:/{run_id}/model")


def load_spec(run_id: str):
    """The model spec a training run was made with (its ``spec.json`` artifact)."""
    import mlflow.artifacts

    from vsvrisk.models import load_model_spec

    load_run(run_id)
    return load_model_spec(mlflow.artifacts.load_dict(f"runs:/{run_id}/spec.json"))
