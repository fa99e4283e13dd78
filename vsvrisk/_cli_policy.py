"""The ``vsvrisk policy`` command group: prevention, registration, path (registered in :mod:`vsvrisk.cli`).

As every command: parse the options, call the workflow (:mod:`vsvrisk.runs.policy`), print.
Errors reach :func:`vsvrisk.cli.main`, which turns a :class:`~vsvrisk.exceptions.VsvriskError`
into one line and exit status 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from vsvrisk._atomic import refuse_existing
from vsvrisk._cli_checks import GroupHelp
from vsvrisk.exceptions import ConfigError

__all__ = ["policy_app"]

policy_app = typer.Typer(
    help="""Does the allocation keep its promises over the years? Prevention, registration, the multi-year path.

Each analysis writes one folder (csv, an html page, manifest.json) and is tracked in MLflow.

Example: vsvrisk policy prevention --config configs/policy.yaml --out out/policy/prevention
""",
    no_args_is_help=True,
    add_help_option=False,  # the callback's own --help: see GroupHelp
)


@policy_app.callback()
def _policy(_help: GroupHelp = False) -> None:
    pass  # the group's only option is its --help; the help text is policy_app's


def _list_option(text: Optional[str], option: str, kind: type):
    """A comma-separated option value (``29,21,37``) as a list, or None when not given."""
    if text is None:
        return None
    try:
        return [kind(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"{option} {text}: give {kind.__name__} values separated by commas, e.g. {option} "
                          + ("29,21,37" if kind is int else "0.025,0.05,0.1")) from None


def _check_inputs(config: Path, out: Path, overwrite: bool, section: str, **overrides) -> None:
    # An existing output, a wrong key or value in the config (or in the model spec and allocation
    # config it names) or in an option that changes it: answered before the analysis imports the
    # modelling stack.
    from vsvrisk.policy.config import load_policy_config, override_section

    refuse_existing(out, overwrite=overwrite)
    override_section(load_policy_config(config), section, **overrides)


def _print_policy(outcome, files: str) -> None:
    from rich.console import Console

    console = Console()
    for line in outcome.lines:
        console.print(f"  {line}", highlight=False)
    console.print(f"{files} in {outcome.out}; MLflow run {outcome.run_id}", highlight=False)


@policy_app.command("prevention")
def policy_prevention(
    config: Annotated[Path, typer.Option(help="Policy config (YAML), e.g. --config configs/policy.yaml")],
    out: Annotated[Path, typer.Option(help="Output folder for prevention.csv, prevention.html and manifest.json, e.g. --out out/policy/prevention")],
    regions: Annotated[Optional[str], typer.Option(help="Regions that prevent, each in turn, separated by commas (default: the config's), e.g. --regions 29,21,37")] = None,
    fraction: Annotated[Optional[float], typer.Option(help="Share of the region's expected vsv'ers that prevention removes (default: the config's), e.g. --fraction 0.2")] = None,
    n_seeds: Annotated[Optional[int], typer.Option(help="Outcome draws, one model refit each per region (default: the config's), e.g. --n-seeds 5")] = None,
    experiment: Annotated[str, typer.Option(help="MLflow experiment to track the analysis in, e.g. --experiment policy")] = "policy",
    lang: Annotated[str, typer.Option(help="Language of the page: nl (Dutch, the default) or en (English), e.g. --lang en")] = "nl",
    overwrite: Annotated[bool, typer.Option(help="Replace OUT if it exists, e.g. --overwrite")] = False,
) -> None:
    """Does a region that prevents dropout keep its money once the model is refitted? (synthetic world)

    Example: vsvrisk policy prevention --config configs/policy.yaml --out out/policy/prevention --regions 29,37
    """
    region_codes = _list_option(regions, "--regions", int)
    _check_inputs(config, out, overwrite, "prevention", regions=region_codes, fraction=fraction, n_seeds=n_seeds)
    from rich.console import Console

    from vsvrisk.runs.policy import prevention_run

    with Console().status("prevention check") as status:
        outcome = prevention_run(config, out, overwrite, regions=region_codes,
                                 fraction=fraction, n_seeds=n_seeds, experiment=experiment, lang=lang,
                                 progress=lambda message: status.update(message))
    _print_policy(outcome, "prevention.csv, prevention-regions.csv, prevention.html")


@policy_app.command("registration")
def policy_registration(
    config: Annotated[Path, typer.Option(help="Policy config (YAML), e.g. --config configs/policy.yaml")],
    out: Annotated[Path, typer.Option(help="Output folder for registration.csv, registration.html and manifest.json, e.g. --out out/policy/registration")],
    refit: Annotated[Optional[bool], typer.Option("--refit/--no-refit", help="Also refit the model after the same rise in the training cohort: one fit per region and registration (default: the config's), e.g. --refit")] = None,
    share_pp: Annotated[Optional[float], typer.Option(help="Rise of a region's registered share in percentage points (default: the config's), e.g. --share-pp 1")] = None,
    experiment: Annotated[str, typer.Option(help="MLflow experiment to track the analysis in, e.g. --experiment policy")] = "policy",
    lang: Annotated[str, typer.Option(help="Language of the page: nl (Dutch, the default) or en (English), e.g. --lang en")] = "nl",
    overwrite: Annotated[bool, typer.Option(help="Replace OUT if it exists, e.g. --overwrite")] = False,
) -> None:
    """Euros a region gains per additional registered pupil (youth care, police, debts), per region and nationally.

    Example: vsvrisk policy registration --config configs/policy.yaml --out out/policy/registration
    """
    _check_inputs(config, out, overwrite, "registration", refit=refit, share_pp=share_pp)
    from rich.console import Console

    from vsvrisk.runs.policy import registration_run

    with Console().status("registration elasticity") as status:
        outcome = registration_run(config, out, overwrite, refit=refit, share_pp=share_pp, experiment=experiment,
                                   lang=lang, progress=lambda message: status.update(message))
    print("Risks to watch (largest euros per additional registered pupil):")
    _print_policy(outcome, "registration.csv, registration-national.csv, risks-to-watch.csv, registration.html")


@policy_app.command("path")
def policy_path(
    config: Annotated[Path, typer.Option(help="Policy config (YAML), e.g. --config configs/policy.yaml")],
    out: Annotated[Path, typer.Option(help="Output folder for path.csv, path.html and manifest.json, e.g. --out out/policy/path")],
    bands: Annotated[Optional[str], typer.Option(help="Dampening bands side by side, separated by commas (default: the config's), e.g. --bands 0.025,0.05,0.1")] = None,
    first: Annotated[Optional[Path], typer.Option(help="The amounts of the year before the first (an allocation.csv; default: the config's), e.g. --first allocation.csv")] = None,
    experiment: Annotated[str, typer.Option(help="MLflow experiment to track the analysis in, e.g. --experiment policy")] = "policy",
    lang: Annotated[str, typer.Option(help="Language of the page: nl (Dutch, the default) or en (English), e.g. --lang en")] = "nl",
    overwrite: Annotated[bool, typer.Option(help="Replace OUT if it exists, e.g. --overwrite")] = False,
) -> None:
    """The allocation 2026-2029 under the dampening band: per region the path and the year it reaches its need-based amount.

    Example: vsvrisk policy path --config configs/policy.yaml --out out/policy/path --bands 0.025,0.05,0.1
    """
    band_values = _list_option(bands, "--bands", float)
    if first is not None and not first.is_file():
        raise ConfigError(f"--first {first}: file not found: give last year's allocation.csv")
    _check_inputs(config, out, overwrite, "path", bands=band_values, first=first)
    from rich.console import Console

    from vsvrisk.runs.policy import path_run

    with Console().status("multi-year path") as status:
        outcome = path_run(config, out, overwrite, bands=band_values, first=first,
                           experiment=experiment, lang=lang, progress=lambda message: status.update(message))
    _print_policy(outcome, "path.csv, path-regions.csv, path-bands.csv, path.html")
