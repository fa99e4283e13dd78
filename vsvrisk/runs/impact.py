"""The impact study as ``vsvrisk impact`` writes it: ``impact.csv``, ``impact.png``, ``impact.html``."""

from __future__ import annotations

import os
from pathlib import Path

from vsvrisk.audit import impact, load_impact_config

__all__ = ["impact_run"]


def impact_run(config, out: str | os.PathLike, overwrite: bool = False, *, progress=None) -> Path:
    """Compute :func:`impact` and write ``impact.csv``, ``impact.png``, ``impact.html``, ``manifest.json``.

    The folder appears whole or not at all; only ``manifest.json`` holds a timestamp, so the
    same config (data, specs, seed) gives byte-identical csv, png and html.

    Returns
    -------
    Path
        The output folder.
    """
    from vsvrisk._atomic import refuse_existing
    from vsvrisk.audit.html import impact_figure, render_impact_html, write_output_folder
    from vsvrisk.report import build_manifest

    out = refuse_existing(out, overwrite=overwrite)  # before any work is done
    settings = load_impact_config(config)
    table = impact(settings, progress=progress)
    descriptions = {a.name: a.description for a in settings.alternatives}
    facts = {"Baseline model spec": settings.model.name, "Allocation config": settings.allocation.name,
             "Data": str(settings.data.path) if settings.data.path else
             f"synthetic, {settings.data.synthetic_n_persons:,} persons per cohort, seed {settings.data.synthetic_seed}"}
    inputs = {"config": config if isinstance(config, (str, os.PathLike)) else None, "model": settings.model,
              "allocation": settings.allocation, "data": settings.data.path}
    inputs.update({f"model_{a.name}": a.model for a in settings.alternatives if a.model is not None})
    manifest = build_manifest(inputs=inputs, config=settings, model_run_id=None, seed=settings.data.synthetic_seed,
                              extra={"alternatives": descriptions})

    def chart(path: Path) -> None:
        impact_figure(table).savefig(path, format="png", dpi=110, metadata={"Software": None})

    return write_output_folder(out, {
        "impact.csv": lambda path: table.to_csv(path, index=False, float_format="%.6g", lineterminator="\n"),
        "impact.png": chart,
        "impact.html": lambda path: path.write_text(render_impact_html(table, descriptions, facts), encoding="utf-8"),
    }, manifest, tables=(table,), overwrite=overwrite)
