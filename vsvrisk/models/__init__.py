"""Risk models: a YAML spec, a scikit-learn estimator per model group, calibration, odds ratios.

The spec (:mod:`vsvrisk.models.spec`) needs neither scikit-learn nor LightGBM; the names below
are imported on first use, so that a spec is checked before the modelling stack is imported.
"""

from typing import TYPE_CHECKING

from vsvrisk._lazy import lazy_names

if TYPE_CHECKING:
    from vsvrisk.models.estimator import LIGHTGBM_DEFAULTS, RiskModel
    from vsvrisk.models.logistic import forward_select, odds_ratios
    from vsvrisk.models.spec import DataSpec, ModelSpec, StepwiseSpec, load_model_spec

__getattr__, __dir__ = lazy_names(__name__)

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
