"""Evaluation of predicted risks: metrics per sector, region and group; distance to truth; models compared."""

from vsvrisk.evaluate.compare import ModelComparison, compare_predictions
from vsvrisk.evaluate.metrics import (
    calibration_intercept,
    calibration_intercept_slope,
    classification_metrics,
    need_shares,
    observed_expected,
    truth_distance,
)
from vsvrisk.evaluate.paired import delong_auc_difference, need_distance_bootstrap, paired_mean_difference
from vsvrisk.evaluate.validation import Evaluation, evaluate_predictions, grouped_cross_validation, out_of_time

__all__ = [
    "Evaluation",
    "ModelComparison",
    "compare_predictions",
    "delong_auc_difference",
    "need_distance_bootstrap",
    "paired_mean_difference",
    "evaluate_predictions",
    "grouped_cross_validation",
    "out_of_time",
    "calibration_intercept",
    "calibration_intercept_slope",
    "classification_metrics",
    "need_shares",
    "observed_expected",
    "truth_distance",
]
