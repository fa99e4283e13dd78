"""The manifest: what went into an output folder, so that anyone can check or repeat it.

A manifest records the input files (path, size, SHA-256), the full configuration, the package
versions, the model run id and the seed. Built twice for the same inputs it differs only in
``created_utc``. The writer adds the SHA-256 of every output file and ``content_sha256``, one
hash over all of them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from vsvrisk import __version__
from vsvrisk.exceptions import DataFileError

__all__ = ["MANIFEST_VERSION", "file_sha256", "build_manifest", "add_outputs",
           "content_sha256", "write_manifest", "flatten_manifest"]

# Raise when a key changes meaning, so that a reader can tell old manifests apart.
MANIFEST_VERSION = 1

# The packages whose version can change a number in the outputs (matplotlib and openpyxl
# change the files themselves).
_PACKAGES = ("numpy", "pandas", "scikit-learn", "lightgbm", "shap", "mlflow", "pyarrow",
             "pydantic", "matplotlib", "openpyxl")

_BLOCK_SIZE = 1 << 20  # 1 MiB: hashes a national file without holding it in memory


def file_sha256(path: str | os.PathLike) -> str:
    """Return the SHA-256 of a file as hex, read in blocks of 1 MiB.

    Parameters
    ----------
    path : path-like
        The file.

    Returns
    -------
    str
        64 lowercase hex digits, as ``sha256sum`` prints them.

    Raises
    ------
    DataFileError
        If the file does not exist or is not a file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> _ = path.write_bytes(b"abc")
    >>> file_sha256(path)[:16]
    'ba7816bf8f01cfea'
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"cannot hash {path}: no such file; check the path")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK_SIZE):
            digest.update(block)
    return digest.hexdigest()


def _package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _jsonable(value: Any) -> Any:
    """Turn config values (paths, numpy scalars, pydantic models, sets) into plain JSON."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_jsonable(item) for item in value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot record a {type(value).__name__} in the manifest: {value!r}")


def build_manifest(
    inputs: Mapping[str, str | os.PathLike | None],
    config: Mapping[str, Any] | Any | None,
    model_run_id: str | None,
    seed: int | None,
    extra: Mapping[str, Any] | None = None,
    csv_dialects: Mapping[str, Mapping[str, Any] | None] | None = None,
) -> dict[str, Any]:
    """Describe a run: inputs with their hashes, config, versions, model run, seed, time.

    Parameters
    ----------
    inputs : mapping of str to path-like
        Name -> input file (e.g. ``{"need": "need.csv", "previous": ...}``). The path is kept
        as given; a value of None is recorded as null (an optional input not used).
    config : mapping or pydantic model, optional
        The full configuration; a model is recorded as ``model_dump(mode="json")``.
    model_run_id : str, optional
        The MLflow run that produced the model (None when need came from a file).
    seed : int, optional
        The random seed of the run.
    extra : mapping, optional
        Further facts worth keeping (e.g. that a scenario setting was ignored), under ``extra``.
    csv_dialects : mapping, optional
        Input name -> how that csv file was written, as its reader detected it (the
        ``attrs["csv_dialect"]`` of what it returned: ``encoding``, ``separator``,
        ``decimal_mark``, ``thousands_separator``); recorded as the input's ``csv_dialect``.

    Returns
    -------
    dict
        ``manifest_version``, ``vsvrisk_version``, ``versions`` (python and the packages; null
        when not installed), ``inputs`` (name -> ``path``, ``sha256``, ``size_bytes``, and
        ``csv_dialect`` where given), ``config``, ``model_run_id``, ``seed``, ``extra``,
        ``created_utc`` (ISO 8601, seconds),
        and ``outputs`` / ``content_sha256``, empty until a writer fills them in.

    Raises
    ------
    DataFileError
        If an input file does not exist.

    See Also
    --------
    add_outputs, write_manifest

    Examples
    --------
    >>> manifest = build_manifest({}, {"budget_eur": 1000}, model_run_id=None, seed=1)
    >>> manifest["config"], manifest["seed"], "numpy" in manifest["versions"]
    ({'budget_eur': 1000}, 1, True)
    """
    recorded_inputs: dict[str, Any] = {}
    for name, path in inputs.items():
        if path is None:
            recorded_inputs[str(name)] = None
            continue
        recorded_inputs[str(name)] = {
            "path": os.fspath(path),
            "sha256": file_sha256(path),
            "size_bytes": Path(path).stat().st_size,
        }
        if (csv_dialects or {}).get(name) is not None:
            recorded_inputs[str(name)]["csv_dialect"] = dict(csv_dialects[name])
    versions = {"python": platform.python_version()}
    versions.update({name: _package_version(name) for name in _PACKAGES})
    created = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    return {
        "manifest_version": MANIFEST_VERSION,
        "vsvrisk_version": __version__,
        "versions": versions,
        "inputs": recorded_inputs,
        "config": _jsonable(config),
        "model_run_id": model_run_id,
        "seed": None if seed is None else int(seed),
        "extra": _jsonable(dict(extra or {})),
        "created_utc": created.isoformat().replace("+00:00", "Z"),
        "outputs": {},
        "content_sha256": None,
    }


def content_sha256(output_hashes: Mapping[str, str]) -> str:
    """Hash a set of output files into one value.

    The hash is over the lines ``"<sha256>  <name>\\n"`` sorted by name, exactly what
    ``sha256sum`` prints, so ``sha256sum allocation.csv allocation.html allocation.xlsx |
    sha256sum`` gives the same value.

    Examples
    --------
    >>> content_sha256({"b.csv": "2" * 64, "a.csv": "1" * 64})[:12]
    'f50644cd80f5'
    """
    lines = "".join(f"{output_hashes[name]}  {name}\n" for name in sorted(output_hashes))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def add_outputs(manifest: Mapping[str, Any], files: Mapping[str, str | os.PathLike]) -> dict:
    """Return a copy of ``manifest`` with the hash and size of each output file.

    Parameters
    ----------
    manifest : mapping
        From :func:`build_manifest`.
    files : mapping of str to path-like
        Output name (as it appears in the folder) -> file.

    Returns
    -------
    dict
        The manifest with ``outputs`` (name -> ``sha256``, ``size_bytes``) and
        ``content_sha256`` (see :func:`content_sha256`).
    """
    outputs = {name: {"sha256": file_sha256(path), "size_bytes": Path(path).stat().st_size}
               for name, path in files.items()}
    result = json.loads(json.dumps(_jsonable(manifest)))  # a deep copy the caller cannot alter
    result["outputs"] = outputs
    result["content_sha256"] = content_sha256({n: o["sha256"] for n, o in outputs.items()})
    return result


def write_manifest(manifest: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write a manifest as JSON: sorted keys, indent 2, UTF-8, a final newline.

    Sorted keys make two manifests comparable with ``diff``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> path = write_manifest({"seed": 1, "config": {}}, folder / "manifest.json")
    >>> path.read_text().splitlines()[1]
    '  "config": {},'
    """
    path = Path(path)
    text = json.dumps(_jsonable(manifest), sort_keys=True, indent=2, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def flatten_manifest(mapping: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Flatten nested mappings and lists into ``(dotted.key, value)`` pairs, keys sorted.

    Used for the key/value sheets of the workbook, where a nested structure cannot be shown.

    Examples
    --------
    >>> flatten_manifest({"b": 1, "a": {"x": [3, {"y": None}]}})
    [('a.x.0', 3), ('a.x.1.y', None), ('b', 1)]
    """
    pairs: list[tuple[str, Any]] = []
    # List positions sort as numbers (2 before 10), names alphabetically.
    for key in sorted(mapping, key=lambda k: (0, k, "") if isinstance(k, int) else (1, 0, str(k))):
        value = mapping[key]
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            pairs.extend(flatten_manifest(value, prefix=f"{name}."))
        elif isinstance(value, (list, tuple)) and value:
            pairs.extend(flatten_manifest(dict(enumerate(value)), prefix=f"{name}."))
        else:
            pairs.append((name, value))
    return pairs
