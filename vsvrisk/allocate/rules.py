"""The allocation rules of DESIGN section 9, written down as code.

For every region *r* (the 40 regions, in code order)::

    amount_r = clip(base + lambda * need_r, lo_r, hi_r)
    lo_r     = max(floor, previous_r * (1 - max_change))      # only floor without a previous year
    hi_r     = max(lo_r, previous_r * (1 + max_change))        # no upper limit without a previous year

and ``lambda >= 0`` is the value for which the amounts add up to the budget. The amounts are then
rounded to whole euros by largest remainder (ties: lower region code first; remainders equal only
through floating-point round-off rank by need, as exact arithmetic would), so that they add up
to the budget exactly. Rounding moves an amount by less than one euro, so a rounded amount lies
in ``[lo_r - 1, hi_r + 1]``; a floor (a whole number of euros) is never undercut, only a band
limit ``previous_r * (1 -/+ max_change)`` that is not a whole number can be missed by a fraction
of a euro.

When no ``lambda`` exists the rules contradict each other, and :class:`InfeasibleRulesError`
says which rule to relax and to which value (every value it names has been checked to work;
the search is in :mod:`vsvrisk.allocate._infeasible`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from pydantic import ValidationError

from vsvrisk.allocate._settings import AllocationRules
from vsvrisk.allocate.tables import region_values
from vsvrisk.config import format_validation_error
from vsvrisk.data.regions import REGION_CODES, regions
from vsvrisk.exceptions import AllocationError

__all__ = ["AllocationRules", "InfeasibleRulesError", "allocate", "largest_remainder"]

N_REGIONS = len(REGION_CODES)
# Euros of slack when comparing a total with the budget: far below a cent, far above the
# round-off of summing 40 amounts of a few million euros (about 1e-8 euro).
TOLERANCE_EUR = 1e-6


class InfeasibleRulesError(AllocationError):
    """No ``lambda`` meets the rules; ``relaxations`` maps each rule to a value that would work.

    Parameters
    ----------
    message : str
        One line: which total breaks the budget, by how much, and what to change.
    relaxations : dict
        Rule name (``budget_eur``, ``base_amount_eur``, ``floor_eur``, ``max_change``) to the
        nearest value of that rule alone for which the allocation exists.
    """

    def __init__(self, message: str, relaxations: dict[str, float]):
        super().__init__(message)
        self.relaxations = dict(relaxations)


# --------------------------------------------------------------------------- inputs


def _coerce_rules(rules: AllocationRules | Mapping) -> AllocationRules:
    if isinstance(rules, AllocationRules):
        return rules
    if isinstance(rules, Mapping):
        try:
            return AllocationRules.model_validate(dict(rules))
        except ValidationError as error:
            raise AllocationError(format_validation_error(error, "allocation rules")) from None
    raise AllocationError(f"rules must be AllocationRules or a mapping, not {type(rules).__name__}")


def _previous_values(rules: AllocationRules, previous) -> np.ndarray | None:
    """Check that ``previous`` and ``max_change`` come together; return previous as an array."""
    if previous is not None and rules.max_change is None:
        raise AllocationError("a previous allocation was given but max_change is not set: "
                              "set max_change (e.g. 0.05) or leave out previous")
    if previous is None and rules.max_change is not None:
        raise AllocationError("max_change is set but no previous allocation was given: "
                              "give previous (last year's allocation.csv) or leave out max_change")
    if previous is None:
        return None
    return region_values(previous, "amount_eur", what="previous allocation")


# --------------------------------------------------------------------------- the mathematics


def _limits(floor: float, previous: np.ndarray | None,
            max_change: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``lo`` and ``hi`` per region (``hi`` is ``inf`` without a previous year)."""
    if previous is None:
        return np.full(N_REGIONS, float(floor)), np.full(N_REGIONS, np.inf)
    lower = np.maximum(float(floor), previous * (1.0 - max_change))
    return lower, np.maximum(lower, previous * (1.0 + max_change))


def _total_range(need: np.ndarray, base: float, lower: np.ndarray,
                 upper: np.ndarray) -> tuple[float, float]:
    """Total at lambda = 0 and as lambda -> infinity (a region without need stays at its base)."""
    at_zero = np.clip(base, lower, upper)
    return math.fsum(at_zero), math.fsum(np.where(need > 0, upper, at_zero))


def _feasible(need: np.ndarray, budget: float, base: float, floor: float,
              previous: np.ndarray | None, max_change: float | None) -> bool:
    lower, upper = _limits(floor, previous, max_change)
    smallest, largest = _total_range(need, base, lower, upper)
    if not (need > 0).any():  # the total does not depend on lambda: it must hit the budget
        return abs(smallest - budget) <= TOLERANCE_EUR
    return smallest <= budget + TOLERANCE_EUR and largest >= budget - TOLERANCE_EUR


def _solve_lambda(need: np.ndarray, budget: float, base: float, lower: np.ndarray,
                 upper: np.ndarray) -> tuple[float, np.ndarray]:
    """Find lambda and the unrounded amounts; the caller has checked that a solution exists.

    The total T(lambda) = sum_r clip(base + lambda * need_r, lo_r, hi_r) is non-decreasing and
    piecewise linear; its slope changes only where a region reaches lo_r or hi_r, at
    lambda = (lo_r - base) / need_r or (hi_r - base) / need_r. So the solution is exact: evaluate T
    at those (at most 80) breakpoints, take the segment that brackets the budget, and on it
    T is linear -- constant for the clipped regions plus base + lambda * need_r for the free ones --
    which gives lambda by one division. One Newton step on the same segment then removes the
    round-off of that division, so the unrounded amounts add up to the budget within ~1e-8 euro.
    Bisection would only approach what this computes directly.
    """
    positive = need > 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        knots = np.concatenate([(lower - base) / need, (upper - base) / need])[np.tile(positive, 2)]
        knots = np.unique(np.concatenate([[0.0], knots[np.isfinite(knots) & (knots > 0)]]))
        totals = np.clip(base + knots[:, None] * need, lower, upper).sum(axis=1)
    totals = np.maximum.accumulate(totals)  # guard searchsorted against round-off wiggles
    if totals[0] >= budget:  # the budget is met at lambda = 0 (it cannot be exceeded there)
        return 0.0, np.clip(np.full(need.size, float(base)), lower, upper)
    # The smallest lambda that meets the budget lies after the last knot whose total is short.
    segment = int(np.searchsorted(totals, budget, side="left")) - 1
    left = knots[segment]
    right = knots[segment + 1] if segment + 1 < knots.size else np.inf
    probe = left + (right - left) / 2 if np.isfinite(right) else 2 * left + 1  # strictly inside
    with np.errstate(over="ignore", invalid="ignore"):
        raw = np.where(positive, base + probe * need, base)  # inf x 0 must not become NaN
    free = positive & (raw > lower) & (raw < upper)
    clipped = np.clip(raw, lower, upper)  # constant on the whole segment for the clipped regions
    slope = math.fsum(need[free])
    if slope == 0:  # the total is flat here and equals the budget: any lambda on it will do
        return float(left), clipped
    lam = (budget - math.fsum(clipped[~free]) - base * free.sum()) / slope
    for _ in range(2):  # the Newton step (a second one is a no-op unless round-off remains)
        lam = min(max(lam, left), right)
        amounts = np.where(free, base + lam * need, clipped)
        lam += (budget - math.fsum(amounts)) / slope
    lam = min(max(lam, left), right)
    return float(lam), np.where(free, base + lam * need, clipped)


def largest_remainder(amounts: np.ndarray, total: int, priority: np.ndarray | None = None) -> np.ndarray:
    """Round amounts to whole numbers that add up to ``total``, by largest remainder.

    Every amount is rounded down; the euros still missing go one each to the amounts with the
    largest fractional parts. Equal fractional parts are a tie, broken in favour of the lower
    position (the lower region code). Ties are exact float equality: equal need gives
    bit-identical amounts, and a tolerance would let a slightly larger amount lose to a slightly
    smaller one with a lower code, which would break "more need never means fewer euros".

    Parameters
    ----------
    amounts : array of float
        Amounts >= 0 whose sum is ``total`` up to round-off.
    total : int
        The sum the rounded amounts must have.
    priority : array of float, optional
        Decides equal remainders before the position does (higher first). :func:`allocate`
        passes the need of the regions that no limit holds: two different needs can give
        amounts that are equal to the last bit, a tie in floating point but not in exact
        arithmetic, where the larger need has the larger remainder. Equal need still goes by
        region code.

    Returns
    -------
    ndarray of int64

    Examples
    --------
    >>> largest_remainder([1.5, 1.5, 1.0], 4).tolist()
    [2, 1, 1]
    >>> largest_remainder([0.2, 0.7, 2.1], 3).tolist()
    [0, 1, 2]
    """
    amounts = np.asarray(amounts, dtype=float)
    whole = np.floor(amounts)
    missing = int(total) - int(whole.astype(np.int64).sum())
    if not 0 <= missing <= amounts.size:
        raise AllocationError(
            f"cannot round amounts adding up to {amounts.sum():,.6f} to a total of {total:,}"
        )
    tiebreak = np.zeros(amounts.size) if priority is None else np.asarray(priority, dtype=float)
    order = np.lexsort((np.arange(amounts.size), -tiebreak, -(amounts - whole)))
    rounded = whole.astype(np.int64)
    rounded[order[:missing]] += 1
    return rounded


# --------------------------------------------------------------------------- the public door


def _allocate_arrays(need: np.ndarray, rules: AllocationRules, previous: np.ndarray | None):
    """Array core of :func:`allocate` (checked inputs): lambda, lo, hi, unrounded and rounded amounts."""
    lower, upper = _limits(rules.floor_eur, previous, rules.max_change)
    smallest, largest = _total_range(need, rules.base_amount_eur, lower, upper)
    if not _feasible(need, rules.budget_eur, rules.base_amount_eur, rules.floor_eur, previous,
                     rules.max_change):
        from vsvrisk.allocate._infeasible import infeasible_error  # the error path only

        raise infeasible_error(need, rules, previous, smallest, largest)
    total = math.fsum(need)
    if total > 0:
        # Solve on shares: the amounts do not depend on the scale of need, and shares keep the
        # breakpoints (lo - base) / share within range however small or large need is.
        lam, exact = _solve_lambda(need / total, rules.budget_eur, rules.base_amount_eur, lower, upper)
        with np.errstate(over="ignore"):
            lam = lam / total
    else:  # every lambda gives the same amounts; report 0
        lam, exact = 0.0, np.clip(float(rules.base_amount_eur), lower, upper)
    free = (need > 0) & (exact > lower) & (exact < upper)
    rounded = largest_remainder(exact, rules.budget_eur, priority=np.where(free, need, 0.0))
    return lam, lower, upper, exact, rounded


def allocate(need: pd.Series | pd.DataFrame, rules: AllocationRules | Mapping,
             previous: pd.Series | pd.DataFrame | None = None) -> pd.DataFrame:
    """Split the budget over the 40 regions by need, within floor and dampening band.

    Parameters
    ----------
    need : Series or DataFrame
        Need per region: a Series indexed by region code, or a frame with ``region_code`` (column
        or index) and ``need``. All 40 regions exactly once, finite, >= 0.
    rules : AllocationRules or mapping
        Budget, base amount, floor and ``max_change``.
    previous : Series or DataFrame, optional
        Last year's amounts (Series indexed by region code, or a frame with ``amount_eur``).
        Required when ``rules.max_change`` is set, refused when it is not.

    Returns
    -------
    DataFrame
        One row per region in code order: ``region_code``, ``region_name``, ``need``, ``share``
        (need / total need; NaN when total need is 0), ``amount_eur`` (int64, adds up to the
        budget), ``amount_share`` (amount / budget), ``previous_eur``, ``change_eur`` and
        ``change_pct`` (only with ``previous``; ``change_pct`` is NaN where previous is 0),
        ``lower_eur`` and ``upper_eur`` (lo_r and hi_r; ``upper_eur`` is NaN: no upper limit
        without a previous year), ``binding`` (``none``, ``floor``, ``lower_band`` or
        ``upper_band``: the limit that holds the amount) and ``amount_unrounded_eur``. The
        multiplier is in ``attrs["lambda"]`` (euros per unit of need).

    Raises
    ------
    AllocationError
        A bad input (its message names the region), or ``previous`` and ``max_change`` not given
        together.
    InfeasibleRulesError
        The rules contradict each other; the message says which rule to relax and to what.
        With all need 0 the amounts are ``clip(base_amount_eur, lo, hi)`` whatever lambda is,
        so this is an error unless those add up to the budget exactly.

    See Also
    --------
    vsvrisk.allocate.allocation_intervals : the same rules on bootstrap replicates of need.

    Examples
    --------
    >>> need = pd.Series(range(1, 41), index=range(1, 41), dtype=float)
    >>> table = allocate(need, AllocationRules(budget_eur=820))
    >>> table.amount_eur.tolist() == list(range(1, 41)), table.attrs["lambda"]
    (True, 1.0)
    >>> allocate(need, {"budget_eur": 8200, "floor_eur": 150}).amount_eur.head(3).tolist()
    [150, 150, 150]
    """
    rules = _coerce_rules(rules)
    need_values = region_values(need, "need", what="need")
    previous_values = _previous_values(rules, previous)
    lam, lower, upper, exact, rounded = _allocate_arrays(need_values, rules, previous_values)

    table = regions()[["region_code", "region_name"]].reset_index(drop=True)
    total_need = need_values.sum()
    table["need"] = need_values
    table["share"] = need_values / total_need if total_need > 0 else np.nan
    table["amount_eur"] = rounded
    table["amount_share"] = rounded / rules.budget_eur
    if previous_values is not None:
        table["previous_eur"] = previous_values
        table["change_eur"] = rounded - previous_values
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            table["change_pct"] = np.where(previous_values > 0,
                                           100 * (rounded - previous_values) / previous_values, np.nan)
    table["lower_eur"] = lower
    table["upper_eur"] = np.where(np.isfinite(upper), upper, np.nan)
    table["binding"] = _binding(need_values, lam, rules, previous_values, lower, upper)
    table["amount_unrounded_eur"] = exact
    table.attrs.update({"lambda": lam, "budget_eur": rules.budget_eur})
    return table


def _binding(need, lam, rules, previous, lower, upper) -> list[str]:
    """Name the limit that holds each amount (touching a limit exactly is not binding)."""
    raw = rules.base_amount_eur + lam * need
    slack = TOLERANCE_EUR + 1e-12 * np.abs(raw)
    from_floor = (np.full(N_REGIONS, True) if previous is None
                  else rules.floor_eur >= previous * (1 - rules.max_change))
    names = np.where(raw > upper + slack, "upper_band", "none")
    names = np.where(raw < lower - slack, np.where(from_floor, "floor", "lower_band"), names)
    return names.tolist()
