"""The configuration reference, generated from the pydantic models of the YAML files.

``python -m vsvrisk.config_reference > docs/configuration.md`` writes it; a test fails when the
file in the repository is out of date, so the reference can never drift from the code.
"""

from __future__ import annotations

import re
import typing

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

__all__ = ["config_reference"]


def _files() -> list[tuple[str, type[BaseModel]]]:
    from vsvrisk.allocate.config import AllocationConfig
    from vsvrisk.audit.impact import ImpactConfig
    from vsvrisk.features import FeatureSpec
    from vsvrisk.models.spec import ModelSpec
    from vsvrisk.policy.config import PolicyConfig
    from vsvrisk.runs.sweep import SweepConfig

    return [
        ("Model spec (`configs/cbs-replica.yaml`, `logistic.yaml`, `lightgbm.yaml`, ...)", ModelSpec),
        ("Allocation (`configs/allocation-2026.yaml`)", AllocationConfig),
        ("Feature spec (`configs/features.yaml`)", FeatureSpec),
        ("Impact of modelling choices (`configs/impact.yaml`)", ImpactConfig),
        ("Policy analysis (`configs/policy.yaml`)", PolicyConfig),
        ("Sweep (`configs/sweep-model-size.yaml`, `sweep-lightgbm.yaml`)", SweepConfig),
    ]



def _type_name(annotation) -> str:
    text = repr(annotation) if not isinstance(annotation, type) else annotation.__name__
    # Class names without their module path (vsvrisk.runs._sweep_config.SearchDimension -> SearchDimension).
    return re.sub(r"\b(?:[a-z_]\w*\.)+([A-Za-z_]\w*)", r"\1", text)


def _default(field) -> str:
    if field.default is not PydanticUndefined:
        return "required" if field.default is Ellipsis else f"`{field.default!r}`"
    if field.default_factory is not None:
        try:
            value = field.default_factory()
        except TypeError:
            return "(computed)"
        return f"`{value.model_dump() if isinstance(value, BaseModel) else value!r}`"
    return "required"


def _nested(annotation) -> list[type[BaseModel]]:
    found = []
    for argument in (annotation, *typing.get_args(annotation)):
        if isinstance(argument, type) and issubclass(argument, BaseModel):
            found.append(argument)
    return found


def _table(model: type[BaseModel], prefix: str = "") -> list[str]:
    rows, nested = [], []
    for name, field in model.model_fields.items():
        description = (field.description or "").replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `{prefix}{name}` | {_type_name(field.annotation).replace('|', 'or')} | {_default(field)} | {description} |")
        # A mapping of sections (an Optuna space) documents its entries as key.<name>.field.
        entry = "<key>." if typing.get_origin(field.annotation) is dict else ""
        nested += [(f"{prefix}{name}.{entry}", sub) for sub in _nested(field.annotation)]
    for sub_prefix, sub in nested:
        rows += _table(sub, sub_prefix)
    return rows


def config_reference() -> str:
    """The reference of every config file, as Markdown.

    Examples
    --------
    >>> "budget_eur" in config_reference()
    True
    """
    parts = [
        "# Configuration reference",
        "",
        "Generated from the pydantic models by `python -m vsvrisk.config_reference`; do not edit by hand.",
        "Every file is YAML, read with safe loading; an unknown key is an error that names it, and",
        "relative paths are read from the config file's folder.",
    ]
    for title, model in _files():
        parts += ["", f"## {title}", "", f"`{model.__module__}.{model.__name__}`", "",
                  "| key | type | default | meaning |", "|---|---|---|---|", *_table(model)]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(config_reference(), end="")
