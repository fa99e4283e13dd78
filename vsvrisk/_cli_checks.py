"""Checks every command makes before it imports what it runs (help and bad input answered at once)."""

from __future__ import annotations

from pathlib import Path

from vsvrisk.exceptions import ConfigError

__all__ = ["check_input"]


def check_input(option: str, path: Path | None) -> None:
    """Refuse an input file that does not exist, in one line naming the option."""
    if path is not None and not path.is_file():
        raise ConfigError(f"{option} {path}: file not found: check the path")
