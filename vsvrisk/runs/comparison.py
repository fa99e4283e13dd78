"""The comparison behind ``vsvrisk compare``: training runs side by side on their shared cohort.

A paired comparison (:func:`vsvrisk.evaluate.compare_predictions`) needs every model's
prediction for every person of the evaluation cohort. Those are person-level rows, so they are
never stored in MLflow; they are recomputed here from what the run did store: its model, and
where its cohort came from. A synthetic cohort is drawn again from the spec (the generator is
seeded); a file is read again from its path (or ``--data``). Either way its SHA-256 must equal
the one the run recorded, so a comparison is made on exactly the persons the run was evaluated
on, or not at all. Recomputing costs a read and a prediction per run (seconds at national
size), and keeps the store free of person rows and valid on real data, where the file stays in
the secure environment.

Runs are comparable when their evaluation cohorts are the same (tag ``eval_cohort_sha256``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from vsvrisk.data.years import school_year_rows
from vsvrisk.exceptions import ConfigError
from vsvrisk.runs import _memo

__all__ = ["RUNS_TABLE_METRICS", "RunComparison", "compare_runs", "runs_table", "write_comparison"]

#: The logged metrics :func:`runs_table` lists (when a run has them).
RUNS_TABLE_METRICS = (
    "vo_roc_auc", "mbo_roc_auc", "vo_pr_auc", "mbo_pr_auc", "vo_brier", "mbo_brier",
    "vo_scaled_brier", "mbo_scaled_brier", "vo_calibration_slope", "mbo_calibration_slope",
    "vo_calibration_intercept", "mbo_calibration_intercept", "vo_truth_roc_auc", "mbo_truth_roc_auc",
    "all_mean_abs_error", "need_share_l1",
)
#: At most this many runs are compared when an experiment is given (the newest).
MAX_RUNS = 6


@dataclass
class RunComparison:
    """Training runs compared on their shared evaluation cohort.

    Attributes
    ----------
    comparison : ModelComparison
        Scores, paired differences with intervals, need-share distances, one sentence per pair;
        the models are named by :attr:`runs` ``label``.
    runs : DataFrame
        ``label``, ``run_id``, ``run_name``, ``learner``, ``spec``, ``start_time``.
    cohort : dict
        ``school_year``, ``n_persons``, ``sha256``, ``source`` of the evaluation cohort.
    left_out : list of str
        Runs of the experiment that were not compared, and why.
    """

    comparison: object
    runs: pd.DataFrame
    cohort: dict
    left_out: list[str] = field(default_factory=list)


def _training_runs(experiment: str | None) -> pd.DataFrame:
    import mlflow

    from vsvrisk import tracking

    tracking.configure()
    name = experiment or tracking.DEFAULT_EXPERIMENT
    found = mlflow.get_experiment_by_name(name)
    if found is None:
        raise ConfigError(f"experiment '{name}' not found in {tracking.tracking_uri()}: train a model first (vsvrisk train)")
    runs = mlflow.search_runs(experiment_ids=[found.experiment_id], filter_string="attributes.status = 'FINISHED'",
                              order_by=["attributes.start_time DESC"])
    if runs.empty or "tags.learner" not in runs:
        return runs.iloc[0:0]
    # Training runs carry a learner; explain, audit, allocate and card runs are their children.
    keep = runs["tags.learner"].notna()
    if "tags.mlflow.parentRunId" in runs:
        keep &= runs["tags.mlflow.parentRunId"].isna()
    return runs[keep].reset_index(drop=True)


def runs_table(experiment: str | None = None, metrics: Sequence[str] = RUNS_TABLE_METRICS) -> pd.DataFrame:
    """The finished training runs of an experiment with the metrics they logged, newest first.

    A listing, not a comparison: the differences in it may be noise (:func:`compare_runs` says
    which are not).
    """
    runs = _training_runs(experiment)
    if runs.empty:
        return pd.DataFrame(columns=["run_id", "run_name", "learner", *metrics])
    columns = {"run_id": "run_id", "tags.mlflow.runName": "run_name", "tags.learner": "learner", "start_time": "start_time"}
    columns.update({f"metrics.{m}": m for m in metrics})
    present = [c for c in columns if c in runs.columns]
    return runs[present].rename(columns=columns).reset_index(drop=True)


def _select(experiment: str | None, run_ids: Sequence[str] | None, max_runs: int) -> tuple[list, list[str]]:
    """The runs to compare (MLflow ``Run`` objects) and a line for each run left out."""
    from vsvrisk import tracking

    if run_ids:
        chosen = [tracking.load_run(run_id) for run_id in run_ids]
        for run in chosen:
            if "learner" not in run.data.tags:
                kind = run.data.tags.get("vsvrisk_kind", "not a vsvrisk training run")
                raise ConfigError(f"--run {run.info.run_id}: not a training run ({kind}): pass the id 'vsvrisk train' printed")
        return chosen, []
    runs = _training_runs(experiment)
    if runs.empty:
        return [], []
    # The evaluation cohort's hash; runs logged before it was recorded: their data and eval year.
    older = runs.get("tags.data_sha256", pd.Series("", index=runs.index)).fillna("") + " " + \
        runs.get("params.data.eval_year", pd.Series("", index=runs.index)).fillna("")
    cohort = runs.get("tags.eval_cohort_sha256", pd.Series(None, index=runs.index)).fillna(older)
    same = cohort == cohort.iloc[0]
    left_out = [f"{row['tags.mlflow.runName']} ({row['run_id'][:8]}): evaluated on another cohort"
                for _, row in runs[~same].iterrows()]
    selected = runs[same]
    left_out += [f"{row['tags.mlflow.runName']} ({row['run_id'][:8]}): only the newest {max_runs} runs are compared; "
                 "pick runs with --run" for _, row in selected.iloc[max_runs:].iterrows()]
    return [tracking.load_run(run_id) for run_id in selected["run_id"].iloc[:max_runs]], left_out


def _cohort(run, spec, data, cache: dict) -> tuple[pd.DataFrame, dict]:
    """The run's evaluation cohort, recomputed, with its hash checked against the run's."""
    from vsvrisk.cohorts import frame_sha256, load_training_data
    from vsvrisk.report import file_sha256

    tags, run_id = run.data.tags, run.info.run_id
    recorded = tags.get("data_sha256")
    if tags.get("data_source") == "file":
        path = tags.get("data_path")
        if data is not None and file_sha256(data) == recorded:
            path = data
        elif path is None or not Path(path).is_file():
            raise ConfigError(f"run {run_id[:8]} was trained on {path}, which is not found here: pass that file with --data")
        elif file_sha256(path) != recorded:
            raise ConfigError(f"{path} has changed since run {run_id[:8]} was trained on it (its SHA-256 differs): "
                              "pass the original file with --data")
        if recorded not in cache:
            cache[recorded] = _memo.person_years(path, upper_age=spec.upper_age, require_target=True)
        source = {"data_source": "file", "data_path": str(path)}
    else:
        if recorded not in cache:
            frame, drawn = load_training_data(spec, None)
            if drawn["data_sha256"] != recorded:
                raise ConfigError(f"run {run_id[:8]}: its synthetic population cannot be drawn again identically here "
                                  "(another vsvrisk or numpy version?): compare runs made with this installation")
            cache[recorded] = frame
        source = {"data_source": tags.get("data_source", "synthetic")}
    frame = cache[recorded]
    cohort = school_year_rows(frame, spec.data.eval_year)
    digest = frame_sha256(cohort)
    if tags.get("eval_cohort_sha256", digest) != digest:
        raise ConfigError(f"run {run_id[:8]}: the evaluation cohort read again differs from the one it was evaluated on")
    return cohort.reset_index(drop=True), {**source, "school_year": int(spec.data.eval_year),
                                           "n_persons": len(cohort), "sha256": digest}


def _labels(runs: list) -> list[str]:
    names = [run.data.tags.get("mlflow.runName", run.info.run_id[:8]) for run in runs]
    return [name if names.count(name) == 1 else f"{name} ({run.info.run_id[:8]})" for name, run in zip(names, runs)]


def compare_runs(
    experiment: str | None = None,
    *,
    run_ids: Sequence[str] | None = None,
    data: str | os.PathLike | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    max_runs: int = MAX_RUNS,
    progress: Callable[[str], None] | None = None,
) -> RunComparison | None:
    """Compare training runs on their shared evaluation cohort, with paired 95% intervals.

    Parameters
    ----------
    experiment : str, optional
        Compare the newest finished training runs of this experiment (default ``vsvrisk``)
        that were evaluated on the same cohort as the newest one (at most ``max_runs``).
    run_ids : sequence of str, optional
        Compare exactly these runs instead (they must share their evaluation cohort).
    data : path, optional
        The person-year file the runs were trained on, when it is not at the path they recorded.
    n_boot, seed : int
        Bootstrap replicates and seed of the need-share intervals.
    max_runs : int, default=6
    progress : callable, optional
        Called with a short description before each step.

    Returns
    -------
    RunComparison, or None when the experiment has no finished training run.

    Examples
    --------
    >>> from vsvrisk import runs
    >>> result = runs.compare_runs("demo")  # doctest: +SKIP
    >>> print("\\n".join(result.comparison.sentences))  # doctest: +SKIP
    lightgbm against cbs-replica: lightgbm ranks better in vo (+0.0051) ...
    """
    from vsvrisk.evaluate import compare_predictions
    from vsvrisk.tracking import load_model, load_spec

    step = progress or (lambda message: None)
    step("finding the runs")
    chosen, left_out = _select(experiment, run_ids, max_runs)
    if not chosen:
        return None
    labels, cache, predictions, cohort, described, rows = _labels(chosen), {}, {}, None, None, []
    for label, run in zip(labels, chosen):
        run_id = run.info.run_id
        spec = load_spec(run_id)
        step(f"reading the evaluation cohort of {label}")
        this, description = _cohort(run, spec, data, cache)
        if described is not None and description["sha256"] != described["sha256"]:
            raise ConfigError(f"runs {chosen[0].info.run_id[:8]} and {run_id[:8]} were evaluated on different cohorts "
                              f"({described['school_year']} and {description['school_year']}, or other data): "
                              "compare runs evaluated on the same cohort")
        if cohort is None:
            cohort, described = this, description
        step(f"scoring {len(this):,} persons with {label}")
        # the cohort's hash is taken above (checked against the run's): within the demo, training's risks
        predictions[label] = _memo.predicted_risk(run_id, load_model(run_id), this, description["sha256"])
        rows.append({"label": label, "run_id": run_id, "run_name": run.data.tags.get("mlflow.runName", ""),
                     "learner": run.data.tags.get("learner", ""), "spec": spec.name,
                     "start_time": pd.to_datetime(run.info.start_time, unit="ms")})
    cache.clear()
    step(f"paired differences ({n_boot} bootstrap replicates for the need shares)")
    comparison = compare_predictions(cohort, predictions, n_boot=n_boot, seed=seed)
    return RunComparison(comparison, pd.DataFrame(rows), described, left_out)


def write_comparison(result: RunComparison, folder: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``compare.html``, ``compare.png``, ``scores.csv``, ``differences.csv`` and ``manifest.json`` (all or nothing)."""
    from vsvrisk._atomic import atomic_output
    from vsvrisk.report import add_outputs, assert_no_person_rows, build_manifest, write_manifest
    from vsvrisk.report.comparison import comparison_figure, render_comparison_html

    folder = Path(folder)
    comparison = result.comparison
    with atomic_output(folder, overwrite=overwrite) as tmp:
        tmp.mkdir()
        figure = comparison_figure(comparison)
        figure.savefig(tmp / "compare.png", dpi=100)
        (tmp / "compare.html").write_text(render_comparison_html(comparison, runs=result.runs, cohort=result.cohort,
                                                                left_out=result.left_out), encoding="utf-8")
        for name, table in (("scores.csv", comparison.scores), ("differences.csv", comparison.differences),
                            ("need.csv", comparison.need)):
            assert_no_person_rows(table)
            table.to_csv(tmp / name, index=False, float_format="%.10g", lineterminator="\n")
        manifest = build_manifest({}, {**comparison.settings, "reference": comparison.reference}, None,
                                  comparison.settings.get("seed"),
                                  extra={"runs": result.runs.astype({"start_time": str}).to_dict("records"),
                                         "cohort": result.cohort, "left_out": result.left_out})
        files = {p.name: p for p in sorted(tmp.iterdir()) if p.is_file()}
        write_manifest(add_outputs(manifest, files), tmp / "manifest.json")
    return folder
