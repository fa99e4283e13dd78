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

from vsvrisk.evaluate import _calibration
from vsvrisk.evaluate._pairs import PairCounts, pair_ranking

__all__ = [
    "calibration_intercept",
    "calibration_intercept_slope",
    "classification_metrics",
    "observed_expected",
    "truth_distance",
    "need_shares",
]

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
    return _calibration.fit_intercept(np.asarray(y, dtype=float), _calibration.logit(np.asarray(p, dtype=float)))


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
    from threadpoolctl import threadpool_limits

    y = np.asarray(y, dtype=float)
    lp = _calibration.logit(np.asarray(p, dtype=float))
    weight = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    intercept = _calibration.fit_intercept(y, lp, weight)
    if np.ptp(lp) == 0:  # constant predictions have no slope
        return intercept, float("nan")
    # One BLAS thread, as in classification_metrics.
    with threadpool_limits(1, user_api="blas"):
        return intercept, _calibration.fit_slope(y, lp, np.ones(len(y)) if weight is None else weight, intercept)


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
    return PairCounts(y, p).pairs()


def _pairs_apply(y: np.ndarray, p: np.ndarray) -> bool:
    """Whether the scores may be computed on distinct pairs: outcomes 0/1, risks in [0, 1].

    Anything else (a missing or infinite risk, one outside [0, 1], another outcome) goes to
    scikit-learn's metrics on the rows, which refuse it with their own message, as before.
    """
    return bool(np.isin(y, (0.0, 1.0)).all() and ((p >= 0) & (p <= 1)).all())


def _scores_of_cells(y, p, sectors: dict, characteristics: dict) -> tuple[list[dict], list[tuple]]:
    """:func:`classification_metrics` of every sector and of every level of every characteristic
    within every sector, from one sort of the risks.

    Parameters
    ----------
    y, p : ndarray
        Outcomes and risks of the cohort.
    sectors : dict
        Name to mask of the rows.
    characteristics : dict
        Name to (codes, levels): each row's level as an integer (-1 for missing) and the levels.

    Returns
    -------
    (list, list)
        The scores of each sector; (sector, characteristic, level, scores) of each level present
        in a sector, characteristic by characteristic, sector by sector, level by level.

    Where the pairs apply (:func:`_pairs_apply`), each cell is scored on its distinct (outcome,
    risk) pairs counted from one sort of the cohort (:class:`PairCounts`); otherwise cell by cell
    as ``classification_metrics`` does.
    """
    from threadpoolctl import threadpool_limits

    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    with threadpool_limits(1, user_api="blas"):  # see classification_metrics
        if _pairs_apply(y, p):
            counts = PairCounts(y, p)
            by_sector = [_scores(*counts.pairs(mask), sorted_pairs=True) for mask in sectors.values()]
            by_group = [(sector, name, levels[level], _scores(*pairs, sorted_pairs=True))
                        for name, (codes, levels) in characteristics.items() for sector, mask in sectors.items()
                        for level, pairs in counts.pairs_by_level(mask, codes, len(levels))]
            return by_sector, by_group
        by_sector = [_classification_metrics(y[mask], p[mask], None) for mask in sectors.values()]
        by_group = [(sector, name, levels[level], _classification_metrics(y[cell], p[cell], None))
                    for name, (codes, levels) in characteristics.items() for sector, mask in sectors.items()
                    for level in range(len(levels)) if (cell := mask & (codes == level)).any()]
        return by_sector, by_group


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
    if sample_weight is None and _pairs_apply(y, p):
        return _scores(*_distinct_pairs(y, p), sorted_pairs=True)
    return _scores(y, p, None if sample_weight is None else np.asarray(sample_weight, dtype=float))


def _scores(y: np.ndarray, p: np.ndarray, w: np.ndarray | None, *, sorted_pairs: bool = False) -> dict[str, float]:
    # sorted_pairs: y, p, w are distinct (outcome, risk) pairs with their counts as from
    # PairCounts (sorted by risk, 0 before 1): the ranking scores are then cumulative sums
    # (pair_ranking), the rest weighted sums. Otherwise scikit-learn's metrics on the rows.
    w = np.ones(len(y)) if w is None else w
    n = float(w.sum())
    prevalence = float(w @ y / n)
    expected = float(w @ p / n)
    clipped = np.clip(p, _calibration.EPS, 1 - _calibration.EPS)
    if sorted_pairs:
        brier = float(w @ np.square(y - p) / n)
        log_loss_value = -float(w @ np.where(y == 1, np.log(clipped), np.log1p(-clipped)) / n)
    else:
        brier = float(brier_score_loss(y, p, sample_weight=w))
        log_loss_value = float(log_loss(y, clipped, labels=[0, 1], sample_weight=w))
    reference = prevalence * (1 - prevalence)
    scores = {
        "n": n,
        "observed_rate": prevalence,
        "expected_rate": expected,
        "oe_ratio": prevalence / expected if expected > 0 else float("nan"),
        "brier": brier,
        "scaled_brier": 1 - brier / reference if reference > 0 else float("nan"),
        "log_loss": log_loss_value,
    }
    if 0 < w @ y < n:
        if sorted_pairs:
            scores["roc_auc"], scores["pr_auc"] = pair_ranking(y, p, w)
        else:
            scores["roc_auc"] = float(roc_auc_score(y, p, sample_weight=w))
            scores["pr_auc"] = float(average_precision_score(y, p, sample_weight=w))
        lp = _calibration.logit(p)
        intercept = _calibration.fit_intercept(y, lp, w)
        scores["calibration_intercept"] = intercept
        scores["calibration_slope"] = _calibration.fit_slope(y, lp, w, intercept) if np.ptp(lp) > 0 else float("nan")
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
    cell = np.ones(len(y), dtype=bool)
    return {**_truth_of_cells(y, p, p_true, p_true_features, [cell])[0],
            **_need_share_distance(p, p_true_features, region_codes)}


def _need_share_distance(p, p_true_features, region_codes) -> dict[str, float]:
    difference = need_shares(p, region_codes) - need_shares(p_true_features, region_codes)
    return {"need_share_l1": float(np.abs(difference).sum()), "need_share_max_error": float(np.abs(difference).max())}


def _truth_of_cells(y, p, p_true, p_true_features, cells) -> list[dict[str, float]]:
    """``truth_roc_auc``, ``oracle_roc_auc`` and ``mean_abs_error`` of :func:`truth_distance`
    for each cell (a mask of the rows).

    The AUCs are those of each cell's distinct (outcome, risk) pairs with their counts (one sort
    of each truth for all cells, :class:`PairCounts`; :func:`pair_ranking`): scikit-learn's on
    the rows up to the order of summation.
    """
    y = np.asarray(y, dtype=float)
    p, p_true_features = np.asarray(p, dtype=float), np.asarray(p_true_features, dtype=float)
    p_true = np.asarray(p_true, dtype=float)
    counts = [PairCounts(y, truth) if _pairs_apply(y, truth) else None for truth in (p_true_features, p_true)]
    rows = []
    for cell in cells:
        y_cell = y[cell]
        single_class = y_cell.sum() in (0, len(y_cell))
        aucs = []
        for pairs, truth in zip(counts, (p_true_features, p_true)):
            if single_class:
                aucs.append(float("nan"))
            elif pairs is None:  # scikit-learn on the rows decides (_pairs_apply)
                aucs.append(float(roc_auc_score(y_cell, truth[cell])))
            else:
                aucs.append(pair_ranking(*pairs.pairs(cell))[0])
        rows.append({"truth_roc_auc": aucs[0], "oracle_roc_auc": aucs[1],
                     "mean_abs_error": float(np.mean(np.abs(p[cell] - p_true_features[cell])))})
    return rows
