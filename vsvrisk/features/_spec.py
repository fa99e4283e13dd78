"""The feature spec (``configs/features.yaml``): which features, how they are made and encoded.

Apart from the pipeline it builds (:mod:`vsvrisk.features._pipeline`) and free of scikit-learn
and pandas, so that a model spec is checked before the modelling stack is imported.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from vsvrisk.config import StrictModel, read_config
from vsvrisk.data.codes import (
    CATEGORICAL_CODES,
    COLUMNS,
    DEFAULT_UPPER_AGE,
    MBO_LEVELS,
    MULTIPROBLEM_THRESHOLD,
    PROBLEM_FLAGS,
    SECTOR_COLUMNS,
    URBANISATION,
    WEALTH_GROUP_EDGES,
    WEALTH_MISSING,
    age_group_categories,
)

__all__ = ["ALLOWED_FEATURES", "CATEGORICAL_FEATURES", "DEFAULT_FEATURES", "DERIVED_FEATURES", "MISSING_LEVEL",
           "FeatureSpec", "MultiproblematiekSpec", "WealthSpec"]

#: Derived features and the step of the pipeline that makes them.
DERIVED_FEATURES = {
    "age": "age",
    "age_group": "age",
    "problem_count": "multiproblematiek",
    "multiproblematiek": "multiproblematiek",
    "wealth_group": "wealth",
}
#: Columns of the person-year table that are never features: keys, the date age comes from,
#: the cohort, the region (the need of a region must come from its pupils, not its name) and
#: the target.
_NOT_FEATURES = ("person_id", "school_year", "birth_date", "region_code", "vsv")
#: Every name ``features`` may list.
ALLOWED_FEATURES = (
    *(name for name in COLUMNS if name not in _NOT_FEATURES),
    *DERIVED_FEATURES,
)
#: Features encoded as categories; integer codes (mbo level, urbanisation) are categories too.
CATEGORICAL_FEATURES = (
    *CATEGORICAL_CODES,
    "mbo_level",
    "urbanisation",
    "age_group",
    "wealth_group",
)
#: The level a missing value becomes (``mbo_level`` and the other sector columns outside their
#: sector): "none", as in "not in mbo".
MISSING_LEVEL = "none"

#: CBS's predictors, vo and mbo together (DESIGN section 3), and multiproblematiek.
DEFAULT_FEATURES = (
    "age_group",
    "vo_type",
    "mbo_level",
    "mbo_pathway",
    "mbo_field",
    "gender",
    "delay_years",
    "psychosocial",
    "crime_suspect",
    "problem_debts",
    "multiproblematiek",
    "wealth_group",
    "parents",
    "mother_education",
    "urbanisation",
)


class MultiproblematiekSpec(StrictModel):
    """How multiproblematiek is counted."""

    domains: list[str] = Field(
        default_factory=lambda: list(PROBLEM_FLAGS),
        min_length=1,
        description="Boolean (or 0/1) columns counted as problem domains.",
    )
    threshold: int = Field(
        MULTIPROBLEM_THRESHOLD,
        ge=1,
        description="Number of problems from which a person has multiproblematiek.",
    )

    @field_validator("domains")
    @classmethod
    def _unique(cls, domains: list[str]) -> list[str]:
        repeated = sorted({name for name in domains if domains.count(name) > 1})
        if repeated:
            raise ValueError(f"domain {', '.join(map(repr, repeated))} is listed twice")
        return domains

    @field_validator("threshold")
    @classmethod
    def _reachable(cls, threshold: int, info: ValidationInfo) -> int:
        domains = info.data.get("domains")
        if domains is not None and threshold > len(domains):
            raise ValueError(
                f"threshold {threshold} is more than the {len(domains)} domains: nobody could "
                "reach it"
            )
        return threshold


class WealthSpec(StrictModel):
    """How the wealth percentile is grouped."""

    edges: list[float] = Field(
        default_factory=lambda: list(WEALTH_GROUP_EDGES),
        min_length=2,
        description="Strictly increasing percentile edges: [e0, e1) is q1, ..., "
        "[e(k-1), ek] is qk.",
    )

    @field_validator("edges")
    @classmethod
    def _increasing(cls, edges: list[float]) -> list[float]:
        if any(b <= a for a, b in zip(edges, edges[1:])):
            raise ValueError(f"edges must be strictly increasing, got {edges}")
        return edges


def _known_levels(feature: str, upper_age: int, wealth: WealthSpec | None) -> list[str]:
    """The levels a categorical feature can have, as text (for checking ``reference``)."""
    if feature == "age_group":
        return list(age_group_categories(upper_age))
    if feature == "wealth_group":
        n_groups = len(wealth.edges) - 1 if wealth is not None else len(WEALTH_GROUP_EDGES) - 1
        return [*(f"q{i}" for i in range(1, n_groups + 1)), WEALTH_MISSING]
    codes = {"mbo_level": MBO_LEVELS, "urbanisation": URBANISATION, **CATEGORICAL_CODES}[feature]
    levels = [str(code) for code in codes]
    if feature in SECTOR_COLUMNS:
        levels.append(MISSING_LEVEL)
    return levels


class FeatureSpec(StrictModel):
    """Which features go into the model matrix, and how they are made and encoded.

    Examples
    --------
    >>> spec = FeatureSpec(features=["age_group", "parents"], reference={"parents": "both"})
    >>> spec.encoding, spec.upper_age, spec.excluded_features
    ('onehot', 23, ['migration_background'])
    """

    # Field order matters: a validator sees only the fields above it (info.data).
    excluded_features: list[str] = Field(
        default_factory=lambda: ["migration_background"],
        description="Columns that may never be features (DESIGN 3: migration background is "
        "for the fairness audit only).",
    )
    allow_excluded: bool = Field(
        False, description="Allow excluded features anyway (an audit model, never an allocation)."
    )
    upper_age: int = Field(
        DEFAULT_UPPER_AGE,
        ge=20,
        le=27,
        description="The population is younger than this (23; 27 under the 2026 law); sets the "
        "last mbo age group.",
    )
    multiproblematiek: MultiproblematiekSpec = Field(
        default_factory=MultiproblematiekSpec, description="Domains and threshold."
    )
    wealth: WealthSpec = Field(default_factory=WealthSpec, description="Wealth group edges.")
    features: list[str] = Field(
        default_factory=lambda: list(DEFAULT_FEATURES),
        min_length=1,
        description="The columns of the model matrix, in order (before one-hot expansion).",
    )
    encoding: Literal["category", "onehot"] = Field(
        "onehot", description="category: for LightGBM; onehot: for the logistic model."
    )
    drop: Literal["first"] | None = Field(
        "first", description="One-hot: drop each feature's reference level (first), or none (null)."
    )
    reference: dict[str, str | int] = Field(
        default_factory=dict,
        description="One-hot reference level per feature, e.g. {parents: both}; default the first.",
    )

    @field_validator("features")
    @classmethod
    def _known_and_allowed(cls, features: list[str], info: ValidationInfo) -> list[str]:
        unknown = [name for name in features if name not in ALLOWED_FEATURES]
        if unknown:
            raise ValueError(
                f"unknown feature {', '.join(map(repr, unknown))}: choose from "
                f"{', '.join(ALLOWED_FEATURES)}"
            )
        repeated = sorted({name for name in features if features.count(name) > 1})
        if repeated:
            raise ValueError(f"feature {', '.join(map(repr, repeated))} is listed twice")
        excluded = [name for name in features if name in info.data.get("excluded_features", ())]
        if excluded and not info.data.get("allow_excluded", False):
            raise ValueError(
                f"feature {', '.join(map(repr, excluded))} is in excluded_features: remove it "
                "(or set allow_excluded: true, for an audit model only)"
            )
        return features

    @field_validator("reference")
    @classmethod
    def _known_reference(cls, reference: dict, info: ValidationInfo) -> dict[str, str]:
        features = info.data.get("features")
        if features is None:  # already refused above; one error is enough
            return reference
        categorical = [name for name in features if name in CATEGORICAL_FEATURES]
        upper_age = info.data.get("upper_age", DEFAULT_UPPER_AGE)
        for feature, level in reference.items():
            if feature not in categorical:
                raise ValueError(
                    f"reference names '{feature}', which is not a categorical feature of this "
                    f"spec: use one of {', '.join(categorical) or '(none)'}"
                )
            levels = _known_levels(feature, upper_age, info.data.get("wealth"))
            if str(level) not in levels:
                raise ValueError(
                    f"reference level '{level}' of '{feature}' is not one of its levels: "
                    f"{', '.join(levels)}"
                )
        return {feature: str(level) for feature, level in reference.items()}


def _as_spec(spec) -> FeatureSpec:
    if spec is None:
        return FeatureSpec()
    return read_config(spec, FeatureSpec, "feature spec")[0]
