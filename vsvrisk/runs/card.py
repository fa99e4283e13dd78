"""The model card of a training run, as ``vsvrisk card`` writes it (``card.yaml``, ``card.html``)."""

from __future__ import annotations

import os
from pathlib import Path

from vsvrisk.audit import model_card

__all__ = ["card_run"]


def card_run(run_id: str, out: str | os.PathLike, overwrite: bool = False, *, audit=None) -> Path:
    """Write :func:`model_card` as ``card.yaml`` and ``card.html`` (with ``manifest.json``), all or nothing.

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
    from vsvrisk.audit.html import render_card_html, write_output_folder
    from vsvrisk.report import build_manifest

    out = refuse_existing(out, overwrite=overwrite)  # before any work is done
    card = model_card(run_id, audit=audit)
    audit_input = audit if isinstance(audit, (str, os.PathLike)) and Path(audit).is_file() else None
    manifest = build_manifest(inputs={"audit": audit_input}, config=None, model_run_id=run_id, seed=None,
                              extra={"to_be_filled": card["to_be_filled"]})
    text = yaml.safe_dump(card, sort_keys=False, allow_unicode=True, width=100)
    folder = write_output_folder(out, {
        "card.yaml": lambda path: path.write_text(text, encoding="utf-8"),
        "card.html": lambda path: path.write_text(render_card_html(card), encoding="utf-8"),
    }, manifest, overwrite=overwrite)
    with tracking.child_run(run_id, "card") as child:  # beside the training run, not inside it
        MlflowClient().log_artifacts(child, str(folder), artifact_path="card")
    return folder
