"""Evaluation of predicted risks: metrics per sector, region and group; distance to truth."""

from vsvrisk.evaluate.metrics import (
    calibration_intercept_slope,
    classification_metrics,
    need_shares,
    observed_expected,
    truth_distance,
)

__all__ = [
    "calibration_intercept_slope",
    "classification_metrics",
    "need_shares",
    "observed_expected",
    "truth_distance",
]
