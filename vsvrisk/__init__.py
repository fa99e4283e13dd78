"""vsvrisk: regional risk of early school leaving (vsv) and the budget that follows it.

The data flow is one path: ``vsvrisk.data`` (schema, reading, regions) ->
``vsvrisk.features`` (transformers) -> ``vsvrisk.models`` -> ``vsvrisk.explain`` ->
``vsvrisk.allocate`` -> ``vsvrisk.report``. ``vsvrisk.synth`` stands beside ``data``: it
draws a population that satisfies the same schema, together with the truth it came from.
"""

from importlib.metadata import PackageNotFoundError, version

from vsvrisk.exceptions import VsvriskError

try:
    __version__ = version("vsvrisk")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["VsvriskError", "__version__"]
