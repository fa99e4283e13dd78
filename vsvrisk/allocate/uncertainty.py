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

from collections.abc import Mapping

import numpy as np
import pandas as pd

from vsvrisk import _bootstrap
from vsvrisk.allocate.need import N_REGIONS, Scenario, parse_scenario, top_share_target
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
    _bootstrap.draw_weights(_bootstrap.generator(seed, replicate), out)
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
    return _bootstrap.group_codes(codes), np.ascontiguousarray(values)


class _Aggregator:
    """Need per region from one weight vector, for one scenario; sorts once for top_share.

    The sums are compiled (:mod:`vsvrisk._bootstrap`) and release the GIL, so that threads
    can run replicates side by side; they add up in the order ``np.bincount`` does.
    """

    def __init__(self, codes: np.ndarray, probabilities: np.ndarray, scenario: Scenario):
        self.codes, self.probabilities, self.scenario = codes, probabilities, scenario
        if scenario != "all":
            order = np.argsort(-probabilities, kind="stable")
            # Read once a replicate: int32 halves the bytes streamed from memory.
            self.order = order.astype(np.int32) if codes.size < 2**31 else order
            self.sorted_probabilities = probabilities[self.order]
            self.negated_sorted = -self.sorted_probabilities
            self.sorted_codes = codes[self.order]

    def buffers(self) -> dict:
        """The work arrays of one replicate (one set per thread)."""
        n = self.codes.size
        work = {"need": np.empty(N_REGIONS + 1), "part": np.empty(N_REGIONS + 1)}
        if self.scenario != "all":
            work.update(weights=np.empty(n, dtype=np.uint8), sorted=np.empty(n, dtype=np.uint8))
        return work

    def replicate(self, stream: np.random.Generator, work: dict) -> np.ndarray:
        """Need per region of the Poisson(1) weights that ``stream`` draws."""
        if self.scenario == "all":
            # Drawn and summed chunk by chunk in one pass: the weights are never stored.
            _bootstrap.weighted_sums(stream, self.codes, (self.probabilities,), (work["need"],))
            return work["need"][1:].copy()
        total = _bootstrap.draw_weights(stream, work["weights"])
        return self._top_share(work["weights"], work, total)

    def __call__(self, weights: np.ndarray) -> np.ndarray:
        n = self.codes.size
        if self.scenario == "all":
            need, part = np.zeros(N_REGIONS + 1), np.empty(N_REGIONS + 1)
            for start in range(0, n, _bootstrap.CHUNK):
                need += _bootstrap.group_sums(self.codes, weights, self.probabilities, start,
                                              min(start + _bootstrap.CHUNK, n), part)
            return need[1:]
        work = {"sorted": np.empty(n, dtype=weights.dtype), "part": np.empty(N_REGIONS + 1)}
        return self._top_share(weights, work)

    def _top_share(self, weights: np.ndarray, work: dict, total: int | None = None) -> np.ndarray:
        # top_share_cut on the running total of the sorted weights, reading only the top of the
        # order: the persons up to the crossing one, then its tie block (the same cut, so the
        # same doubles, as the running total of every person would give).
        sorted_weights, part = work["sorted"], work["part"]
        need = np.zeros(N_REGIONS + 1)
        total = int(weights.sum(dtype=np.int64)) if total is None else total
        target = top_share_target(float(total), self.scenario.top_share)
        if target <= 0 or weights.size == 0:
            return need[1:]
        crossing, reached = _bootstrap.sorted_prefix(weights, self.order, target, sorted_weights)
        tie = self.negated_sorted[crossing]
        first = int(np.searchsorted(self.negated_sorted, tie, side="left"))
        last = int(np.searchsorted(self.negated_sorted, tie, side="right"))
        _bootstrap.fill_sorted(weights, self.order, sorted_weights, crossing + 1, last)
        above = reached - int(sorted_weights[first:crossing + 1].sum(dtype=np.int64))
        at_cutoff = int(sorted_weights[first:last].sum(dtype=np.int64))
        fraction = (target - above) / at_cutoff if at_cutoff > 0 else 0.0
        codes, values = self.sorted_codes, self.sorted_probabilities
        need = _bootstrap.group_sums(codes, sorted_weights, values, 0, first, need)
        if last > first and fraction > 0:  # the tie at the cut-off counts in part
            need += fraction * _bootstrap.group_sums(codes, sorted_weights, values, first, last, part)
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
    if rows.dtype.kind not in "iu":  # whole numbers given as floats or bools (the running total is exact in int64)
        rows = rows.astype(np.int64)
    aggregate = _Aggregator(codes, values, parse_scenario(scenario))
    return np.vstack([aggregate(np.ascontiguousarray(row)) for row in rows])


def bootstrap_need(region_codes: np.ndarray, probabilities: np.ndarray, n_replicates: int = 1000,
                   *, seed: int, scenario: Scenario | dict | str = "all",
                   n_jobs: int | None = None) -> np.ndarray:
    """Poisson bootstrap over persons: need per region for each replicate.

    Each replicate draws a Poisson(1) weight per person (:func:`replicate_weights`) and sums
    weight x probability per region, in chunks of persons, in the order ``np.bincount`` adds
    them. Replicates run on ``n_jobs`` threads (compiled loops that release the GIL), each on
    its own random stream, so the numbers do not depend on the number of threads; memory stays
    at a few arrays of one to eight bytes per person a thread whatever ``n_replicates`` is. For
    ``top_share`` the cut-off is recomputed in every replicate as the weighted quantile of the
    replicate (:func:`~vsvrisk.allocate.need.top_share_weights`), because which persons are in
    the national top share is itself uncertain.

    Parameters
    ----------
    region_codes : array of int, shape (n_persons,)
    probabilities : array of float, shape (n_persons,)
    n_replicates : int, default=1000
    seed : int
        Same seed, same numbers (with the same numpy version), whatever ``n_jobs``.
    scenario : "all" or TopShare or mapping, default="all"
    n_jobs : int, optional
        Threads; None or -1: one per core this process may use.

    Returns
    -------
    ndarray, shape (n_replicates, 40)
        Column *j* is region ``j + 1``.

    See Also
    --------
    allocation_intervals : the rules run on each row.

    Notes
    -----
    Figures for 1.5 million persons x 1000 replicates on the 2-core reference machine are in
    ``experiments/README.md`` (``bench_allocate.py``, and "Third round").

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> codes, p = rng.integers(1, 41, 4000), rng.uniform(0, 0.2, 4000)
    >>> need = bootstrap_need(codes, p, 50, seed=3)
    >>> need.shape, bool(np.allclose(need.mean(axis=0), np.bincount(codes, p, 41)[1:], rtol=0.2))
    ((50, 40), True)
    >>> bool(np.array_equal(need, bootstrap_need(codes, p, 50, seed=3, n_jobs=1)))
    True
    """
    codes, values = _check_persons(region_codes, probabilities)
    if not isinstance(n_replicates, (int, np.integer)) or n_replicates < 1:
        raise AllocationError(f"n_replicates must be a whole number >= 1, not {n_replicates!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise AllocationError(f"seed must be a whole number >= 0, not {seed!r}")
    if n_jobs is not None and (not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0 or n_jobs < -1):
        raise AllocationError(f"n_jobs must be a whole number >= 1, or -1 for every core, not {n_jobs!r}")
    aggregate = _Aggregator(codes, values, parse_scenario(scenario))
    need = np.empty((int(n_replicates), N_REGIONS))

    def one(replicate: int, work: dict) -> None:
        need[replicate] = aggregate.replicate(_bootstrap.generator(int(seed), replicate), work)

    _bootstrap.for_each_replicate(one, int(n_replicates), n_jobs, aggregate.buffers)
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
