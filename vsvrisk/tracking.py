"""MLflow glue: where runs go, how a run ends, what may be logged, and how runs relate.

The store is a local SQLite file by default (``sqlite:///mlflow.db`` in the working directory,
artifacts under ``mlruns/``), or whatever ``MLFLOW_TRACKING_URI`` says (a tracking server,
``http://host:5000``). Person-level rows never go into MLflow: every table passes
:func:`vsvrisk.report.assert_no_person_rows` first, and a cohort is logged as an MLflow
dataset by its name, digest, source, schema and row count only (:func:`log_cohort`).

How runs relate, as MLflow's UI shows it:

- a training run (``vsvrisk train``, tag ``vsvrisk_kind=train``) holds the spec, the metrics,
  the plots, the model and its cohorts (the UI's Datasets column); its duration is training's;
- explain, allocate, audit and card of a model are child runs of its training run
  (:func:`child_run`: tag ``mlflow.parentRunId``), so the training run is never reopened;
- every training run registers its model as a version of ``vsvrisk-<spec name>``; an alias
  (``vsvrisk promote --run RUN --alias champion``) names the version to use, and
  ``models:/vsvrisk-<name>@champion`` finds it (:func:`resolve_model`).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vsvrisk._local_store import run_in_sqlite_store
from vsvrisk._store_template import copy_empty_store
from vsvrisk.exceptions import ConfigError

if TYPE_CHECKING:  # this module imports MLflow and pandas only where it uses them: see refuse_unknown_run
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
    "refuse_unknown_run",
    "load_model",
    "load_spec",
    "log_cohort",
    "child_run",
    "child_runs",
    "registered_model_name",
    "register_model",
    "promote",
    "resolve_model",
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
        copy_empty_store(database)  # a new store: copied, not migrated from MLflow's first schema
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


def _run_not_found(run_id: str) -> ConfigError:
    return ConfigError(f"run '{run_id}' not found in the MLflow store {tracking_uri()}: "
                       "list runs with 'vsvrisk compare' or set MLFLOW_TRACKING_URI")


def refuse_unknown_run(run_id: str) -> None:
    """Raise :func:`load_run`'s one-line error at once when the store certainly lacks the run.

    A local SQLite store (the default) is read with the standard library, without importing
    MLflow (seconds), so that a mistyped id is answered in a blink; for any other store, or a
    file that cannot be read as one, nothing is decided here and MLflow looks later.

    Examples
    --------
    >>> import os
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"MLFLOW_TRACKING_URI": "sqlite:////nowhere/mlflow.db"}):
    ...     refuse_unknown_run("3ffaa558")
    Traceback (most recent call last):
    vsvrisk.exceptions.ConfigError: run '3ffaa558' not found in the MLflow store sqlite:////nowhere/mlflow.db: list runs with 'vsvrisk compare' or set MLFLOW_TRACKING_URI
    """
    if run_in_sqlite_store(tracking_uri(), run_id) is False:
        raise _run_not_found(run_id)


def load_run(run_id: str):
    """Fetch a run by id, with a one-line error when it does not exist in the store."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    refuse_unknown_run(run_id)
    configure()
    try:
        return MlflowClient().get_run(run_id)
    except MlflowException:
        raise _run_not_found(run_id) from None


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


def log_cohort(cohort: pd.DataFrame, *, context: str, school_year: int, source: dict, sha256: str) -> None:
    """Log a cohort to the active run as an MLflow dataset: name, digest, source, schema, no rows.

    See :func:`vsvrisk._cohort_dataset.log_cohort` (imported on use: it imports MLflow).
    """
    from vsvrisk import _cohort_dataset

    # MLflow inserts a dataset row unless one with that name and digest exists; two trainings
    # on the same cohort at once both find none and the second insert breaks the store's unique
    # key. On a local store the check and the insert happen under the store's lock.
    uri = tracking_uri()
    lock = _store_lock(Path(uri.removeprefix("sqlite:///"))) if uri.startswith("sqlite:///") else nullcontext()
    with lock:
        _cohort_dataset.log_cohort(cohort, context=context, school_year=school_year, source=source, sha256=sha256)


@contextmanager
def child_run(parent_run_id: str, kind: str, *, tags: dict | None = None) -> Iterator[str]:
    """A run under a training run (``explain``, ``allocate``, ``audit``, ``card``); yields its id.

    The child ends FINISHED, or FAILED on any error; the training run itself is not reopened,
    so its status, end time and duration stay those of training.
    """
    from mlflow import MlflowClient
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    parent = load_run(parent_run_id)
    name = f"{kind} of {parent.data.tags.get('mlflow.runName', parent_run_id[:8])}"
    client = MlflowClient()
    run = client.create_run(parent.info.experiment_id, run_name=name,
                            tags={MLFLOW_PARENT_RUN_ID: parent_run_id, "vsvrisk_kind": kind, **(tags or {})})
    try:
        yield run.info.run_id
    except BaseException:
        client.set_terminated(run.info.run_id, "FAILED")
        raise
    client.set_terminated(run.info.run_id, "FINISHED")


def child_runs(parent_run_id: str, kind: str | None = None) -> list:
    """The finished child runs of a run (of one kind), newest first."""
    from mlflow import MlflowClient

    parent = load_run(parent_run_id)
    query = f"tags.mlflow.parentRunId = '{parent_run_id}' and attributes.status = 'FINISHED'"
    if kind is not None:
        query += f" and tags.vsvrisk_kind = '{kind}'"
    return MlflowClient().search_runs([parent.info.experiment_id], filter_string=query,
                                      order_by=["attributes.start_time DESC"])


def registered_model_name(spec_name: str) -> str:
    """The registered model of a config: ``vsvrisk-<spec name>`` (characters MLflow allows)."""
    import re

    return "vsvrisk-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", spec_name).strip("-")


def register_model(run_id: str, model_uri: str, spec_name: str, description: str = "") -> str:
    """Register a run's logged model as a new version of ``vsvrisk-<spec name>``; its version.

    Through the client (quietly: ``mlflow.register_model`` prints to the terminal); the
    registered model is created on first use with the spec's description.
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    name = registered_model_name(spec_name)
    try:
        client.get_registered_model(name)
    except MlflowException:
        try:
            client.create_registered_model(name, description=description or None)
        except MlflowException:  # another process created it in the meantime
            client.get_registered_model(name)
    model_id = model_uri.removeprefix("models:/") if model_uri.startswith("models:/m-") else None
    return str(client.create_model_version(name, source=model_uri, run_id=run_id, model_id=model_id).version)


def promote(run_id: str, alias: str) -> tuple[str, str]:
    """Point ``alias`` of the run's registered model at the run's version (registering it if needed).

    Returns
    -------
    (name, version)
        The registered model and the version the alias now names.
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    run = load_run(run_id)
    if "learner" not in run.data.tags:
        raise ConfigError(f"--run {run_id}: not a training run: pass the id 'vsvrisk train' printed")
    spec = load_spec(run_id)
    name = registered_model_name(spec.name)
    client = MlflowClient()
    try:
        versions = [v for v in client.search_model_versions(f"name = '{name}'") if v.run_id == run_id]
        version = versions[0].version if versions else register_model(run_id, f"runs:/{run_id}/model", spec.name,
                                                                      spec.description)
        client.set_registered_model_alias(name, alias, version)
    except MlflowException as error:
        raise ConfigError(f"--alias {alias}: {str(error).splitlines()[0]}") from None
    return name, str(version)


def resolve_model(uri: str) -> tuple[str, str]:
    """The training run behind a registered model URI (``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``).

    Returns
    -------
    (run_id, uri)
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    configure()
    body = uri.removeprefix("models:/")
    if body == uri or not body:
        raise ConfigError(f"--model {uri}: expected models:/NAME@ALIAS or models:/NAME/VERSION, "
                          "e.g. models:/vsvrisk-lightgbm@champion")
    client = MlflowClient()
    try:
        if "@" in body:
            name, alias = body.split("@", 1)
            version = client.get_model_version_by_alias(name, alias)
        else:
            name, _, number = body.rpartition("/")
            version = client.get_model_version(name, number)
    except MlflowException as error:
        raise ConfigError(f"--model {uri}: not found in {tracking_uri()} ({str(error).splitlines()[0]}); "
                          "promote a run first: vsvrisk promote --run RUN_ID --alias champion") from None
    if not version.run_id:
        raise ConfigError(f"--model {uri}: the version has no training run to take its cohort from")
    return version.run_id, uri
