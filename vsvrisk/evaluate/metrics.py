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
# Newton's method for the calibration fits: at most this many steps, done when a step is smaller
# than the tolerance (the next one would be below rounding).
_NEWTON_STEPS = 50
_NEWTON_TOL = 1e-10


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
    # The score equation sum(w * (y - expit(a + lp))) = 0 is monotone in a. Newton's method from
    # the logit difference of the observed and the mean predicted rate converges in three to five
    # steps (a bracketing root finder took about fifteen evaluations); each step is kept inside
    # the bracket the signs give. Anything else (no root in [-30, 30], a step that does not
    # settle) goes to the reference: brentq on that bracket, which also raises when there is no
    # root there.
    from scipy.special import expit

    # Unweighted rows are summed, not dotted with ones (a BLAS dot of a million rows spins up
    # threads for nothing).
    total = float(len(y) if weight is None else weight.sum())
    events = float(y.sum() if weight is None else weight @ y)
    if 0 < events < total:
        mean = _weighted_sum(expit(lp), weight) / total
        if 0 < mean < 1:
            a = float(np.log(events / (total - events)) - np.log(mean / (1 - mean)))
            low, high = -30.0, 30.0
            for _ in range(_NEWTON_STEPS):
                if not low <= a <= high:
                    break
                q = expit(a + lp)
                excess, slope = _weighted_sum(q, weight) - events, _weighted_sum(q * (1 - q), weight)
                if excess > 0:
                    high = a
                else:
                    low = a
                if not slope > 0:
                    break
                step = excess / slope
                if abs(step) < _NEWTON_TOL:
                    # Quadratic convergence: the error after a step of 1e-10 is below rounding.
                    return a - step
                # A step that leaves the bracket is replaced by its midpoint.
                a = a - step if low < a - step < high else (low + high) / 2
    return _intercept_reference(y, lp, weight)


def _weighted_sum(values: np.ndarray, weight: np.ndarray | None) -> float:
    return float(values.sum() if weight is None else weight @ values)


def _intercept_reference(y: np.ndarray, lp: np.ndarray, weight: np.ndarray | None = None) -> float:
    """The root of the intercept's score equation by brentq on [-30, 30] (the former path)."""
    from scipy.optimize import brentq
    from scipy.special import expit

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
    from threadpoolctl import threadpool_limits

    y = np.asarray(y, dtype=float)
    lp = _logit(np.asarray(p, dtype=float))
    weight = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    intercept = _intercept(y, lp, weight)
    if np.ptp(lp) == 0:  # constant predictions have no slope
        return intercept, float("nan")
    # One BLAS thread, as in classification_metrics.
    with threadpool_limits(1, user_api="blas"):
        return intercept, _slope(y, lp, np.ones(len(y)) if weight is None else weight, intercept)


def _slope(y: np.ndarray, lp: np.ndarray, w: np.ndarray, intercept: float) -> float:
    # Newton's method on the two-parameter log-likelihood (intercept, slope), started where the
    # intercept-only fit ended: at (intercept, 1) the intercept's score is already zero, so three
    # or four steps reach the maximum (scikit-learn's newton-cholesky took eight, plus its
    # checks). A step that lowers the likelihood is halved. When the steps do not settle (data a
    # line separates: no finite slope), scikit-learn's fit decides, as before.
    from scipy.special import expit, log_expit

    non_events = w * (1 - y)

    def loglik(eta):  # log_expit(-eta) = log_expit(eta) - eta: one pass
        return float(w @ log_expit(eta) - non_events @ eta)

    def gradient(q):
        residual = w * (y - q)
        return np.array([residual.sum(), residual @ lp])

    beta = np.array([intercept, 1.0])
    eta = beta[0] + beta[1] * lp
    q = expit(eta)
    score = gradient(q)
    for _ in range(_NEWTON_STEPS):
        v = w * q * (1 - q)
        vx = v * lp
        try:
            step = np.linalg.solve(np.array([[v.sum(), vx.sum()], [vx.sum(), vx @ lp]]), score)
        except np.linalg.LinAlgError:
            break
        if not np.isfinite(step).all():
            break
        if np.abs(step).max() < _NEWTON_TOL:  # the error after this step is below rounding (see _intercept)
            return float(beta[1] + step[1])
        for _ in range(30):
            candidate = beta + step
            candidate_eta = candidate[0] + candidate[1] * lp
            candidate_q = expit(candidate_eta)
            candidate_score = gradient(candidate_q)
            # The likelihood is concave: a slope along the step still >= 0 at its end means it
            # rose all the way; only otherwise compare likelihoods, and halve a step that lowers it.
            if candidate_score @ step >= 0:
                break
            current = loglik(eta)
            if loglik(candidate_eta) >= current - 1e-12 * abs(current):
                break
            step = step / 2
        else:
            break
        beta, eta, q, score = candidate, candidate_eta, candidate_q, candidate_score
    return _slope_reference(y, lp, w)


def _slope_reference(y: np.ndarray, lp: np.ndarray, w: np.ndarray) -> float:
    """The calibration slope by scikit-learn's unpenalised logistic regression (the former path)."""
    from sklearn.linear_model import LogisticRegression

    fit = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-10).fit(lp.reshape(-1, 1), y, sample_weight=w)
    return float(fit.coef_[0, 0])


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
    return _PairCounts(y, p).pairs()


class _PairCounts:
    """The distinct (outcome, risk) pairs of any subset of one cohort's rows, from one np.unique.

    The pairs of a subset are the cohort's pairs that occur in it, in the same sorted order:
    counting the subset's pair codes gives exactly what :func:`_distinct_pairs` of the subset
    gives (the same arrays), without a sort of each subset. The 68 cells of a national
    evaluation (sectors by groups, subsets of one another) share one sort.

    Examples
    --------
    >>> counts = _PairCounts(np.array([0, 1, 0, 0]), np.array([0.2, 0.2, 0.2, 0.7]))
    >>> [a.tolist() for a in counts.pairs(np.array([False, True, True, True]))]
    [[0.0, 1.0, 0.0], [0.2, 0.2, 0.7], [1.0, 1.0, 1.0]]
    """

    def __init__(self, y, p):
        y = np.asarray(y, dtype=float)
        # np.unique(p, return_inverse=True), from a hash table and a sort of the distinct values
        # only (a third faster on a national cohort's risks).
        codes, uniques = pd.factorize(np.asarray(p, dtype=float))
        order = np.argsort(uniques)
        rank = np.empty(len(order), dtype=np.intp)
        rank[order] = np.arange(len(order))
        self.values, self.codes = uniques[order], rank[codes] * 2 + (y == 1)

    def pairs(self, rows=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(y, p, counts) of the rows selected by ``rows`` (a mask or indices; all by default)."""
        codes = self.codes if rows is None else self.codes[rows]
        return self._kept(np.bincount(codes, minlength=2 * len(self.values)))

    def pairs_by_level(self, rows, levels: np.ndarray, n_levels: int):
        """(level, (y, p, counts)) of each level present among ``rows``; ``levels`` holds each
        row's level (0 to n_levels - 1; -1 for none). One count over the rows for all levels."""
        levels = levels[rows]
        known = levels >= 0
        size = 2 * len(self.values)
        counts = np.bincount(levels[known].astype(np.intp) * size + self.codes[rows][known], minlength=n_levels * size)
        for level in range(n_levels):
            if counts[level * size:(level + 1) * size].any():
                yield level, self._kept(counts[level * size:(level + 1) * size])

    def _kept(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        kept = np.flatnonzero(counts)
        return (kept % 2).astype(float), self.values[kept // 2], counts[kept].astype(float)


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

    Where the outcomes are 0/1 and no risk is missing, each cell is scored on its distinct
    (outcome, risk) pairs counted from one sort of the cohort (:class:`_PairCounts`); otherwise
    cell by cell as ``classification_metrics`` does.
    """
    from threadpoolctl import threadpool_limits

    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    with threadpool_limits(1, user_api="blas"):  # see classification_metrics
        if np.isin(y, (0.0, 1.0)).all() and not np.isnan(p).any():
            counts = _PairCounts(y, p)
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
    if sample_weight is None and np.isin(y, (0.0, 1.0)).all() and not np.isnan(p).any():
        return _scores(*_distinct_pairs(y, p), sorted_pairs=True)
    return _scores(y, p, None if sample_weight is None else np.asarray(sample_weight, dtype=float))


def _scores(y: np.ndarray, p: np.ndarray, w: np.ndarray | None, *, sorted_pairs: bool = False) -> dict[str, float]:
    # sorted_pairs: y, p, w are distinct (outcome, risk) pairs with their counts as from
    # _PairCounts (sorted by risk, 0 before 1): the ranking scores are then cumulative sums
    # (_pair_ranking), the rest weighted sums. Otherwise scikit-learn's metrics on the rows.
    w = np.ones(len(y)) if w is None else w
    n = float(w.sum())
    prevalence = float(w @ y / n)
    expected = float(w @ p / n)
    if sorted_pairs:
        brier = float(w @ np.square(y - p) / n)
        clipped = np.clip(p, _EPS, 1 - _EPS)
        log_loss_value = -float(w @ np.where(y == 1, np.log(clipped), np.log1p(-clipped)) / n)
    else:
        brier = float(brier_score_loss(y, p, sample_weight=w))
        log_loss_value = float(log_loss(y, np.clip(p, _EPS, 1 - _EPS), labels=[0, 1], sample_weight=w))
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
            scores["roc_auc"], scores["pr_auc"] = _pair_ranking(y, p, w)
        else:
            scores["roc_auc"] = float(roc_auc_score(y, p, sample_weight=w))
            scores["pr_auc"] = float(average_precision_score(y, p, sample_weight=w))
        lp = _logit(p)
        scores["calibration_intercept"] = _intercept(y, lp, w)
        scores["calibration_slope"] = _slope(y, lp, w, scores["calibration_intercept"]) if np.ptp(lp) > 0 else float("nan")
    else:  # a single class: ranking and calibration are undefined
        for key in ("roc_auc", "pr_auc", "calibration_intercept", "calibration_slope"):
            scores[key] = float("nan")
    return scores


def _pair_ranking(y: np.ndarray, p: np.ndarray, counts: np.ndarray) -> tuple[float, float]:
    """ROC AUC and average precision of distinct (outcome, risk) pairs sorted by risk, 0 before 1.

    scikit-learn's definitions with ties (a tie between an event and a non-event counts half;
    one precision-recall point per distinct risk), as sums over the pairs: each event pair's
    count times the non-events below its risk plus half those at it (AUC), and times the
    precision at its risk (average precision). With whole counts every cumulative sum is exact.

    Examples
    --------
    >>> y, p, counts = _distinct_pairs([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> _pair_ranking(y, p, counts)
    (0.75, 0.8333333333333333)
    """
    negatives = counts * (1 - y)
    positives = counts * y
    event = y == 1
    # The non-event pair at an event pair's risk, if any, is the pair just before it.
    tied = np.zeros(len(y))
    same = np.flatnonzero(event[1:] & (p[1:] == p[:-1])) + 1
    tied[same] = counts[same - 1]
    below = np.cumsum(negatives)  # non-events at or below each pair's risk
    total_negative, total_positive = below[-1], float(positives.sum())
    auc = float(positives[event] @ (below[event] - tied[event] / 2) / (total_positive * total_negative))
    # At or above an event pair's risk: the events from it up, the non-events from its tie up.
    events_above = total_positive - np.cumsum(positives) + positives
    negatives_above = total_negative - below + tied
    precision = events_above[event] / (events_above[event] + negatives_above[event])
    return auc, float(positives[event] @ precision / total_positive)


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
    of each truth for all cells, :class:`_PairCounts`; :func:`_pair_ranking`): scikit-learn's on
    the rows up to the order of summation.
    """
    y = np.asarray(y, dtype=float)
    p, p_true_features = np.asarray(p, dtype=float), np.asarray(p_true_features, dtype=float)
    p_true = np.asarray(p_true, dtype=float)
    binary = np.isin(y, (0.0, 1.0)).all()
    counts = [_PairCounts(y, truth) if binary and not np.isnan(truth).any() else None
              for truth in (p_true_features, p_true)]
    rows = []
    for cell in cells:
        y_cell = y[cell]
        single_class = y_cell.sum() in (0, len(y_cell))
        aucs = []
        for pairs, truth in zip(counts, (p_true_features, p_true)):
            if single_class:
                aucs.append(float("nan"))
            elif pairs is None:  # not 0/1, or a missing truth: scikit-learn on the rows decides
                aucs.append(float(roc_auc_score(y_cell, truth[cell])))
            else:
                aucs.append(_pair_ranking(*pairs.pairs(cell))[0])
        rows.append({"truth_roc_auc": aucs[0], "oracle_roc_auc": aucs[1],
                     "mean_abs_error": float(np.mean(np.abs(p[cell] - p_true_features[cell])))})
    return rows
