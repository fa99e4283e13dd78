"""The feature spec (``configs/features.yaml``) and the pipeline it builds."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from vsvrisk.config import StrictModel, load_config, validate_config
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
)
from vsvrisk.exceptions import ConfigError
from vsvrisk.features._age import AgeAtReferenceDate, age_group_categories
from vsvrisk.features._encoding import CategoryEncoder
from vsvrisk.features._multiproblematiek import Multiproblematiek
from vsvrisk.features._wealth import MISSING, WealthGroup

__all__ = ["ALLOWED_FEATURES", "CATEGORICAL_FEATURES", "FeatureSpec", "build_feature_pipeline"]

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
        return [*(f"q{i}" for i in range(1, n_groups + 1)), MISSING]
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
    if isinstance(spec, FeatureSpec):
        return spec
    if isinstance(spec, dict):
        return validate_config(spec, FeatureSpec, source="feature spec")
    if isinstance(spec, (str, os.PathLike)):
        return load_config(spec, FeatureSpec)
    raise ConfigError(
        f"feature spec: expected a FeatureSpec, a dict or a path to a YAML file, got "
        f"{type(spec).__name__}"
    )


def build_feature_pipeline(spec=None) -> Pipeline:
    """Build the pipeline from the person-year table to the model matrix.

    Three steps, each a scikit-learn transformer with pandas output:

    1. ``derive`` (a ``ColumnTransformer``): :class:`AgeAtReferenceDate`,
       :class:`Multiproblematiek` and :class:`WealthGroup`, each only when a feature it makes
       is selected, and the selected columns of the table as they are. It picks its columns by
       name, so a frame to score may carry other columns (``vsv``, ``migration_background``)
       or another column order.
    2. ``select``: the features in the order of ``spec.features``.
    3. ``encode``: :class:`CategoryEncoder` (``category`` or ``onehot``); ``mbo_level`` and
       ``urbanisation`` are categorical, and a missing sector-specific value (``mbo_level``
       of a vo or vavo pupil, ...) is the level ``"none"``.

    Parameters
    ----------
    spec : FeatureSpec, dict, path or None, default=None
        The spec, its keys as a dict, or a YAML file (``configs/features.yaml``); ``None`` is
        the default spec.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Unfitted, with ``set_output(transform="pandas")``; ``get_feature_names_out()`` of the
        fitted pipeline equals the columns of its output.

    Raises
    ------
    ConfigError
        An unknown key, an unknown or excluded feature (named), or a bad value.

    See Also
    --------
    FeatureSpec : the keys of the spec.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({
    ...     "birth_date": pd.to_datetime(["2002-10-01", "2004-02-29"]),
    ...     "school_year": [2018, 2018],
    ...     "sector": pd.Categorical(["mbo", "vo"], categories=["vo", "mbo", "vavo"]),
    ...     "parents": pd.Categorical(["one", "both"], categories=["both", "one", "none"]),
    ... })
    >>> pipeline = build_feature_pipeline({"features": ["age_group", "parents"]})
    >>> pipeline.fit_transform(X)
       age_group_<=16  parents_one
    0             1.0          1.0
    1             0.0          0.0
    """
    spec = _as_spec(spec)
    features = list(spec.features)
    wanted = {DERIVED_FEATURES[name] for name in features if name in DERIVED_FEATURES}
    derive = []
    if "age" in wanted:
        age = AgeAtReferenceDate(upper_age=spec.upper_age)
        derive.append(("age", age, ["birth_date", "school_year", "sector"]))
    if "multiproblematiek" in wanted:
        domains = list(spec.multiproblematiek.domains)
        counter = Multiproblematiek(domains=domains, threshold=spec.multiproblematiek.threshold)
        derive.append(("multiproblematiek", counter, domains))
    if "wealth" in wanted:
        derive.append(("wealth", WealthGroup(edges=list(spec.wealth.edges)), ["wealth_percentile"]))
    table_columns = [name for name in features if name not in DERIVED_FEATURES]
    if table_columns:
        derive.append(("columns", "passthrough", table_columns))
    encoder = CategoryEncoder(
        columns=[name for name in features if name in CATEGORICAL_FEATURES],
        encoding=spec.encoding,
        drop=spec.drop,
        reference=dict(spec.reference),
        missing_level=MISSING_LEVEL,
    )
    names = {"verbose_feature_names_out": False}  # "age_group", not "age__age_group"
    pipeline = Pipeline(
        [
            ("derive", ColumnTransformer(derive, **names)),
            ("select", ColumnTransformer([("features", "passthrough", features)], **names)),
            ("encode", encoder),
        ]
    )
    # Pandas out is what users see; the column transformers would return NumPy arrays otherwise.
    return pipeline.set_output(transform="pandas")
