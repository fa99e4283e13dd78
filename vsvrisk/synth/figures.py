"""The published figures of DESIGN section 5 for each school year, and a cohort next to them.

Every school year is held to the figures *of that year*: 2018/19 and 2019/20 to the 2021 letter,
2023/24 and 2024/25 to the 2026 letter, the years between interpolated and the years outside
those taken from the nearest (the targets and their sources are in the code book,
:data:`vsvrisk.data.codes.PUBLISHED_RATES`). CBS's figures by mbo level and by age exist for
2018/19 only; in another year they move with that year's shift in log-odds (mbo levels with the
mbo rate, ages with the rate of all pupils).

Two sources with slightly different populations are mixed (the letters count pupils under 23,
CBS table 84782NED is broader), so each figure carries an acceptance range that holds both,
not one value: a band around the figure of the year, the same relative band in every year.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from vsvrisk.data.codes import (
    CBS_FIGURES_2018,
    CBS_FIGURES_SOURCE,
    DEFAULT_UPPER_AGE,
    MULTIPROBLEM_THRESHOLD,
    PROBLEM_FLAGS,
    PUBLISHED_RATES,
    PUBLISHED_RATES_SOURCE,
    WIDER_DEFINITION_RATIO,
    WIDER_DEFINITION_SOURCE,
)
from vsvrisk.data.schema import age_at_reference_date

__all__ = ["PublishedFigure", "published_rates", "published_targets", "published_figures"]


class PublishedFigure(NamedTuple):
    key: str
    label: str
    published: float  # the figure of the school year (moved or interpolated where marked)
    source: str
    low: float
    high: float
    unit: str  # "%" for rates and shares, "x" for ratios


# (label, low, high) of every figure: the accepted band as factors of the year's figure. They
# hold both the letters' and CBS's populations: for 2018/19, CBS has 2.4% (all), 0.6% (vo) and
# about 6.1% (mbo, from its levels) where the letter has 2.01%, 0.49% and 5.35%.
_RATE_BANDS = {
    "all": ("vsv rate, all", 0.90, 1.25),
    "vo": ("vsv rate, vo", 0.80, 1.35),
    "mbo": ("vsv rate, mbo", 0.85, 1.20),
    "mbo_1": ("vsv rate, Entree", 24 / 29, 34 / 29),
    "mbo_2": ("vsv rate, mbo-2", 0.75, 1.25),
    "mbo_3": ("vsv rate, mbo-3", 0.625, 1.50),
    "mbo_4": ("vsv rate, mbo-4", 0.625, 1.50),
    "under_18": ("vsv rate, under 18", 0.50, 2.00),
    "age_18_22": ("vsv rate, 18-22", 4.5 / 6.1, 7.5 / 6.1),
}
# Figures that do not move with the year: (label, published, source, low, high, unit).
_FIXED = {
    "multiproblem_ratio": ("multiproblematiek ratio", 4.0, "CBS", 3.0, 5.0, "x"),
    "need_share_29": ("need share, Rijnmond", 9.4, "CBS 2023", 8.4, 10.4, "%"),
    "need_share_21": ("need share, Amsterdam", 8.7, "CBS 2023", 7.7, 9.7, "%"),
    "need_share_37": ("need share, ZO-Brabant", 3.8, "CBS 2023", 3.0, 4.6, "%"),
    "wider_definition": ("vsv'ers under 27 / under 23", WIDER_DEFINITION_RATIO,
                         WIDER_DEFINITION_SOURCE, 1.22, 1.34, "x"),
}


def _logit(percent: float) -> float:
    p = percent / 100.0
    return float(np.log(p / (1.0 - p)))


def _percent(log_odds: float) -> float:
    return float(100.0 / (1.0 + np.exp(-log_odds)))


def _listed_rates() -> dict[int, dict[str, float]]:
    """Each listed year's all, vo and mbo: vo and mbo where the letter gives only the whole are
    the 2018/19 rates moved by the same shift in log-odds."""
    base = PUBLISHED_RATES[2018]
    listed = {}
    for year, rates in PUBLISHED_RATES.items():
        shift = _logit(rates["all"]) - _logit(base["all"])
        listed[year] = {key: rates.get(key, _percent(_logit(base[key]) + shift)) for key in ("all", "vo", "mbo")}
    return listed


def _short(year: int) -> str:
    return f"{str(year)[-2:]}/{str(year + 1)[-2:]}"


def published_rates(school_year: int) -> tuple[dict[str, float], dict[str, str]]:
    """The vsv rates (percent) of all pupils, vo and mbo that a school year is calibrated to.

    Parameters
    ----------
    school_year : int
        t of school year t/t+1.

    Returns
    -------
    rates : dict
        ``all``, ``vo``, ``mbo`` in percent.
    sources : dict
        Where each comes from: a letter, the 2018/19 rate moved with the whole, an
        interpolation, or the nearest year with figures.

    Examples
    --------
    >>> rates, sources = published_rates(2019)
    >>> rates["mbo"], sources["mbo"]
    (4.59, 'Kamerbrief 2021')
    >>> published_rates(2024)[1]["vo"]
    'Kamerbrief 2026, moved'
    >>> published_rates(2021)[1]["all"]
    'interpolated 19/20-23/24'
    """
    listed = _listed_rates()
    years = sorted(listed)
    if school_year in listed:
        given, source = PUBLISHED_RATES[school_year], PUBLISHED_RATES_SOURCE[school_year]
        return listed[school_year], {key: source if key in given else f"{source}, moved" for key in listed[school_year]}
    if school_year < years[0] or school_year > years[-1]:
        nearest = years[0] if school_year < years[0] else years[-1]
        return listed[nearest], dict.fromkeys(listed[nearest], f"no figure: as {_short(nearest)}")
    before = max(y for y in years if y < school_year)
    after = min(y for y in years if y > school_year)
    weight = (school_year - before) / (after - before)
    rates = {key: _percent((1 - weight) * _logit(listed[before][key]) + weight * _logit(listed[after][key]))
             for key in ("all", "vo", "mbo")}
    return rates, dict.fromkeys(rates, f"interpolated {_short(before)}-{_short(after)}")


def published_targets(school_year: int, *, wider_definition: bool = False) -> tuple[PublishedFigure, ...]:
    """The figures a cohort of ``school_year`` is held to, with their accepted ranges.

    Parameters
    ----------
    school_year : int
        t of school year t/t+1.
    wider_definition : bool, default=False
        Add the ratio of new vsv'ers under 27 to those under 23 (the 2026 law).

    Returns
    -------
    tuple of PublishedFigure

    Examples
    --------
    >>> figure = {f.key: f for f in published_targets(2019)}["mbo_1"]
    >>> round(figure.published, 1), figure.source
    (25.8, 'CBS 84782NED 18/19, moved')
    """
    rates, sources = published_rates(school_year)
    base = _listed_rates()[2018]
    values = {key: (rates[key], sources[key]) for key in ("all", "vo", "mbo")}
    shifts = {"mbo": _logit(rates["mbo"]) - _logit(base["mbo"]), "all": _logit(rates["all"]) - _logit(base["all"])}
    for key, value in CBS_FIGURES_2018.items():
        shift = shifts["mbo" if key.startswith("mbo_") else "all"]
        values[key] = (_percent(_logit(value) + shift), CBS_FIGURES_SOURCE + ("" if school_year == 2018 else ", moved"))
    figures = [PublishedFigure(key, label, values[key][0], values[key][1], low * values[key][0],
                               high * values[key][0], "%") for key, (label, low, high) in _RATE_BANDS.items()]
    figures += [PublishedFigure(key, *fixed) for key, fixed in _FIXED.items()
                if wider_definition or key != "wider_definition"]
    return tuple(figures)


def _values(frame: pd.DataFrame) -> dict[str, float]:
    vsv = frame["vsv"].to_numpy(dtype=float, na_value=np.nan)
    age = age_at_reference_date(frame["birth_date"], frame["school_year"]).to_numpy()
    # The letters' rates count pupils under 23; a population under the 2026 law's wider
    # definition is held to them on that part, and to the ratio of the counts as a whole.
    core = age < DEFAULT_UPPER_AGE
    sector = frame["sector"].astype(object).to_numpy()
    level = frame["mbo_level"].to_numpy(dtype=float, na_value=np.nan)
    multi = frame[list(PROBLEM_FLAGS)].sum(axis=1).to_numpy() >= MULTIPROBLEM_THRESHOLD

    def rate(mask: np.ndarray) -> float:
        mask = mask & core
        return 100.0 * float(np.nanmean(vsv[mask])) if mask.any() else float("nan")

    values = {
        "all": rate(np.ones(len(frame), bool)),
        "vo": rate(sector == "vo"),
        "mbo": rate(sector == "mbo"),
        **{f"mbo_{k}": rate((sector == "mbo") & (level == k)) for k in (1, 2, 3, 4)},
        "under_18": rate(age < 18),
        "age_18_22": rate((age >= 18) & (age <= 22)),
        "multiproblem_ratio": rate(multi) / rate(~multi),
    }
    if (~core).any():
        values["wider_definition"] = float(np.nansum(vsv) / np.nansum(vsv[core]))
    if "p_true" in frame:
        need = frame.groupby("region_code", observed=True)["p_true"].sum()
        for code in (29, 21, 37):
            values[f"need_share_{code}"] = 100.0 * float(need.get(code, 0.0) / need.sum())
    return values


def published_figures(frame: pd.DataFrame) -> pd.DataFrame:
    """Compare one school year of a cohort with the published figures of that year.

    Parameters
    ----------
    frame : DataFrame
        One school year of a person-year table with ``vsv``. Rates are taken over the pupils
        under 23 (the letters' population); a cohort with older pupils (the 2026 law) is also
        held to the ratio of its new vsv'ers to those under 23. Need shares are computed from
        ``p_true`` when the frame has it (a synthetic population), else left out.

    Returns
    -------
    DataFrame
        One row per figure: ``key``, ``figure``, ``published`` (the figure of that year),
        ``source``, ``low``, ``high``, ``unit``, ``value`` (rates and shares in percent, ratios
        as a factor) and ``within`` (bool).

    Raises
    ------
    ValueError
        The frame holds more than one school year.

    Examples
    --------
    >>> from vsvrisk.synth import generate
    >>> table = published_figures(generate(20_000, school_years=[2019], seed=3).frame)
    >>> row = table.set_index("key").loc["vo"]
    >>> float(row["published"]), row["source"]
    (0.36, 'Kamerbrief 2021')
    """
    years = pd.unique(frame["school_year"])
    if len(years) != 1:
        raise ValueError(f"published_figures takes one school year at a time, got {sorted(years.tolist())}")
    values = _values(frame)
    rows = [
        {
            "key": fig.key,
            "figure": fig.label,
            "published": fig.published,
            "source": fig.source,
            "low": fig.low,
            "high": fig.high,
            "unit": fig.unit,
            "value": values[fig.key],
            "within": bool(fig.low <= values[fig.key] <= fig.high),
        }
        for fig in published_targets(int(years[0]), wider_definition="wider_definition" in values)
        if fig.key in values
    ]
    return pd.DataFrame(rows)
