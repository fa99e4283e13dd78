"""The fairness audit of a training run, as ``vsvrisk audit`` runs it: read, audit, write, log.

The statistics are :func:`vsvrisk.audit.audit_predictions` (:mod:`vsvrisk.audit.fairness`);
this module loads the run's model and cohort, and writes the report folder all or nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

from vsvrisk.audit import audit_predictions
from vsvrisk.data.years import school_year_rows
from vsvrisk.runs import _memo

__all__ = ["audit_run"]


def audit_run(run_id: str, out: str | os.PathLike, data: str | os.PathLike | None = None, overwrite: bool = False,
              *, n_boot: int = 1000, random_state: int = 0, threshold: int = 10, top_share: float = 0.4,
              progress=None, lang: str = "nl", index: str | None = None) -> Path:
    """Audit a training run's model on a cohort and write ``audit.csv``, ``audit.html``, ``manifest.json``.

    The folder appears whole or not at all; the csv and html hold no timestamp (only the
    manifest does), so the same run, data and seed give identical files. The folder is also
    logged to the run in MLflow (``audit/``), where :func:`model_card` finds it.

    Parameters
    ----------
    run_id : str
        A training run (``vsvrisk train``).
    out : path
        The output folder; refused if it exists, unless ``overwrite``.
    data : path, optional
        A person-year file with ``vsv``; without it, the run's own synthetic evaluation cohort.
    overwrite : bool, default=False
    n_boot, random_state, threshold, top_share
        As in :func:`audit_predictions`.
    progress : callable, optional
        Called with a short description before each step.
    lang : {"nl", "en"}, default="nl"
        The language of the page.
    index : str, optional
        A relative link from the page to an index page.

    Returns
    -------
    Path
        The output folder.
    """
    from mlflow import MlflowClient

    from vsvrisk import tracking
    from vsvrisk._atomic import refuse_existing
    from vsvrisk.audit.html import render_audit_html, write_output_folder
    from vsvrisk.report import build_manifest
    from vsvrisk.cohorts import load_training_data
    from vsvrisk.report.glossary import check_language
    from vsvrisk.report.story import describe_cohort, describe_model
    from vsvrisk.tracking import load_model, load_spec

    check_language(lang)
    step = progress or (lambda message: None)
    out = refuse_existing(out, overwrite=overwrite)  # before any work is done
    spec = load_spec(run_id)
    model = load_model(run_id)
    if data is not None:
        step("reading the cohort")
        cohort = _memo.person_years(data, upper_age=spec.upper_age, require_target=True)
    else:
        step("drawing the run's synthetic evaluation cohort")
        frame, _ = load_training_data(spec, None)
        cohort = school_year_rows(frame, spec.data.eval_year).reset_index(drop=True)
    step(f"auditing {len(cohort):,} persons ({n_boot} bootstrap samples)")
    result = audit_predictions(cohort, _memo.predicted_risk(run_id, model, cohort), n_boot=n_boot, random_state=random_state,
                               threshold=threshold, top_share=top_share)
    story = {"model": describe_model(run_id, spec.name, spec.learner),
             "cohort": describe_cohort(cohort, data, source=None if data is not None else "run")}
    manifest = build_manifest(inputs={"data": data}, config=result.settings, model_run_id=run_id, seed=random_state,
                              extra={"references": result.references, "skipped": result.skipped, "cutoff": result.cutoff,
                                     "findings": result.findings(), "story": story})
    step("writing the reports")
    write_output_folder(out, {
        "audit.csv": lambda path: result.table.to_csv(path, index=False, float_format="%.6g", lineterminator="\n"),
        "audit.html": lambda path: path.write_text(render_audit_html(result, story, lang=lang, index=index), encoding="utf-8"),
    }, manifest, tables=(result.table,), overwrite=overwrite)
    # A child run of the training run: reopening the finished training run would stretch its
    # duration and mark it FAILED if logging broke off; the audit says nothing about training.
    with tracking.child_run(run_id, "audit") as child:
        MlflowClient().log_artifacts(child, str(out), artifact_path="audit")
    return out
