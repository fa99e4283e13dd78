"""vsvrisk: regional risk of early school leaving (vsv) and the budget that follows it.

The data flow is one path: ``vsvrisk.data`` (schema, reading, regions) ->
``vsvrisk.features`` (transformers) -> ``vsvrisk.models`` -> ``vsvrisk.explain`` ->
``vsvrisk.allocate`` -> ``vsvrisk.report``. ``vsvrisk.synth`` stands beside ``data``: it
draws a population that satisfies the same schema, together with the truth it came from.
"""

from vsvrisk.exceptions import VsvriskError

__all__ = ["VsvriskError", "__version__"]


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
