"""The allocation's settings as pydantic models: the need scenario and the rules of section 9.

Apart from the arithmetic (:mod:`~vsvrisk.allocate.need`, :mod:`~vsvrisk.allocate.rules`, which
import them) and free of NumPy and pandas, so that an allocation config is checked before the
modelling stack is imported.
"""

from __future__ import annotations

from typing import Literal, Union

from pydantic import Field, ValidationError

from vsvrisk.config import StrictModel
from vsvrisk.exceptions import AllocationError

__all__ = ["AllocationRules", "Scenario", "TopShare", "parse_scenario", "scenario_from"]


class TopShare(StrictModel):
    """Count only the persons in the national top ``top_share`` of predicted probability.

    Examples
    --------
    >>> TopShare(top_share=0.4).top_share
    0.4
    """

    top_share: float = Field(
        gt=0, lt=1, description="Share of persons, highest probability first, that count (0.4 = top 40%)."
    )


Scenario = Union[Literal["all"], TopShare]


def scenario_from(value: object) -> Scenario:
    """Check a scenario; a ``ValueError`` with one line says what is wrong (for config and API)."""
    if (isinstance(value, str) and value == "all") or isinstance(value, TopShare):
        return value
    if isinstance(value, dict):
        try:
            return TopShare.model_validate(value)
        except ValidationError as error:
            problems = error.errors()
            first = next((p for p in problems if p["type"] == "extra_forbidden"), problems[0])
            where = ".".join(str(part) for part in first["loc"])
            if first["type"] == "extra_forbidden":
                raise ValueError(f"unknown key '{where}': the only key is top_share") from None
            raise ValueError(f"{where}: {first['msg']}") from None
    raise ValueError(f"use 'all' or a mapping like {{top_share: 0.4}}, not {value!r}")


def parse_scenario(scenario: Scenario | dict | str) -> Scenario:
    """Return ``"all"`` or a :class:`TopShare`; a mapping ``{"top_share": 0.4}`` is accepted.

    Examples
    --------
    >>> parse_scenario({"top_share": 0.4})
    TopShare(top_share=0.4)
    """
    try:
        return scenario_from(scenario)
    except ValueError as error:
        raise AllocationError(f"scenario: {error}") from None


class AllocationRules(StrictModel):
    """The rules that turn need into euros (DESIGN section 9).

    Examples
    --------
    >>> AllocationRules(budget_eur=90_000_000, base_amount_eur=250_000).floor_eur
    0
    """

    budget_eur: int = Field(gt=0, description="The whole budget in euros, split over the 40 regions.")
    base_amount_eur: int = Field(
        default=0, ge=0, description="Fixed amount every region gets before need is counted."
    )
    floor_eur: int = Field(default=0, ge=0, description="No region gets less than this.")
    max_change: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Largest relative change against the previous allocation (0.05 = 5%).",
    )
