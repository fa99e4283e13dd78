"""Names of a module that are imported from their home modules on first use (PEP 562).

The command line imports a few modules for their names (error classes, the workflows); the
modelling stack behind those names is imported only when one is used, so that help and bad
input are answered at once.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import import_module

__all__ = ["lazy_names"]


def lazy_names(module: str, homes: dict[str, str]) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``module``, whose names in ``homes`` live elsewhere.

    Parameters
    ----------
    module : str
        The module's ``__name__``.
    homes : dict
        Name -> the module it is imported from on first use (then kept in ``module``).

    Examples
    --------
    >>> getattr_, dir_ = lazy_names(__name__, {"sqrt": "math"})
    >>> getattr_("sqrt")(9.0), "sqrt" in dir_()
    (3.0, True)
    """

    def __getattr__(name: str):
        if name in homes:
            value = getattr(import_module(homes[name]), name)
            setattr(sys.modules[module], name, value)
            return value
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[module]), *homes})

    return __getattr__, __dir__
