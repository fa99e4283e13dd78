"""The impact study as ``vsvrisk impact`` writes it: ``impact.csv``, ``impact.png``, ``impact.html``.

With ``--run`` the baseline is the tracked run's own model scoring its cohort (the allocation's),
so the baseline amounts are the allocation's; without it the config's model spec is fitted on the
config's cohorts (a study of choices before any model allocates).
"""

from __future__ import annotations

import os
from pathlib import Path

from vsvrisk.audit import impact, load_impact_config
from vsvrisk.audit.impact import FittedBaseline
from vsvrisk.runs import _memo
from vsvrisk.runs.allocation import _cohorts

__all__ = ["impact_run"]


def impact_run(config, out: str | os.PathLike, overwrite: bool = False, *, run_id: str | None = None,
               data: str | os.PathLike | None = None, allocation: str | os.PathLike | None = None,
               lang: str = "nl", index: str | None = None, progress=None) -> Path:
    """Compute :func:`impact` and write ``impact.csv``, ``impact.png``, ``impact.html``, ``manifest.json``.

    The folder appears whole or not at all; only ``manifest.json`` holds a timestamp, so the
    same config (data, specs, seed) gives byte-identical csv, png and html.

    Parameters
    ----------
    config : path, dict or ImpactConfig
        The impact config: alternatives, allocation rules, and (without ``run_id``) the baseline.
    out : path
        The output folder.
    overwrite : bool, default=False
    run_id : str, optional
        A training run: its model is the baseline, fitted on its training cohort, scoring its
        evaluation cohort (or ``data``); the config's ``model`` and ``data`` are then not used.
    data : path, optional
        With ``run_id``: the cohort to score, as ``vsvrisk allocate --data``.
    allocation : path, optional
        An allocation config instead of the impact config's (the one the allocation used).
    lang : {"nl", "en"}, default="nl"
    index : str, optional
        A relative link from the page to an index page.
    progress : callable, optional

    Returns
    -------
    Path
        The output folder.
    """
    from vsvrisk._atomic import refuse_existing
    from vsvrisk.audit.html import alternative_label, impact_figure, render_impact_html, write_output_folder
    from vsvrisk.exceptions import ConfigError
    from vsvrisk.report import build_manifest
    from vsvrisk.report.glossary import check_language, glossary
    from vsvrisk.report.story import describe_cohort, describe_model, describe_rules
    from vsvrisk.allocate import load_allocation_config

    check_language(lang)
    if data is not None and run_id is None:
        raise ConfigError("--data needs --run: the cohort is scored with the run's model")
    out = refuse_existing(out, overwrite=overwrite)  # before any work is done
    settings = load_impact_config(config)
    if allocation is not None:
        settings = settings.model_copy(update={"allocation": Path(allocation)})
        load_impact_config(settings)  # the file checked
    step = progress or (lambda message: None)
    baseline, story = None, {}
    if run_id is not None:
        model, spec, train, cohort = _cohorts(run_id, data, step)
        if train is None:
            raise ConfigError(f"impact --run {run_id}: the run's training data are not found here, and every "
                              "alternative is fitted on them: run it where the training file is")
        # Inside the demo the allocation has scored this cohort with this model already, and an
        # alternative that another training run of the demo fitted on the same cohort is its run.
        cohort_digest = _memo.digest(cohort)
        p = _memo.predicted_risk(run_id, model, cohort, cohort_digest) if _memo.active() else None
        baseline = FittedBaseline(spec=spec, model=model, train=train, cohort=cohort, p=p,
                                  known=_memo.fitted_risks(train, cohort, cohort_digest))
        story["model"] = describe_model(run_id, spec.name, spec.learner)
        story["cohort"] = describe_cohort(cohort, data, source=None if data is not None else "run")
    rules = load_allocation_config(settings.allocation)
    story["rules"] = describe_rules(rules, dampening=rules.dampening)
    table = impact(settings, progress=progress, baseline=baseline)
    specs = table.attrs.get("specs", {})
    base = specs.get("baseline", {})
    if run_id is None:
        story = {"model": {"run_id": None, "name": base.get("name"), "learner": base.get("learner")},
                 "cohort": None, "rules": story["rules"]}
    g = glossary(lang)
    by_name = {a.name: a for a in settings.alternatives}
    labels = {name: alternative_label(by_name[name], specs.get(name), base, g) for name in specs if name != "baseline"}
    skipped = [alternative_label(by_name[name], base, None, g) for name in table.attrs.get("skipped", [])]
    notes = [g.pick(f"Weggelaten: {label}: dat is de baseline zelf.", f"Left out: {label}: that is the baseline itself.")
             for label in skipped]
    descriptions = {a.name: a.description for a in settings.alternatives}
    inputs = {"config": config if isinstance(config, (str, os.PathLike)) else None, "allocation": settings.allocation,
              "data": data if run_id is not None else settings.data.path}
    if run_id is None:
        inputs["model"] = settings.model
    inputs.update({f"model_{a.name}": a.model for a in settings.alternatives if a.model is not None})
    manifest = build_manifest(inputs=inputs, config=settings, model_run_id=run_id, seed=settings.data.synthetic_seed,
                              extra={"alternatives": descriptions, "skipped": table.attrs.get("skipped", []),
                                     "story": story})

    def chart(path: Path) -> None:
        impact_figure(table, labels, g).savefig(path, format="png", dpi=110, metadata={"Software": None})

    return write_output_folder(out, {
        "impact.csv": lambda path: table.to_csv(path, index=False, float_format="%.6g", lineterminator="\n"),
        "impact.png": chart,
        "impact.html": lambda path: path.write_text(
            render_impact_html(table, labels, story, lang=lang, notes=notes, index=index), encoding="utf-8"),
    }, manifest, tables=(table,), overwrite=overwrite)
