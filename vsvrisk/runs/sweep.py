"""Sweeps: ``vsvrisk sweep``, a grid or an Optuna search over model settings, tracked in MLflow.

Every trial fits one model spec on the training cohort and scores it out of time on the
evaluation cohort, exactly as ``vsvrisk train`` does; the objective is one of the metrics that
evaluation logs (:data:`OBJECTIVES`). The sweep is one MLflow parent run with a child run per
trial (``mlflow.parentRunId``); the best trial is tagged ``best_trial`` and its settings and
metrics are copied onto the parent (``best.*`` parameters, ``best_*`` metrics).

Why it is built this way:

- **joblib decides where trials run.** Trials go through :class:`joblib.Parallel` under
  ``joblib.parallel_config(backend=...)`` named in the config: ``loky`` (processes here, the
  default), ``dask`` (a Dask cluster: ``backend_options: {scheduler_host: ...}``) or ``ray``.
  vsvrisk schedules nothing itself.
- **The data are drawn or read once.** The frame is one argument shared by every trial of a
  batch: loky memory-maps its arrays, Dask scatters it to the workers once.
- **Workers compute, the parent logs.** A trial returns its metrics (a few numbers); only this
  process writes to MLflow, so a cluster needs no access to the store, and a SQLite store never
  sees concurrent writers. The child run keeps the trial's own start and end time.
- **Same config, same numbers, wherever it runs.** LightGBM's threads per trial are fixed by the
  config, Optuna asks for a batch of trials and hears the results in trial order, and ties go to
  the lower trial number: a sweep on a Dask cluster picks the same best trial as on a laptop.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pandas as pd

from vsvrisk import __version__
from vsvrisk.exceptions import ConfigError, VsvriskError
from vsvrisk.runs._sweep_config import OBJECTIVES, SweepConfig, apply_settings, load_sweep_config

__all__ = ["SweepResult", "sweep_run", "SweepConfig", "load_sweep_config", "OBJECTIVES"]

DEFAULT_EXPERIMENT = "vsvrisk-sweeps"


@dataclass
class SweepResult:
    """What a sweep found.

    Attributes
    ----------
    run_id : str
        The parent run.
    objective, direction : str
        The metric optimised and whether larger or smaller is better.
    best : dict
        The best trial: ``number``, ``run_id``, ``settings`` (dotted key -> value), ``value``.
    trials : DataFrame
        One row per trial: ``number``, ``run_id``, ``state`` (``FINISHED`` or ``FAILED``), the
        settings, ``duration_s``, every metric, and ``error`` for a failed trial.
    """

    run_id: str
    objective: str
    direction: str
    best: dict
    trials: pd.DataFrame


def _run_trial(number: int, settings: dict, spec: dict, frame: pd.DataFrame) -> dict:
    # Runs in a worker (a process, a thread, a Dask or Ray worker): no MLflow, no output, a
    # small picklable answer. A failing trial (a setting LightGBM refuses) is reported, not
    # raised, so that one bad corner of a search space does not cancel the other trials.
    from vsvrisk.evaluate.validation import out_of_time
    from vsvrisk.models import RiskModel

    start = time.time()
    answer = {"number": number, "settings": settings, "start": start}
    try:
        model = RiskModel.from_spec(spec)
        result = out_of_time(model, frame, spec["data"]["train_year"], spec["data"]["eval_year"], by_group=False)
        metrics = {key: float(value) for key, value in result.evaluation.metrics.items() if pd.notna(value)}
        if spec["learner"] == "lightgbm":  # trees kept by early stopping: part of the model's size
            for group in result.model.models_:
                learner = result.model.learner_of(group)
                metrics[f"{group}_n_trees"] = float(learner.best_iteration_ or learner.n_estimators)
        answer.update(state="FINISHED", metrics=metrics)
    except Exception as error:  # noqa: BLE001 - reported as a FAILED trial with its message
        answer.update(state="FAILED", metrics={}, error=" ".join(f"{type(error).__name__}: {error}".split()))
    answer["end"] = time.time()
    return answer


def _trial_spec(base: dict, settings: dict, config: SweepConfig, number: int) -> dict:
    spec = apply_settings(base, settings)
    spec["name"] = f"{config.name}-{number:03d}"
    params = spec.setdefault("params", {})
    if spec["learner"] == "lightgbm" and not {"n_jobs", "num_threads", "nthread"} & set(params):
        params["n_jobs"] = config.parallel.threads_per_trial
    return spec


def _backend(config: SweepConfig):
    """``joblib.parallel_config`` for the config's backend, with a one-line error when unusable."""
    import joblib

    backend, options = config.parallel.backend, config.parallel.backend_options
    if backend == "ray":
        try:
            from ray.util.joblib import register_ray
        except ImportError:
            raise ConfigError("parallel.backend ray: Ray is not installed: pip install ray, or choose another backend") from None
        register_ray()
    try:
        return joblib.parallel_config(backend=backend, n_jobs=config.parallel.n_jobs, **options)
    except (ValueError, TypeError, ImportError, OSError) as error:
        first = " ".join(str(error).split("\n\n")[0].split())
        if "create a Dask Client" in first:  # joblib found no running client and got no address
            first = ("no Dask cluster to run on: set parallel.backend_options.scheduler_host to its address "
                     "(e.g. tcp://10.0.0.5:8786), or start a distributed.Client in this process first")
        raise ConfigError(f"parallel.backend {backend}: {first}") from None


def _grid(config: SweepConfig) -> list[list[tuple[int, dict]]]:
    from sklearn.model_selection import ParameterGrid

    return [list(enumerate(ParameterGrid(config.grid)))]  # one batch: every combination at once


def _optuna_batches(config: SweepConfig, study, batch: int) -> Iterator[list[tuple[int, dict]]]:
    # Ask for a batch, run it in parallel, tell the results in trial order (the caller does),
    # then ask again: the same trials whatever the backend and however fast each worker is.
    distributions = {key: dimension.distribution() for key, dimension in config.space.items()}
    remaining = config.n_trials
    while remaining > 0:
        trials = [study.ask(distributions) for _ in range(min(batch, remaining))]
        remaining -= len(trials)
        yield [(trial.number, trial.params) for trial in trials]


def _tell(study, answer: dict, objective: str) -> None:
    from optuna.trial import TrialState

    value = answer["metrics"].get(objective)
    if value is None:
        study.tell(answer["number"], state=TrialState.FAIL)
    else:
        study.tell(answer["number"], value)


def _study(config: SweepConfig):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=config.seed) if config.sampler == "tpe" else optuna.samplers.RandomSampler(seed=config.seed)
    return optuna.create_study(direction=config.direction, sampler=sampler, study_name=config.name)


def _log_trial(client, experiment_id: str, parent_id: str, config: SweepConfig, answer: dict) -> str:
    from mlflow.entities import Metric, Param, RunTag

    run = client.create_run(
        experiment_id, start_time=int(answer["start"] * 1000), run_name=f"{config.name} trial {answer['number']}",
        tags={"mlflow.parentRunId": parent_id, "sweep": config.name, "trial_number": str(answer["number"]),
              "vsvrisk_version": __version__},
    )
    run_id = run.info.run_id
    stamp = int(answer["end"] * 1000)
    params = [Param(key, str(value)) for key, value in answer["settings"].items()]
    metrics = [Metric(key, value, stamp, 0) for key, value in answer["metrics"].items()]
    tags = [RunTag("error", answer["error"][:5000])] if "error" in answer else []
    client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
    client.set_terminated(run_id, status=answer["state"], end_time=stamp)
    return run_id


def _table(answers: list[dict], config: SweepConfig) -> pd.DataFrame:
    rows = [{"number": a["number"], "run_id": a["run_id"], "state": a["state"], **a["settings"],
             "duration_s": round(a["end"] - a["start"], 3), config.objective: a["metrics"].get(config.objective, math.nan),
             **{k: v for k, v in a["metrics"].items() if k != config.objective}, "error": a.get("error", "")}
            for a in answers]
    return pd.DataFrame(rows).sort_values("number", ignore_index=True)


def _best(table: pd.DataFrame, config: SweepConfig) -> pd.Series:
    finished = table[table["state"] == "FINISHED"]
    if finished.empty:
        raise VsvriskError(f"sweep {config.name}: every trial failed; the first: {table['error'].iloc[0]}")
    finished = finished[finished[config.objective].notna()]
    if finished.empty:
        raise ConfigError(f"sweep {config.name}: objective {config.objective} was not measured on these data "
                          "(the distances to the truth need a synthetic population): choose another objective")
    ascending = config.direction == "minimize"
    return finished.sort_values([config.objective, "number"], ascending=[ascending, True]).iloc[0]


def sweep_run(
    config,
    data: str | os.PathLike | None = None,
    *,
    experiment: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> SweepResult:
    """Run a sweep: one MLflow parent run, a child run per trial, the best trial marked.

    Parameters
    ----------
    config : SweepConfig, dict or path
        The sweep (``configs/sweep-*.yaml``): model spec, search, objective, backend.
    data : path, default=None
        A person-year file with both cohorts of the spec; ``None`` draws the spec's synthetic
        population. Either way it is read once and shared by every trial.
    experiment : str, default=None
        MLflow experiment (default ``vsvrisk-sweeps``).
    progress : callable, default=None
        Called with a short description as the sweep goes (the CLI shows it).

    Returns
    -------
    SweepResult

    Examples
    --------
    The shipped grid of trees x leaves (25 trials; at national size they take a while):

    >>> from vsvrisk.runs import load_sweep_config
    >>> sweep, spec = load_sweep_config("configs/sweep-model-size.yaml")
    >>> sweep.search, sweep.objective, {key: len(values) for key, values in sweep.grid.items()}
    ('grid', 'mbo_roc_auc', {'params.n_estimators': 5, 'params.num_leaves': 5})
    >>> result = sweep_run(sweep)  # doctest: +SKIP
    >>> result.best["settings"], result.best["value"]  # doctest: +SKIP
    ({'params.n_estimators': 200, 'params.num_leaves': 7}, 0.783)
    """
    import joblib
    import mlflow
    from mlflow import MlflowClient

    from vsvrisk import tracking
    from vsvrisk.cohorts import load_training_data
    from vsvrisk.models import load_model_spec

    step = progress or (lambda message: None)
    config, base = load_sweep_config(config)
    parallel_config = _backend(config)  # before the data: a missing cluster fails at once
    step("reading the data" if data is not None else "drawing the synthetic population")
    frame, source = load_training_data(load_model_spec(base), data)
    study = _study(config) if config.search == "optuna" else None
    total = config.n_trials if study is not None else len(_grid(config)[0])
    tags = {"sweep": config.name, "search": config.search, "learner": base["learner"], "vsvrisk_version": __version__,
            **({"mlflow.note.content": config.description} if config.description else {}), **source}
    answers: list[dict] = []
    with tracking.tracked_run(config.name, experiment=experiment or DEFAULT_EXPERIMENT, tags=tags) as parent:
        parent_id, client = parent.info.run_id, MlflowClient()
        mlflow.log_params({"search": config.search, "objective": config.objective, "direction": config.direction,
                           "n_trials": total, "backend": config.parallel.backend, "n_jobs": config.parallel.n_jobs,
                           "threads_per_trial": config.parallel.threads_per_trial, "model": base["name"]})
        tracking.log_json(config.model_dump(mode="json"), "sweep.json")
        tracking.log_json(base, "base_spec.json")
        with parallel_config:
            # n_jobs -1: as many trials at once as the backend has workers (a cluster's, for Dask).
            batches = _grid(config) if study is None else _optuna_batches(config, study, joblib.effective_n_jobs())
            for batch in batches:
                calls = (joblib.delayed(_run_trial)(number, settings, _trial_spec(base, settings, config, number), frame)
                         for number, settings in batch)
                for answer in joblib.Parallel(return_as="generator")(calls):
                    answer["run_id"] = _log_trial(client, parent.info.experiment_id, parent_id, config, answer)
                    answers.append(answer)
                    value = answer["metrics"].get(config.objective)
                    step(f"trial {len(answers)}/{total}: " + (f"{config.objective} {value:.4f}" if value is not None else "failed"))
                    if study is not None:
                        _tell(study, answer, config.objective)
        table = _table(answers, config)
        best = _best(table, config)
        client.set_tag(best["run_id"], "best_trial", "true")
        best_answer = next(a for a in answers if a["number"] == best["number"])
        settings = best_answer["settings"]
        mlflow.set_tags({"best_trial_number": int(best["number"]), "best_trial_run_id": best["run_id"]})
        mlflow.log_params({f"best.{key}": value for key, value in settings.items()})
        mlflow.log_metrics({f"best_{key}": value for key, value in best_answer["metrics"].items()})
        mlflow.log_metric("n_failed_trials", int((table["state"] == "FAILED").sum()))
        tracking.log_table(table.drop(columns=["error"]), "trials.csv")
    best_info = {"number": int(best["number"]), "run_id": best["run_id"], "settings": settings,
                 "value": float(best[config.objective])}
    return SweepResult(parent_id, config.objective, config.direction, best_info, table)

