"""Helpers shared by the policy analyses."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

from vsvrisk.allocate import AllocationRules
from vsvrisk.config import format_validation_error
from vsvrisk.exceptions import AllocationError

__all__ = ["coerce_rules"]


def coerce_rules(rules: AllocationRules | Mapping) -> AllocationRules:
    """The rules as :class:`AllocationRules` (a mapping is checked), with a one-line error."""
    if isinstance(rules, AllocationRules):
        return rules
    if isinstance(rules, Mapping):
        try:
            return AllocationRules.model_validate(dict(rules))
        except ValidationError as error:
            raise AllocationError(format_validation_error(error, "allocation rules")) from None
    raise AllocationError(f"rules must be AllocationRules or a mapping, not {type(rules).__name__}")
