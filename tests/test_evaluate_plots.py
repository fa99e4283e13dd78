"""The evaluation's plots: what they draw, checked against scikit-learn's curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_curve

from vsvrisk.evaluate.plots import ROC_POINTS, calibration_figure, roc_figure


def _cohort(n: int, sector_dtype: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    p = rng.beta(2, 20, n)
    sector = np.where(rng.random(n) < 0.5, "vo", "mbo")
    frame = pd.DataFrame({"sector": pd.Series(sector, dtype=sector_dtype), "vsv": rng.random(n) < p})
    return frame, p, sector


@pytest.mark.parametrize("sector_dtype", ["category", "object"])
def test_a_long_roc_curve_is_drawn_with_few_points_all_on_the_curve(sector_dtype):
    frame, p, sector = _cohort(60_000, sector_dtype)
    lines = {line.get_label(): line for line in roc_figure(frame, p).axes[0].get_lines()}
    assert set(lines) >= {"vo", "mbo"}
    for name in ("vo", "mbo"):
        mask = sector == name
        fpr, tpr, _ = roc_curve(frame["vsv"].to_numpy()[mask], p[mask])
        assert len(fpr) > ROC_POINTS  # long enough to be thinned
        x, y = lines[name].get_xdata(), lines[name].get_ydata()
        assert len(x) <= ROC_POINTS
        assert (x[0], y[0], x[-1], y[-1]) == (fpr[0], tpr[0], fpr[-1], tpr[-1])
        on_curve = set(zip(fpr.tolist(), tpr.tolist()))
        assert all(point in on_curve for point in zip(x.tolist(), y.tolist()))
        assert np.all(np.diff(x) >= 0) and np.all(np.diff(y) >= 0)


def test_a_short_roc_curve_is_drawn_whole_and_a_sector_without_vsv_is_left_out():
    frame, p, sector = _cohort(400, "category", seed=1)
    frame.loc[sector == "mbo", "vsv"] = False
    lines = {line.get_label(): line for line in roc_figure(frame, p).axes[0].get_lines()}
    mask = sector == "vo"
    fpr, _, _ = roc_curve(frame["vsv"].to_numpy()[mask], p[mask])
    assert len(lines["vo"].get_xdata()) == len(fpr)
    assert "mbo" not in lines
    assert "mbo" not in {line.get_label() for line in calibration_figure(frame, p).axes[0].get_lines()}
