"""Names of a module that are imported from their home modules on first use (PEP 562).

The command line imports a few modules for their names (error classes, config models, the
workflows); the modelling stack behind the other names is imported only when one is used, so
that help and bad input are answered at once.

A package lists its lazy names once, as imports under ``if TYPE_CHECKING:``: type checkers and
the API reference (griffe reads the block) see them as ordinary imports, and
:func:`lazy_names` reads the same block to know where each name lives::

    from typing import TYPE_CHECKING

    from vsvrisk._lazy import lazy_names

    if TYPE_CHECKING:
        from vsvrisk.allocate.rules import allocate

    __getattr__, __dir__ = lazy_names(__name__)
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from types import ModuleType

__all__ = ["lazy_names"]


def _type_checking_imports(module: str) -> dict[str, str]:
    """Name -> home module of every ``from home import name`` under ``if TYPE_CHECKING:``."""
    source = Path(sys.modules[module].__file__).read_text(encoding="utf-8")
    homes: dict[str, str] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                if not isinstance(statement, ast.ImportFrom) or statement.level:
                    raise ImportError(f"{module}: only absolute 'from ... import ...' may stand under TYPE_CHECKING")
                homes.update({alias.asname or alias.name: statement.module for alias in statement.names})
    return homes


def lazy_names(module: str,
               homes: dict[str, str] | None = None) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``module``, whose names in ``homes`` live elsewhere.

    Parameters
    ----------
    module : str
        The module's ``__name__``.
    homes : dict, optional
        Name -> the module it is imported from on first use (then kept in ``module``). Default:
        the imports under the module's ``if TYPE_CHECKING:``.

    Examples
    --------
    >>> getattr_, dir_ = lazy_names(__name__, {"sqrt": "math"})
    >>> getattr_("sqrt")(9.0), "sqrt" in dir_()
    (3.0, True)
    """
    if homes is None:
        homes = _type_checking_imports(module)
    # A name exported from the submodule of the same name (the function regions of
    # vsvrisk.data.regions): once that submodule is imported, the import system binds it to the
    # package under that name; the package binds the name instead, as an eager import would.
    shadowed = {name for name, home in homes.items() if home == f"{module}.{name}"}
    if shadowed:

        class _Package(ModuleType):
            def __setattr__(self, name: str, value: object) -> None:
                if name in shadowed and isinstance(value, ModuleType):
                    value = getattr(value, name)
                super().__setattr__(name, value)

        sys.modules[module].__class__ = _Package

    def __getattr__(name: str):
        if name in homes:
            value = getattr(import_module(homes[name]), name)
            setattr(sys.modules[module], name, value)
            return value
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[module]), *homes})

    return __getattr__, __dir__
