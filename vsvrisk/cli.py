"""The ``vsvrisk`` command line (typer).

Errors are mapped to exit codes in one place, :func:`main`: a :class:`VsvriskError` (bad
input) prints ``error: <one line>`` on stderr and exits 2; any other exception is a bug and
keeps its traceback (exit 1). Commands hold no modelling logic: they parse options, call the
library, and print.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from vsvrisk.exceptions import VsvriskError

app = typer.Typer(
    name="vsvrisk",
    help="Regional risk of early school leaving (vsv) and the budget that follows it.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Regional risk of early school leaving (vsv) and the budget that follows it."""


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (0 done, 2 bad input, 1 a bug)."""
    try:
        app(args=argv, standalone_mode=False)
    except VsvriskError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; no output was written", file=sys.stderr)
        return 130
    except Exception as error:  # click's usage errors are bad input too
        import click

        if isinstance(error, click.exceptions.Abort):
            print("error: aborted; no output was written", file=sys.stderr)
            return 130
        if isinstance(error, click.ClickException):
            message = error.format_message().replace("\n", " ")
            print(f"error: {message}", file=sys.stderr)
            return 2
        raise
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
