"""The allocation config (``configs/allocation-*.yaml``): rules, scenario, uncertainty, privacy.

Every field's ``description`` is its reference documentation; :func:`load_allocation_config`
reads and checks a file, and :meth:`AllocationConfig.rules` gives the rules for
:func:`~vsvrisk.allocate.rules.allocate`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from vsvrisk.allocate._settings import AllocationRules, Scenario, scenario_from
from vsvrisk.config import StrictModel, load_config
from vsvrisk.exceptions import ConfigError

__all__ = ["AllocationConfig", "load_allocation_config"]


class AllocationConfig(StrictModel):
    """How a year's budget is split over the 40 regions (DESIGN section 9).

    Examples
    --------
    >>> config = AllocationConfig(budget_eur=90_000_000, scenario={"top_share": 0.4}, seed=2026)
    >>> config.rules().budget_eur, config.scenario.top_share, config.n_bootstrap
    (90000000, 0.4, 1000)
    """

    budget_eur: int = Field(
        gt=0,
        description="The budget to split, in whole euros (more than 0). The rounded amounts add "
        "up to exactly this.",
    )
    base_amount_eur: int = Field(
        default=0,
        ge=0,
        description="Fixed amount in euros that every region gets before need is counted; the "
        "rest follows need. 40 x base_amount_eur must stay within budget_eur.",
    )
    floor_eur: int = Field(
        default=0,
        ge=0,
        description="No region gets less than this many euros. A floor wins over the max_change "
        "band. 40 x floor_eur must stay within budget_eur.",
    )
    max_change: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Dampening: the largest relative change of a region's amount against the "
        "previous allocation (0.05 = at most 5% down or up). Applies only when 'previous' is "
        "set; without a previous year there is nothing to dampen against and it is ignored.",
    )
    previous: Path | None = Field(
        default=None,
        description="Last year's allocation.csv (columns region_code and amount_eur), the "
        "reference for max_change. A relative path is read from the folder of this config "
        "file. Needs max_change. Leave it out for a first year.",
    )
    scenario: Scenario = Field(
        description="Which pupils count toward need: 'all' (the sum of every pupil's predicted "
        "probability; CBS scenario 1) or {top_share: 0.4} (only pupils whose probability is in "
        "the national top 40%, vo and mbo together; CBS scenario 4). Ignored when need is read "
        "from a table (--need): whoever made the table applied a scenario already.",
    )
    disclosure_threshold: int = Field(
        default=10,
        ge=1,
        description="Disclosure control: a published cell based on fewer persons than this is "
        "suppressed (CBS Remote Access rule: 10).",
    )
    seed: int = Field(
        ge=0,
        description="Seed of the bootstrap: the same seed gives the same intervals. Record it; "
        "change it only on purpose.",
    )
    n_bootstrap: int = Field(
        default=1000,
        ge=0,
        description="Bootstrap replicates over persons for the sampling intervals (0: none).",
    )
    interval_level: float = Field(
        default=0.9,
        gt=0,
        lt=1,
        description="Coverage of the intervals on shares and amounts (0.9: from the 5th to "
        "the 95th percentile of the replicates).",
    )
    change_threshold_pct: float = Field(
        default=2.5,
        gt=0,
        description="Report the chance that a region's amount moves by more than this many "
        "percent against the previous allocation (needs 'previous'). Keep it inside the "
        "dampening band (below 100 x max_change): beyond it the chance is 0 by construction, "
        "and the reports do not show it.",
    )
    n_model_refits: int = Field(
        default=0,
        ge=0,
        description="Model refits on bootstrap samples of the training cohort, for model "
        "uncertainty on top of sampling uncertainty (0: sampling uncertainty only). Each refit "
        "adds one row of need to the replicates.",
    )
    n_jobs: int | None = Field(
        default=None,
        description="How many model refits run at the same time, through joblib: 1 one after the other, -1 on every "
        "core; left out, joblib's configuration decides (one at a time unless the caller sets "
        "joblib.parallel_config, e.g. backend='dask' to use a Dask cluster). The numbers are the "
        "same whatever runs them. LightGBM's own threads are the model spec's params.n_jobs.",
    )

    @field_validator("n_jobs")
    @classmethod
    def _some_jobs(cls, value: int | None) -> int | None:
        if value == 0:
            raise PydanticCustomError("n_jobs", "0 jobs cannot run anything: use 1, -1 (every core) or leave it out")
        return value

    @field_validator("scenario", mode="before")
    @classmethod
    def _scenario_spelled_right(cls, value: Any) -> Any:
        # Without this, pydantic reports both arms of the union under internal names
        # ("scenario.literal['all']"); here the message names the key and the two forms.
        try:
            return scenario_from(value)
        except ValueError as error:
            raise PydanticCustomError("scenario", str(error)) from None

    @field_validator("previous")
    @classmethod
    def _previous_needs_max_change(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is not None and info.data.get("max_change") is None and "max_change" in info.data:
            raise PydanticCustomError(
                "previous_without_max_change",
                "a previous allocation is given but max_change is not set: set max_change "
                "(e.g. 0.05) or leave out previous",
            )
        return value

    def rules(self) -> AllocationRules:
        """The rules for :func:`~vsvrisk.allocate.rules.allocate`.

        ``max_change`` is passed on only when ``previous`` is set: in a first year there is
        nothing to dampen against (see :attr:`dampening`).
        """
        return AllocationRules(
            budget_eur=self.budget_eur,
            base_amount_eur=self.base_amount_eur,
            floor_eur=self.floor_eur,
            max_change=self.max_change if self.previous is not None else None,
        )

    @property
    def dampening(self) -> bool:
        """Whether the max_change band applies (both ``previous`` and ``max_change`` set)."""
        return self.previous is not None and self.max_change is not None


def load_allocation_config(path: str | os.PathLike) -> AllocationConfig:
    """Read and check an allocation config.

    Parameters
    ----------
    path : path-like
        A YAML file like ``configs/allocation-2026.yaml``.

    Returns
    -------
    AllocationConfig
        With ``previous`` resolved against the config file's folder.

    Raises
    ------
    ConfigError
        One line naming the key: unknown key, wrong value, ``previous`` without ``max_change``,
        or a ``previous`` file that does not exist.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "allocation.yaml"
    >>> _ = path.write_text("budget_eur: 90000000\\nscenario: all\\nseed: 1\\n")
    >>> load_allocation_config(path).disclosure_threshold
    10
    """
    config = load_config(path, AllocationConfig)
    if config.previous is not None and not config.previous.is_file():
        raise ConfigError(f"{path}: key 'previous': file {config.previous} not found: check the "
                          f"path (a relative path is read from the config file's folder)")
    return config
