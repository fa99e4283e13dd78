"""The policy-analysis config (``configs/policy.yaml``): model, rules, cohorts, and each analysis.

Every field's ``description`` is its reference documentation (``docs/configuration.md``);
:func:`load_policy_config` reads a file and checks that the files it names exist.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from vsvrisk.allocate.config import load_allocation_config
from vsvrisk.config import StrictModel, read_config, validate_config
from vsvrisk.data.codes import REGION_CODES
from vsvrisk.exceptions import ConfigError
from vsvrisk.models.spec import load_model_spec
from vsvrisk.policy._registrations import REGISTRATIONS

__all__ = ["PolicyConfig", "PolicyData", "PreventionSettings", "RegistrationSettings", "PathSettings",
           "load_policy_config", "override_section"]


def _region_codes(values: list[int]) -> list[int]:
    unknown = [code for code in values if code not in REGION_CODES]
    if unknown:
        raise ValueError(f"region code {unknown[0]} is not one of 1..40")
    return values


class PolicyData(StrictModel):
    """The cohorts: the model is fitted on ``train_year`` and scores ``score_year``."""

    path: Path | None = Field(None, description="A person-year file with both cohorts (with vsv); none: the synthetic "
                              "population. The prevention check needs the synthetic world (its true risk).")
    synthetic_n_persons: int = Field(200_000, ge=1_000, description="Persons per cohort of the synthetic population "
                                     "(the demo's size: 200000).")
    synthetic_seed: int = Field(1, description="Seed of the synthetic population (the demo's: 1).")
    train_year: int = Field(2018, description="School year the model is fitted on (2018 = 2018/19).")
    score_year: int = Field(2019, description="School year the model scores for the allocation (the newer cohort).")


class PreventionSettings(StrictModel):
    """The prevention check: each region in turn cuts its true vsv risk in the newer cohort."""

    regions: list[int] = Field([29, 21, 37], min_length=1, description="Region codes that prevent, each on its own "
                               "(29 Rijnmond, 21 Agglomeratie Amsterdam, 37 Zuidoost-Brabant).")
    fraction: float = Field(0.2, gt=0, lt=1, description="Share of the region's expected vsv'ers that prevention "
                            "removes (0.2 = a fifth fewer).")
    n_seeds: int = Field(5, ge=2, description="Outcome draws (one refit each, plus one per region): the spread over "
                         "them separates sampling noise from the effect.")

    @field_validator("regions")
    @classmethod
    def _codes(cls, value: list[int]) -> list[int]:
        return _region_codes(value)


class RegistrationSettings(StrictModel):
    """The registration elasticity: euros per additional registered pupil."""

    registrations: list[str] = Field(list(REGISTRATIONS), min_length=1, description="The registrations to vary "
                                     f"(any of {', '.join(REGISTRATIONS)}).")
    share_pp: float = Field(1.0, gt=0, le=100, description="Rise of a region's registered share, in percentage points.")
    seed: int = Field(0, description="Seed of the choice of newly registered pupils.")
    refit: bool = Field(False, description="Also refit the model after the same rise in the training cohort (one "
                        "model fit per region and registration refitted).")
    refit_regions: list[int] | None = Field(None, description="With refit: these regions, with every registration; "
                                            "default: only the n_watch largest elasticities (the risks to watch).")
    n_watch: int = Field(5, ge=1, description="How many of the largest elasticities to name as a risk to watch.")

    @field_validator("registrations")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in REGISTRATIONS]
        if unknown:
            raise ValueError(f"'{unknown[0]}' is not a registration: use any of {', '.join(REGISTRATIONS)}")
        return value

    @field_validator("refit_regions")
    @classmethod
    def _codes(cls, value):
        return None if value is None else _region_codes(value)


class PathSettings(StrictModel):
    """The multi-year path under the dampening band."""

    years: list[int] = Field([2026, 2027, 2028, 2029], min_length=1, description="The years of the path, in order.")
    first: Path | None = Field(None, description="The amounts of the year before the first (an allocation.csv); none: "
                               "the training cohort allocated by the same model and rules without a band.")
    cohorts: list[Path] | None = Field(None, description="One person-year file per year of the path; none: synthetic "
                                       "school years score_year, score_year + 1, ... of the same world and seed.")
    bands: list[float] = Field([0.025, 0.05, 0.10], min_length=1, description="The dampening bands (max_change) "
                               "side by side.")
    tolerance_pct: float = Field(0.5, ge=0, lt=100, description="A region has reached its need-based amount when "
                                 "its amount stays within this many percent of it.")

    @field_validator("bands")
    @classmethod
    def _bands(cls, value: list[float]) -> list[float]:
        bad = [band for band in value if not 0 < band <= 1]
        if bad:
            raise ValueError(f"band {bad[0]} is not a share in (0, 1]: write 5% as 0.05")
        return value


class PolicyConfig(StrictModel):
    """Model, rules and cohorts of the policy analyses (``configs/policy.yaml``)."""

    model: Path = Field(..., description="The model spec the ministry fits (relative to this file).")
    allocation: Path = Field(..., description="The allocation config: budget, base, floor, scenario, disclosure "
                             "threshold (its previous year and band are not used: the path sets its own).")
    data: PolicyData = Field(default_factory=PolicyData, description="The cohorts.")
    prevention: PreventionSettings = Field(default_factory=PreventionSettings, description="The prevention check.")
    registration: RegistrationSettings = Field(default_factory=RegistrationSettings,
                                               description="The registration elasticity.")
    path: PathSettings = Field(default_factory=PathSettings, description="The multi-year path.")
    n_jobs: int = Field(1, ge=1, description="Model refits in parallel (joblib workers; each refit is seeded).")


def load_policy_config(config) -> PolicyConfig:
    """A :class:`PolicyConfig` from a YAML path, a dict or a config; every file it names checked.

    The model spec and the allocation config are read and checked too, so that a wrong key in
    either is found before the first model is fitted.

    Examples
    --------
    >>> from vsvrisk.config import default_config
    >>> load_policy_config(default_config("policy")).prevention.regions
    [29, 21, 37]
    """
    settings, source = read_config(config, PolicyConfig, "policy config")
    files = [("model", settings.model), ("allocation", settings.allocation), ("data.path", settings.data.path),
             ("path.first", settings.path.first)]
    files += [(f"path.cohorts[{i}]", path) for i, path in enumerate(settings.path.cohorts or [])]
    for key, path in files:
        if path is not None and not Path(path).is_file():
            raise ConfigError(f"{source}: key '{key}': file {path} not found: check the path "
                              "(a relative path is read from the config file's folder)")
    if settings.path.cohorts is not None and len(settings.path.cohorts) != len(settings.path.years):
        raise ConfigError(f"{source}: key 'path.cohorts': {len(settings.path.cohorts)} files for "
                          f"{len(settings.path.years)} years: give one cohort per year")
    load_model_spec(settings.model)
    load_allocation_config(settings.allocation)
    return settings


def override_section(settings: PolicyConfig, section: str, **overrides):
    """The config with the command line's values (those not None) in one of its sections.

    They are checked as the file is: a bad value is one line naming the key.

    Returns
    -------
    (PolicyConfig, section settings)

    Examples
    --------
    >>> from vsvrisk.config import default_config
    >>> settings, part = override_section(load_policy_config(default_config("policy")), "prevention",
    ...                                   regions=[29], fraction=None)
    >>> part.regions, part.fraction == settings.prevention.fraction, settings.prevention.regions
    ([29], True, [29])
    """
    part = getattr(settings, section)
    values = {**part.model_dump(), **{key: value for key, value in overrides.items() if value is not None}}
    part = validate_config(values, type(part), source="command line")
    return settings.model_copy(update={section: part}), part
