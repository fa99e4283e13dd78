"""Feature transformers: from the person-year table to the model matrix (DESIGN sections 3, 7).

scikit-learn transformers with pandas in and out:

- :class:`AgeAtReferenceDate`: ``age`` on 1 October of the school year and CBS's ``age_group``.
- :class:`Multiproblematiek`: ``problem_count`` and ``multiproblematiek`` (two or more problems).
- :class:`WealthGroup`: the wealth percentile in five groups, ``wealth_group``.
- :class:`CategoryEncoder`: fixed ``category`` columns (LightGBM) or one-hot with reference
  levels (logistic).
- :func:`build_feature_pipeline`: a :class:`FeatureSpec` (or a dict, or a YAML file) to the
  whole ``Pipeline``.
"""

from typing import TYPE_CHECKING

from vsvrisk._lazy import lazy_names

# Imported on first use (scikit-learn and pandas with them): the feature spec and its lists
# (vsvrisk.features._spec) need neither, so that a model spec is checked without them.
if TYPE_CHECKING:
    from vsvrisk.data.codes import age_group_categories
    from vsvrisk.features._age import AgeAtReferenceDate
    from vsvrisk.features._encoding import CategoryEncoder
    from vsvrisk.features._multiproblematiek import Multiproblematiek
    from vsvrisk.features._pipeline import build_feature_pipeline
    from vsvrisk.features._spec import ALLOWED_FEATURES, CATEGORICAL_FEATURES, FeatureSpec
    from vsvrisk.features._wealth import WealthGroup

__getattr__, __dir__ = lazy_names(__name__)

__all__ = [
    "ALLOWED_FEATURES",
    "CATEGORICAL_FEATURES",
    "AgeAtReferenceDate",
    "CategoryEncoder",
    "FeatureSpec",
    "Multiproblematiek",
    "WealthGroup",
    "age_group_categories",
    "build_feature_pipeline",
]
