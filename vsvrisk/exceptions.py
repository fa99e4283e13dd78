"""Errors a person reads.

Every error that comes from bad input (a file, a column, a config key, a budget) is a
:class:`VsvriskError`. Its message is one line that says what is wrong, where, and how to fix
it. The command line turns these into ``error: <message>`` on stderr and exit status 2; any
other exception is a bug and keeps its traceback (exit status 1).

Each subclass also inherits the builtin a caller would expect, as scikit-learn's
``NotFittedError(ValueError, AttributeError)`` does, so ``except ValueError`` keeps working.
"""

from __future__ import annotations


class VsvriskError(Exception):
    """Base class of every input error vsvrisk raises on purpose."""


class SchemaError(VsvriskError, ValueError):
    """A person-year table breaks the data contract.

    Parameters
    ----------
    problems : list of str
        One message per problem: the column, the rule broken, example row numbers, the fix.
    """

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            message = f"{len(self.problems)} problems: " + " | ".join(self.problems)
        super().__init__(message)


class DataFileError(VsvriskError, ValueError):
    """A data file cannot be read at all (missing, empty, wrong format or delimiter)."""


class ConfigError(VsvriskError, ValueError):
    """A configuration file or value is invalid (unknown key, wrong type, bad path)."""


class AllocationError(VsvriskError, ValueError):
    """The allocation rules cannot be met, or an allocation input is invalid."""


class OutputExistsError(VsvriskError, FileExistsError):
    """The output path exists and overwriting was not asked for."""


class DisclosureError(VsvriskError, ValueError):
    """A table about to leave the library could disclose persons (or cannot be checked)."""
