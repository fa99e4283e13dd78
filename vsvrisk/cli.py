"""The ``vsvrisk`` command line (typer).

Errors are mapped to exit codes in one place, :func:`main`: a :class:`VsvriskError` (bad
input) prints ``error: <one line>`` on stderr and exits 2; any other exception is a bug and
keeps its traceback (exit 1). Commands hold no modelling logic: they parse options, call the
library, and print.

Help and bad input are answered at once: this module imports typer and nothing heavy (a test
holds it to that), and each command checks its options, its config (the pydantic models need
neither pandas nor scikit-learn), its run id (in the local SQLite store, without MLflow) and that
its output does not exist yet, before it imports what it runs (``experiments/bench_cli.py`` times it).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from vsvrisk._atomic import refuse_existing
from vsvrisk._cli_checks import GroupHelp, check_input, check_run
from vsvrisk._cli_models import compare, promote, sweep, train
from vsvrisk._cli_policy import policy_app
from vsvrisk._compat import CliAbort, CliUsageError
from vsvrisk._display import print_allocation, print_figures
from vsvrisk.exceptions import ConfigError, VsvriskError
from vsvrisk.runs._need_source import check_need_source

_HELP = """Regional risk of early school leaving (vsv) and the budget that follows it.

Every command explains its options with an example: vsvrisk COMMAND --help.

Example: vsvrisk demo
"""

app = typer.Typer(
    name="vsvrisk",
    help=_HELP,
    add_completion=False,
    add_help_option=False,  # the callback's own --help: see GroupHelp
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


# Options that take several values after one flag (``--school-years 2018 2019``). Click
# options take a fixed number of values, so :func:`main` rewrites them to repeated flags.
_MULTI_VALUE_OPTIONS = ("--school-years", "--compare")


@app.callback()
def _root(_help: GroupHelp = False) -> None:
    """Regional risk of early school leaving (vsv) and the budget that follows it.

    Example: vsvrisk demo
    """


def _expand_multi_value_options(argv: list[str]) -> list[str]:
    expanded: list[str] = []
    option = None
    for arg in argv:
        if arg in _MULTI_VALUE_OPTIONS:
            option = arg
            continue
        if option is not None and not arg.startswith("-"):
            expanded += [option, arg]
            continue
        option = None
        expanded.append(arg)
    return expanded


@app.command()
def synth(
    out: Annotated[Path, typer.Option(help="Output file: .parquet or .csv, e.g. --out cohorts.parquet")],
    n_persons: Annotated[int, typer.Option(min=1, help="Persons per school year, e.g. --n-persons 1500000")] = 100_000,
    school_years: Annotated[Optional[list[int]], typer.Option(help="School years t (2019 = 2019/20); several may follow the flag, e.g. --school-years 2018 2019")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sample: same seed, same file, e.g. --seed 1")] = 0,
    truth: Annotated[str, typer.Option(help="nonlinear (default) or logistic (main effects only), e.g. --truth logistic")] = "nonlinear",
    upper_age: Annotated[int, typer.Option(help="Population younger than this (23; 27 under the 2026 law), e.g. --upper-age 27")] = 23,
    overwrite: Annotated[bool, typer.Option(help="Replace OUT if it exists, e.g. --overwrite")] = False,
) -> None:
    """Generate a synthetic person-year table and print it against the published figures.

    Example: vsvrisk synth --n-persons 1500000 --school-years 2018 2019 --seed 1 --out cohorts.parquet
    """
    if truth not in ("nonlinear", "logistic"):
        raise ConfigError(f"--truth must be 'nonlinear' or 'logistic', got '{truth}'")
    if out.suffix.lower() not in (".parquet", ".csv"):
        raise ConfigError(f"--out {out}: the file name must end in .parquet or .csv")
    if out.exists() and not overwrite:
        raise ConfigError(f"--out {out} exists already: choose another path or pass --overwrite")
    from rich.console import Console

    from vsvrisk.data import write_person_years
    from vsvrisk.synth import generate

    console = Console(stderr=False)
    with console.status("drawing the population"):
        population = generate(n_persons, school_years or [2019], seed, truth=truth, upper_age=upper_age)
    with console.status(f"writing {out}"):
        write_person_years(population.frame, out, overwrite=overwrite)
    print_figures(population.frame, console)
    console.print(f"wrote {len(population.frame):,} rows to {out}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo's files (each subfolder replaced on every run), e.g. --out out/demo")] = Path("out/demo"),
    n_persons: Annotated[int, typer.Option(min=1_000, help="Persons per school year (about 2 minutes at the default on two cores), e.g. --n-persons 50000")] = 200_000,
    national: Annotated[bool, typer.Option(help="National size: 1.5 million persons per school year (overrides --n-persons; under three minutes on two cores), e.g. --national")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic population: same seed, same cohorts, e.g. --seed 7")] = 1,
    lang: Annotated[str, typer.Option(help="Language of the pages and the workbook: nl (Dutch, the default) or en (English), e.g. --lang en")] = "nl",
) -> None:
    """Run the main job end to end on embedded defaults (synthetic data, nothing to download).

    Draws two synthetic cohorts and prints them against the published figures; trains the CBS
    replica and LightGBM out of time (fitted on 2018/19, evaluated on 2019/20) into the local
    MLflow store and puts them side by side; explains the better one (SHAP: national drivers,
    every region, Rijnmond against Zuidoost-Brabant); allocates EUR 90 million with it, first
    for a previous year (the 2018/19 cohort), then for 2026 (the 2019/20 cohort) dampened
    against it; audits it for fairness, writes its model card and the impact of modelling
    choices on the money. Ends with one summary: the models, the money, the reports, the UI.

    Example: vsvrisk demo --n-persons 50000 --out out/demo
    """
    from rich.console import Console

    from vsvrisk.demo import NATIONAL_N_PERSONS, print_summary, run_demo

    console = Console()
    result = run_demo(out, NATIONAL_N_PERSONS if national else n_persons, seed, console=console, lang=lang)
    print_summary(console, result)


# train, compare, promote, sweep: vsvrisk/_cli_models.py (the researchers' commands)
for command in (train, compare, promote, sweep):
    app.command()(command)


@app.command()
def explain(
    run: Annotated[str, typer.Option(help="Training run id (vsvrisk train prints it), e.g. --run 3ffaa558")],
    out: Annotated[Path, typer.Option(help="Output folder for drivers.csv, regions.csv, plots and explain.html, e.g. --out out/explain")],
    data: Annotated[Optional[Path], typer.Option(help="Cohort to explain (parquet or csv; the target may be missing); default: the run's synthetic population, e.g. --data cohort-2019.parquet")] = None,
    compare: Annotated[Optional[list[int]], typer.Option(help="Two region codes: why region A needs more (or less) than region B, e.g. --compare 29 37")] = None,
    person_level_plots: Annotated[bool, typer.Option(help="Also draw beeswarm and dependence plots; they show individual persons, so use this only inside the secure environment, e.g. --person-level-plots")] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace OUT if it exists, e.g. --overwrite")] = False,
) -> None:
    """Why the model predicts what it does: national drivers (SHAP) and why region A needs more than B.

    Example: vsvrisk explain --run 3ffaa558 --out out/explain --compare 29 37
    """
    if compare is not None and len(compare) != 2:
        raise ConfigError(f"--compare takes two region codes (A and B), got {len(compare)}")
    check_input("--data", data)
    refuse_existing(out, overwrite=overwrite)
    check_run(run)
    from rich.console import Console

    from vsvrisk.runs import explain_run

    console = Console()
    with console.status("explaining") as status:
        folder = explain_run(run, data, out, overwrite=overwrite, compare=tuple(compare) if compare else None,
                             person_level_plots=person_level_plots, progress=lambda message: status.update(message))
    console.print(f"explanations in {folder}: drivers.csv, regions.csv, levels.csv, plots/, explain.html")


@app.command()
def allocate(
    config: Annotated[Path, typer.Option(help="Allocation config (YAML), e.g. --config configs/allocation-2026.yaml")],
    out: Annotated[Path, typer.Option(help="Output folder for allocation.csv/.xlsx/.html and manifest.json, e.g. --out report/")],
    need: Annotated[Optional[Path], typer.Option(help="Need table (csv: region_code,need for all 40 regions), instead of --run, e.g. --need need.csv")] = None,
    run: Annotated[Optional[str], typer.Option(help="Training run id whose model scores the cohort (instead of --need), e.g. --run 3ffaa558")] = None,
    model: Annotated[Optional[str], typer.Option(help="Registered model (instead of --run; see vsvrisk promote), e.g. --model models:/vsvrisk-lightgbm@champion")] = None,
    data: Annotated[Optional[Path], typer.Option(help="Person-year cohort to score (with --run or --model); default: the run's evaluation cohort, e.g. --data cohort-2019.parquet")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace OUT if it exists, e.g. --overwrite")] = False,
    lang: Annotated[str, typer.Option(help="Language of the pages and the workbook: nl (Dutch, the default) or en (English), e.g. --lang en")] = "nl",
) -> None:
    """Split the budget over the 40 regions by need, under the config's rules, with a report.

    Need comes from a need table (--need) or from a trained model scoring a cohort (--run, or
    --model for a registered model such as models:/vsvrisk-lightgbm@champion).

    Example: vsvrisk allocate --config configs/allocation-2026.yaml --run 3ffaa558 --out report/
    """
    for option, path in (("--config", config), ("--need", need), ("--data", data)):
        check_input(option, path)
    refuse_existing(out, overwrite=overwrite)
    from vsvrisk.allocate import load_allocation_config

    load_allocation_config(config)
    if run is not None:
        check_run(run)
    check_need_source(need, run, model, data)  # the workflow checks it too, after NumPy is imported
    from rich.console import Console

    from vsvrisk import runs

    console = Console()
    with console.status("starting") as status:
        folder = runs.allocate_run(config, out, need=need, run_id=run, model_uri=model, data=data,
                                   overwrite=overwrite, progress=lambda message: status.update(message), lang=lang)
    print_allocation(console, folder)


@app.command()
def audit(
    run: Annotated[str, typer.Option(help="Training run id (vsvrisk train prints it), e.g. --run 3ffaa558")],
    out: Annotated[Path, typer.Option(help="Output folder for audit.csv, audit.html and manifest.json, e.g. --out out/audit")],
    data: Annotated[Optional[Path], typer.Option(help="Cohort with known vsv and migration background to audit; default: the run's evaluation cohort, e.g. --data cohort-2019.parquet")] = None,
    n_boot: Annotated[int, typer.Option(min=0, help="Bootstrap replicates for the intervals of the group metrics (0: no intervals), e.g. --n-boot 200")] = 1000,
    overwrite: Annotated[bool, typer.Option(help="Replace OUT if it exists, e.g. --overwrite")] = False,
    lang: Annotated[str, typer.Option(help="Language of the pages and the workbook: nl (Dutch, the default) or en (English), e.g. --lang en")] = "nl",
) -> None:
    """Whom the model is unfair to: calibration, AUC and selection per group, flagged outside 0.8-1.25.

    Example: vsvrisk audit --run 3ffaa558 --out out/audit
    """
    check_input("--data", data)
    refuse_existing(out, overwrite=overwrite)
    check_run(run)
    from rich.console import Console

    from vsvrisk.runs import audit_run

    console = Console()
    with console.status("auditing") as status:
        folder = audit_run(run, out, data, overwrite, n_boot=n_boot, progress=lambda message: status.update(message),
                           lang=lang)
    console.print(f"audit in {folder}: audit.csv, audit.html, manifest.json")


@app.command()
def impact(
    out: Annotated[Path, typer.Option(help="Output folder for impact.csv, impact.png, impact.html, e.g. --out out/impact")],
    config: Annotated[Optional[Path], typer.Option(help="Impact config (YAML: the alternatives, the allocation rules, and without --run the baseline); default: the shipped one, e.g. --config configs/impact.yaml")] = None,
    run: Annotated[Optional[str], typer.Option(help="Training run whose model is the baseline, on its own cohorts (the model that allocates), e.g. --run 3ffaa558")] = None,
    data: Annotated[Optional[Path], typer.Option(help="Cohort the run's model scores (with --run), as for allocate; default: the run's evaluation cohort, e.g. --data cohort-2019.parquet")] = None,
    allocation: Annotated[Optional[Path], typer.Option(help="Allocation config instead of the impact config's (the one the allocation used), e.g. --allocation configs/allocation-2026.yaml")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace OUT if it exists, e.g. --overwrite")] = False,
    lang: Annotated[str, typer.Option(help="Language of the pages and the workbook: nl (Dutch, the default) or en (English), e.g. --lang en")] = "nl",
) -> None:
    """What each modelling choice does to every region's share and euros, against the baseline.

    With --run the baseline is the run's own model on its own cohort, so its amounts are the
    allocation's; without it the config's model is fitted on the config's cohorts (a study).

    Example: vsvrisk impact --run 3ffaa558 --out out/impact
    """
    for option, path in (("--config", config), ("--data", data), ("--allocation", allocation)):
        check_input(option, path)
    refuse_existing(out, overwrite=overwrite)
    from vsvrisk.allocate import load_allocation_config
    from vsvrisk.audit import load_impact_config
    from vsvrisk.config import default_config

    config = config or default_config("impact")
    load_impact_config(config)  # with the model specs and the allocation config it names
    if allocation is not None:
        load_allocation_config(allocation)
    if run is not None:
        check_run(run)
    from rich.console import Console

    from vsvrisk.runs import impact_run

    console = Console()
    with console.status("refitting the alternatives") as status:
        folder = impact_run(config, out, overwrite, run_id=run, data=data,
                            allocation=allocation, lang=lang, progress=lambda message: status.update(message))
    console.print(f"impact in {folder}: impact.csv, impact.png, impact.html")


@app.command()
def card(
    run: Annotated[str, typer.Option(help="Training run id (its audit, if logged, fills the fairness fields), e.g. --run 3ffaa558")],
    out: Annotated[Path, typer.Option(help="Output folder for card.yaml and card.html, e.g. --out out/card")],
    overwrite: Annotated[bool, typer.Option(help="Replace OUT if it exists, e.g. --overwrite")] = False,
    lang: Annotated[str, typer.Option(help="Language of the pages and the workbook: nl (Dutch, the default) or en (English), e.g. --lang en")] = "nl",
) -> None:
    """A model card in the fields of the Dutch Algoritmeregister, from the run and its audit.

    Example: vsvrisk card --run 3ffaa558 --out out/card
    """
    refuse_existing(out, overwrite=overwrite)
    check_run(run)
    from vsvrisk.runs import card_run

    folder = card_run(run, out, overwrite, lang=lang)
    print(f"card in {folder}: card.yaml, card.html (fields only a person can fill in are marked)")


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port of the MLflow UI on 127.0.0.1, e.g. --port 5001")] = 5000,
) -> None:
    """Start the MLflow UI on the same store as train (one worker: the UI is heavy).

    The store is sqlite:///mlflow.db in the working directory unless MLFLOW_TRACKING_URI says otherwise.

    Example: vsvrisk ui --port 5001
    """
    import subprocess

    from vsvrisk import tracking

    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", tracking.tracking_uri(),
               "--port", str(port), "--workers", "1"]
    print(f"MLflow UI on http://127.0.0.1:{port} (Ctrl-C stops it)")
    raise typer.Exit(subprocess.call(command))


app.add_typer(policy_app, name="policy")  # vsvrisk policy prevention|registration|path (vsvrisk/_cli_policy.py)


def _interrupt_on_terminate() -> None:
    # A kill (SIGTERM) would end the process without unwinding: no temporary output removed,
    # the MLflow run left RUNNING. Turned into KeyboardInterrupt, it unwinds like Ctrl-C does.
    import signal
    import threading

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)
        # A shell starts background jobs with SIGINT ignored, and Python then keeps ignoring it:
        # an explicit interrupt must still stop the run cleanly.
        signal.signal(signal.SIGINT, signal.default_int_handler)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (0 done, 2 bad input, 1 a bug)."""
    argv = _expand_multi_value_options(list(sys.argv[1:] if argv is None else argv))
    _interrupt_on_terminate()
    try:
        result = app(args=argv, standalone_mode=False)
    except VsvriskError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; no output was written", file=sys.stderr)
        return 130
    except CliAbort:
        print("error: aborted; no output was written", file=sys.stderr)
        return 130
    except CliUsageError as error:  # a bad option value, a missing option, an unknown command
        message = " ".join(error.format_message().split())
        hint = getattr(error, "param_hint", None) or getattr(getattr(error, "param", None), "opts", None)
        if isinstance(hint, (list, tuple)):
            hint = " / ".join(hint)
        if hint and str(hint).strip("'") not in message:
            message = f"{hint}: {message}"
        print(f"error: {message}", file=sys.stderr)
        return 2
    # In non-standalone mode click returns the code of typer.Exit / ctx.exit, and typer turns
    # Ctrl-C (and so a kill, see above) into Exit(130) before it reaches the handler above.
    code = result if isinstance(result, int) else 0
    if code == 130:
        print("error: interrupted; no output was written", file=sys.stderr)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
