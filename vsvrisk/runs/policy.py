"""The policy analyses as ``vsvrisk policy prevention|registration|path`` run them.

Each reads the policy config (``configs/policy.yaml``), draws or reads the cohorts, fits the
model spec, calls the library (:mod:`vsvrisk.policy`), writes one folder all or nothing (csv,
one html page in Dutch or, with ``lang="en"``, English, ``manifest.json`` with the story: model,
cohort, rules) and records it as an MLflow run (parameters, headline metrics, the folder as
artifacts).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from vsvrisk._atomic import refuse_existing
from vsvrisk.data.years import school_year_rows
from vsvrisk.exceptions import ConfigError
from vsvrisk.policy.config import load_policy_config, override_section

__all__ = ["PolicyOutcome", "prevention_run", "registration_run", "path_run"]

EXPERIMENT = "policy"


@dataclass
class PolicyOutcome:
    """What a policy run made: its folder, its MLflow run and a few headline lines to print."""

    out: Path
    run_id: str
    lines: list[str] = field(default_factory=list)


@dataclass
class _Setup:
    settings: object
    allocation: object
    spec: object
    train: pd.DataFrame
    score: pd.DataFrame


def _setup(settings, step, *, need_truth: bool = False) -> _Setup:
    from vsvrisk.allocate import load_allocation_config
    from vsvrisk.data import read_person_years
    from vsvrisk.models import load_model_spec
    from vsvrisk.synth import generate

    allocation = load_allocation_config(settings.allocation)
    spec = load_model_spec(settings.model)
    data = settings.data
    if data.path is not None:
        if need_truth:
            raise ConfigError("the prevention check needs the synthetic world (its true risk p_true): "
                              "remove data.path from the policy config")
        step("reading the cohorts")
        frame = read_person_years(data.path, upper_age=spec.upper_age, require_target=True)
    else:
        step(f"drawing the synthetic cohorts ({data.synthetic_n_persons:,} persons each)")
        frame = generate(data.synthetic_n_persons, sorted({data.train_year, data.score_year}), data.synthetic_seed,
                         upper_age=spec.upper_age).frame
    train = school_year_rows(frame, data.train_year).reset_index(drop=True)
    score = school_year_rows(frame, data.score_year).reset_index(drop=True)
    if train.empty or score.empty:
        raise ConfigError(f"policy config: the data need school years {data.train_year} (fit) and {data.score_year} "
                          "(scored): change data.train_year / data.score_year")
    return _Setup(settings, allocation, spec, train, score)


def _facts(setup: _Setup, g, *more: tuple[str, str]) -> list[tuple[str, str]]:
    """The page's "how this was made" (the model, cohort and rules are in the story above)."""
    data = setup.settings.data
    text = str(data.path) if data.path is not None else g.pick(
        f"synthetisch, {g.number(data.synthetic_n_persons)} leerlingen per cohort, seed {data.synthetic_seed}",
        f"synthetic, {g.number(data.synthetic_n_persons)} pupils per cohort, seed {data.synthetic_seed}")
    return [(g.pick("Gegevens", "Data"), text), *more]


def _fitted_on(setup: _Setup, g) -> tuple[str, str]:
    return g.pick("Geschat op", "Fitted on"), g.school_year(setup.settings.data.train_year)


def _story(setup: _Setup, cohort: pd.DataFrame, *, bands=None, source: str | None = None) -> dict:
    """The model (fitted for the analysis, no tracked run), the cohort scored and the rules applied."""
    from vsvrisk.report.story import describe_cohort, describe_rules

    path = setup.settings.data.path
    # The analyses use the allocation config's budget, base, floor and scenario, never its
    # previous year and band: the path sets its bands itself.
    rules = describe_rules({**setup.allocation.model_dump(mode="json"), "previous": None}, dampening=False)
    if bands is not None:
        rules["bands"] = [float(band) for band in bands]
    return {"model": {"run_id": None, "name": setup.spec.name, "learner": setup.spec.learner},
            "cohort": describe_cohort(cohort, path if source is None else None,
                                      source=source or (None if path is not None else "policy")),
            "rules": rules}


def _write_and_track(out: Path, overwrite: bool, config, setup: _Setup, analysis: str, files: dict, tables: tuple,
                     params: dict, metrics: dict, experiment: str, extra: dict | None = None,
                     more_inputs: dict | None = None, story: dict | None = None) -> str:
    import mlflow

    from vsvrisk import tracking
    from vsvrisk.audit.html import write_output_folder
    from vsvrisk.report import build_manifest

    inputs = {"config": config if isinstance(config, (str, os.PathLike)) else None, "model": setup.settings.model,
              "allocation": setup.settings.allocation, "data": setup.settings.data.path, **(more_inputs or {})}
    manifest = build_manifest(inputs=inputs, config=setup.settings, model_run_id=None,
                              seed=setup.settings.data.synthetic_seed, extra={"analysis": analysis, **(extra or {}), "story": story})
    write_output_folder(out, files, manifest, tables=tables, overwrite=overwrite)
    with tracking.tracked_run(f"policy {analysis}", experiment=experiment, tags={"analysis": analysis}) as run:
        mlflow.log_params({"analysis": analysis, "model": setup.spec.name, **params})
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if pd.notna(v)})
        mlflow.log_artifacts(str(out), artifact_path=f"policy-{analysis}")
        return run.info.run_id


def _csv(table: pd.DataFrame):
    # Ten significant digits: euros up to a hundred million to the cent (six would round
    # 1,554,286 to 1,554,290).
    return lambda path: table.to_csv(path, index=False, float_format="%.10g", lineterminator="\n")


def prevention_run(config, out: str | os.PathLike, overwrite: bool = False, *, regions=None, fraction=None,
                   n_seeds=None, experiment: str = EXPERIMENT, progress=None, lang: str = "nl") -> PolicyOutcome:
    """The prevention check: ``prevention.csv``, ``prevention-regions.csv``, ``prevention.html``, manifest.

    ``regions``, ``fraction`` and ``n_seeds`` override the config's ``prevention`` section;
    ``lang`` is the language of the page (``nl`` or ``en``).
    """
    from vsvrisk.models import RiskModel
    from vsvrisk.policy import prevention_check
    from vsvrisk.policy.html import render_prevention_html
    from vsvrisk.report import suppress_small_cells
    from vsvrisk.report.glossary import glossary

    g = glossary(lang)
    step = progress or (lambda message: None)
    out = refuse_existing(out, overwrite=overwrite)
    settings, section = override_section(load_policy_config(config), "prevention", regions=regions, fraction=fraction,
                                         n_seeds=n_seeds)
    setup = _setup(settings, step, need_truth=True)
    seeds = list(range(section.n_seeds))
    step(f"refitting {len(seeds) * (1 + len(section.regions))} models (each region in turn, {len(seeds)} seeds)")
    table, summary = prevention_check(setup.score, RiskModel.from_spec(setup.spec), setup.allocation.rules(),
                                      regions_preventing=section.regions, fraction=section.fraction, seeds=seeds,
                                      scenario=setup.allocation.scenario, n_jobs=setup.settings.n_jobs)
    summary = suppress_small_cells(summary.rename(columns={"preventing_region": "region_code"}),
                                   threshold=setup.allocation.disclosure_threshold, total_published=False)
    newer = g.school_year(setup.settings.data.score_year)
    facts = _facts(setup, g, (g.pick("Voorkomen deel", "Share prevented"), g.percent(section.fraction, 0)),
                   (g.pick("Trekkingen", "Draws"), g.number(len(seeds))),
                   (g.pick("Nieuwer cohort", "Newer cohort"),
                    g.pick(f"{newer} (opnieuw geschat en gescoord)", f"{newer} (refitted and scored)")))
    story = _story(setup, setup.score)
    page = render_prevention_html(summary.rename(columns={"region_code": "preventing_region"}), table, facts,
                                  story=story, lang=lang)
    step("writing the report")
    run_id = _write_and_track(
        out, overwrite, config, setup, "prevention",
        {"prevention.csv": _csv(summary), "prevention-regions.csv": _csv(table),
         "prevention.html": lambda path: path.write_text(page, encoding="utf-8")}, (summary, table),
        {"fraction": section.fraction, "n_seeds": section.n_seeds, "regions": ",".join(map(str, section.regions))},
        {f"{m}_{r.region_code}": getattr(r, m) for r in summary.itertuples() for m in ("loss_eur", "loss_pct")},
        experiment, story=story)
    lines = [f"{r.region_name}: loss {r.loss_eur:,.0f} euros ({r.loss_pct:.2f}% of its amount; "
             f"over seeds {r.loss_eur_low:,.0f} to {r.loss_eur_high:,.0f}; sampling noise sd {r.noise_eur_sd:,.0f})"
             for r in summary.itertuples()]
    return PolicyOutcome(out, run_id, lines)


def registration_run(config, out: str | os.PathLike, overwrite: bool = False, *, refit=None, share_pp=None,
                     experiment: str = EXPERIMENT, progress=None, lang: str = "nl") -> PolicyOutcome:
    """The registration elasticity: ``registration.csv``, ``registration-national.csv``,
    ``risks-to-watch.csv``, ``registration.html``, manifest. ``refit`` and ``share_pp`` override the
    config; ``lang`` is the language of the page."""
    from vsvrisk.models import RiskModel
    from vsvrisk.policy import registration_elasticity, risks_to_watch
    from vsvrisk.policy.html import render_registration_html
    from vsvrisk.report import suppress_small_cells
    from vsvrisk.report.glossary import glossary

    g = glossary(lang)
    step = progress or (lambda message: None)
    out = refuse_existing(out, overwrite=overwrite)
    settings, section = override_section(load_policy_config(config), "registration", refit=refit, share_pp=share_pp)
    setup = _setup(settings, step)
    step(f"fitting {setup.spec.name} on {setup.settings.data.train_year}")
    model = RiskModel.from_spec(setup.spec).fit(setup.train)
    step("registering more pupils, region by region")
    rules, scenario = setup.allocation.rules(), setup.allocation.scenario
    table, national = registration_elasticity(setup.score, model, rules, registrations=section.registrations,
                                              share_pp=section.share_pp, scenario=scenario, seed=section.seed)
    threshold, price = setup.allocation.disclosure_threshold, table.attrs["lambda"]
    table = pd.concat([suppress_small_cells(block, "n_changed", threshold) for _, block in
                       table.groupby("registration", sort=False)], ignore_index=True)
    pairs = []
    if section.refit:
        pairs = ([(r, name) for r in section.refit_regions for name in section.registrations]
                 if section.refit_regions is not None else
                 list(risks_to_watch(table, section.n_watch)[["region_code", "registration"]].itertuples(index=False,
                                                                                                          name=None)))
    if pairs:  # none when every row is suppressed (too few newly registered pupils)
        step(f"refitting the model for {len(pairs)} regions and registrations")
        refitted, _ = registration_elasticity(
            setup.score, model, rules, registrations=list(dict.fromkeys(name for _, name in pairs)),
            share_pp=section.share_pp, scenario=scenario, seed=section.seed,
            regions_changed=list(dict.fromkeys(r for r, _ in pairs)), refit_on=setup.train, refit_pairs=pairs,
            n_jobs=setup.settings.n_jobs)
        columns = ["region_code", "registration", "need_change_refit", "eur_refit", "eur_per_person_refit"]
        table = table.merge(refitted[columns], on=["region_code", "registration"], how="left")
        table.loc[table["suppressed"], columns[2:]] = np.nan
        # No national refit figure: it would average only the regions refitted (the largest).
    watch = risks_to_watch(table, section.n_watch)
    points = g.number(section.share_pp, 1 if section.share_pp % 1 else 0)
    facts = _facts(setup, g, _fitted_on(setup, g), (g.pick("Extra geregistreerd", "Newly registered"),
                              g.pick(f"{points} procentpunt per regio", f"{points} percentage point per region")),
                   (g.pick("Prijs van behoefte (lambda)", "Price of need (lambda)"),
                    g.pick(f"{g.euro(price)} per eenheid behoefte", f"{g.euro(price)} per unit of need")))
    story = _story(setup, setup.score)
    page = render_registration_html(table, national, watch, facts, share_pp=section.share_pp, story=story, lang=lang)
    step("writing the report")
    run_id = _write_and_track(
        out, overwrite, config, setup, "registration",
        {"registration.csv": _csv(table), "registration-national.csv": _csv(national),
         "risks-to-watch.csv": _csv(watch), "registration.html": lambda path: path.write_text(page, encoding="utf-8")},
        (table, national, watch), {"share_pp": section.share_pp, "refit": section.refit, "seed": section.seed},
        {f"eur_per_person_fixed_{r.registration}": r.eur_per_person_fixed for r in national.itertuples()},
        experiment, extra={"risks_to_watch": watch.to_dict("records")}, story=story)
    lines = [f"{r.region_name}, {r.registration}: {r.eur_per_person:,.0f} euros per additional registered pupil"
             for r in watch.itertuples()]
    return PolicyOutcome(out, run_id, lines)


def path_run(config, out: str | os.PathLike, overwrite: bool = False, *, bands=None, first=None,
             experiment: str = EXPERIMENT, progress=None, lang: str = "nl") -> PolicyOutcome:
    """The multi-year path: ``path.csv``, ``path-regions.csv``, ``path-bands.csv``, ``path.html``, manifest.

    ``bands`` and ``first`` (an allocation.csv) override the config's ``path`` section; ``lang``
    is the language of the page.
    """
    from vsvrisk.allocate import allocate, need_from_predictions, read_previous_allocation
    from vsvrisk.data import read_person_years
    from vsvrisk.models import RiskModel
    from vsvrisk.policy import allocation_path
    from vsvrisk.policy.html import render_path_html
    from vsvrisk.report.glossary import glossary
    from vsvrisk.synth import generate

    g = glossary(lang)
    step = progress or (lambda message: None)
    out = refuse_existing(out, overwrite=overwrite)
    if first is not None and not Path(first).is_file():
        raise ConfigError(f"--first {first}: file not found: give last year's allocation.csv")
    settings, section = override_section(load_policy_config(config), "path", bands=bands, first=first)
    setup = _setup(settings, step)
    step(f"fitting {setup.spec.name} on {setup.settings.data.train_year}")
    model = RiskModel.from_spec(setup.spec).fit(setup.train)
    rules, scenario = setup.allocation.rules(), setup.allocation.scenario
    data = setup.settings.data
    if section.cohorts is not None:
        step("reading the cohorts of the path")
        cohorts = {year: read_person_years(path, upper_age=setup.spec.upper_age)
                   for year, path in zip(section.years, section.cohorts)}
    else:
        school_years = [data.score_year + k for k in range(len(section.years))]
        step(f"drawing the cohorts of the path (school years {school_years[0]}-{school_years[-1]})")
        frame = generate(data.synthetic_n_persons, school_years, data.synthetic_seed, upper_age=setup.spec.upper_age).frame
        cohorts = {year: school_year_rows(frame, school).reset_index(drop=True)
                   for year, school in zip(section.years, school_years)}
    step("scoring the cohorts")
    tables = {year: need_from_predictions(c.assign(p=model.predict_risk(c).to_numpy()), "p", scenario)
              for year, c in cohorts.items()}
    if section.first is not None:
        start, start_text = read_previous_allocation(section.first), str(section.first)
    else:
        base = need_from_predictions(setup.train.assign(p=model.predict_risk(setup.train).to_numpy()), "p", scenario)
        start = allocate(base["need"], rules)
        start_text = g.pick(f"het cohort {g.school_year(data.train_year)} verdeeld zonder band",
                            f"the cohort {g.school_year(data.train_year)} allocated without a band")
    step(f"the path under {len(section.bands)} bands")
    path = allocation_path(start, {year: t["need"] for year, t in tables.items()}, rules, section.bands,
                           tolerance_pct=section.tolerance_pct)
    counts = pd.concat([t["n_persons"].rename("n").reset_index().assign(year=year) for year, t in tables.items()])
    table = path.table.merge(counts, on=["year", "region_code"], how="left")
    threshold = setup.allocation.disclosure_threshold
    table["need"] = table["need"].mask(table["n"] < threshold)  # need from too few pupils is not published
    table = table.drop(columns="n")
    within = g.number(section.tolerance_pct, 1) + "%"
    facts = _facts(setup, g, _fitted_on(setup, g), (g.pick("Bedragen van het jaar ervoor", "Amounts of the year before"), start_text),
                   (g.pick("Jaren", "Years"), f"{section.years[0]}-{section.years[-1]}"),
                   (g.pick("Cohorten", "Cohorts"), ", ".join(str(c) for c in section.cohorts) if section.cohorts else
                    g.pick(f"synthetisch, {g.school_year(data.score_year)} en volgende",
                           f"synthetic, {g.school_year(data.score_year)} and after")),
                   (g.pick("Bereikt", "Reached"), g.pick(f"binnen {within} van het bedrag op basis van behoefte",
                                                         f"within {within} of the need-based amount")))
    scored = pd.concat([c[["school_year"]] for c in cohorts.values()], ignore_index=True)
    story = _story(setup, scored, bands=section.bands,
                   source=", ".join(str(c) for c in section.cohorts) if section.cohorts else "policy")
    page = render_path_html(path, facts, story=story, lang=lang)
    step("writing the report")
    run_id = _write_and_track(
        out, overwrite, config, setup, "path",
        {"path.csv": _csv(table), "path-regions.csv": _csv(path.regions), "path-bands.csv": _csv(path.bands),
         "path.html": lambda p: p.write_text(page, encoding="utf-8")}, (table, path.regions, path.bands),
        {"bands": ",".join(f"{b:g}" for b in section.bands), "years": f"{section.years[0]}-{section.years[-1]}",
         "tolerance_pct": section.tolerance_pct, "first": start_text},
        {f"{m}_{100 * r['band']:g}pct": r[m] for r in path.bands.to_dict("records")
         for m in ("years_to_converge", "n_not_reached")}, experiment,
        extra={"first": start_text}, story=story, more_inputs={"first": section.first, **{
            f"cohort_{year}": path for year, path in zip(section.years, section.cohorts or [])}})
    lines = [f"band {100 * r['band']:g}%: " + (f"every region reached its need-based amount by {r['all_reached_year']}"
                                               if pd.notna(r["all_reached_year"]) else
                                               f"{r['n_not_reached']} regions not within {section.tolerance_pct:g}% by "
                                               f"{section.years[-1]}") + f"; largest yearly change {r['largest_change_pct']:.1f}%"
             for r in path.bands.to_dict("records")]
    return PolicyOutcome(out, run_id, lines)
