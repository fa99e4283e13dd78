"""The model spec: a risk model defined in YAML (``configs/*.yaml``), validated by pydantic."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field, model_validator

from vsvrisk.config import StrictModel, read_config
from vsvrisk.data.codes import DEFAULT_UPPER_AGE
from vsvrisk.features._spec import ALLOWED_FEATURES, FeatureSpec

__all__ = ["StepwiseSpec", "DataSpec", "ModelSpec", "load_model_spec", "LEARNERS", "CALIBRATIONS"]

LEARNERS = ("logistic", "lightgbm")
CALIBRATIONS = ("none", "sigmoid", "isotonic")


class StepwiseSpec(StrictModel):
    """Forward stepwise selection of variables (scikit-learn's ``SequentialFeatureSelector``)."""

    enabled: bool = Field(False, description="Select variables forward before the final fit.")
    max_features: int | None = Field(
        None, ge=1, description="Stop at this many variables; null: stop when the score gains less than tol."
    )
    tol: float = Field(1e-5, gt=0, description="Smallest gain in the score that adds a variable.")
    scoring: str = Field("neg_log_loss", description="scikit-learn scorer that ranks candidate variables.")
    cv: int = Field(3, ge=2, description="Folds of the cross-validation that scores each candidate.")
    sample_size: int = Field(
        200_000, ge=1_000, description="Rows (per model group) the selection runs on; the final fit uses all."
    )


class DataSpec(StrictModel):
    """Which cohorts a training run fits and evaluates on."""

    train_year: int = Field(2018, ge=2000, le=2040, description="School year the model is fitted on.")
    eval_year: int = Field(
        2019, ge=2000, le=2040, description="School year it is evaluated on, out of time (CBS: fit 2018, validate 2017)."
    )
    synthetic_n_persons: int = Field(
        200_000, ge=1_000, description="Persons per cohort when no --data file is given (synthetic population)."
    )
    synthetic_seed: int = Field(1, description="Seed of that synthetic population.")

    @model_validator(mode="after")
    def _different_years(self):
        if self.train_year == self.eval_year:
            raise ValueError(
                f"eval_year equals train_year ({self.train_year}): out-of-time evaluation needs another cohort"
            )
        return self


class ModelSpec(StrictModel):
    """A risk model: learner, model groups, features, hyper-parameters, calibration, seed.

    Examples
    --------
    >>> spec = ModelSpec(name="demo", learner="logistic",
    ...                  features={"vo": ["age_group", "vo_type"], "mbo": ["age_group", "mbo_level"]})
    >>> spec.sectors, spec.calibration, spec.excluded_features
    ('separate', 'none', ['migration_background'])
    """

    name: str = Field(..., min_length=1, description="Name of the model, shown in MLflow and reports.")
    description: str = Field("", description="One or two sentences on what the model is for.")
    learner: Literal["logistic", "lightgbm"] = Field(
        ..., description="logistic (unpenalised, one-hot, odds ratios) or lightgbm (native categories)."
    )
    sectors: Literal["separate", "pooled"] = Field(
        "separate", description="separate: one model for vo and one for mbo (with vavo); pooled: one model."
    )
    vavo_with: Literal["mbo", "vo"] = Field("mbo", description="The model group vavo pupils go with.")
    features: dict[Literal["vo", "mbo", "all"], list[str]] = Field(
        ..., description="Feature list per model group: vo and mbo (separate) or all (pooled)."
    )
    excluded_features: list[str] = Field(
        default_factory=lambda: ["migration_background"],
        description="Columns that may never be features; checked at fit time too.",
    )
    allow_excluded: bool = Field(False, description="Allow excluded features (audit models only).")
    upper_age: int = Field(DEFAULT_UPPER_AGE, ge=20, le=27, description="Population younger than this.")
    reference: dict[str, str | int] = Field(
        default_factory=dict, description="Logistic: reference level per categorical feature."
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="Hyper-parameters passed to the learner (LGBMClassifier or LogisticRegression). LightGBM's "
                    "threads: without n_jobs the model groups are fitted side by side, the cores shared out "
                    "(one thread a group on two cores; the same trees); with n_jobs, one group after the other "
                    "on that many threads.",
    )
    calibration: Literal["none", "sigmoid", "isotonic"] = Field(
        "none", description="Recalibrate on a held-out split (CalibratedClassifierCV on a frozen model)."
    )
    calibration_fraction: float = Field(0.2, gt=0, lt=0.9, description="Share of the training cohort held out for calibration.")
    validation_fraction: float = Field(0.1, gt=0, lt=0.5, description="LightGBM: share held out for early stopping.")
    early_stopping_rounds: int = Field(50, ge=1, description="LightGBM: stop when the validation loss has not improved for this many rounds.")
    stepwise: StepwiseSpec = Field(default_factory=StepwiseSpec, description="Forward stepwise selection (logistic).")
    seed: int = Field(0, description="Seed of every split and of the learner.")
    data: DataSpec = Field(default_factory=DataSpec, description="Cohorts to fit and evaluate on.")

    @model_validator(mode="after")
    def _check_features(self):
        wanted = {"all"} if self.sectors == "pooled" else {"vo", "mbo"}
        if set(self.features) != wanted:
            raise ValueError(
                f"features must list exactly the model groups {sorted(wanted)} when sectors is "
                f"'{self.sectors}', got {sorted(self.features)}"
            )
        for group, names in self.features.items():
            unknown = [n for n in names if n not in ALLOWED_FEATURES]
            if unknown:
                raise ValueError(f"features.{group}: unknown feature {unknown[0]!r}: choose from {', '.join(ALLOWED_FEATURES)}")
            excluded = [n for n in names if n in self.excluded_features]
            if excluded and not self.allow_excluded:
                raise ValueError(
                    f"features.{group}: '{excluded[0]}' is an excluded feature: remove it "
                    "(or set allow_excluded: true, for an audit model only)"
                )
        if self.stepwise.enabled and self.learner != "logistic":
            raise ValueError("stepwise selection is for the logistic learner: set stepwise.enabled: false")
        return self

    def fit_key(self) -> str:
        """What a fit of this spec depends on besides its rows: the spec without its name,
        description and data section, as canonical JSON (two specs with the same key fitted on
        the same cohort are the same model).

        Examples
        --------
        >>> spec = load_model_spec("configs/lightgbm.yaml")
        >>> spec.fit_key() == spec.model_copy(update={"name": "renamed"}).fit_key()
        True
        >>> spec.fit_key() == spec.model_copy(update={"seed": 1}).fit_key()
        False
        """
        return json.dumps(self.model_dump(mode="json", exclude={"name", "description", "data"}), sort_keys=True)

    def feature_spec(self, group: str) -> FeatureSpec:
        """The feature spec of one model group."""
        categorical_encoding = "category" if self.learner == "lightgbm" else "onehot"
        names = self.features[group]
        reference = {k: v for k, v in self.reference.items() if k in names}
        return FeatureSpec(
            features=names,
            encoding=categorical_encoding,
            excluded_features=self.excluded_features,
            allow_excluded=self.allow_excluded,
            upper_age=self.upper_age,
            reference=reference,
        )


def load_model_spec(spec) -> ModelSpec:
    """A ModelSpec from a spec, a dict or a YAML path (one-line ``ConfigError`` otherwise)."""
    return read_config(spec, ModelSpec, "model spec")[0]
