"""Need per region from predictions, under a scenario (need from a table: :mod:`.tables`).

Need is what the budget follows (DESIGN section 9). Scenario ``all`` sums every pupil's predicted
probability of leaving school without a startkwalificatie; scenario ``top_share`` (CBS's
scenario 4 with ``top_share: 0.4``) counts only the pupils whose probability is in the national
top share, vo and mbo together.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vsvrisk.allocate._settings import Scenario, TopShare, parse_scenario, scenario_from
from vsvrisk.data.regions import REGION_CODES
from vsvrisk.exceptions import AllocationError

__all__ = [
    "TopShare",
    "Scenario",
    "parse_scenario",
    "scenario_from",
    "need_from_predictions",
    "top_share_weights",
    "top_share_cut",
    "top_share_target",
]

N_REGIONS = len(REGION_CODES)


# --------------------------------------------------------------------------- from predictions


def top_share_weights(probabilities_sorted: np.ndarray, weights_sorted: np.ndarray,
                      top_share: float) -> np.ndarray:
    """How much of each person's weight counts in the top share (persons sorted, highest first).

    The persons with the highest probabilities count until their weight reaches ``top_share``
    of the total weight. Persons tied at the cut-off probability share the places left equally
    (each counts with the same fraction of their weight), so exactly ``top_share`` of the weight
    counts whatever the row order, and tied persons are treated alike. With unit weights and
    ``top_share * n`` a whole number without a tie at the cut-off, that is simply the top
    ``top_share * n`` persons. With bootstrap weights this is the weighted quantile.

    Parameters
    ----------
    probabilities_sorted : array of float
        Probabilities in non-increasing order.
    weights_sorted : array
        Each person's weight (1, or a bootstrap weight), in the same order.
    top_share : float
        In (0, 1).

    Returns
    -------
    ndarray of float
        The counted weight per person (``weights_sorted`` at most).

    Examples
    --------
    >>> top_share_weights(np.array([0.9, 0.5, 0.5, 0.1, 0.1]), np.ones(5), 0.4).tolist()
    [1.0, 0.5, 0.5, 0.0, 0.0]
    """
    weights_sorted = np.asarray(weights_sorted)
    counted = np.zeros(weights_sorted.shape, dtype=np.float64)
    first, last, fraction = top_share_cut(
        -np.asarray(probabilities_sorted), np.cumsum(weights_sorted, dtype=np.float64), top_share
    )
    counted[:first] = weights_sorted[:first]
    counted[first:last] = weights_sorted[first:last] * fraction
    return counted


def top_share_target(total: float, top_share: float) -> float:
    """The weight the top share holds: ``top_share`` of ``total``, a whole number where it is one
    up to rounding (weights are whole numbers: 1, or Poisson counts, so 0.4 x 15 =
    6.000000000000001 means six persons, not six and a sliver of a seventh).

    Examples
    --------
    >>> top_share_target(15.0, 0.4), top_share_target(10.0, 0.25)
    (6.0, 2.5)
    """
    target = top_share * total
    if abs(target - round(target)) <= 1e-9 * max(1.0, target):
        target = float(round(target))
    return target


def top_share_cut(negated_sorted: np.ndarray, cumulative: np.ndarray,
                  top_share: float) -> tuple[int, int, float]:
    """Where the top share ends: persons ``[0, first)`` count wholly, ``[first, last)`` (the tie
    at the cut-off probability) each count with ``fraction`` of their weight, the rest not.

    ``negated_sorted`` is minus the probabilities, highest probability first (so it is
    non-decreasing and binary search works on it; the bootstrap computes it once), and
    ``cumulative`` the running total of the weights in that order.
    """
    target = top_share_target(float(cumulative[-1]) if len(cumulative) else 0.0, top_share)
    if target <= 0:
        return 0, 0, 0.0
    # The person whose weight crosses the target fixes the cut-off probability.
    crossing = min(int(np.searchsorted(cumulative, target, side="left")), len(cumulative) - 1)
    # The tie block around the crossing person, found by binary search.
    first = int(np.searchsorted(negated_sorted, negated_sorted[crossing], side="left"))
    last = int(np.searchsorted(negated_sorted, negated_sorted[crossing], side="right"))
    above = float(cumulative[first - 1]) if first > 0 else 0.0
    at_cutoff = float(cumulative[last - 1]) - above
    return first, last, (target - above) / at_cutoff if at_cutoff > 0 else 0.0


def _check_predictions(frame: pd.DataFrame, probability_column: str, region_column: str):
    for column in (region_column, probability_column):
        if column not in frame.columns:
            keyword = "region_column" if column == region_column else "probability_column"
            raise AllocationError(f"predictions: no column '{column}': pass the column name "
                                  f"as {keyword}")
    # Region codes may arrive as a category (DESIGN section 4 keeps codes as categories).
    region = frame[region_column]
    region = region.astype(object) if isinstance(region.dtype, pd.CategoricalDtype) else region
    codes = pd.to_numeric(region, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isin(codes, REGION_CODES)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise AllocationError(f"predictions: column '{region_column}', row {row}: "
                              f"'{frame[region_column].iloc[row]}' is not a region code 1..40")
    probabilities = pd.to_numeric(frame[probability_column], errors="coerce").to_numpy(dtype=float)
    bad = ~((probabilities >= 0) & (probabilities <= 1))  # also catches NaN
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise AllocationError(f"predictions: column '{probability_column}', row {row}: "
                              f"{frame[probability_column].iloc[row]!r} is not a probability in [0, 1]")
    return codes.astype(np.int64), probabilities


def need_from_predictions(frame: pd.DataFrame, probability_column: str = "p",
                          scenario: Scenario | dict | str = "all", *,
                          region_column: str = "region_code") -> pd.DataFrame:
    """Sum predicted probabilities per region into need, under a scenario.

    Parameters
    ----------
    frame : DataFrame
        One row per person (a scored cohort), vo and mbo together.
    probability_column : str, default="p"
        The predicted probability of vsv.
    scenario : "all" or TopShare or mapping, default="all"
        ``"all"``: every person counts; ``{"top_share": 0.4}``: only the national top 40% by
        probability (see :func:`top_share_weights` for the cut-off and its ties).
    region_column : str, default="region_code"

    Returns
    -------
    DataFrame
        Indexed by ``region_code`` 1..40 (0 for a region without persons): ``need``,
        ``n_persons`` (persons in the region) and ``n_counted`` (persons that count toward need,
        wholly or in part) -- the counts disclosure control needs.

    Examples
    --------
    >>> frame = pd.DataFrame({"region_code": [1, 1, 2, 3, 3], "p": [0.9, 0.1, 0.5, 0.3, 0.2]})
    >>> need_from_predictions(frame).loc[[1, 2, 3, 4], "need"].tolist()
    [1.0, 0.5, 0.5, 0.0]
    >>> need_from_predictions(frame, scenario={"top_share": 0.4}).loc[[1, 2, 3], "need"].tolist()
    [0.9, 0.5, 0.0]
    """
    scenario = parse_scenario(scenario)
    codes, probabilities = _check_predictions(frame, probability_column, region_column)
    if scenario == "all":
        counted = np.ones(probabilities.size)
    else:
        order = np.argsort(-probabilities, kind="stable")
        counted = np.empty(probabilities.size)
        counted[order] = top_share_weights(probabilities[order], np.ones(probabilities.size),
                                           scenario.top_share)
    table = pd.DataFrame(
        {
            "need": np.bincount(codes, weights=counted * probabilities, minlength=N_REGIONS + 1)[1:],
            "n_persons": np.bincount(codes, minlength=N_REGIONS + 1)[1:],
            "n_counted": np.bincount(codes[counted > 0], minlength=N_REGIONS + 1)[1:],
        },
        index=pd.Index(REGION_CODES, name="region_code", dtype="int64"),
    )
    return table
