"""Plots of an evaluation: calibration per sector, ROC per sector, regional O/E.

Every function returns a matplotlib ``Figure`` built without pyplot's global state, so it is
safe in scripts, notebooks and the MLflow logger alike.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_curve

__all__ = ["calibration_figure", "roc_figure", "regional_oe_figure"]


#: Points of a ROC curve drawn at most: a national cohort's curve has hundreds of thousands,
#: which take seconds to render and are indistinguishable from these on a 5-inch figure.
ROC_POINTS = 2_000


def _sectors(frame: pd.DataFrame):
    y = frame["vsv"].to_numpy(dtype=float)
    for name in ("vo", "mbo", "vavo"):
        mask = (frame["sector"] == name).to_numpy(dtype=bool)  # a category compares its codes
        if mask.any() and 0 < y[mask].sum() < mask.sum():
            yield name, mask


def _thinned(fpr: np.ndarray, tpr: np.ndarray, n: int = ROC_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most ``n`` points of the curve, evenly spread over its points, both ends kept."""
    if len(fpr) <= n:
        return fpr, tpr
    keep = np.unique(np.linspace(0, len(fpr) - 1, n).round().astype(np.intp))
    return fpr[keep], tpr[keep]


def calibration_figure(frame: pd.DataFrame, p, *, n_bins: int = 10) -> Figure:
    """Observed against predicted risk per sector, in quantile bins (log-log axes)."""
    figure = Figure(figsize=(6, 5))
    axes = figure.add_subplot()
    y = frame["vsv"].to_numpy(dtype=float)
    p = np.asarray(p, dtype=float)
    low, high = 1.0, 1e-6
    for name, mask in _sectors(frame):
        observed, predicted = calibration_curve(y[mask], p[mask], n_bins=n_bins, strategy="quantile")
        keep = observed > 0
        axes.plot(predicted[keep], observed[keep], "o-", label=name)
        low, high = min(low, predicted.min()), max(high, predicted.max())
    axes.plot([low, high], [low, high], "k--", lw=1, label="perfect")
    axes.set(xscale="log", yscale="log", xlabel="predicted risk (bin mean)", ylabel="observed vsv rate",
             title="Calibration per sector")
    axes.legend()
    figure.tight_layout()
    return figure


def roc_figure(frame: pd.DataFrame, p) -> Figure:
    """ROC curve per sector."""
    figure = Figure(figsize=(5, 5))
    axes = figure.add_subplot()
    y = frame["vsv"].to_numpy(dtype=float)
    p = np.asarray(p, dtype=float)
    for name, mask in _sectors(frame):
        fpr, tpr, _ = roc_curve(y[mask], p[mask])
        axes.plot(*_thinned(fpr, tpr), label=name)
    axes.plot([0, 1], [0, 1], "k--", lw=1)
    axes.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC per sector")
    axes.legend()
    figure.tight_layout()
    return figure


def regional_oe_figure(by_region: pd.DataFrame, names: dict | None = None) -> Figure:
    """Observed/expected per region with its interval (a region on 1 is predicted right)."""
    table = by_region.sort_values("oe")
    labels = [names.get(code, str(code)) if names else str(code) for code in table["region_code"]]
    figure = Figure(figsize=(7, 9))
    axes = figure.add_subplot()
    position = np.arange(len(table))
    errors = np.vstack([table["oe"] - table["oe_low"], table["oe_high"] - table["oe"]])
    axes.errorbar(table["oe"], position, xerr=errors, fmt="o", ms=3, capsize=2)
    axes.axvline(1.0, color="k", ls="--", lw=1)
    axes.set_yticks(position, labels, fontsize=7)
    axes.set(xlabel="observed / expected vsv", title="Observed against expected per region")
    figure.tight_layout()
    return figure
