"""What the command line prints: rich tables of figures, metrics, allocations and warnings."""

from __future__ import annotations

from pathlib import Path

__all__ = ["print_allocation", "print_comparison", "print_figures", "print_metrics", "print_model_comparison",
           "print_region_amounts", "print_warnings", "school_year"]


def print_figures(population_frame, console) -> None:
    from rich.table import Table

    from vsvrisk.synth import published_figures

    for year, cohort in population_frame.groupby("school_year"):
        table = Table(title=f"School year {school_year(year)}: {len(cohort):,} persons, against the figures "
                            f"published for {school_year(year)}")
        for name in ("figure", "synthetic", "published", "source", "accepted", ""):
            table.add_column(name, justify="right" if name in ("synthetic", "published", "accepted") else "left")
        for row in published_figures(cohort).itertuples():
            value = f"{row.value:.2f}{row.unit}"
            bounds = f"{row.low:.3g}-{row.high:.3g}{row.unit}"
            table.add_row(row.figure, value, f"{row.published:.3g}{row.unit}", row.source, bounds,
                          "ok" if row.within else "[red]outside[/red]")
        console.print(table)


def print_warnings(console, warnings: list[str]) -> None:
    for line in warnings:
        console.print(f"[yellow]warning[/yellow]: {line}", highlight=False)


def school_year(year: int) -> str:
    return f"{year}/{str(year + 1)[-2:]}"


#: Columns of the closing summary of a training run: (metric, header, format).
_SUMMARY_COLUMNS = (
    ("n", "n", "{:,.0f}"),
    ("observed_rate", "obs.", "{:.2%}"),
    ("expected_rate", "exp.", "{:.2%}"),
    ("roc_auc", "AUC", "{:.3f}"),
    ("truth_roc_auc", "truth AUC", "{:.3f}"),
    ("scaled_brier", "sc. Brier", "{:.3f}"),
    ("calibration_intercept", "cal. int.", "{:+.2f}"),
    ("calibration_slope", "cal. slope", "{:.2f}"),
)


def print_metrics(console, run) -> None:
    from rich.table import Table

    result = run.result
    by_sector = result.evaluation.by_sector
    table = Table(title=f"{run.spec.name}: fitted on {school_year(result.train_year)}, "
                        f"evaluated on {school_year(result.eval_year)}")
    columns = [c for c in _SUMMARY_COLUMNS if c[0] in by_sector]
    table.add_column("sector")
    for _, header, _ in columns:
        table.add_column(header, justify="right")
    for sector, row in by_sector.iterrows():
        table.add_row(str(sector), *(fmt.format(row[name]) for name, _, fmt in columns))
    console.print(table)
    if "need_share_l1" in result.evaluation.metrics:
        console.print(f"need shares against the truth: L1 error {100 * result.evaluation.metrics['need_share_l1']:.2f} percentage points")


def print_allocation(console, folder: Path) -> None:
    import pandas as pd
    from rich.table import Table

    import json

    print_warnings(console, json.loads((folder / "manifest.json").read_text())["extra"].get("drift_warnings") or [])
    table = pd.read_csv(folder / "allocation.csv")
    summary = Table(title=f"Allocation: EUR {table['amount_eur'].sum():,.0f} over {len(table)} regions (largest five)")
    for name in ("region", "need share", "amount (EUR)", "change"):
        summary.add_column(name, justify="left" if name == "region" else "right")
    for row in table.nlargest(5, "amount_eur").itertuples():
        change = f"{row.change_pct:+.1f}%" if "change_pct" in table and pd.notna(row.change_pct) else ""
        summary.add_row(str(row.region_name), f"{row.share:.2%}", f"{row.amount_eur:,.0f}", change)
    console.print(summary)
    console.print(f"reports in {folder}: allocation.csv, allocation.xlsx, allocation.html, manifest.json")


def print_model_comparison(console, runs: dict, chosen: str | None = None) -> None:
    """Training runs side by side: AUC and calibration slope per sector model, need-share error."""
    from rich.table import Table

    first = next(iter(runs.values())).result
    table = Table(title=f"Models side by side: fitted on {school_year(first.train_year)}, "
                        f"evaluated on {school_year(first.eval_year)}",
                  caption="cal. slope: calibration slope (1 is right); need L1: the need shares' distance "
                          "to the truth, percentage points (smaller is better)")
    table.add_column("model")
    for header in ("AUC vo", "AUC mbo", "cal. slope vo", "cal. slope mbo", "need L1"):
        table.add_column(header, justify="right")
    for name, run in runs.items():
        by_sector = run.result.evaluation.by_sector
        cells = [f"{by_sector.loc[sector, metric]:.3f}" if sector in by_sector.index else "-"
                 for metric in ("roc_auc", "calibration_slope") for sector in ("vo", "mbo")]
        l1 = run.result.evaluation.metrics.get("need_share_l1")
        table.add_row(name, *cells, "-" if l1 is None else f"{100 * l1:.2f}", style="bold" if name == chosen else None)
    console.print(table)
    for name, run in runs.items():
        console.print(f"  {name}: run {run.run_id}", highlight=False)


def print_comparison(console, result) -> None:
    """A run comparison (``vsvrisk compare``): AUC and need per model, then one sentence per pair."""
    from rich.table import Table

    comparison, cohort = result.comparison, result.cohort
    scores = comparison.scores.set_index(["model", "sector"])
    target = "truth" if comparison.reference == "truth" else "observed vsv"
    count = len(result.runs)
    table = Table(title=f"{count} run{'s' if count != 1 else ''} on cohort {school_year(cohort['school_year'])} "
                        f"({cohort['n_persons']:,} pupils)",
                  caption=f"need: distance of the need shares to the {target}, percentage points (lower is "
                          "better); calibration and the other scores are in compare.html")
    table.add_column("model", overflow="fold")
    sectors = [s for s in ("vo", "mbo") if (comparison.scores["sector"] == s).any()]
    for header in (*(f"AUC {s}" for s in sectors), "need", "95% interval"):
        table.add_column(header, justify="right", no_wrap=True)
    for row in comparison.need.itertuples():
        cells = [f"{scores.loc[(row.model, s), 'roc_auc']:.3f}" for s in sectors]
        table.add_row(row.model, *cells, f"{100 * row.need_distance:.2f}", f"{100 * row.low:.2f}-{100 * row.high:.2f}")
    console.print(table)
    for sentence in comparison.sentences or ["only one run on this cohort: nothing to compare it with"]:
        console.print(f"- {sentence}", highlight=False, soft_wrap=True)
    for line in result.left_out:
        console.print(f"  not compared: {line}", highlight=False, style="dim")


def print_region_amounts(console, table) -> None:
    """From an allocation table: the five largest amounts, and the five largest changes on last year."""
    import pandas as pd
    from rich.table import Table

    largest = Table(title=f"The five regions with the largest amounts (of EUR {table['amount_eur'].sum():,.0f})")
    for name in ("region", "amount (EUR)", "of budget", "need share", "change"):
        largest.add_column(name, justify="left" if name == "region" else "right")
    has_previous = "previous_eur" in table and table["previous_eur"].notna().any()
    for row in table.nlargest(5, "amount_eur").itertuples():
        change = f"{row.change_pct:+.1f}%" if has_previous and pd.notna(row.change_pct) else ""
        largest.add_row(str(row.region_name), f"{row.amount_eur:,.0f}", f"{row.amount_share:.2%}", f"{row.share:.2%}",
                        change)
    console.print(largest)
    if not has_previous:
        return
    changes = Table(title="The five regions with the largest changes against the previous year (in euros)",
                    caption="limit: the dampening band or floor that held the amount (none: need alone)")
    for name in ("region", "amount (EUR)", "change (EUR)", "change", "limit"):
        changes.add_column(name, justify="left" if name in ("region", "limit") else "right")
    moved = table.assign(size=table["change_eur"].abs()).sort_values(["size", "region_code"], ascending=[False, True])
    for row in moved.head(5).itertuples():
        changes.add_row(str(row.region_name), f"{row.amount_eur:,.0f}", f"{row.change_eur:+,.0f}",
                        f"{row.change_pct:+.1f}%", str(row.binding).replace("_", " "))
    console.print(changes)


def print_sweep(console, result) -> None:
    """The trials of a sweep, best first, and the best one in a line."""
    from rich.table import Table

    trials = result.trials.sort_values(result.objective, ascending=result.direction == "minimize", na_position="last")
    settings = list(result.best["settings"])

    def shown(value) -> str:
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    table = Table(title=f"Sweep: {len(trials)} trials, {result.objective} ({result.direction}d), best first")
    for column in ("trial", *(key.rsplit(".", 1)[-1] for key in settings), result.objective, "seconds"):
        table.add_column(column, justify="right")
    for row in trials.to_dict("records"):  # settings are dotted keys: not attribute names
        value = row[result.objective]
        table.add_row(str(row["number"]), *(shown(row[key]) for key in settings),
                      "failed" if row["state"] != "FINISHED" else f"{value:.4f}", f"{row['duration_s']:.1f}")
    console.print(table)
    best = result.best
    console.print(f"best: trial {best['number']} ({', '.join(f'{k} {shown(v)}' for k, v in best['settings'].items())}), "
                  f"{result.objective} {best['value']:.4f}; run {best['run_id']}")
