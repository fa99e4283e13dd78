"""Version-sensitive and private imports, in one place (as LightGBM's ``compat.py``).

Each shim tests for the feature, not the version number, and says when it can go.
"""

from __future__ import annotations

from vsvrisk._lazy import lazy_names

# typer 0.2x vendors click as ``typer._click``; its usage errors (bad option value, missing
# option, unknown command) derive from that copy, not from the ``click`` package. Older typer
# used click itself. Can go when typer exposes its ClickException publicly.
try:
    from typer._click.exceptions import ClickException as CliUsageError
except ImportError:  # pragma: no cover - typer that uses click directly
    from click.exceptions import ClickException as CliUsageError
try:
    from typer import Abort as CliAbort
except ImportError:  # pragma: no cover
    from click.exceptions import Abort as CliAbort

# scikit-learn's parameter validation and fit context are private but are what its own
# estimators use (STYLE.md: declare constraints, check them with _validate_params). Can go
# when scikit-learn makes them public. They are imported on first use (PEP 562), not with this
# module: the command line imports it for its error classes and must start in a blink, without
# scikit-learn.
_SKLEARN_PRIVATE = {
    "_fit_context": "sklearn.base",
    "Interval": "sklearn.utils._param_validation",
    "StrOptions": "sklearn.utils._param_validation",
    "_check_feature_names_in": "sklearn.utils.validation",
}
__getattr__, __dir__ = lazy_names(__name__, _SKLEARN_PRIVATE)


def lightgbm_data_from_pandas(frame, pandas_categorical):
    """The float matrix LightGBM builds from a DataFrame (category columns as its codes).

    ``lightgbm.basic._data_from_pandas`` is private but is exactly what ``Booster.predict``
    does to a DataFrame; using it keeps the category codes identical. Can go when LightGBM
    exposes that conversion.
    """
    from lightgbm.basic import _data_from_pandas

    matrix, _, _, _ = _data_from_pandas(frame, "auto", "auto", pandas_categorical)
    return matrix


__all__ = [
    "CliAbort",
    "CliUsageError",
    "Interval",
    "StrOptions",
    "_check_feature_names_in",
    "_fit_context",
    "lightgbm_data_from_pandas",
]
