"""The impact config (``configs/impact.yaml``): the baseline, the rules, the data, the alternatives.

Apart from the computation (:mod:`vsvrisk.audit.impact`, which imports it) and free of pandas,
so that the config is checked before the modelling stack is imported.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from vsvrisk.allocate._settings import Scenario, scenario_from
from vsvrisk.allocate.config import load_allocation_config
from vsvrisk.config import StrictModel, read_config
from vsvrisk.exceptions import ConfigError
from vsvrisk.models.spec import load_model_spec

__all__ = ["Alternative", "ImpactData", "ImpactConfig", "load_impact_config"]


class Alternative(StrictModel):
    """One modelling choice changed against the baseline."""

    name: str = Field(..., description="Short name (letters, digits, _ or -), a column of the outputs.")
    description: str = Field("", description="One sentence on what changes, shown in the report.")
    model: Path | None = Field(None, description="Another model spec instead of the baseline's (relative to this file).")
    drop_features: list[str] = Field(default_factory=list, description="Features removed from every model group; "
                                     "those the model does not have are passed over (list every form, e.g. "
                                     "wealth_percentile and wealth_group), but at least one must be a feature.")
    add_features: list[str] = Field(
        default_factory=list, description="Features added to every model group; an excluded one (migration "
        "background) is allowed here, for an audit only: such a model may never allocate money.")
    scenario: Scenario | None = Field(None, description="Another need scenario: 'all' or {top_share: 0.4}.")

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", value) or value == "baseline":
            raise ValueError(f"'{value}' is not a usable name: use letters, digits, _ or - (and not 'baseline')")
        return value

    @field_validator("scenario", mode="before")
    @classmethod
    def _scenario(cls, value):
        return None if value is None else scenario_from(value)

    @model_validator(mode="after")
    def _changes_something(self):
        if self.model is None and not self.drop_features and not self.add_features and self.scenario is None:
            raise ValueError(f"alternative '{self.name}' changes nothing: give model, drop_features, add_features or scenario")
        return self


class ImpactData(StrictModel):
    """The cohorts every variant is fitted on and scores (those of the baseline spec's ``data``)."""

    path: Path | None = Field(None, description="A person-year file with both cohorts; none: a synthetic population.")
    synthetic_n_persons: int = Field(30_000, ge=1_000, description="Persons per cohort of the synthetic population.")
    synthetic_seed: int = Field(1, description="Seed of the synthetic population.")


class ImpactConfig(StrictModel):
    """Baseline, allocation rules, data and the alternatives to compare (``configs/impact.yaml``)."""

    model: Path = Field(..., description="The baseline model spec (relative to this file).")
    allocation: Path = Field(..., description="The allocation config: budget, rules, scenario, disclosure threshold.")
    data: ImpactData = Field(default_factory=ImpactData, description="The cohorts.")
    alternatives: list[Alternative] = Field(..., min_length=1, description="The choices to compare with the baseline.")
    n_jobs: int | None = Field(
        None, description="How many models are fitted at the same time, through joblib: 1 one after the other, -1 "
        "on every core; left out, joblib's configuration decides (one at a time unless the caller sets "
        "joblib.parallel_config, e.g. backend='dask' to use a Dask cluster). The numbers are the same whatever "
        "runs them. LightGBM's own threads are the model spec's params.n_jobs.")

    @field_validator("n_jobs")
    @classmethod
    def _some_jobs(cls, value: int | None) -> int | None:
        if value == 0:
            raise ValueError("0 jobs cannot run anything: use 1, -1 (every core) or leave it out")
        return value

    @model_validator(mode="after")
    def _unique_names(self):
        names = [a.name for a in self.alternatives]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"alternative name '{repeated[0]}' is used twice: names must be unique")
        return self


def load_impact_config(config) -> ImpactConfig:
    """An :class:`ImpactConfig` from a YAML path, a dict or a config; every file it names checked.

    The model specs and the allocation config it names are read and checked too, so that a
    wrong key in any of them is found before the first model is fitted.

    Examples
    --------
    >>> from vsvrisk.config import default_config
    >>> config = load_impact_config(default_config("impact"))
    >>> [a.name for a in config.alternatives][:2]
    ['without_wealth', 'with_migration_background']
    """
    settings, source = read_config(config, ImpactConfig, "impact config")
    files = [("model", settings.model), ("allocation", settings.allocation), ("data.path", settings.data.path)]
    files += [(f"alternatives.{a.name}.model", a.model) for a in settings.alternatives]
    for key, path in files:
        if path is not None and not Path(path).is_file():
            raise ConfigError(f"{source}: key '{key}': file {path} not found: check the path "
                              "(a relative path is read from the config file's folder)")
    for model in (settings.model, *(a.model for a in settings.alternatives if a.model is not None)):
        load_model_spec(model)
    load_allocation_config(settings.allocation)
    return settings
