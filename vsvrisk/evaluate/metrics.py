"""Scores of predicted risks: discrimination, calibration, observed/expected, distance to truth.

Calibration matters more than ranking here: the budget is a sum of probabilities, so a model
whose probabilities are 10% too high in one sector moves money. Every function takes plain
arrays (``y`` 0/1, ``p`` probabilities) so it serves any model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    roc_auc_score,
)

__all__ = [
    "calibration_intercept",
    "calibration_intercept_slope",
    "classification_metrics",
    "observed_expected",
    "truth_distance",
    "need_shares",
]

_EPS = 1e-12


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def calibration_intercept(y, p) -> float:
    """Calibration-in-the-large: the intercept of a logistic regression of ``y`` with ``logit(p)``
    as offset (0 is perfect; above 0 the predictions are too low on average).

    The first half of :func:`calibration_intercept_slope`, for callers that need no slope (the
    slope costs a logistic regression fit).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0.01, 0.3, 50_000)
    >>> abs(calibration_intercept(rng.random(50_000) < p, p)) < 0.05
    True
    """
    return _intercept(np.asarray(y, dtype=float), _logit(np.asarray(p, dtype=float)))


def _intercept(y: np.ndarray, lp: np.ndarray, weight: np.ndarray | None = None) -> float:
    from scipy.optimize import brentq
    from scipy.special import expit

    # The score equation sum(w * (y - expit(a + lp))) = 0 is monotone in a, so a bracketing
    # root finder gives the maximum-likelihood value exactly.
    if weight is None:
        events = y.sum()
        return float(brentq(lambda a: expit(a + lp).sum() - events, -30.0, 30.0, xtol=1e-10))
    events = weight @ y
    return float(brentq(lambda a: weight @ expit(a + lp) - events, -30.0, 30.0, xtol=1e-10))


def calibration_intercept_slope(y, p, sample_weight=None) -> tuple[float, float]:
    """Calibration-in-the-large and calibration slope of predicted probabilities.

    The slope is the coefficient of ``logit(p)`` in a logistic regression of ``y`` on it (1 is
    perfect; below 1 the predictions are too extreme). The intercept is that of a logistic
    regression of ``y`` with ``logit(p)`` as offset (0 is perfect; above 0 the predictions are
    too low on average). Both are the standard definitions (Van Calster et al. 2019).
    ``sample_weight`` counts each row that many times (as in scikit-learn's metrics).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0.01, 0.3, 50_000)
    >>> y = rng.random(50_000) < p
    >>> a, b = calibration_intercept_slope(y, p)
    >>> abs(a) < 0.05 and abs(b - 1) < 0.05
    True
    """
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    y = np.asarray(y, dtype=float)
    lp = _logit(np.asarray(p, dtype=float))
    weight = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    intercept = _intercept(y, lp, weight)
    if np.ptp(lp) == 0:  # constant predictions have no slope
        return intercept, float("nan")
    # One BLAS thread, as in classification_metrics.
    with threadpool_limits(1, user_api="blas"):
        fit = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-10).fit(lp.reshape(-1, 1), y,
                                                                                     sample_weight=weight)
    return intercept, float(fit.coef_[0, 0])


def _distinct_pairs(y, p) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (outcome, risk) pairs of ``y`` and ``p`` and how often each occurs.

    A model's risks repeat (the 1.5 million LightGBM risks of a national cohort take about
    400,000 values, a logistic model's fewer), and every score of :func:`classification_metrics`
    is a weighted sum or a weighted fit over these pairs: scoring the pairs with their counts as
    ``sample_weight`` gives the scores of the rows in a fraction of the time (ties stay ties).

    Returns
    -------
    (y, p, counts) : three arrays, one entry per distinct pair

    Examples
    --------
    >>> y, p, counts = _distinct_pairs([0, 1, 0, 0], [0.2, 0.2, 0.2, 0.7])
    >>> y.tolist(), p.tolist(), counts.tolist()
    ([0.0, 1.0, 0.0], [0.2, 0.2, 0.7], [2.0, 1.0, 1.0])
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    values, inverse = np.unique(p, return_inverse=True)
    counts = np.bincount(inverse.ravel() * 2 + (y == 1), minlength=2 * len(values))
    kept = np.flatnonzero(counts)
    return (kept % 2).astype(float), values[kept // 2], counts[kept].astype(float)


def classification_metrics(y, p, sample_weight=None) -> dict[str, float]:
    """Every score of DESIGN section 7 for one set of predictions.

    Parameters
    ----------
    y : array-like of 0/1
        The outcomes.
    p : array-like
        The predicted risks.
    sample_weight : array-like, default=None
        How many persons each row stands for. ``None`` scores every row once, computed on the
        distinct (outcome, risk) pairs with their counts (:func:`_distinct_pairs`): the same
        scores, faster on a large cohort.

    Returns
    -------
    dict
        ``n``, ``observed_rate``, ``expected_rate``, ``roc_auc``, ``pr_auc`` (average
        precision), ``log_loss``, ``brier``, ``scaled_brier`` (1 - Brier / Brier of the
        prevalence), ``calibration_intercept``, ``calibration_slope``, ``oe_ratio``.

    Examples
    --------
    >>> scores = classification_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> scores["roc_auc"]
    0.75
    """
    from threadpoolctl import threadpool_limits

    # One BLAS thread: the weighted sums and the two-parameter fit gain nothing from more (they
    # wait for each other, and under load spin), and their last bits would depend on the count.
    with threadpool_limits(1, user_api="blas"):
        return _classification_metrics(y, p, sample_weight)


def _classification_metrics(y, p, sample_weight) -> dict[str, float]:
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if sample_weight is None and np.isin(y, (0.0, 1.0)).all() and not np.isnan(p).any():
        y, p, sample_weight = _distinct_pairs(y, p)
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    n = float(w.sum())
    prevalence = float(w @ y / n)
    expected = float(w @ p / n)
    brier = float(brier_score_loss(y, p, sample_weight=w))
    reference = prevalence * (1 - prevalence)
    scores = {
        "n": n,
        "observed_rate": prevalence,
        "expected_rate": expected,
        "oe_ratio": prevalence / expected if expected > 0 else float("nan"),
        "brier": brier,
        "scaled_brier": 1 - brier / reference if reference > 0 else float("nan"),
        "log_loss": float(log_loss(y, np.clip(p, _EPS, 1 - _EPS), labels=[0, 1], sample_weight=w)),
    }
    if 0 < w @ y < n:
        scores["roc_auc"] = float(roc_auc_score(y, p, sample_weight=w))
        scores["pr_auc"] = float(average_precision_score(y, p, sample_weight=w))
        scores["calibration_intercept"], scores["calibration_slope"] = calibration_intercept_slope(y, p, w)
    else:  # a single class: ranking and calibration are undefined
        for key in ("roc_auc", "pr_auc", "calibration_intercept", "calibration_slope"):
            scores[key] = float("nan")
    return scores


def observed_expected(y, p, groups, *, level: float = 0.95) -> pd.DataFrame:
    """Observed against expected vsv per group (region, sector, ...), with an exact interval.

    The interval is the exact (Garwood) Poisson interval of the observed count divided by the
    expected count: the usual interval of a standardised ratio.

    Returns
    -------
    DataFrame
        Indexed by group: ``n_persons``, ``observed``, ``expected``, ``oe``, ``oe_low``,
        ``oe_high``.

    Examples
    --------
    >>> table = observed_expected([1, 0, 0, 1], [0.5, 0.5, 0.2, 0.2], ["a", "a", "b", "b"])
    >>> table.loc["a", "oe"], table.loc["b", "oe"]
    (np.float64(1.0), np.float64(2.5))
    """
    data = pd.DataFrame({"y": np.asarray(y, dtype=float), "p": np.asarray(p, dtype=float), "g": np.asarray(groups)})
    table = data.groupby("g", observed=True).agg(n_persons=("y", "size"), observed=("y", "sum"), expected=("p", "sum"))
    table.index.name = None
    alpha = 1 - level
    observed = table["observed"].to_numpy()
    low = np.where(observed > 0, stats.chi2.ppf(alpha / 2, 2 * observed) / 2, 0.0)
    high = stats.chi2.ppf(1 - alpha / 2, 2 * (observed + 1)) / 2
    table["oe"] = table["observed"] / table["expected"]
    table["oe_low"] = low / table["expected"].to_numpy()
    table["oe_high"] = high / table["expected"].to_numpy()
    return table


def need_shares(p, region_codes, *, regions=range(1, 41)) -> pd.Series:
    """Each region's share of the national sum of probabilities (all regions, zeros included).

    Examples
    --------
    >>> need_shares([0.25, 0.75], [1, 2], regions=[1, 2, 3]).tolist()
    [0.25, 0.75, 0.0]
    """
    sums = pd.Series(np.asarray(p, dtype=float)).groupby(np.asarray(region_codes)).sum()
    sums = sums.reindex(list(regions), fill_value=0.0)
    sums.index.name = "region_code"
    return sums / sums.sum()


def truth_distance(y, p, p_true, p_true_features, region_codes) -> dict[str, float]:
    """How far predictions are from a synthetic population's truth.

    Parameters
    ----------
    y, p : array-like
        Outcomes and predicted probabilities.
    p_true, p_true_features : array-like
        The true probability, and the same without the regional random effect (what a model
        on characteristics can at best reach, and what need should follow).
    region_codes : array-like
        Region of each row.

    Returns
    -------
    dict
        ``truth_roc_auc`` (AUC of ``p_true_features``: the ceiling), ``oracle_roc_auc`` (of
        ``p_true``), ``mean_abs_error`` (mean |p - p_true_features|), ``need_share_l1`` (sum
        over regions of |share - true share|, shares from ``p_true_features``) and
        ``need_share_max_error``.
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    p_true_features = np.asarray(p_true_features, dtype=float)
    difference = need_shares(p, region_codes) - need_shares(p_true_features, region_codes)
    single_class = y.sum() in (0, len(y))
    return {
        "truth_roc_auc": float("nan") if single_class else float(roc_auc_score(y, p_true_features)),
        "oracle_roc_auc": float("nan") if single_class else float(roc_auc_score(y, np.asarray(p_true, dtype=float))),
        "mean_abs_error": float(np.mean(np.abs(p - p_true_features))),
        "need_share_l1": float(np.abs(difference).sum()),
        "need_share_max_error": float(np.abs(difference).max()),
    }
