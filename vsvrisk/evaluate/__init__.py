"""Evaluation of predicted risks: metrics per sector, region and group; distance to truth."""

from vsvrisk.evaluate.metrics import (
    calibration_intercept,
    calibration_intercept_slope,
    classification_metrics,
    need_shares,
    observed_expected,
    truth_distance,
)
from vsvrisk.evaluate.validation import Evaluation, evaluate_predictions, grouped_cross_validation, out_of_time

__all__ = [
    "Evaluation",
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
