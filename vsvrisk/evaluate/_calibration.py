"""Calibration-in-the-large and calibration slope by Newton's method, with the former fits
(brentq, scikit-learn's logistic regression) as the reference where Newton has no answer.

Both fits take ``lp`` (the clipped log-odds of the predictions) and optional weights (how many
persons a row stands for: the counts of distinct (outcome, risk) pairs). Newton's method from a
good start reaches the maximum-likelihood value in three to five steps; it stops a step after
one smaller than 1e-10, so its result is that value up to rounding (the former fits stopped at
tolerances of 1e-10 and were off by up to about 1e-10).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit

#: Predictions are clipped to [EPS, 1 - EPS] before their log-odds are taken.
EPS = 1e-12
# Newton's method: at most this many steps, done when a step is smaller than the tolerance (by
# quadratic convergence the error after such a step is below rounding).
NEWTON_STEPS = 50
NEWTON_TOL = 1e-10


def logit(p: np.ndarray) -> np.ndarray:
    """The log-odds of ``p`` clipped to [EPS, 1 - EPS]."""
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p / (1 - p))


def fit_intercept(y: np.ndarray, lp: np.ndarray, weight: np.ndarray | None = None) -> float:
    """The intercept ``a`` of a logistic regression of ``y`` with ``lp`` as offset.

    The root of the score equation ``sum(w * (y - expit(a + lp))) = 0``, monotone in ``a``.
    Newton's method from the logit difference of the observed and the mean predicted rate takes
    three to five steps (brentq took about fifteen evaluations), each kept inside the bracket the
    signs give. Anything else (no root in [-30, 30], steps that do not settle) goes to the former
    path, :func:`intercept_reference`, which raises where there is no root in that bracket.

    Examples
    --------
    >>> y = np.array([0.0, 1.0, 0.0, 1.0])
    >>> round(fit_intercept(y, np.zeros(4)), 12)  # half are events, predictions 0.5: no shift
    0.0
    """
    # Unweighted rows are summed, not dotted with ones (a BLAS dot of a million rows spins up
    # threads for nothing).
    total = float(len(y) if weight is None else weight.sum())
    events = float(y.sum() if weight is None else weight @ y)
    if 0 < events < total:
        mean = weighted_sum(expit(lp), weight) / total
        if 0 < mean < 1:
            a = float(np.log(events / (total - events)) - np.log(mean / (1 - mean)))
            low, high = -30.0, 30.0
            for _ in range(NEWTON_STEPS):
                if not low <= a <= high:
                    break
                q = expit(a + lp)
                excess, derivative = weighted_sum(q, weight) - events, weighted_sum(q * (1 - q), weight)
                if excess > 0:
                    high = a
                else:
                    low = a
                if not derivative > 0:
                    break
                step = excess / derivative
                if abs(step) < NEWTON_TOL:
                    # Quadratic convergence: the error after a step of 1e-10 is below rounding.
                    return a - step
                # A step that leaves the bracket is replaced by its midpoint.
                a = a - step if low < a - step < high else (low + high) / 2
    return intercept_reference(y, lp, weight)


def weighted_sum(values: np.ndarray, weight: np.ndarray | None) -> float:
    """``sum(weight * values)``, or ``sum(values)`` without weights."""
    return float(values.sum() if weight is None else weight @ values)


def intercept_reference(y: np.ndarray, lp: np.ndarray, weight: np.ndarray | None = None) -> float:
    """The root of the intercept's score equation by brentq on [-30, 30] (the former path)."""
    from scipy.optimize import brentq

    if weight is None:
        events = y.sum()
        return float(brentq(lambda a: expit(a + lp).sum() - events, -30.0, 30.0, xtol=1e-10))
    events = weight @ y
    return float(brentq(lambda a: weight @ expit(a + lp) - events, -30.0, 30.0, xtol=1e-10))


def fit_slope(y: np.ndarray, lp: np.ndarray, w: np.ndarray, start: float) -> float:
    """The coefficient of ``lp`` in a weighted logistic regression of ``y`` on it (with intercept).

    Newton's method on the two-parameter log-likelihood, started where the intercept-only fit
    ended (``start``, slope 1), where the intercept's score is already zero: three or four steps
    (scikit-learn's newton-cholesky took eight, plus its checks). A step that lowers the
    likelihood is halved. Where the steps do not settle (outcomes a line separates: no finite
    slope), :func:`slope_reference`, scikit-learn's fit, answers as before.

    Examples
    --------
    >>> lp = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, -1.0, 0.0, 1.0])
    >>> y = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0])
    >>> round(fit_slope(y, lp, np.ones(8), fit_intercept(y, lp)), 6) == round(slope_reference(y, lp, np.ones(8)), 6)
    True
    """
    non_events = w * (1 - y)

    def loglik(eta):  # log_expit(-eta) = log_expit(eta) - eta: one pass
        return float(w @ log_expit(eta) - non_events @ eta)

    def gradient(q):
        residual = w * (y - q)
        return np.array([residual.sum(), residual @ lp])

    beta = np.array([start, 1.0])  # the intercept-only fit's intercept, slope 1
    eta = beta[0] + beta[1] * lp
    q = expit(eta)
    score = gradient(q)
    for _ in range(NEWTON_STEPS):
        v = w * q * (1 - q)
        vx = v * lp
        try:
            step = np.linalg.solve(np.array([[v.sum(), vx.sum()], [vx.sum(), vx @ lp]]), score)
        except np.linalg.LinAlgError:
            break
        if not np.isfinite(step).all():
            break
        if np.abs(step).max() < NEWTON_TOL:  # the error after this step is below rounding (see fit_intercept)
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
    return slope_reference(y, lp, w)


def slope_reference(y: np.ndarray, lp: np.ndarray, w: np.ndarray) -> float:
    """The slope by scikit-learn's unpenalised logistic regression (the former path)."""
    from sklearn.linear_model import LogisticRegression

    fit = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-10).fit(lp.reshape(-1, 1), y, sample_weight=w)
    return float(fit.coef_[0, 0])
