"""Training runs: ``vsvrisk train`` and ``vsvrisk compare``, each tracked in MLflow.

A training run: read the data (or draw the default synthetic population), fit the model on
one cohort, evaluate it on another (out of time), and log to MLflow the spec, the data hash,
the metrics per sector, the plots, the aggregate tables (odds ratios, regional O/E, group
metrics; small cells suppressed) and the model. Person-level rows never go to MLflow.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vsvrisk import __version__

__all__ = ["TrainRun", "train", "compare_runs", "write_comparison", "COMPARE_METRICS"]

#: The metrics ``compare`` puts side by side (when a run has them).
COMPARE_METRICS = (
    "vo_roc_auc", "mbo_roc_auc", "vo_pr_auc", "mbo_pr_auc", "vo_brier", "mbo_brier",
    "vo_scaled_brier", "mbo_scaled_brier", "vo_calibration_slope", "mbo_calibration_slope",
    "vo_calibration_intercept", "mbo_calibration_intercept", "vo_truth_roc_auc", "mbo_truth_roc_auc",
    "all_mean_abs_error", "need_share_l1",
)


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


def _flatten(prefix: str, value, out: dict) -> dict:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), item, out)
    else:
        out[prefix] = ",".join(map(str, value)) if isinstance(value, list) else value
    return out


def train(
    spec,
    data: str | os.PathLike | None = None,
    *,
    experiment: str | None = None,
    progress: Callable[[str], None] | None = None,
    disclosure_threshold: int = 10,
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

    Returns
    -------
    TrainRun
    """
    import mlflow

    from vsvrisk import tracking
    from vsvrisk.audit import drift_report, drift_warnings
    from vsvrisk.cohorts import load_training_data
    from vsvrisk.data.regions import region_names
    from vsvrisk.evaluate.plots import calibration_figure, regional_oe_figure, roc_figure
    from vsvrisk.evaluate.validation import out_of_time
    from vsvrisk.models import RiskModel, load_model_spec, odds_ratios
    from vsvrisk.report import suppress_small_cells

    step = progress or (lambda message: None)
    spec = load_model_spec(spec)
    step("reading the data" if data is not None else "drawing the synthetic population")
    frame, source = load_training_data(spec, data)
    model = RiskModel.from_spec(spec)
    tags = {"learner": spec.learner, "vsvrisk_version": __version__, **source}
    with tracking.tracked_run(spec.name, experiment=experiment or tracking.DEFAULT_EXPERIMENT, tags=tags) as run:
        mlflow.log_params(_flatten("", spec.model_dump(mode="json"), {}))
        tracking.log_json(spec.model_dump(mode="json"), "spec.json")
        step(f"fitting {spec.learner} on {spec.data.train_year}/{spec.data.train_year + 1}")
        result = out_of_time(model, frame, spec.data.train_year, spec.data.eval_year)
        step(f"evaluating on {spec.data.eval_year}/{spec.data.eval_year + 1}")
        evaluation = result.evaluation
        mlflow.log_metrics({k: float(v) for k, v in evaluation.metrics.items() if pd.notna(v)})
        mlflow.log_metrics({"n_train": result.n_train, "n_eval": result.n_eval})
        evaluation_cohort = frame[frame["school_year"] == spec.data.eval_year]
        p = result.p_eval  # the same rows in the same order as out_of_time scored them
        tracking.log_figure(calibration_figure(evaluation_cohort, p), "plots/calibration.png")
        tracking.log_figure(roc_figure(evaluation_cohort, p), "plots/roc.png")
        tracking.log_figure(regional_oe_figure(evaluation.by_region, region_names()), "plots/regional_oe.png")
        tracking.log_table(evaluation.by_sector.reset_index(), "tables/metrics_by_sector.csv")
        tracking.log_table(suppress_small_cells(evaluation.by_region, threshold=disclosure_threshold), "tables/observed_expected_by_region.csv")
        tracking.log_table(suppress_small_cells(evaluation.by_group, threshold=disclosure_threshold), "tables/metrics_by_group.csv")
        step("checking drift between the cohorts")
        train_cohort = frame[frame["school_year"] == spec.data.train_year]
        drift = drift_report(train_cohort, evaluation_cohort, p_train=result.model.predict_risk(train_cohort),
                             p_scored=p)
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
        mlflow.sklearn.log_model(
            result.model, name="model", serialization_format="cloudpickle", pip_requirements=_pip_requirements()
        )
    return TrainRun(run.info.run_id, spec, result, table, warnings)


def compare_runs(experiment: str | None = None, metrics=COMPARE_METRICS) -> pd.DataFrame:
    """The finished runs of an experiment side by side: name, learner, and the key metrics."""
    import mlflow

    from vsvrisk import tracking
    from vsvrisk.exceptions import ConfigError

    tracking.configure()
    name = experiment or tracking.DEFAULT_EXPERIMENT
    found = mlflow.get_experiment_by_name(name)
    if found is None:
        raise ConfigError(f"experiment '{name}' not found in {tracking.tracking_uri()}: train a model first (vsvrisk train)")
    runs = mlflow.search_runs(experiment_ids=[found.experiment_id], filter_string="attributes.status = 'FINISHED'")
    if runs.empty:
        return pd.DataFrame(columns=["run_id", "run_name", "learner", *metrics])
    columns = {"run_id": "run_id", "tags.mlflow.runName": "run_name", "tags.learner": "learner", "start_time": "start_time"}
    columns.update({f"metrics.{m}": m for m in metrics})
    present = [c for c in columns if c in runs.columns]
    return runs[present].rename(columns=columns).sort_values("start_time", ascending=False, ignore_index=True)


def write_comparison(table: pd.DataFrame, folder: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write a comparison as ``compare.html`` and ``compare.png`` into ``folder`` (all or nothing)."""
    import html as html_lib

    from matplotlib.figure import Figure

    from vsvrisk._atomic import atomic_output

    folder = Path(folder)
    with atomic_output(folder, overwrite=overwrite) as tmp:
        tmp.mkdir()
        keys = [m for m in ("vo_roc_auc", "mbo_roc_auc", "vo_calibration_slope", "mbo_calibration_slope") if m in table]
        figure = Figure(figsize=(8, 1.2 + 0.5 * max(len(table), 1) * len(keys) / 2))
        axes = figure.add_subplot()
        labels = [f"{row.run_name} ({str(row.run_id)[:6]})" for row in table.itertuples()]
        width = 0.8 / max(len(keys), 1)
        for i, key in enumerate(keys):
            axes.barh([j + i * width for j in range(len(table))], table[key], height=width, label=key)
        axes.set_yticks([j + 0.4 - width / 2 for j in range(len(table))], labels, fontsize=8)
        axes.legend(fontsize=8)
        axes.set_title("Models side by side (evaluation cohort)")
        figure.tight_layout()
        figure.savefig(tmp / "compare.png", dpi=110)
        shown = table.drop(columns=["start_time"], errors="ignore")
        body = shown.to_html(index=False, float_format=lambda v: f"{v:.4f}", na_rep="", escape=True)
        page = (
            "<!doctype html><html><head><meta charset='utf-8'><title>vsvrisk: models side by side</title>"
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}</style></head><body>"
            f"<h1>Models side by side</h1><p>{html_lib.escape(str(len(table)))} finished runs.</p>{body}"
            "<p><img src='compare.png' alt='key metrics per run'></p></body></html>"
        )
        (tmp / "compare.html").write_text(page, encoding="utf-8")
    return folder
