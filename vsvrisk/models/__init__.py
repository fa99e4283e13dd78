"""Risk models: a YAML spec, a scikit-learn estimator per model group, calibration, odds ratios."""

from vsvrisk.models.estimator import LIGHTGBM_DEFAULTS, RiskModel
from vsvrisk.models.logistic import forward_select, odds_ratios
from vsvrisk.models.spec import DataSpec, ModelSpec, StepwiseSpec, load_model_spec

__all__ = [
    "LIGHTGBM_DEFAULTS",
    "DataSpec",
    "ModelSpec",
    "RiskModel",
    "StepwiseSpec",
    "forward_select",
    "load_model_spec",
    "odds_ratios",
]
