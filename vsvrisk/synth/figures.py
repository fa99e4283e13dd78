"""The published figures of DESIGN section 5, and a population's values next to them.

Two sources with slightly different populations are mixed (the ministry letters count pupils
under 23, CBS table 84782NED is broader), so each figure carries an acceptance range that
holds both, not one value.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from vsvrisk.data.codes import MULTIPROBLEM_THRESHOLD, PROBLEM_FLAGS
from vsvrisk.data.schema import age_at_reference_date

__all__ = ["PublishedFigure", "PUBLISHED_FIGURES", "published_figures"]


class PublishedFigure(NamedTuple):
    key: str
    label: str
    published: str
    low: float
    high: float
    unit: str  # "%" for rates and shares, "x" for ratios


#: Figures and the ranges a synthetic cohort must fall in (rates in percent).
PUBLISHED_FIGURES = (
    PublishedFigure("all", "vsv rate, all", "1.72% (19/20); 2.01% (18/19)", 1.5, 2.5, "%"),
    PublishedFigure("vo", "vsv rate, vo", "0.36% (19/20); 0.49% (18/19)", 0.3, 0.7, "%"),
    PublishedFigure("mbo", "vsv rate, mbo", "4.59% (19/20); 5.35% (18/19)", 4.0, 6.0, "%"),
    PublishedFigure("mbo_1", "vsv rate, Entree", "29% (CBS 18/19)", 24.0, 34.0, "%"),
    PublishedFigure("mbo_2", "vsv rate, mbo-2", "12% (CBS 18/19)", 9.0, 15.0, "%"),
    PublishedFigure("mbo_3", "vsv rate, mbo-3", "4% (CBS 18/19)", 2.5, 6.0, "%"),
    PublishedFigure("mbo_4", "vsv rate, mbo-4", "4% (CBS 18/19)", 2.5, 6.0, "%"),
    PublishedFigure("under_18", "vsv rate, under 18", "0.4% (CBS 18/19)", 0.2, 0.8, "%"),
    PublishedFigure("age_18_22", "vsv rate, 18-22", "6.1% (CBS 18/19)", 4.5, 7.5, "%"),
    PublishedFigure("multiproblem_ratio", "multiproblematiek ratio", "about 4x (CBS)", 3.0, 5.0, "x"),
    PublishedFigure("need_share_29", "need share, Rijnmond", "9.4% (CBS)", 8.4, 10.4, "%"),
    PublishedFigure("need_share_21", "need share, Amsterdam", "8.7% (CBS)", 7.7, 9.7, "%"),
    PublishedFigure("need_share_37", "need share, ZO-Brabant", "3.8% (CBS)", 3.0, 4.6, "%"),
)


def _values(frame: pd.DataFrame) -> dict[str, float]:
    vsv = frame["vsv"].to_numpy(dtype=float, na_value=np.nan)
    sector = frame["sector"].astype(object).to_numpy()
    level = frame["mbo_level"].to_numpy(dtype=float, na_value=np.nan)
    age = age_at_reference_date(frame["birth_date"], frame["school_year"]).to_numpy()
    multi = frame[list(PROBLEM_FLAGS)].sum(axis=1).to_numpy() >= MULTIPROBLEM_THRESHOLD

    def rate(mask: np.ndarray) -> float:
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
    if "p_true" in frame:
        need = frame.groupby("region_code", observed=True)["p_true"].sum()
        for code in (29, 21, 37):
            values[f"need_share_{code}"] = 100.0 * float(need.get(code, 0.0) / need.sum())
    return values


def published_figures(frame: pd.DataFrame) -> pd.DataFrame:
    """Compare a cohort with the published figures of DESIGN section 5.

    Parameters
    ----------
    frame : DataFrame
        One school year of a person-year table with ``vsv``. Need shares are computed from
        ``p_true`` when the frame has it (a synthetic population), else left out.

    Returns
    -------
    DataFrame
        One row per figure: ``key``, ``figure``, ``published``, ``low``, ``high``, ``value``
        (rates and shares in percent, the ratio as a factor) and ``within`` (bool).

    Examples
    --------
    >>> from vsvrisk.synth import generate
    >>> table = published_figures(generate(20_000, seed=3).frame)
    >>> table.set_index("key").loc["all", "unit"]
    '%'
    """
    values = _values(frame)
    rows = [
        {
            "key": fig.key,
            "figure": fig.label,
            "published": fig.published,
            "low": fig.low,
            "high": fig.high,
            "unit": fig.unit,
            "value": values[fig.key],
            "within": bool(fig.low <= values[fig.key] <= fig.high),
        }
        for fig in PUBLISHED_FIGURES
        if fig.key in values
    ]
    return pd.DataFrame(rows)
