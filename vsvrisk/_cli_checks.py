"""Checks every command makes before it imports what it runs (help and bad input answered at once)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vsvrisk.exceptions import ConfigError

__all__ = ["GroupHelp", "check_input", "check_run"]


def _show_help(ctx: typer.Context, value: bool) -> None:
    """Print the group's help and stop, as typer's own ``--help`` does."""
    if value and not ctx.resilient_parsing:
        typer.echo(ctx.get_help(), color=ctx.color)
        raise typer.Exit()


#: The ``--help`` of a command group (a parameter of its callback; the group is made with
#: ``add_help_option=False``). typer's own has no default, and typer checks any value but a bool
#: with pydantic (a third of the start-up): as every command passes through the options of the
#: groups above it, each help page would import pydantic. With the default False, pydantic is
#: imported only where a command's own options are checked.
GroupHelp = Annotated[bool, typer.Option("--help", is_eager=True, expose_value=False, callback=_show_help,
                                         help="Show this message and exit.")]


def check_input(option: str, path: Path | None) -> None:
    """Refuse an input file that does not exist, in one line naming the option."""
    if path is not None and not path.is_file():
        raise ConfigError(f"{option} {path}: file not found: check the path")


def check_run(run_id: str) -> None:
    """Refuse a run id that the local store certainly lacks (:func:`vsvrisk.tracking.refuse_unknown_run`)."""
    # vsvrisk.tracking (with logging, tempfile and sqlite3) is imported only by a command given
    # a run id, not for every help page and bad option (about 4% of the start-up).
    from vsvrisk.tracking import refuse_unknown_run

    refuse_unknown_run(run_id)
