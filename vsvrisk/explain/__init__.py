"""Explanations: SHAP values per person, national drivers, and why one region needs more.

DESIGN section 8. :func:`shap_values` gives per-person contributions in log-odds, grouped to
the variables a person names; :func:`aggregate_shap` sums them per region and model group in
chunks (national size); :func:`national_drivers`, :func:`regional_decomposition` and
:func:`compare_regions` turn the sums into tables (:func:`vsvrisk.runs.explain_run` writes them,
with plots and one HTML page, for a tracked training run). :class:`FastTreeShap` is the exact TreeSHAP
that the LightGBM models are explained with (equal to LightGBM's ``pred_contrib``, faster).
"""

from vsvrisk.explain.aggregates import ShapAggregates, aggregate_shap
from vsvrisk.explain.drivers import (
    MIX_TERM,
    compare_regions,
    level_contributions,
    national_drivers,
    regional_decomposition,
)
from vsvrisk.explain.fast_treeshap import FastTreeShap, fast_pred_contrib
from vsvrisk.explain.shap_values import CHUNK_SIZE, shap_values, variables_of_columns

__all__ = [
    "CHUNK_SIZE",
    "FastTreeShap",
    "MIX_TERM",
    "ShapAggregates",
    "aggregate_shap",
    "compare_regions",
    "fast_pred_contrib",
    "level_contributions",
    "national_drivers",
    "regional_decomposition",
    "shap_values",
    "variables_of_columns",
]
