"""When the allocation rules contradict each other: which single rule to relax, and to what.

:func:`infeasible_error` builds the one-line :class:`~vsvrisk.allocate.InfeasibleRulesError`
that :func:`~vsvrisk.allocate.allocate` raises. Each value it suggests (a lower base amount or
floor, a wider max_change, another budget) is searched for and then checked to work with the
exact solver of :mod:`vsvrisk.allocate.rules`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from vsvrisk.allocate.rules import (
    N_REGIONS,
    TOLERANCE_EUR,
    InfeasibleRulesError,
    _feasible,
    _limits,
    _total_range,
)

# max_change values are suggested on this grid (4 decimals), so the number in a message is the
# number a person types into the YAML, and it is checked to work.
_MAX_CHANGE_GRID = np.arange(1, 10_001) / 10_000


def _euros(value: float) -> str:
    return f"{value:,.0f}" if abs(value - round(value)) < 0.005 else f"{value:,.2f}"


def _smallest_total(need, base, floor, previous, max_change) -> float:
    lower, upper = _limits(floor, previous, max_change)
    return _total_range(need, base, lower, upper)[0]


def _largest_total(need, base, floor, previous, max_change) -> float:
    lower, upper = _limits(floor, previous, max_change)
    return _total_range(need, base, lower, upper)[1]


def _largest_int(works: Callable[[int], bool], low: int, high: int) -> int | None:
    """Largest integer in [low, high] for which ``works`` holds (monotone: true, then false)."""
    if not works(low):
        return None
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if works(middle) else (low, middle - 1)
    return low


def _smallest_int(works: Callable[[int], bool], low: int, high: int) -> int | None:
    """Smallest integer in [low, high] for which ``works`` holds (monotone: false, then true)."""
    if low > high or not works(high):
        return None
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if works(middle) else (middle + 1, high)
    return low


def _relaxations(need, rules, previous, smallest, largest) -> dict[str, float]:
    budget, base = rules.budget_eur, rules.base_amount_eur
    floor, change = rules.floor_eur, rules.max_change
    found: dict[str, float] = {}
    too_much = smallest > budget + TOLERANCE_EUR
    # The smallest total rises with base and floor, and so does the largest: the largest base
    # (floor) that brings the smallest total within budget is the only candidate worth checking.
    if too_much and base > 0:
        value = _largest_int(lambda b: _smallest_total(need, b, floor, previous, change)
                             <= budget + TOLERANCE_EUR, 0, base - 1)
        if value is not None and _feasible(need, budget, value, floor, previous, change):
            found["base_amount_eur"] = value
    if too_much and floor > 0:
        value = _largest_int(lambda f: _smallest_total(need, base, f, previous, change)
                             <= budget + TOLERANCE_EUR, 0, floor - 1)
        if value is not None and _feasible(need, budget, base, value, previous, change):
            found["floor_eur"] = value
    if not too_much and previous is not None:
        # A floor wins over the band, so raising it also raises the upper limits it exceeds.
        value = _smallest_int(lambda f: _largest_total(need, base, f, previous, change)
                              >= budget - TOLERANCE_EUR, floor + 1, budget)
        if value is not None and _feasible(need, budget, base, value, previous, change):
            found["floor_eur"] = value
    if previous is not None:
        # All 10,000 grid values at once (a 10,000 x 40 array), then the exact check on the first
        # ones that pass. The total is not monotone in max_change when a region without need sits
        # at its lower band, so the smallest working value is searched for, not solved for.
        grid = _MAX_CHANGE_GRID[_MAX_CHANGE_GRID > change][:, None]
        lower = np.maximum(float(floor), previous * (1 - grid))
        upper = np.maximum(lower, previous * (1 + grid))
        at_zero = np.clip(float(base), lower, upper)
        low_total, high_total = at_zero.sum(axis=1), np.where(need > 0, upper, at_zero).sum(axis=1)
        slack = 1e-6 * budget  # loose here; _feasible below decides
        for candidate in grid[(low_total <= budget + slack) & (high_total >= budget - slack), 0]:
            if _feasible(need, budget, base, floor, previous, float(candidate)):
                found["max_change"] = float(candidate)
                break
    target = smallest if too_much or not (need > 0).any() else largest
    target = math.ceil(target - TOLERANCE_EUR) if too_much else math.floor(target + TOLERANCE_EUR)
    if target > 0 and _feasible(need, target, base, floor, previous, change):
        found["budget_eur"] = target
    return found


def infeasible_error(need, rules, previous, smallest, largest) -> InfeasibleRulesError:
    """The error that says why no allocation meets the rules, and which one relaxation would."""
    budget = rules.budget_eur
    found = _relaxations(need, rules, previous, smallest, largest)
    if not (need > 0).any():
        head = (f"total need is 0 in every region, so nothing is shared by need and the amounts "
                f"are base_amount_eur within floor and bands: {_euros(smallest)}, not budget_eur "
                f"{budget:,}: check the need input")
    elif smallest > budget + TOLERANCE_EUR:
        if previous is None:
            rule, value = (("floor_eur", rules.floor_eur) if rules.floor_eur >= rules.base_amount_eur
                           else ("base_amount_eur", rules.base_amount_eur))
            what = f"{N_REGIONS} x {rule} = {N_REGIONS * value:,}"
        else:
            what = (f"the lowest amounts the rules allow (base_amount_eur, floor_eur and "
                    f"previous x (1 - max_change)) add up to {_euros(smallest)}, which")
        head = f"{what} exceeds budget_eur {budget:,} by {_euros(smallest - budget)}"
    else:
        head = (f"the highest amounts the max_change band allows (previous x (1 + max_change) "
                f"for every region with need) add up to {_euros(largest)}, below budget_eur "
                f"{budget:,} by {_euros(budget - largest)}")
    verbs = {"base_amount_eur": "lower base_amount_eur to at most {:,}",
             "floor_eur": ("lower floor_eur to at most {:,}" if smallest > budget
                           else "raise floor_eur to at least {:,}"),
             "max_change": "raise max_change to at least {:g}",
             "budget_eur": ("raise budget_eur to at least {:,}" if smallest > budget
                            else "lower budget_eur to at most {:,}")}
    options = [verbs[rule].format(value) for rule, value in found.items()]
    if options:
        advice = options[0] if len(options) == 1 else ", ".join(options[:-1]) + " or " + options[-1]
    else:
        advice = ("no change of one rule alone is enough: check the need and previous inputs "
                  "(a region with previous 0 can get no more than floor_eur)")
    head = f"{head}: {advice}"
    return InfeasibleRulesError(head, found)
