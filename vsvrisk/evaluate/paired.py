"""Paired differences between two models scored on the same persons, with 95% intervals.

Two models evaluated on one cohort make *paired* predictions: each person is scored by both,
so most of the sampling noise is shared and cancels in the difference. The intervals here use
that pairing; comparing two separate intervals would call many real differences noise.

- AUC: DeLong, DeLong & Clarke-Pearson (1988), in the fast form of Sun & Xu (2014): the
  placement values come from three mid-rankings per model (O(n log n)), and their covariance
  gives the variance of the difference of two correlated AUCs. scikit-learn, SciPy and
  statsmodels have no paired AUC test, and the packages that do (``MLstatkit``,
  ``rocauc-comparison``) are small single-author projects; the method is twenty lines on
  :func:`scipy.stats.rankdata`, tested against the pairwise definition in
  ``tests/test_compare.py``. A bootstrap over persons would give the same interval at about a
  thousand times the cost.
- Brier score and log loss: each is a mean of per-person losses, so the difference is the
  mean of per-person differences, with the usual normal interval (a paired t-interval for
  large n).
- Distance of need shares to a reference (the synthetic truth, or the observed vsv): a sum of
  absolute differences over 40 regions has no simple variance formula, so its standard error
  comes from a bootstrap over persons, with the *same* resampled persons for every model and
  the reference in a replicate: that is what makes it paired. The interval is the estimate
  plus or minus 1.96 bootstrap standard errors, not the percentiles of the replicates: an
  absolute value of noisy shares is biased upwards in every replicate (resampling adds noise
  to shares that already carry some), so the percentile interval of a small distance can lie
  wholly above the distance measured (seen on 1.5 million persons); its spread is not biased.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from scipy import stats

__all__ = ["delong_auc_difference", "paired_mean_difference", "need_distance_bootstrap", "person_losses"]

_EPS = 1e-12


def _z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2))


def _placements(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AUC of each row of ``scores`` and its placement values (Sun & Xu 2014, algorithm 2)."""
    positive = y == 1
    m, n = int(positive.sum()), int((~positive).sum())
    ordered = np.hstack([scores[:, positive], scores[:, ~positive]])
    aucs, v_positive, v_negative = [], [], []
    for row in ordered:
        midrank_all = stats.rankdata(row)
        midrank_positive = stats.rankdata(row[:m])
        midrank_negative = stats.rankdata(row[m:])
        aucs.append((midrank_all[:m].sum() - m * (m + 1) / 2) / (m * n))
        # The share of negatives each positive outranks, and of positives each negative is below.
        v_positive.append((midrank_all[:m] - midrank_positive) / n)
        v_negative.append(1.0 - (midrank_all[m:] - midrank_negative) / m)
    return np.array(aucs), np.array(v_positive), np.array(v_negative)


def delong_auc_difference(y, p_a, p_b, *, level: float = 0.95) -> dict[str, float]:
    """The AUC of two paired sets of predictions, their difference, its interval and p-value.

    Parameters
    ----------
    y : array-like of 0/1
        Outcomes; both classes must occur.
    p_a, p_b : array-like
        Predictions of models A and B for the same persons, in the same order.
    level : float, default=0.95
        Coverage of the interval.

    Returns
    -------
    dict
        ``auc_a``, ``auc_b``, ``difference`` (A - B), ``se``, ``low``, ``high``, ``p_value``
        (two-sided, normal). Identical predictions give a difference of 0 with ``se`` 0.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.random(4_000) < 0.2
    >>> good, poor = y + rng.normal(0, 1, 4_000), y + rng.normal(0, 2, 4_000)
    >>> result = delong_auc_difference(y, good, poor)
    >>> result["low"] > 0
    True
    """
    y = np.asarray(y, dtype=float)
    scores = np.vstack([np.asarray(p_a, dtype=float), np.asarray(p_b, dtype=float)])
    if not 0 < y.sum() < len(y):
        raise ValueError("delong_auc_difference needs both outcomes (0 and 1) among the persons")
    aucs, v_positive, v_negative = _placements(y, scores)
    m, n = v_positive.shape[1], v_negative.shape[1]
    covariance = np.cov(v_positive) / m + np.cov(v_negative) / n
    variance = max(float(covariance[0, 0] + covariance[1, 1] - 2 * covariance[0, 1]), 0.0)
    difference, se = float(aucs[0] - aucs[1]), math.sqrt(variance)
    half = _z(level) * se
    p_value = float(2 * stats.norm.sf(abs(difference) / se)) if se > 0 else (1.0 if difference == 0 else 0.0)
    return {"auc_a": float(aucs[0]), "auc_b": float(aucs[1]), "difference": difference, "se": se,
            "low": difference - half, "high": difference + half, "p_value": p_value}


def person_losses(y, p) -> dict[str, np.ndarray]:
    """Each person's Brier loss ``(p - y)^2`` and log loss (their means are the usual scores)."""
    y = np.asarray(y, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    return {"brier": (p - y) ** 2, "log_loss": -(y * np.log(p) + (1 - y) * np.log1p(-p))}


def paired_mean_difference(values_a, values_b, *, level: float = 0.95) -> dict[str, float]:
    """Mean of ``values_a - values_b`` (per person) with a normal interval.

    Examples
    --------
    >>> result = paired_mean_difference([1.0, 2.0, 3.0, 4.0], [0.0, 2.0, 2.0, 4.0])
    >>> result["difference"], round(result["se"], 4)
    (0.5, 0.2887)
    """
    differences = np.asarray(values_a, dtype=float) - np.asarray(values_b, dtype=float)
    mean = float(differences.mean())
    se = float(differences.std(ddof=1) / math.sqrt(len(differences))) if len(differences) > 1 else 0.0
    half = _z(level) * se
    return {"a": float(np.mean(values_a)), "b": float(np.mean(values_b)), "difference": mean, "se": se,
            "low": mean - half, "high": mean + half}


def _shares(sums: np.ndarray) -> np.ndarray:
    total = sums.sum(axis=0, keepdims=True)
    return np.divide(sums, total, out=np.zeros_like(sums), where=total > 0)


def need_distance_bootstrap(region_codes, predictions: Mapping[str, np.ndarray], reference, *,
                            n_boot: int = 1000, seed: int = 0, level: float = 0.95,
                            n_jobs: int | None = None) -> dict:
    """Distance of each model's need shares to a reference, and paired intervals of the differences.

    The distance is the sum over regions of |model need share - reference share| (the
    evaluation's ``need_share_l1``). Replicate *b* draws persons with replacement and
    recomputes every distance on the persons drawn (the same draw for every model and for the
    reference). It is a Poisson bootstrap: every person gets an independent Poisson(1) weight,
    how often it is drawn when a Poisson(n) number of persons is drawn with replacement, instead
    of exactly n draws; for large n the two agree, and shares do not depend on the total. The
    weights are those of :func:`vsvrisk.allocate.replicate_weights` (each replicate its own
    random stream), summed per region in compiled loops on ``n_jobs`` threads, so the numbers
    do not depend on the number of threads. (Earlier versions drew exactly n persons, all
    replicates from one stream: the same seed gave other replicates there.) Intervals are the
    distance measured plus or minus ``z`` bootstrap standard errors.

    Parameters
    ----------
    region_codes : array-like
        Region of each person.
    predictions : mapping of name -> array
        Each model's predicted risks, in the order of ``region_codes``.
    reference : array-like
        What need should follow, per person: the synthetic truth ``p_true_features``, or the
        observed outcome ``vsv`` (real data).
    n_boot : int, default=1000
    seed : int, default=0
        A whole number >= 0; same seed, same numbers.
    level : float, default=0.95
    n_jobs : int, optional
        Threads; None or -1: one per core this process may use.

    Returns
    -------
    dict
        ``distance`` (name -> distance on the cohort), ``interval`` (name -> (low, high), the
        low end not below 0), ``differences`` ((a, b) -> dict with ``difference`` (a - b),
        ``se``, ``low``, ``high``) for every pair a before b in ``predictions``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> codes = rng.integers(1, 41, 20_000)
    >>> truth = rng.uniform(0.01, 0.1, 20_000)
    >>> result = need_distance_bootstrap(codes, {"exact": truth, "noisy": truth * rng.uniform(0.5, 1.5, 20_000)},
    ...                                  truth, n_boot=200)
    >>> result["distance"]["exact"], result["differences"][("exact", "noisy")]["high"] < 0
    (0.0, True)
    """
    # imported here, not above: the compiled loops (numba) load only when a bootstrap runs
    from vsvrisk import _bootstrap

    names = list(predictions)
    regions, group = np.unique(np.asarray(region_codes), return_inverse=True)
    group = _bootstrap.group_codes(group.ravel())
    columns = tuple(np.ascontiguousarray(values, dtype=float)
                    for values in (*(predictions[name] for name in names), reference))

    def distances(regional: np.ndarray) -> np.ndarray:
        shares = _shares(regional)
        return np.abs(shares[:, :-1] - shares[:, -1:]).sum(axis=0)

    point = distances(np.column_stack([np.bincount(group, weights=column, minlength=regions.size)
                                       for column in columns]))
    replicates = np.empty((n_boot, len(names)))

    def one(b: int, work: dict) -> None:
        _bootstrap.weighted_sums(_bootstrap.generator(seed, b), group, columns, work["sums"])
        replicates[b] = distances(np.column_stack(work["sums"]))

    _bootstrap.for_each_replicate(one, n_boot, n_jobs, lambda: {"sums": tuple(np.empty(regions.size) for _ in columns)})
    z = _z(level)
    result = {"distance": dict(zip(names, point.tolist())), "interval": {}, "differences": {},
              "n_boot": n_boot, "level": level}
    for k, name in enumerate(names):
        se = float(replicates[:, k].std(ddof=1)) if n_boot > 1 else 0.0
        result["interval"][name] = (max(float(point[k]) - z * se, 0.0), float(point[k]) + z * se)
    for i, a in enumerate(names):
        for j in range(i + 1, len(names)):
            difference = float(point[i] - point[j])
            se = float((replicates[:, i] - replicates[:, j]).std(ddof=1)) if n_boot > 1 else 0.0
            result["differences"][(a, names[j])] = {"difference": difference, "se": se,
                                                    "low": difference - z * se, "high": difference + z * se}
    return result
