"""The workflow behind ``vsvrisk explain``: explain a tracked model on one cohort, write it out.

Output folder (all or nothing): ``drivers.csv`` (mean |SHAP| per variable and sector),
``regions.csv`` (the 40 regions, long: one row per region and term), ``levels.csv`` (mean
contribution per level of each variable), ``compare.csv`` when two regions are compared,
``plots/*.png``, ``explain.html`` (one self-contained page: images inline, no scripts, no
network) and ``manifest.json``. The same files go to MLflow under ``explain/``, in a child run
of the training run. Every table is an aggregate with cells of fewer than ``disclosure_threshold``
persons suppressed.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Callable
from html import escape
from pathlib import Path

import pandas as pd

from vsvrisk.exceptions import ConfigError, SchemaError

__all__ = ["explain_run"]


def _load(run_id: str):
    from mlflow.exceptions import MlflowException

    from vsvrisk.tracking import load_model, load_spec

    try:
        return load_model(run_id), load_spec(run_id)
    except (MlflowException, OSError) as error:  # a run without a model: not a training run
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ConfigError(f"run '{run_id}' has no vsvrisk model to explain ({first}): "
                          "pass the run id of a 'vsvrisk train' run") from None


def _cohort(spec, data, school_year) -> tuple[pd.DataFrame, dict]:
    """One cohort of the data file (any target), or of the spec's synthetic population."""
    if data is None:
        from vsvrisk.cohorts import load_training_data

        frame, source = load_training_data(spec, None)
    else:
        from vsvrisk.data import read_person_years
        from vsvrisk.report import file_sha256

        frame = read_person_years(data, upper_age=spec.upper_age)
        source = {"data_source": "file", "data_path": str(data), "data_sha256": file_sha256(data)}
    years = sorted(pd.unique(frame["school_year"]).tolist())
    year = years[-1] if school_year is None else school_year
    if year not in years:
        raise SchemaError(f"school year {year} is not in the data (it has {', '.join(map(str, years))}): "
                          "choose one of those")
    return frame[frame["school_year"] == year], {**source, "school_year": int(year)}


def _png(figure, path: Path) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)  # harmless for a pyplot-free Figure; frees shap's pyplot figures
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f"<img src='data:image/png;base64,{data}' alt='{escape(alt, quote=True)}'>"


def _number(value, digits: int = 3, percent: bool = False) -> str:
    if pd.isna(value):
        return "&ndash;"
    return f"{100 * value:.2f}%" if percent else f"{value:+.{digits}f}"


_STYLE = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;line-height:1.45;padding:0 1em}
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}table{border-collapse:collapse;font-size:.85em;margin:.6em 0}
td,th{border:1px solid #ddd;padding:3px 7px;text-align:right;vertical-align:top}th{background:#f3f3f3}
td.t,th.t{text-align:left}img{max-width:100%;height:auto}.up{color:#a8441a}.down{color:#335d8f}
.note{color:#555;font-size:.9em}details{margin:.3em 0}summary{cursor:pointer}.grid{display:flex;flex-wrap:wrap;gap:1em}
.grid img{max-width:540px}"""


def _drivers_html(drivers: pd.DataFrame) -> str:
    parts = []
    for group, table in drivers.groupby("model_group", sort=False):
        rows = "".join(
            f"<tr><td>{'' if pd.isna(r.rank) else int(r.rank)}</td><td class='t'>{escape(str(r.variable))}</td>"
            f"<td>{'&ndash;' if pd.isna(r.mean_abs_shap) else f'{r.mean_abs_shap:.3f}'}</td>"
            f"<td>{_number(r.share_of_total, percent=True)}</td></tr>" for r in table.itertuples())
        parts.append(f"<div><h3>{escape(str(group))} ({escape(str(table['n_persons'].iloc[0]))} persons)</h3>"
                     "<table><tr><th>Rank</th><th class='t'>Variable</th><th>Mean |SHAP|</th><th>Share</th></tr>"
                     f"{rows}</table></div>")
    return f"<div class='grid'>{''.join(parts)}</div>"


def _regions_html(regions: pd.DataFrame) -> str:
    rows = []
    for (code, name), region in regions.groupby(["region_code", "region_name"], sort=True):
        first = region.iloc[0]
        if bool(first["suppressed"]):
            rows.append(f"<tr><td>{escape(str(code))}</td><td class='t'>{escape(str(name))}</td>"
                        "<td colspan='6' class='t note'>suppressed: too few persons</td></tr>")
            continue
        # The terms in need per person (% of the national mean): the budget's own unit.
        terms = (100 * region.set_index("term")["contribution_share"] / first["population_share"]).sort_values()
        up = ", ".join([f"{escape(t)} {v:+.0f}%" for t, v in terms[::-1].items() if v >= 0.5][:3]) or "&ndash;"
        down = ", ".join([f"{escape(t)} {v:+.0f}%" for t, v in terms.items() if v <= -0.5][:3]) or "&ndash;"
        gap = first["region_mean_log_odds"] - first["national_mean_log_odds"]
        ratio = first["need_share"] / first["population_share"]
        rows.append(
            f"<tr><td>{escape(str(code))}</td><td class='t'>{escape(str(name))}</td><td>{int(first['n_persons']):,}</td>"
            f"<td class='{'up' if gap > 0 else 'down'}'>{gap:+.3f}</td><td>{_number(first['need_share'], percent=True)}</td>"
            f"<td>{_number(first['population_share'], percent=True)}</td><td class='{'up' if ratio > 1 else 'down'}'>{ratio:.2f}</td>"
            f"<td class='t'><span class='up'>{up}</span><br><span class='down'>{down}</span></td></tr>")
    return ("<table><tr><th>Code</th><th class='t'>Region</th><th>Persons</th><th>Log-odds vs nation</th>"
            "<th>Need share</th><th>Population share</th><th>Need per person (nation = 1)</th>"
            "<th class='t'>Largest terms up / down (need per person, % of the national mean)</th></tr>" + "".join(rows) + "</table>")


def _page(title: str, facts: dict, sections: list[tuple[str, str]]) -> str:
    listed = "".join(f"<tr><th class='t'>{escape(k)}</th><td class='t'>{escape(str(v))}</td></tr>" for k, v in facts.items())
    body = "".join(f"<h2>{escape(heading)}</h2>{content}" for heading, content in sections)
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1><table>{listed}</table>{body}</body></html>")


_METHOD = """<p class='note'>What is explained is the model's predicted log-odds of vsv for each person (for a
calibrated model: before calibration). A person's log-odds are a <em>base value</em> (one per sector model: vo, or
mbo with vavo) plus one contribution per variable (SHAP values: exact TreeSHAP for LightGBM, coefficient times the
centred value for the logistic model, centred on this cohort's means). One-hot columns are added up to the variable
they encode (<code>age_group_15</code> belongs to <code>age_group</code>).</p>
<p class='note'>A region's mean log-odds minus the national mean is, exactly, the sum over variables of the region's
mean contribution minus the national mean contribution, plus <code>model_group_mix</code>: the difference in mean
base value, which comes from the region's mix of vo and mbo pupils. The need share minus the population share is split
over the same terms: each person's probability minus the probability at the national mean log-odds is divided over the
terms in proportion to that person's centred contributions (through the secant of the sigmoid), then summed over the
region and set against the nation; the parts add up exactly.</p>
<p class='note'>Tables: cells of fewer than {threshold} persons are suppressed. The beeswarm and dependence plots show
individual persons of a random sample: check them against the output rules before publishing.</p>"""


def explain_run(
    run_id: str,
    data: str | os.PathLike | None = None,
    out: str | os.PathLike = "explanations",
    *,
    overwrite: bool = False,
    disclosure_threshold: int = 10,
    school_year: int | None = None,
    compare: tuple[int, int] | None = None,
    sample_size: int = 20_000,
    chunk_size: int | None = None,
    person_level_plots: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Explain a training run's model on one cohort: tables, plots and a page, to disk and MLflow.

    Parameters
    ----------
    run_id : str
        An MLflow run of ``vsvrisk train``.
    data : path, default=None
        A person-year file (parquet or csv; the target may be missing). ``None``: the run's
        synthetic population, drawn again from its spec.
    out : path, default="explanations"
        The output folder; written all or nothing.
    overwrite : bool, default=False
        Replace ``out`` if it exists.
    disclosure_threshold : int, default=10
        Cells of fewer persons are suppressed.
    school_year : int, default=None
        The cohort to explain; ``None``: the latest in the data.
    compare : (int, int), default=None
        Two region codes: also write ``compare.csv`` and its waterfall (region A against B).
    sample_size : int, default=20_000
        Rows sampled for the beeswarm and dependence plots.
    person_level_plots : bool, default=False
        Draw the beeswarm and dependence plots. They show individual persons, so they are off
        by default (DESIGN section 11): turn them on only inside the secure environment.
    chunk_size : int, default=None
        Rows per SHAP pass (``None``: :data:`~vsvrisk.explain.CHUNK_SIZE`).
    progress : callable, default=None
        Called with a short description before each step.

    Returns
    -------
    Path
        The output folder.

    Raises
    ------
    ConfigError
        Unknown run id, a run without a model, a bad threshold, or a region to compare that is
        not in the data.
    OutputExistsError
        ``out`` exists and ``overwrite`` is false.
    DataFileError, SchemaError
        The data file cannot be read, breaks the data contract, lacks the school year or a
        column the model needs, or has rows of a sector the model has no model for.
    DisclosureError
        A region to compare has too few persons.

    See Also
    --------
    aggregate_shap, regional_decomposition, compare_regions : the steps, as functions.

    Examples
    --------
    >>> from vsvrisk.runs import train
    >>> run = train("configs/logistic.yaml", experiment="demo")  # doctest: +SKIP
    >>> explain_run(run.run_id, out="explanations", compare=(21, 28))  # doctest: +SKIP
    PosixPath('explanations')
    """
    from mlflow import MlflowClient

    from vsvrisk import tracking
    from vsvrisk._atomic import atomic_output
    from vsvrisk.explain import plots
    from vsvrisk.explain.aggregates import aggregate_shap
    from vsvrisk.explain.drivers import (
        compare_regions,
        level_contributions,
        national_drivers,
        regional_decomposition,
    )
    from vsvrisk.explain.shap_values import CHUNK_SIZE
    from vsvrisk.report import (
        add_outputs,
        assert_no_person_rows,
        build_manifest,
        write_manifest,
    )

    step = progress or (lambda message: None)
    if isinstance(disclosure_threshold, bool) or not isinstance(disclosure_threshold, int) or disclosure_threshold < 1:
        raise ConfigError(f"disclosure threshold must be a whole number of persons of at least 1, got {disclosure_threshold!r}")
    if compare is not None:
        from vsvrisk.data.regions import region_names

        known = {str(code): code for code in region_names()}
        if isinstance(compare, str) or len(compare) != 2 or any(str(code) not in known for code in compare):
            raise ConfigError(f"compare takes two region codes of the catalogue (1-40), got {compare!r}")
        compare = tuple(known[str(code)] for code in compare)
    out = Path(out)
    with atomic_output(out, overwrite=overwrite) as folder:
        step(f"loading the model of run {run_id}")
        model, spec = _load(run_id)
        step("reading the data" if data is not None else "drawing the synthetic population")
        cohort, source = _cohort(spec, data, school_year)
        step(f"SHAP values of {len(cohort):,} persons ({spec.learner})")
        aggregates = aggregate_shap(model, cohort, chunk_size=chunk_size or CHUNK_SIZE, sample_size=sample_size)
        drivers = national_drivers(aggregates, threshold=disclosure_threshold)
        levels = level_contributions(aggregates, threshold=disclosure_threshold)
        regions = regional_decomposition(aggregates, threshold=disclosure_threshold)
        comparison = compare_regions(regions, *compare) if compare is not None else None
        folder.mkdir()
        tables = {"drivers.csv": drivers, "regions.csv": regions, "levels.csv": levels}
        if comparison is not None:  # which regions, in the file itself (attrs do not survive CSV)
            tables["compare.csv"] = comparison.assign(region_a_code=compare[0], region_b_code=compare[1])
        for name, table in tables.items():
            assert_no_person_rows(table)
            table.to_csv(folder / name, index=False)
        step("drawing the plots")
        images = {"drivers": _png(plots.drivers_figure(drivers), folder / "plots" / "drivers.png")}
        # Beeswarm and dependence plots draw individual persons: privacy by default keeps them
        # out of the page and MLflow unless the analyst asks for them inside the secure environment.
        for group in (aggregates.sample_values if person_level_plots else ()):
            images[f"beeswarm {group}"] = _png(plots.beeswarm_figure(aggregates, group), folder / "plots" / f"beeswarm_{group}.png")
            top = drivers[(drivers["model_group"] == group)].dropna(subset=["rank"]).nsmallest(3, "rank")["variable"]
            for variable in top:
                images[f"dependence {group} {variable}"] = _png(
                    plots.dependence_figure(aggregates, group, variable),
                    folder / "plots" / f"dependence_{group}_{variable}.png")
        images["regions need"] = _png(plots.regions_figure(regions, measure="need_per_person"),
                                      folder / "plots" / "regions_need_per_person.png")
        images["regions"] = _png(plots.regions_figure(regions), folder / "plots" / "regions_log_odds.png")
        waterfalls = {}
        for (code, name), region in regions.groupby(["region_code", "region_name"], sort=True):
            if not region["suppressed"].iloc[0]:
                waterfalls[(code, name)] = _png(plots.waterfall_figure(regions, code),
                                                folder / "plots" / "waterfall" / f"region_{code:02d}.png")
        if comparison is not None:
            images["compare"] = _png(plots.comparison_figure(comparison),
                                     folder / "plots" / f"compare_{compare[0]}_{compare[1]}.png")
        step("writing the page")
        run_name = getattr(getattr(_run_info(run_id), "data", None), "tags", {}).get("mlflow.runName", spec.name)
        facts = {"Model run": f"{run_name} ({run_id})", "Learner": spec.learner,
                 "Cohort": f"{source['school_year']}/{source['school_year'] + 1}", "Persons": f"{len(cohort):,}",
                 "Data": source.get("data_path", source["data_source"]),
                 "National mean log-odds": f"{regions['national_mean_log_odds'].iloc[0]:.3f}"}
        sections = [
            ("National drivers", "<p>Mean absolute SHAP value per variable: how much, on average, a variable moves a "
             "person's predicted log-odds away from the base value. Per sector model.</p>"
             + _drivers_html(drivers) + _img(images["drivers"], "mean |SHAP| per variable")),
            ("How each variable acts (sample of persons)", (
                "<p>Off by default: these plots show individual persons. Make them with "
                "<code>person_level_plots=True</code> inside the secure environment, and check them against "
                "the output rules before anything leaves it.</p>") if not person_level_plots else "".join(
                f"<p>{_img(png, key)}</p><div class='grid'>" + "".join(
                    _img(d, k) for k, d in images.items() if k.startswith(f"dependence {key[9:]} ")) + "</div>"
                for key, png in images.items() if key.startswith("beeswarm "))),
            ("The 40 regions", "<p>The need per person is a region's need share (its sum of predicted risks) divided "
             "by its population share: 1.25 means a quarter more need per pupil than the national mean. Below, the "
             "difference from the nation is split over the variables, first in need per person, then in mean "
             "predicted log-odds (the model's own scale, on which the split is a plain sum; the two can differ in "
             "sign when a region's risks are spread differently).</p>"
             + _img(images["regions need"], "regional decomposition, need per person") + _regions_html(regions)
             + _img(images["regions"], "regional decomposition, log-odds")),
        ]
        if comparison is not None:
            a = comparison.attrs
            rows = "".join(f"<tr><td class='t'>{escape(str(r.term))}</td><td>{r.contribution_log_odds:+.3f}</td>"
                           f"<td>{r.contribution_need_per_person:+.3f}</td></tr>" for r in comparison.itertuples())
            sections.append((f"{a['name_a']} against {a['name_b']}",
                             f"<p>Difference in mean log-odds {a['difference_log_odds']:+.3f}; in need per person "
                             f"{a['difference_need_per_person']:+.3f} (national mean risk = 1).</p>"
                             + _img(images["compare"], "comparison") + "<table><tr><th class='t'>Term</th>"
                             "<th>Log-odds</th><th>Need per person</th></tr>" + rows + "</table>"))
        sections.append(("Each region, step by step", "".join(
            f"<details><summary>{escape(f'{code:02d} {name}')}</summary>{_img(png, f'waterfall {name}')}</details>"
            for (code, name), png in waterfalls.items())))
        sections.append(("Method", _METHOD.replace("{threshold}", str(disclosure_threshold))))
        (folder / "explain.html").write_text(_page("Why predicted vsv risk differs between regions", facts, sections),
                                             encoding="utf-8")
        config = {"school_year": source["school_year"], "disclosure_threshold": disclosure_threshold,
                  "sample_size": sample_size, "chunk_size": chunk_size or CHUNK_SIZE,
                  "compare": list(compare) if compare is not None else None}
        manifest = build_manifest({"data": data}, config, run_id, 0, extra=source)
        files = {str(p.relative_to(folder)): p for p in sorted(folder.rglob("*")) if p.is_file()}
        write_manifest(add_outputs(manifest, files), folder / "manifest.json")
    step("logging the explanation to MLflow")
    # A child run of the training run, through the client: reopening the training run would
    # stretch its duration over the explanation, and fail if another run is active here.
    with tracking.child_run(run_id, "explain") as child:
        MlflowClient().log_artifacts(child, str(out), artifact_path="explain")
    return out


def _run_info(run_id: str):
    from vsvrisk import tracking

    return tracking.load_run(run_id)
