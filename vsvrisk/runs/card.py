"""The model card of a training run, as ``vsvrisk card`` writes it (``card.yaml``, ``card.html``)."""

from __future__ import annotations

import os
from pathlib import Path

from vsvrisk.audit import model_card

__all__ = ["card_run"]


def card_run(run_id: str, out: str | os.PathLike, overwrite: bool = False, *, audit=None, allocation=None,
             lang: str = "nl", story: dict | None = None, index: str | None = None) -> Path:
    """Write :func:`model_card` as ``card.yaml`` and ``card.html`` (with ``manifest.json``), all or nothing.

    ``story`` (the run, cohort and rules the other reports are about, see
    :mod:`vsvrisk.report.story`) heads the page; by default it names the run only. ``audit`` and
    ``allocation`` (folders) default to those logged to the run.
    The folder is also logged to MLflow (``card/``) in a child run of the training run.

    Returns
    -------
    Path
        The output folder.
    """
    import yaml
    from mlflow import MlflowClient

    from vsvrisk import tracking
    from vsvrisk._atomic import refuse_existing
    from vsvrisk.audit._card_html import render_card_html
    from vsvrisk.audit.html import write_output_folder
    from vsvrisk.report import build_manifest
    from vsvrisk.report.glossary import check_language
    from vsvrisk.report.story import describe_model

    check_language(lang)
    out = refuse_existing(out, overwrite=overwrite)  # before any work is done
    card = model_card(run_id, audit=audit, allocation=allocation, lang=lang)
    if story is None:
        spec = tracking.load_spec(run_id)
        story = {"model": describe_model(run_id, spec.name, spec.learner)}
    audit_input = audit if isinstance(audit, (str, os.PathLike)) and Path(audit).is_file() else None
    allocation_input = None
    if isinstance(allocation, (str, os.PathLike)):
        allocation_input = Path(allocation) / "manifest.json" if Path(allocation).is_dir() else allocation
    manifest = build_manifest(inputs={"audit": audit_input, "allocation": allocation_input}, config=None, model_run_id=run_id, seed=None,
                              extra={"to_be_filled": card["to_be_filled"], "story": story})
    text = yaml.safe_dump(card, sort_keys=False, allow_unicode=True, width=100)
    folder = write_output_folder(out, {
        "card.yaml": lambda path: path.write_text(text, encoding="utf-8"),
        "card.html": lambda path: path.write_text(render_card_html(card, story, index=index), encoding="utf-8"),
    }, manifest, overwrite=overwrite)
    with tracking.child_run(run_id, "card") as child:  # beside the training run, not inside it
        MlflowClient().log_artifacts(child, str(folder), artifact_path="card")
    return folder
