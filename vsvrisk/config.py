"""Configuration: YAML files under ``configs/``, validated by pydantic models.

Every config model derives from :class:`StrictModel` (an unknown key is an error that names
it). :func:`load_config` reads a file with ``yaml.safe_load``, resolves relative paths against
the folder of the config file, and turns every YAML or validation problem into a one-line
:class:`~vsvrisk.exceptions.ConfigError` with the key path and the allowed values.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from vsvrisk.exceptions import ConfigError

__all__ = ["StrictModel", "default_config", "format_validation_error", "load_config", "read_config", "validate_config"]

ModelT = TypeVar("ModelT", bound=BaseModel)


class StrictModel(BaseModel):
    """Base of every config model: unknown keys are refused, values are not coerced silently."""

    model_config = ConfigDict(extra="forbid", validate_default=True, defer_build=True)


def format_validation_error(error: ValidationError, source: str) -> str:
    """Cut a pydantic error to its first problem, as one line with the key path."""
    first = error.errors()[0]
    loc = ".".join(str(part) for part in first["loc"]) or "(top level)"
    kind = first["type"]
    if kind == "extra_forbidden":
        return f"{source}: unknown key '{loc}': remove it or check its spelling"
    message = first["msg"]
    if kind == "missing":
        message = "required key is missing: add it"
    more = len(error.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{source}: key '{loc}': {message}{suffix}"


def validate_config(data: Any, model: type[ModelT], *, source: str = "config") -> ModelT:
    """Validate a mapping against a config model, raising a one-line ``ConfigError``."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of keys to values, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ConfigError(format_validation_error(error, source)) from None


def _resolve_paths(value: Any, base: Path) -> Any:
    if isinstance(value, Path) and not value.is_absolute():
        return (base / value).resolve()
    if isinstance(value, BaseModel):
        updates = {
            name: _resolve_paths(getattr(value, name), base) for name in type(value).model_fields
        }
        return value.model_copy(update=updates)
    if isinstance(value, list):
        return [_resolve_paths(item, base) for item in value]
    if isinstance(value, dict):
        return {key: _resolve_paths(item, base) for key, item in value.items()}
    return value


def load_config(path: str | os.PathLike, model: type[ModelT]) -> ModelT:
    """Read a YAML config file and validate it.

    Parameters
    ----------
    path : path-like
        The YAML file.
    model : pydantic model class
        The schema, a subclass of :class:`StrictModel`.

    Returns
    -------
    config : model
        The validated config; fields of type ``Path`` are resolved against the config file's
        folder.

    Raises
    ------
    ConfigError
        The file is missing, is not valid YAML, or breaks the schema (one line).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} not found: check the path")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}") from None
    config = validate_config(data, model, source=str(path))
    return _resolve_paths(config, path.parent.resolve())


def read_config(config: Any, model: type[ModelT], what: str) -> tuple[ModelT, str]:
    """A config given as the model itself, a mapping or a YAML path, and the name its errors use.

    Parameters
    ----------
    config : model instance, dict or path-like
    model : pydantic model class
    what : str
        What the config is, for messages (``"model spec"``); a file is named by its path.

    Returns
    -------
    (config, source)

    Examples
    --------
    >>> from vsvrisk.models.spec import ModelSpec
    >>> spec, source = read_config(default_config("logistic"), ModelSpec, "model spec")
    >>> spec.learner, source.endswith("logistic.yaml")
    ('logistic', True)
    """
    if isinstance(config, model):
        return config, what
    if isinstance(config, dict):
        return validate_config(config, model, source=what), what
    if isinstance(config, (str, os.PathLike)):
        return load_config(config, model), str(config)
    raise ConfigError(f"{what}: expected a {model.__name__}, a dict or a YAML path, got {type(config).__name__}")


def default_config(name: str) -> Path:
    """Path of a shipped config (``configs/<name>.yaml`` of the source tree)."""
    path = Path(__file__).resolve().parents[1] / "configs" / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"config '{name}' not found at {path}: run from a source checkout or pass --config")
    return path
