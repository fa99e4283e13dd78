"""Uncertainty on every region's share and amount (DESIGN section 9).

Two steps that meet in one place, an ``(n_replicates, 40)`` matrix of need:

1. :func:`bootstrap_need` resamples persons (sampling uncertainty). It is a Poisson bootstrap:
   replicate *r* gives person *i* an independent Poisson(1) weight ``w[r, i]`` instead of
   drawing exactly *n* persons with replacement. For large *n* the two are equivalent, the
   Poisson weights need no pass over a multinomial, and the total weight varying a little from
   replicate to replicate does not matter because the rules only use need *shares*.
2. :func:`allocation_intervals` runs the allocation rules on each row of the matrix and
   summarises share and amount per region by quantiles, plus the chance that a region's
   amount moves by more than a given percentage against last year.

Model uncertainty plugs in at the same joint: refit the model on a bootstrap sample of the
training cohort, score the cohort, turn the scores into one row of need with
:func:`~vsvrisk.allocate.need.need_from_predictions`, and pass the rows (alone, or stacked
under the sampling rows with ``np.vstack``) to :func:`allocation_intervals`. The refits are
done by the modelling step (config key ``n_model_refits``), not here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from vsvrisk.allocate.need import N_REGIONS, Scenario, parse_scenario, top_share_cut
from vsvrisk.allocate.rules import (
    TOLERANCE_EUR,
    AllocationRules,
    _allocate_arrays,
    _coerce_rules,
    _previous_values,
)
from vsvrisk.data.regions import REGION_CODES
from vsvrisk.exceptions import AllocationError

__all__ = ["bootstrap_need", "replicate_weights", "weighted_need", "allocation_intervals"]

# Poisson(1) cumulative probabilities up to the last one below 1.0 in double precision: the
# inverse-CDF draw  w = #{k : cdf[k] <= u}  with u uniform on [0, 1) is then exact.
_CDF = np.cumsum([math.exp(-1) / math.factorial(k) for k in range(30)])
_CDF = _CDF[_CDF < 1.0]
# Persons are processed in chunks of this many so that the work arrays stay in cache. It is a
# constant, not a parameter, because the order of summation (and so the last bits of need)
# depends on it: the same seed must give the same numbers.
_CHUNK = 1 << 18


def _generator(seed: int, replicate: int) -> np.random.Generator:
    # One independent stream per replicate: replicate r is the same whatever n_replicates is,
    # and can be redrawn alone to check it.
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(replicate,)))


def _draw_into(generator: np.random.Generator, out: np.ndarray, uniform: np.ndarray,
               flag: np.ndarray) -> None:
    """Fill ``out`` (uint8) with Poisson(1) draws, chunk by chunk, by inverse CDF."""
    for start in range(0, out.size, _CHUNK):
        stop = min(start + _CHUNK, out.size)
        u, f, w = uniform[: stop - start], flag[: stop - start], out[start:stop]
        generator.random(out=u)
        # Four comparisons settle 98.1% of the draws (w <= 3); the rest are looked up exactly.
        np.greater_equal(u, _CDF[0], out=f)
        w[...] = f
        for level in _CDF[1:4]:
            np.greater_equal(u, level, out=f)
            w += f
        tail = np.flatnonzero(w == 4)
        if tail.size:
            w[tail] = np.searchsorted(_CDF, u[tail], side="right")


def replicate_weights(n_persons: int, replicate: int, *, seed: int) -> np.ndarray:
    """The Poisson(1) weights that replicate ``replicate`` of :func:`bootstrap_need` gives.

    Weight *i* belongs to person *i* in the order of the arrays given to
    :func:`bootstrap_need`, whatever the scenario, so two scenarios run with the same seed
    resample the same persons (their difference is then paired).

    Examples
    --------
    >>> replicate_weights(8, 0, seed=1).tolist() == replicate_weights(8, 0, seed=1).tolist()
    True
    """
    out = np.empty(n_persons, dtype=np.uint8)
    size = min(n_persons, _CHUNK)
    _draw_into(_generator(seed, replicate), out, np.empty(size), np.empty(size, dtype=bool))
    return out


def _check_persons(region_codes, probabilities) -> tuple[np.ndarray, np.ndarray]:
    codes = np.asarray(region_codes)
    values = np.asarray(probabilities, dtype=float)
    if codes.ndim != 1 or codes.shape != values.shape:
        raise AllocationError("region_codes and probabilities must be 1-d arrays of the same length")
    if not np.isin(codes, REGION_CODES).all():
        row = int(np.flatnonzero(~np.isin(codes, REGION_CODES))[0])
        raise AllocationError(f"region_codes, row {row}: {codes[row]!r} is not a region code 1..40")
    if not ((values >= 0) & (values <= 1)).all():
        row = int(np.flatnonzero(~((values >= 0) & (values <= 1)))[0])
        raise AllocationError(f"probabilities, row {row}: {values[row]!r} is not in [0, 1]")
    return codes.astype(np.intp), values


class _Aggregator:
    """Need per region from one weight vector, for one scenario; sorts once for top_share."""

    def __init__(self, codes: np.ndarray, probabilities: np.ndarray, scenario: Scenario):
        self.codes, self.probabilities, self.scenario = codes, probabilities, scenario
        self.product = np.empty(min(codes.size, _CHUNK))
        if scenario != "all":
            self.order = np.argsort(-probabilities, kind="stable")
            self.sorted_probabilities = probabilities[self.order]
            self.negated_sorted = -self.sorted_probabilities
            self.sorted_codes = codes[self.order]
            # A running total in int32 is 8x faster than in int64 or float here; it holds
            # while n_persons x the largest weight stays below 2**31.
            self.cumulative_type = np.int32 if codes.size * 255 < 2**31 else np.int64

    def __call__(self, weights: np.ndarray) -> np.ndarray:
        if self.scenario == "all":
            need = np.zeros(N_REGIONS + 1)
            for start in range(0, weights.size, _CHUNK):
                stop = min(start + _CHUNK, weights.size)
                product = self.product[: stop - start]
                np.multiply(weights[start:stop], self.probabilities[start:stop], out=product)
                need += np.bincount(self.codes[start:stop], weights=product, minlength=N_REGIONS + 1)
            return need[1:]
        return self._top_share(weights)

    def _top_share(self, weights: np.ndarray) -> np.ndarray:
        weights = weights[self.order]
        cumulative = np.cumsum(weights, dtype=self.cumulative_type)
        first, last, fraction = top_share_cut(self.negated_sorted, cumulative,
                                              self.scenario.top_share)
        codes, values = self.sorted_codes, self.sorted_probabilities
        need = np.bincount(codes[:first], weights=weights[:first] * values[:first],
                           minlength=N_REGIONS + 1)
        if last > first and fraction > 0:  # the tie at the cut-off counts in part
            need += fraction * np.bincount(codes[first:last],
                                           weights=weights[first:last] * values[first:last],
                                           minlength=N_REGIONS + 1)
        return need[1:]


def weighted_need(weights: np.ndarray, region_codes: np.ndarray, probabilities: np.ndarray,
                  scenario: Scenario | dict | str = "all") -> np.ndarray:
    """Need per region for given person weights (one row per replicate).

    Parameters
    ----------
    weights : array, shape (n_persons,) or (n_replicates, n_persons)
        Non-negative whole-number weights (1 for every person gives the point need).
    region_codes, probabilities : array, shape (n_persons,)
    scenario : "all" or TopShare or mapping

    Returns
    -------
    ndarray, shape (n_replicates, 40)

    Examples
    --------
    >>> weighted_need(np.array([2, 0, 1]), np.array([1, 1, 2]), np.array([0.5, 0.9, 0.2]))[0, :3]
    array([1. , 0.2, 0. ])
    """
    codes, values = _check_persons(region_codes, probabilities)
    rows = np.atleast_2d(np.asarray(weights))
    if rows.ndim != 2 or rows.shape[1] != codes.size or (rows < 0).any():
        raise AllocationError("weights must be >= 0 with one column per person")
    aggregate = _Aggregator(codes, values, parse_scenario(scenario))
    return np.vstack([aggregate(row) for row in rows])


def bootstrap_need(region_codes: np.ndarray, probabilities: np.ndarray, n_replicates: int = 1000,
                   *, seed: int, scenario: Scenario | dict | str = "all") -> np.ndarray:
    """Poisson bootstrap over persons: need per region for each replicate.

    Each replicate draws a Poisson(1) weight per person (:func:`replicate_weights`) and sums
    weight x probability per region with ``np.bincount``, in chunks of persons; replicates are
    done one after the other, so memory stays at a few arrays of one byte to eight bytes per
    person whatever ``n_replicates`` is. For ``top_share`` the cut-off is recomputed in every
    replicate as the weighted quantile of the replicate
    (:func:`~vsvrisk.allocate.need.top_share_weights`), because which persons are in the
    national top share is itself uncertain.

    Parameters
    ----------
    region_codes : array of int, shape (n_persons,)
    probabilities : array of float, shape (n_persons,)
    n_replicates : int, default=1000
    seed : int
        Same seed, same numbers (with the same numpy version).
    scenario : "all" or TopShare or mapping, default="all"

    Returns
    -------
    ndarray, shape (n_replicates, 40)
        Column *j* is region ``j + 1``.

    See Also
    --------
    allocation_intervals : the rules run on each row.

    Notes
    -----
    Large runs are split over (at most two) worker processes by replicate; the numbers are
    the same as in one process. Figures for 1.5 million persons x 1000 replicates on the
    2-core reference machine are in ``experiments/README.md`` (``bench_allocate.py``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> codes, p = rng.integers(1, 41, 4000), rng.uniform(0, 0.2, 4000)
    >>> need = bootstrap_need(codes, p, 50, seed=3)
    >>> need.shape, bool(np.allclose(need.mean(axis=0), np.bincount(codes, p, 41)[1:], rtol=0.2))
    ((50, 40), True)
    """
    codes, values = _check_persons(region_codes, probabilities)
    if not isinstance(n_replicates, (int, np.integer)) or n_replicates < 1:
        raise AllocationError(f"n_replicates must be a whole number >= 1, not {n_replicates!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise AllocationError(f"seed must be a whole number >= 0, not {seed!r}")
    scenario = parse_scenario(scenario)
    blocks = np.array_split(np.arange(n_replicates), _n_workers(codes.size * n_replicates))
    if len(blocks) == 1:
        return _bootstrap_block(codes, values, scenario, int(seed), blocks[0])
    from joblib import Parallel, delayed

    # Replicates are independent streams, so splitting them over processes gives the same
    # numbers as one process; processes, not threads, because the per-chunk numpy calls are
    # too short to gain from releasing the GIL (two threads measured slower than one).
    parts = Parallel(n_jobs=len(blocks), backend="loky")(
        delayed(_bootstrap_block)(codes, values, scenario, int(seed), block) for block in blocks
    )
    return np.vstack(parts)


#: Below this many person-replicates, starting worker processes costs more than it saves.
_PARALLEL_FROM = 50_000_000


def _n_workers(work: int) -> int:
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, 2)) if work >= _PARALLEL_FROM else 1


def _bootstrap_block(codes: np.ndarray, values: np.ndarray, scenario: Scenario, seed: int,
                     replicates: np.ndarray) -> np.ndarray:
    aggregate = _Aggregator(codes, values, scenario)
    weights = np.empty(codes.size, dtype=np.uint8)
    size = min(codes.size, _CHUNK)
    uniform, flag = np.empty(size), np.empty(size, dtype=bool)
    need = np.empty((replicates.size, N_REGIONS))
    for row, replicate in enumerate(replicates):
        _draw_into(_generator(seed, int(replicate)), weights, uniform, flag)
        need[row] = aggregate(weights)
    return need


def allocation_intervals(need_replicates: np.ndarray, rules: AllocationRules | Mapping,
                         previous: pd.Series | pd.DataFrame | None = None, *,
                         level: float = 0.9, threshold_pct: float = 5.0) -> pd.DataFrame:
    """Run the allocation rules on every replicate of need and summarise per region.

    Parameters
    ----------
    need_replicates : array, shape (n_replicates, 40)
        Need per region (column *j* is region ``j + 1``) -- from :func:`bootstrap_need`, from
        model refits, or both stacked.
    rules : AllocationRules or mapping
    previous : Series or DataFrame, optional
        Last year's amounts, as for :func:`~vsvrisk.allocate.rules.allocate`.
    level : float, default=0.9
        Coverage of the intervals (equal-tailed quantiles of the replicates).
    threshold_pct : float, default=5.0
        The change against last year worth a warning, in percent.

    Returns
    -------
    DataFrame
        One row per region in code order: ``region_code``; ``share_low`` and ``share_high``
        (the interval on the need share); ``amount_low`` and ``amount_high`` (on the rounded
        amount, in euros); with ``previous`` also ``p_change_above`` (the chance that the
        amount moves up or down by more than ``threshold_pct`` percent against previous) and
        ``p_decrease_above`` (that it moves down by more). The change is measured on the
        unrounded amounts, so that the euro of rounding cannot tip a region held at the edge
        of its band over the threshold; NaN where previous is 0. ``attrs`` holds ``level``,
        ``threshold_pct`` and ``n_replicates``.

    Raises
    ------
    AllocationError
        A bad input, or a replicate for which the rules have no solution (named).

    Examples
    --------
    >>> need = np.tile(np.arange(1.0, 41.0), (3, 1)) * np.array([[1.0], [1.1], [0.9]])
    >>> table = allocation_intervals(need, {"budget_eur": 820})
    >>> table.loc[0, ["amount_low", "amount_high"]].tolist()
    [1.0, 1.0]
    """
    rules = _coerce_rules(rules)
    matrix = np.asarray(need_replicates, dtype=float)
    if matrix.ndim != 2 or matrix.shape[1] != N_REGIONS or matrix.shape[0] < 1:
        raise AllocationError(f"need_replicates must have shape (n_replicates, 40), not {matrix.shape}")
    if not (np.isfinite(matrix) & (matrix >= 0)).all():
        raise AllocationError("need_replicates must be finite and >= 0")
    if not 0 < level < 1:
        raise AllocationError(f"level must be between 0 and 1, not {level}")
    previous_values = _previous_values(rules, previous)

    count = matrix.shape[0]
    amounts = np.empty((count, N_REGIONS), dtype=np.int64)
    unrounded = np.empty((count, N_REGIONS))
    for row in range(count):
        try:
            _, _, _, unrounded[row], amounts[row] = _allocate_arrays(matrix[row], rules, previous_values)
        except AllocationError as error:
            raise AllocationError(f"need replicate {row} of {count}: {error}") from None
    totals = matrix.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = np.where(totals > 0, matrix / totals, np.nan)
    tails = [(1 - level) / 2, (1 + level) / 2]
    if np.isfinite(shares).any():
        share_low, share_high = np.nanquantile(shares, tails, axis=0)
    else:  # need 0 everywhere in every replicate (only possible when base amounts fill the budget)
        share_low = share_high = np.full(N_REGIONS, np.nan)
    amount_low, amount_high = np.quantile(amounts, tails, axis=0)
    table = pd.DataFrame({
        "region_code": np.array(REGION_CODES, dtype=np.int64),
        "share_low": share_low,
        "share_high": share_high,
        "amount_low": amount_low,
        "amount_high": amount_high,
    })
    if previous_values is not None:
        # Compared in euros with a micro-euro of slack: an amount held exactly at the edge of a
        # 5% band must not count as moving more than 5% because of floating-point round-off.
        change = unrounded - previous_values
        allowed = previous_values * (threshold_pct / 100) + TOLERANCE_EUR
        known = previous_values > 0
        table["p_change_above"] = np.where(
            known, (np.abs(change) > allowed).mean(axis=0), np.nan)
        table["p_decrease_above"] = np.where(
            known, (change < -allowed).mean(axis=0), np.nan)
    table.attrs.update({"level": level, "threshold_pct": threshold_pct, "n_replicates": count})
    return table
