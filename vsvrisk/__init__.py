"""vsvrisk: regional risk of early school leaving (vsv) and the budget that follows it.

The data flow is one path: ``vsvrisk.data`` (schema, reading, regions) ->
``vsvrisk.features`` (transformers) -> ``vsvrisk.models`` -> ``vsvrisk.explain`` ->
``vsvrisk.allocate`` -> ``vsvrisk.report``. ``vsvrisk.synth`` stands beside ``data``: it
draws a population that satisfies the same schema, together with the truth it came from.
"""

import os
import sys

from vsvrisk.exceptions import VsvriskError

__all__ = ["VsvriskError", "__version__"]


def _no_mlflow_telemetry() -> None:
    """Keep MLflow from sending usage events off the machine, unless the user chose otherwise.

    MLflow 3 reports how it is used to its makers by default (a thread started when ``mlflow``
    is imported). Nothing a ministry's tool does should leave the machine unasked, so vsvrisk
    sets ``MLFLOW_DISABLE_TELEMETRY=true`` where the environment does not set it either way.
    """
    if "MLFLOW_DISABLE_TELEMETRY" in os.environ:
        return
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    telemetry = sys.modules.get("mlflow.telemetry")
    if telemetry is not None:  # mlflow was imported first: its client already started
        telemetry.set_telemetry_client()


_no_mlflow_telemetry()


def __getattr__(name: str) -> str:
    """``vsvrisk.__version__``, read from the installed package's metadata on first use.

    ``importlib.metadata`` (with the ``email``, ``zipfile`` and ``csv`` modules it imports) is a
    tenth of the command line's help, which never needs the version.

    Examples
    --------
    >>> import vsvrisk
    >>> isinstance(vsvrisk.__version__, str)
    True
    """
    if name != "__version__":
        raise AttributeError(f"module 'vsvrisk' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version  # on first use: see the docstring

    try:
        value = version("vsvrisk")
    except PackageNotFoundError:  # running from a source tree that was not installed
        value = "0.0.0+unknown"
    globals()["__version__"] = value
    return value
