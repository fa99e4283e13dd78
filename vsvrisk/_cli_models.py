"""The researchers' commands: train, compare, promote, sweep (registered in :mod:`vsvrisk.cli`).

As every command: check the options and inputs before importing what the command runs, call the
workflow (:mod:`vsvrisk.runs`), print (:mod:`vsvrisk._display`). Errors reach
:func:`vsvrisk.cli.main`, which turns a :class:`~vsvrisk.exceptions.VsvriskError` into one line
and exit status 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from vsvrisk._cli_checks import check_input, check_run
from vsvrisk._display import print_metrics, print_sweep, print_warnings

__all__ = ["compare", "promote", "sweep", "train"]


def train(
    config: Annotated[Path, typer.Option(help="Model spec (YAML; see configs/), e.g. --config configs/lightgbm.yaml")],
    data: Annotated[Optional[Path], typer.Option(help="Person-year file (parquet or csv) with both cohorts of the spec; default: the spec's synthetic population, e.g. --data cohorts.parquet")] = None,
    experiment: Annotated[str, typer.Option(help="MLflow experiment to track the run in, e.g. --experiment models-2026")] = "vsvrisk",
) -> None:
    """Fit a model on one cohort, evaluate it on another (out of time), track it in MLflow.

    Example: vsvrisk train --config configs/cbs-replica.yaml --data cohorts.parquet
    """
    check_input("--config", config)
    check_input("--data", data)
    from vsvrisk.models import load_model_spec

    load_model_spec(config)
    from rich.console import Console

    from vsvrisk import runs, tracking

    console = Console()
    with console.status("starting") as status:
        run = runs.train(config, data, experiment=experiment, progress=lambda message: status.update(message))
    print_metrics(console, run)
    print_warnings(console, run.warnings)
    console.print(f"run id: [bold]{run.run_id}[/bold]  (store: {tracking.tracking_uri()})")


def compare(
    experiment: Annotated[str, typer.Option(help="MLflow experiment: its newest finished training runs on one evaluation cohort are compared, e.g. --experiment demo")] = "vsvrisk",
    run: Annotated[Optional[list[str]], typer.Option(help="Compare exactly these training runs instead (repeat the flag for each run), e.g. --run 3ffaa558")] = None,
    data: Annotated[Optional[Path], typer.Option(help="The person-year file the runs were trained on, when it is no longer at the path they recorded, e.g. --data cohorts.parquet")] = None,
    n_boot: Annotated[int, typer.Option(min=10, help="Bootstrap replicates for the intervals of the need shares, e.g. --n-boot 2000")] = 1000,
    out: Annotated[Path, typer.Option(help="Folder for compare.html, compare.png, the tables and manifest.json, e.g. --out out/compare")] = Path("out/compare"),
    overwrite: Annotated[bool, typer.Option(help="Replace OUT if it exists (the default); to keep it and stop instead, e.g. --no-overwrite")] = True,
) -> None:
    """Say which differences between trained models are real: paired 95% intervals on one cohort.

    Per sector: the AUC difference (DeLong), Brier score and log loss differences, calibration of
    each model; over all pupils: the distance of the need shares to the truth (or to the observed
    vsv) with a paired bootstrap interval. One sentence per pair. The predictions are recomputed
    from each run's model and cohort (never stored in MLflow).

    Example: vsvrisk compare --experiment demo --out out/compare
    """
    for run_id in run or ():
        check_run(run_id)
    from rich.console import Console

    from vsvrisk import runs
    from vsvrisk._display import print_comparison

    console = Console()
    with console.status("starting") as status:
        result = runs.compare_runs(experiment, run_ids=run, data=data, n_boot=n_boot,
                                   progress=lambda message: status.update(message))
    if result is None:
        console.print(f"no finished training runs in experiment '{experiment}' yet: run 'vsvrisk train --config ...' first")
        return
    print_comparison(console, result)
    folder = runs.write_comparison(result, out, overwrite=overwrite)
    console.print(f"wrote {folder / 'compare.html'} and {folder / 'compare.png'}")


def promote(
    run: Annotated[str, typer.Option(help="Training run id whose model gets the alias, e.g. --run 3ffaa558")],
    alias: Annotated[str, typer.Option(help="Alias to point at that run's model version, e.g. --alias champion")] = "champion",
) -> None:
    """Give a training run's registered model version an alias (models:/NAME@ALIAS finds it).

    Every training run registers its model as a version of vsvrisk-<spec name>; the alias moves
    to this run's version. Then: vsvrisk allocate --model models:/vsvrisk-lightgbm@champion ...

    Example: vsvrisk promote --run 3ffaa558 --alias champion
    """
    check_run(run)
    from vsvrisk import tracking

    name, version = tracking.promote(run, alias)
    print(f"models:/{name}@{alias} is now version {version} (run {run})")


def sweep(
    config: Annotated[Path, typer.Option(help="Sweep config (YAML; see configs/sweep-*.yaml), e.g. --config configs/sweep-lightgbm.yaml")],
    data: Annotated[Optional[Path], typer.Option(help="Person-year file (parquet or csv) with both cohorts of the spec, read once for every trial; default: the spec's synthetic population, e.g. --data cohorts.parquet")] = None,
    experiment: Annotated[str, typer.Option(help="MLflow experiment of the sweep's parent run, e.g. --experiment sweeps-2026")] = "vsvrisk-sweeps",
) -> None:
    """Try settings of a model (a grid or an Optuna search), each trial fitted and scored out of time.

    One MLflow parent run with a child run per trial; the best trial is tagged best_trial and its
    settings and metrics are copied onto the parent. Trials run in parallel through joblib, on
    this machine or on a Dask or Ray cluster named in the config.

    Example: vsvrisk sweep --config configs/sweep-lightgbm.yaml
    """
    check_input("--config", config)
    check_input("--data", data)
    from vsvrisk.runs import load_sweep_config

    load_sweep_config(config)  # every trial's settings checked against the model spec
    from rich.console import Console

    from vsvrisk import runs, tracking

    console = Console()
    with console.status("starting") as status:
        result = runs.sweep_run(config, data, experiment=experiment, progress=lambda message: status.update(message))
    print_sweep(console, result)
    console.print(f"sweep run id: [bold]{result.run_id}[/bold]  (store: {tracking.tracking_uri()})")
