"""No region thrown off balance? The allocation year by year under the dampening band.

Each year the rules split the budget by that year's need, but no region's amount may move more
than the band (``max_change``) against its amount of the year before. A region whose need-based
amount (the allocation of that year's need without a band) lies further away than the band gets
there over several years, and while some regions are held by the band, the others' amounts are
off their need-based amounts too (the budget is fixed). :func:`allocation_path` runs the years in
order for several bands side by side and says, per region, the year from which its amount stays
within ``tolerance_pct`` of its need-based amount (the year it *reaches* it), and its largest
yearly change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vsvrisk.allocate import InfeasibleRulesError, allocate, need_from_predictions
from vsvrisk.allocate.rules import _coerce_rules  # the one check of a rules mapping
from vsvrisk.allocate.tables import region_values
from vsvrisk.data.regions import REGION_CODES
from vsvrisk.exceptions import AllocationError, ConfigError

__all__ = ["AllocationPath", "allocation_path", "needs_from_cohorts", "PATH_COLUMNS"]

#: Columns of :attr:`AllocationPath.table`: one row per band, year and region.
PATH_COLUMNS = ("band", "year", "region_code", "region_name", "need", "target_eur", "previous_eur", "amount_eur",
                "change_eur", "change_pct", "gap_eur", "gap_pct", "binding")


@dataclass(frozen=True)
class AllocationPath:
    """The allocation year by year under each band.

    Attributes
    ----------
    table : DataFrame
        Columns :data:`PATH_COLUMNS`. ``target_eur``: the need-based amount (that year's need,
        the same rules, no band); ``previous_eur``: the amount the year before; ``gap_eur`` and
        ``gap_pct``: amount minus need-based amount; ``binding``: the limit holding the amount.
    regions : DataFrame
        One row per band and region: ``reached_year`` (the first year from which the amount
        stays within the tolerance of the need-based amount to the end of the path; NA if it
        does not), ``years_to_reach`` (1 = the first year), ``largest_change_pct`` (signed, the
        largest yearly change in absolute value) and ``largest_change_year``.
    bands : DataFrame
        One row per band: ``all_reached_year`` (NA if some region has not reached it by the
        last year), ``years_to_converge``, ``n_not_reached`` and, per year, ``n_reached_<year>``.
    tolerance_pct : float
    """

    table: pd.DataFrame
    regions: pd.DataFrame
    bands: pd.DataFrame
    tolerance_pct: float


def _year_allocation(need, rules, previous, band, year):
    where = f"path, year {year}" + (f", band {100 * band:g}%" if band is not None else "")
    try:
        if band is None:
            return allocate(need, rules.model_copy(update={"max_change": None}))
        return allocate(need, rules.model_copy(update={"max_change": band}), previous)
    except InfeasibleRulesError as error:
        raise InfeasibleRulesError(f"{where}: {error}", error.relaxations) from None
    except AllocationError as error:
        raise AllocationError(f"{where}: {error}") from None


def needs_from_cohorts(model, cohorts: Mapping[int, pd.DataFrame], scenario="all") -> dict[int, pd.Series]:
    """Need per region of every year's cohort, scored by one model (the input of :func:`allocation_path`).

    Examples
    --------
    >>> from vsvrisk.synth import generate
    >>> from vsvrisk.models import RiskModel
    >>> frame = generate(3_000, school_years=[2019, 2020], seed=2).frame
    >>> model = RiskModel("logistic", {"vo": ["vo_type"], "mbo": ["mbo_level"]}).fit(frame)
    >>> needs = needs_from_cohorts(model, {2026: frame[frame.school_year == 2019], 2027: frame[frame.school_year == 2020]})
    >>> sorted(needs), len(needs[2026])
    ([2026, 2027], 40)
    """
    needs = {}
    for year, cohort in cohorts.items():
        scored = cohort.assign(p=model.predict_risk(cohort).to_numpy())
        needs[int(year)] = need_from_predictions(scored, "p", scenario)["need"]
    return needs


def allocation_path(first, needs: Mapping[int, pd.Series], rules, bands: Iterable[float] = (0.025, 0.05, 0.10),
                    *, tolerance_pct: float = 0.5) -> AllocationPath:
    """The allocation year by year under each dampening band, from a first year's amounts.

    Parameters
    ----------
    first : Series or DataFrame
        The amounts of the year before the first year of the path (a Series indexed by region
        code, or an allocation table with ``region_code`` and ``amount_eur``).
    needs : mapping of int to Series
        Need per region (indexed by region code) for every year of the path, e.g.
        ``{2026: ..., 2027: ..., 2028: ..., 2029: ...}``; the years are taken in order.
    rules : AllocationRules or mapping
        Budget, base amount and floor; its ``max_change`` is replaced by each band.
    bands : iterable of float, default=(0.025, 0.05, 0.10)
        The values of ``max_change`` to compare.
    tolerance_pct : float, default=0.5
        A region has reached its need-based amount when it is within this many percent of it
        (0: to the euro).

    Returns
    -------
    AllocationPath

    Examples
    --------
    >>> need = pd.Series(np.arange(1.0, 41.0), index=range(1, 41))
    >>> first = pd.Series(2_000.0, index=range(1, 41))          # everyone equal last year
    >>> path = allocation_path(first, {2026: need, 2027: need, 2028: need}, {"budget_eur": 80_000},
    ...                        bands=[0.5, 1.0])
    >>> path.bands["band"].tolist(), path.bands["all_reached_year"].tolist()
    ([0.5, 1.0], [<NA>, 2026])
    """
    rules = _coerce_rules(rules)
    first = region_values(first, "amount_eur", what="first year's amounts")
    years = sorted(int(year) for year in needs)
    bands = [float(band) for band in bands]
    if not years or not bands:
        raise ConfigError("path: give at least one year of need and one band")
    wrong = [band for band in bands if not 0 < band <= 1]
    if wrong:
        raise ConfigError(f"path: band {wrong[0]} is not a share in (0, 1]: write 5% as 0.05")
    if not 0 <= tolerance_pct < 100:
        raise ConfigError(f"tolerance_pct must lie in [0, 100), got {tolerance_pct}")
    targets = {year: _year_allocation(needs[year], rules, None, None, year) for year in years}
    blocks = []
    for band in bands:
        previous = pd.Series(first, index=REGION_CODES)
        for year in years:
            table = _year_allocation(needs[year], rules, previous, band, year)
            target = targets[year]["amount_eur"].to_numpy()
            blocks.append(pd.DataFrame({
                "band": band, "year": year, "region_code": table["region_code"], "region_name": table["region_name"],
                "need": table["need"], "target_eur": target, "previous_eur": table["previous_eur"],
                "amount_eur": table["amount_eur"], "change_eur": table["change_eur"], "change_pct": table["change_pct"],
                "gap_eur": table["amount_eur"] - target,
                "gap_pct": 100 * (table["amount_eur"] - target) / np.where(target > 0, target, np.nan),
                "binding": table["binding"]}))
            previous = pd.Series(table["amount_eur"].to_numpy(), index=REGION_CODES)
    table = pd.concat(blocks, ignore_index=True)[list(PATH_COLUMNS)]
    per_region = _per_region(table, years, tolerance_pct)
    return AllocationPath(table, per_region, _per_band(per_region, years), float(tolerance_pct))


def _per_region(table: pd.DataFrame, years: list[int], tolerance_pct: float) -> pd.DataFrame:
    rows = []
    for (band, code), block in table.groupby(["band", "region_code"], sort=True):
        block = block.sort_values("year")
        within = (block["gap_pct"].abs().fillna(0.0) <= tolerance_pct + 1e-12).to_numpy()
        # The first year from which it stays within the tolerance to the end of the path.
        stays = np.logical_and.accumulate(within[::-1])[::-1]
        reached = int(block["year"].to_numpy()[np.argmax(stays)]) if stays.any() else pd.NA
        change = block["change_pct"].to_numpy(dtype=float)
        worst = int(np.nanargmax(np.abs(change))) if np.isfinite(change).any() else 0
        rows.append({"band": band, "region_code": code, "region_name": block["region_name"].iloc[0],
                     "reached_year": reached,
                     "years_to_reach": reached - years[0] + 1 if reached is not pd.NA else pd.NA,
                     "largest_change_pct": change[worst], "largest_change_year": int(block["year"].iloc[worst])})
    result = pd.DataFrame(rows)
    return result.astype({"reached_year": "Int64", "years_to_reach": "Int64"})


def _per_band(per_region: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    rows = []
    for band, block in per_region.groupby("band", sort=True):
        reached = block["reached_year"]
        done = bool(reached.notna().all())
        row = {"band": band, "all_reached_year": int(reached.max()) if done else pd.NA,
               "years_to_converge": int(reached.max()) - years[0] + 1 if done else pd.NA,
               "n_not_reached": int(reached.isna().sum()),
               "largest_change_pct": float(block["largest_change_pct"].abs().max())}
        row.update({f"n_reached_{year}": int((reached <= year).sum()) for year in years})
        rows.append(row)
    return pd.DataFrame(rows).astype({"all_reached_year": "Int64", "years_to_converge": "Int64"})
