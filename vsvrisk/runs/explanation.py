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

import io
import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from vsvrisk.data.years import school_year_rows
from vsvrisk.exceptions import ConfigError, SchemaError
from vsvrisk.runs import _memo

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
        from vsvrisk.report import file_sha256

        frame = _memo.person_years(data, upper_age=spec.upper_age)
        source = {"data_source": "file", "data_path": str(data), "data_sha256": file_sha256(data)}
    years = sorted(pd.unique(frame["school_year"]).tolist())
    year = years[-1] if school_year is None else school_year
    if year not in years:
        raise SchemaError(f"school year {year} is not in the data (it has {', '.join(map(str, years))}): "
                          "choose one of those")
    return school_year_rows(frame, year), {**source, "school_year": int(year)}


def _png(figure, path: Path) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)  # harmless for a pyplot-free Figure; frees shap's pyplot figures
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


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
    lang: str = "nl",
    index: str | None = None,
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
    lang : {"nl", "en"}, default="nl"
        The language of the page.
    index : str, optional
        A relative link from the page to an index page.

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

    from vsvrisk.report.explain_html import render_explain_html
    from vsvrisk.report.glossary import check_language
    from vsvrisk.report.story import describe_cohort, describe_model

    check_language(lang)
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
        aggregates = _memo.shap_aggregates(run_id, model, cohort, chunk_size=chunk_size or CHUNK_SIZE,
                                           sample_size=sample_size)
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
        images = {"drivers": _png(plots.drivers_figure(drivers, lang=lang), folder / "plots" / "drivers.png")}
        # Beeswarm and dependence plots draw individual persons: privacy by default keeps them
        # out of the page and MLflow unless the analyst asks for them inside the secure environment.
        for group in (aggregates.sample_values if person_level_plots else ()):
            images[f"beeswarm {group}"] = _png(plots.beeswarm_figure(aggregates, group), folder / "plots" / f"beeswarm_{group}.png")
            top = drivers[(drivers["model_group"] == group)].dropna(subset=["rank"]).nsmallest(3, "rank")["variable"]
            for variable in top:
                images[f"dependence {group} {variable}"] = _png(
                    plots.dependence_figure(aggregates, group, variable),
                    folder / "plots" / f"dependence_{group}_{variable}.png")
        images["regions need"] = _png(plots.regions_figure(regions, measure="need_per_person", lang=lang),
                                      folder / "plots" / "regions_need_per_person.png")
        images["regions"] = _png(plots.regions_figure(regions, lang=lang), folder / "plots" / "regions_log_odds.png")
        waterfalls = {}
        for (code, name), region in regions.groupby(["region_code", "region_name"], sort=True):
            if not region["suppressed"].iloc[0]:
                waterfalls[(code, name)] = _png(plots.waterfall_figure(regions, code, lang=lang),
                                                folder / "plots" / "waterfall" / f"region_{code:02d}.png")
        if comparison is not None:
            images["compare"] = _png(plots.comparison_figure(comparison, lang=lang),
                                     folder / "plots" / f"compare_{compare[0]}_{compare[1]}.png")
        step("writing the page")
        story = {"model": describe_model(run_id, spec.name, spec.learner),
                 "cohort": describe_cohort(cohort, data, source=None if data is not None else "synthetic",
                                           sha256=source.get("data_sha256"))}
        page = render_explain_html(drivers=drivers, regions=regions, images=images, waterfalls=waterfalls,
                                   comparison=comparison, story=story, threshold=disclosure_threshold,
                                   person_level_plots=person_level_plots, lang=lang, index=index)
        (folder / "explain.html").write_text(page, encoding="utf-8")
        config = {"school_year": source["school_year"], "disclosure_threshold": disclosure_threshold,
                  "sample_size": sample_size, "chunk_size": chunk_size or CHUNK_SIZE,
                  "compare": list(compare) if compare is not None else None}
        manifest = build_manifest({"data": data}, config, run_id, 0, extra={**source, "story": story})
        files = {str(p.relative_to(folder)): p for p in sorted(folder.rglob("*")) if p.is_file()}
        write_manifest(add_outputs(manifest, files), folder / "manifest.json")
    step("logging the explanation to MLflow")
    # A child run of the training run, through the client: reopening the training run would
    # stretch its duration over the explanation, and fail if another run is active here.
    with tracking.child_run(run_id, "explain") as child:
        MlflowClient().log_artifacts(child, str(out), artifact_path="explain")
    return out
