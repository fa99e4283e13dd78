"""Training runs: ``vsvrisk train``, tracked in MLflow.

A training run: read the data (or draw the default synthetic population), fit the model on
one cohort, evaluate it on another (out of time), and log to MLflow the spec (as parameters,
and as the run's description), the two cohorts as datasets (name, digest, source, schema: no
rows), the metrics per sector, the plots, the aggregate tables (odds ratios, regional O/E,
group metrics; small cells suppressed) and the model, registered as a version of
``vsvrisk-<spec name>``. Person-level rows never go to MLflow.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from vsvrisk import __version__
from vsvrisk.runs import _memo

__all__ = ["TrainRun", "train", "run_description"]


@dataclass
class TrainRun:
    """What a training run produced (the model and evaluation stay in memory too)."""

    run_id: str
    spec: object
    result: object  # OutOfTimeResult
    odds_ratios: pd.DataFrame | None
    warnings: list[str]


def _pip_requirements() -> list[str]:
    from importlib.metadata import version

    names = ("scikit-learn", "lightgbm", "pandas", "numpy", "cloudpickle")
    return [f"vsvrisk=={__version__}", *(f"{name}=={version(name)}" for name in names)]


def _import_later_steps() -> None:
    """Import what the steps after the fit use: the figures (matplotlib), the drift report, the
    disclosure control, MLflow's model flavour and its map of installed packages (which MLflow
    builds when it checks the model's requirements: a scan of every installed package)."""
    from importlib import import_module

    for name in ("vsvrisk.evaluate.plots", "vsvrisk.audit.drift", "vsvrisk.report", "mlflow.sklearn"):
        import_module(name)
    from mlflow.utils import requirements_utils

    build_map = getattr(requirements_utils, "_init_packages_to_modules_map", None)  # private: may go
    if build_map is not None:
        build_map()


def _feature_drift(train_cohort: pd.DataFrame, evaluation_cohort: pd.DataFrame) -> pd.DataFrame:
    """The drift of the characteristics (no model needed); the calibration's rows come after the fit."""
    from vsvrisk.audit import drift_report

    return drift_report(train_cohort, evaluation_cohort)


def _flatten(prefix: str, value, out: dict) -> dict:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), item, out)
    else:
        out[prefix] = ",".join(map(str, value)) if isinstance(value, list) else value
    return out


def run_description(spec, source: dict) -> str:
    """The run's description in MLflow (markdown): what the model is, on what it was fitted.

    Examples
    --------
    >>> from vsvrisk.models import load_model_spec
    >>> spec = load_model_spec("configs/logistic.yaml")
    >>> print(run_description(spec, {"data_source": "file", "data_path": "cohorts.parquet"}).splitlines()[0])
    **logistic-all**: Unpenalised logistic regression on all characteristics, per sector.
    """
    groups = "one model per sector (vo; mbo with vavo)" if spec.sectors == "separate" else "one pooled model"
    if spec.sectors == "separate" and spec.vavo_with == "vo":
        groups = "one model per sector (vo with vavo; mbo)"
    data = source.get("data_path") or source.get("data_source", "")
    lines = [f"**{spec.name}**: {spec.description or 'no description in the spec'}", "",
             f"- learner: {spec.learner}, {groups}, calibration: {spec.calibration}, seed {spec.seed}",
             f"- fitted on {spec.data.train_year}/{spec.data.train_year + 1}, evaluated out of time on "
             f"{spec.data.eval_year}/{spec.data.eval_year + 1}",
             f"- data: {data}"]
    lines += [f"- features ({group}): {', '.join(names)}" for group, names in spec.features.items()]
    lines.append(f"- never a feature: {', '.join(spec.excluded_features) or 'nothing'}; vsvrisk {__version__}")
    return "\n".join(lines)


def train(
    spec,
    data: str | os.PathLike | None = None,
    *,
    experiment: str | None = None,
    progress: Callable[[str], None] | None = None,
    disclosure_threshold: int = 10,
    register: bool = True,
) -> TrainRun:
    """Fit, evaluate out of time, and track one model spec.

    Parameters
    ----------
    spec : ModelSpec, dict or path
        The model spec (``configs/*.yaml``).
    data : path, default=None
        A person-year file with both cohorts of ``spec.data``; ``None`` draws the default
        synthetic population.
    experiment : str, default=None
        MLflow experiment (default ``vsvrisk``).
    progress : callable, default=None
        Called with a short description before each step (the CLI shows it).
    disclosure_threshold : int, default=10
        Cells of the logged tables built from fewer persons are suppressed.
    register : bool, default=True
        Register the model as a new version of ``vsvrisk-<spec name>`` (``vsvrisk promote``
        gives a version an alias); a sweep's trials pass False.

    Returns
    -------
    TrainRun
    """
    import mlflow

    from vsvrisk import tracking
    from vsvrisk.cohorts import frame_sha256, load_training_data
    from vsvrisk.data.years import school_year_rows
    from vsvrisk.evaluate.validation import out_of_time
    from vsvrisk.models import RiskModel, load_model_spec, odds_ratios
    from vsvrisk.models._threads import beside_the_fit

    step = progress or (lambda message: None)
    spec = load_model_spec(spec)
    step("reading the data" if data is not None else "drawing the synthetic population")
    frame, source = load_training_data(spec, data, read=_memo.person_years)
    model = RiskModel.from_spec(spec)
    cohorts = {year: school_year_rows(frame, year) for year in (spec.data.train_year, spec.data.eval_year)}
    tags = {"learner": spec.learner, "vsvrisk_version": __version__, "vsvrisk_kind": "train", **source,
            "mlflow.note.content": run_description(spec, source)}
    with tracking.tracked_run(spec.name, experiment=experiment or tracking.DEFAULT_EXPERIMENT, tags=tags) as run:
        mlflow.log_params(_flatten("", spec.model_dump(mode="json"), {}))
        tracking.log_json(spec.model_dump(mode="json"), "spec.json")
        step(f"fitting {spec.learner} on {spec.data.train_year}/{spec.data.train_year + 1}")
        # The cohorts' digests and the imports of the steps after the fit need no model: they run
        # on the core that the first model group to finish leaves idle while the other trains.
        with beside_the_fit() as beside:
            digests = {year: beside(frame_sha256, cohort) for year, cohort in cohorts.items()}
            imported = beside(_import_later_steps)
            feature_drift = beside(_feature_drift, cohorts[spec.data.train_year], cohorts[spec.data.eval_year])
            result = out_of_time(model, frame, spec.data.train_year, spec.data.eval_year)
        hashes = {year: digest.result() for year, digest in digests.items()}
        imported.result()
        from vsvrisk.audit import drift_report, drift_warnings
        from vsvrisk.data.regions import region_names
        from vsvrisk.evaluate.plots import calibration_figure, regional_oe_figure, roc_figure
        from vsvrisk.report import suppress_small_cells

        mlflow.set_tags({"train_cohort_sha256": hashes[spec.data.train_year],
                         "eval_cohort_sha256": hashes[spec.data.eval_year]})
        for context, year in (("training", spec.data.train_year), ("evaluation", spec.data.eval_year)):
            tracking.log_cohort(cohorts[year], context=context, school_year=year, source=source, sha256=hashes[year])
        step(f"evaluating on {spec.data.eval_year}/{spec.data.eval_year + 1}")
        evaluation = result.evaluation
        mlflow.log_metrics({k: float(v) for k, v in evaluation.metrics.items() if pd.notna(v)})
        mlflow.log_metrics({"n_train": result.n_train, "n_eval": result.n_eval})
        evaluation_cohort = cohorts[spec.data.eval_year]
        p = result.p_eval  # the same rows in the same order as out_of_time scored them
        tracking.log_figure(calibration_figure(evaluation_cohort, p), "plots/calibration.png")
        tracking.log_figure(roc_figure(evaluation_cohort, p), "plots/roc.png")
        tracking.log_figure(regional_oe_figure(evaluation.by_region, region_names()), "plots/regional_oe.png")
        tracking.log_table(evaluation.by_sector.reset_index(), "tables/metrics_by_sector.csv")
        tracking.log_table(suppress_small_cells(evaluation.by_region, threshold=disclosure_threshold), "tables/observed_expected_by_region.csv")
        tracking.log_table(suppress_small_cells(evaluation.by_group, threshold=disclosure_threshold), "tables/metrics_by_group.csv")
        step("checking drift between the cohorts")
        train_cohort = cohorts[spec.data.train_year]
        p_train = result.model.predict_risk(train_cohort)
        calibration = drift_report(train_cohort, evaluation_cohort, features=[], p_train=p_train, p_scored=p)
        drift = pd.concat([feature_drift.result(), calibration], ignore_index=True)
        # Within the demo the later steps score these cohorts with this model again: they are
        # answered from here (the cohorts' hashes are the ones the run is tagged with).
        _memo.remember_risk(run.info.run_id, hashes[spec.data.train_year], p_train)
        _memo.remember_risk(run.info.run_id, hashes[spec.data.eval_year], p)
        _memo.remember_fit(run.info.run_id, spec, hashes[spec.data.train_year])
        tracking.log_table(drift, "tables/drift.csv")
        warnings = drift_warnings(drift)
        mlflow.set_tag("drift_warnings", len(warnings))
        table = None
        if spec.learner == "logistic":
            step("odds ratios with 95% intervals")
            table = odds_ratios(result.model, train_cohort)
            tracking.log_table(table, "tables/odds_ratios.csv")
        mlflow.log_dict({g: f for g, f in result.model.selected_features_.items()}, "selected_features.json")
        step("logging the model")
        # predict_proba as the pyfunc flavour's predict: mlflow.pyfunc.load_model(...).predict(cohort)
        # gives the risk in its second column. No signature: MLflow's schema enforcement trips
        # over category columns (DESIGN section 10).
        logged = mlflow.sklearn.log_model(
            result.model, name="model", serialization_format="cloudpickle", pip_requirements=_pip_requirements(),
            pyfunc_predict_fn="predict_proba",
        )
        if register:
            version = tracking.register_model(run.info.run_id, logged.model_uri, spec.name, spec.description)
            mlflow.set_tag("registered_model", f"{tracking.registered_model_name(spec.name)}/{version}")
    return TrainRun(run.info.run_id, spec, result, table, warnings)

