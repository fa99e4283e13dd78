"""The allocation run behind ``vsvrisk allocate``: need -> rules -> euros -> reports.

Need comes either from a table (``--need``: someone else applied the scenario) or from a model
run and a scored cohort (``--run`` [``--data``]): the model's predicted risks, summed per
region under the config's scenario, with bootstrap intervals over persons and, when the config
asks for them, model refits on bootstrap samples of the training cohort.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vsvrisk._atomic import refuse_existing
from vsvrisk.exceptions import ConfigError
from vsvrisk.runs import _memo
from vsvrisk.runs._background import on_a_thread
from vsvrisk.runs._need_source import check_need_source

if TYPE_CHECKING:  # pandas is imported when a run needs it: bad options are refused at once
    import pandas as pd

__all__ = ["allocate_run"]


def _cohorts(run_id: str, data, progress, model_uri: str | None = None):
    """The model, its spec, its training cohort, and the cohort to score.

    The training data are read (or the synthetic population drawn) once: the training cohort
    serves the drift check and the model refits; without ``data``, the run's evaluation cohort
    is the one scored.
    """
    from vsvrisk import tracking
    from vsvrisk.cohorts import load_training_data
    from vsvrisk.data.years import school_year_rows
    from vsvrisk.tracking import load_model, load_spec

    spec = load_spec(run_id)
    progress("loading the model")
    if model_uri is None:
        model = load_model(run_id)
    else:
        import mlflow.sklearn

        model = mlflow.sklearn.load_model(model_uri)
    path = tracking.load_run(run_id).data.tags.get("data_path")
    if path is not None and not Path(path).is_file():
        # Trained on a file that is not here (another machine, moved): no stand-in data.
        if data is None:
            raise ConfigError(f"run {run_id} was trained on {path}, which is not found: pass the cohort to score with --data")
        progress("reading the cohort to score")
        return model, spec, None, _memo.person_years(data, upper_age=spec.upper_age)
    progress("reading the training data")
    # With a cohort to score, only the training cohort's rows are read (and validated).
    years = [spec.data.train_year] if data is not None and path is not None else None
    frame, _ = load_training_data(spec, path, school_years=years, read=_memo.person_years)
    train = school_year_rows(frame, spec.data.train_year)
    if data is not None:
        progress("reading the cohort to score")
        return model, spec, train, _memo.person_years(data, upper_age=spec.upper_age)
    return model, spec, train, school_year_rows(frame, spec.data.eval_year).reset_index(drop=True)


def _drift_warnings(train: pd.DataFrame | None, cohort: pd.DataFrame) -> tuple[list[str], list[dict]]:
    """Population stability of every characteristic from the training to the scored cohort.

    Returns the warning lines (English, for the terminal and the manifest) and the flagged rows
    (check, feature, value, threshold), from which the pages write them in the reader's language.
    """
    from vsvrisk.audit import drift_report, drift_warnings

    if train is None:
        return ["drift: not checked: the model's training data file is not found on this machine"], \
            [{"check": "not_checked", "feature": None, "value": None, "threshold": None}]
    report = drift_report(train, cohort)
    flagged = report[report["flagged"].astype(bool)]
    return drift_warnings(report), [{"check": str(r.check), "feature": str(r.feature), "value": float(r.value),
                                     "threshold": float(r.threshold)} for r in flagged.itertuples(index=False)]


def _regional_drivers(model, cohort: pd.DataFrame, threshold: int, model_ref: str, cohort_digest) -> pd.DataFrame:
    """Per region, how much each variable moves its need share away from its population share."""
    from vsvrisk.explain import CHUNK_SIZE, regional_decomposition

    aggregates = _memo.shap_aggregates(model_ref, model, cohort, chunk_size=CHUNK_SIZE, cohort_digest=cohort_digest)
    table = regional_decomposition(aggregates, threshold=threshold)
    # Small regions are suppressed by the decomposition itself (per region, all terms together);
    # passed on without their counts, the writer does not suppress again row by row.
    table = table[~table["suppressed"].astype(bool)]
    return table[["region_code", "term", "contribution_share"]].reset_index(drop=True)


def _registration_watch(model, cohort: pd.DataFrame, p: np.ndarray, allocation: pd.DataFrame, settings,
                        n: int = 5) -> dict | None:
    """The registrations that move the most money: the allocation's risk to watch.

    Euros per additional registered pupil with this model and these rules
    (:func:`vsvrisk.policy.expected_registration_gain`: one prediction per registration the
    model uses), nationally and for the ``n`` largest regions; regions whose figure rests on
    fewer pupils than the disclosure threshold are left out. None when the model uses no
    registration.
    """
    import pandas as pd

    from vsvrisk.policy import expected_registration_gain, risks_to_watch
    from vsvrisk.report import suppress_small_cells

    table, national = expected_registration_gain(cohort, model, allocation, scenario=settings.scenario, p=p)
    national = national.sort_values("eur_per_person_fixed", ascending=False, kind="stable")
    if national.empty:
        return None
    lam = float(table.attrs["lambda"])  # concat drops attrs
    table = pd.concat([suppress_small_cells(block, "n_unregistered", settings.disclosure_threshold)
                       for _, block in table.groupby("registration", sort=False)], ignore_index=True)
    top = risks_to_watch(table, n)
    top = top[top["eur_per_person"] > 0]
    return {"lambda": lam, "note_top_share": settings.scenario != "all",
            "national": [{"registration": r.registration, "eur_per_person": round(float(r.eur_per_person_fixed), 2),
                          "n_unregistered": int(r.n_unregistered)} for r in national.itertuples()],
            "regions": [{"region_code": int(r.region_code), "region_name": str(r.region_name),
                         "registration": r.registration, "eur_per_person": round(float(r.eur_per_person), 2),
                         "eur_per_pp": round(float(r.eur_per_pp), 2)} for r in top.itertuples()]}


def _refit_need(spec, train: pd.DataFrame, rows: np.ndarray, random_state: int, cohort: pd.DataFrame,
                scenario) -> np.ndarray:
    """Need per region from the model refitted on the training rows ``rows`` (a bootstrap sample)."""
    from vsvrisk.allocate import need_from_predictions
    from vsvrisk.models import RiskModel

    refit = RiskModel.from_spec(spec).set_params(random_state=random_state).fit(train.iloc[rows])
    scored = cohort.assign(p=refit.predict_risk(cohort).to_numpy())
    return need_from_predictions(scored, "p", scenario)["need"].to_numpy()


def _model_refit_need(spec, train: pd.DataFrame, cohort: pd.DataFrame, scenario, count: int, seed: int,
                      progress, n_jobs: int | None = None) -> np.ndarray:
    """Need per region from ``count`` refits of the model on bootstrap samples of its training cohort.

    The refits run through joblib (``n_jobs``, and the backend of the caller's
    ``joblib.parallel_config``: processes here, a Dask or Ray cluster where one is configured).
    Each is seeded on its own and its sample is drawn in refit order, so the numbers are the
    same whatever runs them, in whatever order they finish.
    """
    from joblib import Parallel, delayed

    rng = np.random.default_rng([seed, 1])
    tasks = (delayed(_refit_need)(spec, train, rng.integers(0, len(train), size=len(train)), spec.seed + k + 1,
                                  cohort, scenario) for k in range(count))
    replicates = np.empty((count, 40))
    progress(f"model refits (0 of {count} done)")
    for k, need in enumerate(Parallel(n_jobs=n_jobs, return_as="generator")(tasks)):
        replicates[k] = need
        progress(f"model refits ({k + 1} of {count} done)")
    return replicates


def allocate_run(
    config: str | os.PathLike,
    out: str | os.PathLike,
    *,
    need: str | os.PathLike | None = None,
    run_id: str | None = None,
    data: str | os.PathLike | None = None,
    overwrite: bool = False,
    progress=None,
    model_uri: str | None = None,
    lang: str = "nl",
    index: str | None = None,
) -> Path:
    """Allocate the budget and write the report folder (all or nothing).

    Parameters
    ----------
    config : path
        The allocation config (``configs/allocation-2026.yaml``).
    out : path
        The output folder: ``allocation.csv``, ``allocation.xlsx``, ``allocation.html`` and
        ``manifest.json``. An existing folder is refused unless ``overwrite``.
    need : path, optional
        A table ``region_code,need``; the scenario setting is then ignored.
    run_id : str, optional
        A training run (``vsvrisk train``) whose model scores ``data``.
    model_uri : str, optional
        Instead of ``run_id``: a registered model, ``models:/NAME@ALIAS`` or
        ``models:/NAME/VERSION`` (``vsvrisk promote``); its training run gives the spec and cohort.
    data : path, optional
        The person-year cohort to score; without it, the run's own evaluation cohort.
    overwrite : bool, default=False
    progress : callable, optional
        Called with a short description before each step.
    lang : {"nl", "en"}, default="nl"
        The language of the workbook and the pages.
    index : str, optional
        A relative link from the pages to an index page above them (the demo's).

    Returns
    -------
    Path
        The output folder, also logged to MLflow in a child run of the training run
        (``allocate``). Drift warnings (a characteristic whose population stability index
        against the training cohort is above 0.2) are in the manifest's ``extra``.
    """
    step = progress or (lambda message: None)
    out = Path(out)
    check_need_source(need, run_id, model_uri, data)
    refuse_existing(out, overwrite=overwrite)  # before any work is done, and before the imports
    from vsvrisk.allocate import (
        allocate,
        allocation_intervals,
        bootstrap_need,
        load_allocation_config,
        need_from_predictions,
        need_from_table,
        read_previous_allocation,
    )
    from vsvrisk import tracking
    from vsvrisk.report import build_manifest, write_allocation_outputs
    from vsvrisk.report.glossary import check_language
    from vsvrisk.report.story import describe_cohort, describe_model, describe_rules

    check_language(lang)
    if model_uri is not None:
        run_id, model_uri = tracking.resolve_model(model_uri)
    settings = load_allocation_config(config)
    rules = settings.rules()
    previous = read_previous_allocation(settings.previous) if settings.previous is not None else None

    counts, replicates, model_replicates, warnings, drift, drivers, watch = None, None, None, [], [], None, None
    pending = None  # the bootstrap's replicates, drawn while the steps after the scoring run
    story = {"model": None, "rules": describe_rules(settings, dampening=settings.dampening, need_table=need)}
    # How each csv input was written (a need table from Dutch Excel: ';', decimal comma).
    dialects = {"previous": previous.attrs.get("csv_dialect") if previous is not None else None}
    if need is not None:
        step("reading the need table")
        need_per_region = need_from_table(need)
        dialects["need"] = need_per_region.attrs.get("csv_dialect")
    else:
        model, spec, train, cohort = _cohorts(run_id, data, step, model_uri)
        dialects["data"] = cohort.attrs.get("csv_dialect") if data is not None else None
        story["model"] = describe_model(run_id, spec.name, spec.learner)
        story["cohort"] = describe_cohort(cohort, data, source=None if data is not None else "run")
        step("scoring the cohort")
        model_ref, cohort_digest = model_uri or run_id, _memo.digest(cohort)  # a digest only in the demo
        p = _memo.predicted_risk(model_ref, model, cohort, cohort_digest)
        if settings.n_bootstrap > 0:
            # The replicates need only the risks and the regions: they are drawn on threads of
            # their own while the next steps run (much of those is Python on one core). Their
            # numbers do not depend on the threads (bootstrap_need).
            pending = on_a_thread(bootstrap_need, cohort["region_code"].to_numpy(), p, settings.n_bootstrap,
                                  seed=settings.seed, scenario=settings.scenario)
        step("checking drift against the training cohort")
        warnings, drift = _drift_warnings(train, cohort)
        step("explaining the regional differences (SHAP)")
        drivers = _regional_drivers(model, cohort, settings.disclosure_threshold, model_ref, cohort_digest)
        table = need_from_predictions(cohort.assign(p=p), "p", settings.scenario)
        need_per_region, counts = table["need"], table["n_persons"]
        if settings.n_model_refits > 0:
            if train is None:
                raise ConfigError("n_model_refits needs the model's training data, which is not found: set it to 0")
            model_replicates = _model_refit_need(spec, train, cohort, settings.scenario,
                                                 settings.n_model_refits, settings.seed, step, settings.n_jobs)

    step("applying the rules")
    allocation = allocate(need_per_region, rules, previous)
    solved_lambda = allocation.attrs.get("lambda")  # merges below drop attrs
    if run_id is not None:
        step("euros per additional registered pupil (the risk to watch)")
        watch = _registration_watch(model, cohort, p, allocation, settings)
    if pending is not None:
        step(f"bootstrap over persons ({settings.n_bootstrap} replicates)")
        replicates = pending.result()
    if counts is not None:
        allocation.insert(allocation.columns.get_loc("need"), "n_persons", counts.to_numpy())
    interval_options = {"level": settings.interval_level, "threshold_pct": settings.change_threshold_pct}
    if replicates is not None:
        intervals = allocation_intervals(replicates, rules, previous, **interval_options)
        allocation = allocation.merge(intervals, on="region_code", how="left")
    if model_replicates is not None:
        intervals = allocation_intervals(model_replicates, rules, previous, **interval_options)
        allocation = allocation.merge(intervals.add_prefix("model_").rename(columns={"model_region_code": "region_code"}),
                                      on="region_code", how="left")
    manifest = build_manifest(
        inputs={"config": config, "need": need, "data": data, "previous": settings.previous},
        config=settings,
        model_run_id=run_id,
        seed=settings.seed,
        csv_dialects=dialects,
        extra={
            "need_source": "table" if need is not None else "model run",
            "scenario_applied": need is None,
            "scenario_note": "ignored: the need table was made under its own scenario" if need is not None else None,
            "dampening": settings.dampening,
            "intervals": {
                "sampling_replicates": 0 if replicates is None else int(replicates.shape[0]),
                "model_refits": 0 if model_replicates is None else int(model_replicates.shape[0]),
                "level": settings.interval_level,
                "change_threshold_pct": settings.change_threshold_pct,
            },
            "lambda": solved_lambda,
            "drift_warnings": warnings,
            "drift": drift,
            "story": story,
            "model_uri": model_uri,
            "registration_watch": watch,
        },
    )
    step("writing the reports")
    write_allocation_outputs(out, allocation, manifest,
                             rules=rules.model_dump(), overwrite=overwrite, drivers=drivers,
                             disclosure_threshold=settings.disclosure_threshold, lang=lang, index=index)
    if run_id is not None:
        from mlflow import MlflowClient

        # A child run of the training run: reopening the training run would stretch its duration
        # and its status over work that is not training.
        with tracking.child_run(run_id, "allocate", tags={"model_uri": model_uri} if model_uri else None) as child:
            MlflowClient().log_artifacts(child, str(out), artifact_path="allocation")
    return out
