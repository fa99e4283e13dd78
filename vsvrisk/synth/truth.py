"""The known truth a synthetic population is drawn from.

A person's true log-odds of vsv is a logistic model per model group (``vo``; ``mbo`` with
``vavo``)::

    eta = intercept[group] + year_effect[group, school_year]
          + sum of main effects (one value per level of each variable)
          + interaction terms                (``kind="nonlinear"`` only)
          + region_effect[region_code]       (the regional random effect)

``p_true = sigmoid(eta)`` and ``p_true_features = sigmoid(eta - region_effect)``: the second is
the best a model on characteristics alone can reach, and what a need share should follow.

Main effects are stored per level (``effects`` table); a model with a reference level
estimates differences, so compare ``effect[level] - effect[reference]`` with its coefficient.
With ``kind="logistic"`` the truth is purely logistic in main effects (no interactions, no
regional effect, no direct effect of migration background), so a main-effects logistic model
on the same encoding is correctly specified and must recover the coefficients.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from vsvrisk.data.codes import (
    AGE_GROUP_BOUNDS,
    MODEL_GROUP,
    MULTIPROBLEM_THRESHOLD,
    PROBLEM_FLAGS,
    WEALTH_GROUP_EDGES,
    age_group_labels,
)
from vsvrisk.data.schema import age_at_reference_date

__all__ = ["SyntheticTruth", "default_truth", "INTERACTIONS"]

TruthKind = Literal["nonlinear", "logistic"]

# Main effects per model group, as log-odds per level. The sizes follow the direction and rough
# order of the odds ratios CBS reports (mbo level and age dominate in mbo; school type, delay
# and age in vo; problems, parental structure and wealth in both); intercepts are calibrated so
# that the rates of DESIGN section 5 come out (see vsvrisk.synth.figures).
_FLAG_EFFECTS = {
    "vo": {
        "psychosocial": 0.75,
        "crime_suspect": 0.85,
        "problem_debts": 0.30,
        "benefits_household": 0.25,
        "parent_crime_suspect": 0.20,
        "parent_mental_health": 0.20,
    },
    "mbo": {
        "psychosocial": 0.65,
        "crime_suspect": 0.75,
        "problem_debts": 0.40,
        "benefits_household": 0.30,
        "parent_crime_suspect": 0.20,
        "parent_mental_health": 0.20,
    },
}

_LEVEL_EFFECTS: dict[str, dict[str, dict]] = {
    "vo": {
        "age_group": dict(zip(age_group_labels("vo"), (0.0, 0.25, 0.55, 0.95, 1.45, 1.85))),
        "vo_type": {
            "pro": 1.15,
            "vmbo_bb": 0.85,
            "vmbo_kb": 0.55,
            "vmbo_gt": 0.30,
            "havo": 0.0,
            "vwo": -0.35,
            "vso": 1.35,
        },
        "gender": {"m": 0.15, "v": 0.0},
        "parents": {"both": 0.0, "one": 0.45, "none": 0.90},
        "mother_education": {"low": 0.20, "mid": 0.10, "high": 0.0, "unknown": 0.30},
        "wealth_group": {"q1": 0.45, "q2": 0.20, "q3": 0.0, "q4": -0.10, "q5": -0.20, "missing": 0.40},
        "urbanisation": {1: 0.25, 2: 0.15, 3: 0.05, 4: 0.0, 5: -0.05},
        "multiproblematiek": {True: 0.20, False: 0.0},
    },
    "mbo": {
        "age_group": dict(
            zip(age_group_labels("mbo", 27), (0.0, 0.35, 0.80, 0.95, 1.05, 1.10, 1.15, 1.20, 1.25, 1.30, 1.35))
        ),
        "sector": {"mbo": 0.0, "vavo": 1.30},
        "mbo_level": {1: 2.05, 2: 1.10, 3: -0.05, 4: 0.0},
        "mbo_pathway": {"bol": 0.0, "bbl": -0.30},
        "mbo_field": {"techniek": 0.10, "economie": 0.15, "zorg_welzijn": 0.0, "groen": -0.10, "combinatie": 0.05},
        "gender": {"m": 0.25, "v": 0.0},
        "parents": {"both": 0.0, "one": 0.30, "none": 0.70},
        "mother_education": {"low": 0.25, "mid": 0.10, "high": 0.0, "unknown": 0.30},
        "wealth_group": {"q1": 0.35, "q2": 0.15, "q3": 0.0, "q4": -0.10, "q5": -0.15, "missing": 0.30},
        "urbanisation": {1: 0.25, 2: 0.15, 3: 0.05, 4: 0.0, 5: -0.05},
        "multiproblematiek": {True: 0.20, False: 0.0},
    },
}
_SLOPES = {"vo": {"delay_years": 0.35}, "mbo": {"delay_years": 0.15}}
# Intercepts and year effects are solved by experiments/calibrate_years.py so that every school
# year's expected vsv rates of vo and mbo equal the published figures of that year (the code
# book's PUBLISHED_RATES); 2018/19, the year CBS fitted its model on, is the reference.
_INTERCEPTS = {"vo": -7.0256, "mbo": -5.0837}

#: Interaction and non-linear terms of the ``nonlinear`` truth: name -> (coefficient, meaning).
#: They are what a gradient-boosted model can find and a main-effects logistic model cannot.
INTERACTIONS = {
    "delay_x_age": (0.06, "delay_years x max(age - 16, 0): delay weighs more as a pupil ages"),
    "wealth_top5": (0.55, "wealth_percentile >= 95: risk rises again at the top (non-monotone)"),
    "bbl_low_level": (-0.60, "mbo level 1-2 on the bbl pathway: a job anchors the pupil"),
    "psychosocial_x_crime": (0.50, "psychosocial and crime_suspect together"),
    "non_western": (0.15, "direct effect of a non-western migration background (not a feature)"),
}

#: Intercept shift per model group and school year (2018 = reference), in log-odds. 2018/19 ->
#: 2019/20 fell from 0.49% to 0.36% in vo and 5.35% to 4.59% in mbo (letter 2021); 2023/24
#: and 2024/25 are at "ruim 2%" (letter 2026). Years between are interpolated linearly, years
#: outside take the nearest.
_YEAR_EFFECTS = {
    "vo": {2018: 0.0, 2019: -0.3170, 2023: 0.0459, 2024: 0.0459},
    "mbo": {2018: 0.0, 2019: -0.1819, 2023: 0.0507, 2024: 0.0507},
}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _age_groups(age: np.ndarray, group: str) -> np.ndarray:
    labels = np.asarray(age_group_labels(group, 27), dtype=object)
    bounds = AGE_GROUP_BOUNDS[group]
    return labels[np.searchsorted(bounds, age, side="right")]


def _wealth_groups(percentile: pd.Series) -> np.ndarray:
    values = percentile.to_numpy(dtype="float64", na_value=np.nan)
    index = np.clip(np.searchsorted(WEALTH_GROUP_EDGES[1:-1], values, side="right"), 0, 4)
    labels = np.array(["q1", "q2", "q3", "q4", "q5"], dtype=object)[index]
    return np.where(np.isnan(values), "missing", labels)


@dataclass(frozen=True)
class SyntheticTruth:
    """The world a synthetic population is drawn from: coefficients, regional effects, terms.

    Parameters
    ----------
    kind : {"nonlinear", "logistic"}
        ``nonlinear`` adds the :data:`INTERACTIONS` and regional random effects; ``logistic`` is
        purely logistic in main effects, with no regional effect.
    intercepts : dict
        Intercept per model group (``vo``, ``mbo``), in log-odds.
    effects : DataFrame
        Main effects: ``model_group``, ``variable``, ``level``, ``coef`` (log-odds per level).
        Continuous variables (``delay_years``) have ``level`` ``"per_unit"``.
    interactions : dict
        Coefficient per interaction term (empty for ``logistic``).
    region_effects : Series
        Regional random effect per region code (log-odds; zero for ``logistic``).
    year_effects : dict
        Intercept shift per model group (``vo``, ``mbo``) and school year; years between listed
        years are interpolated linearly, years outside take the nearest listed year.
    region_deprivation : Series
        How disadvantaged each region's households are (drives composition, not the log-odds).
    region_urbanity : Series
        Mean urbanisation code (1 very urban .. 5 not urban) of each region's neighbourhoods.
    slopes : dict
        Per model group, the slope of each continuous variable (``delay_years``).
    planted : tuple (column, level, log_odds) or None
        A known miscalibration for the fairness audit: persons with ``column == level`` get
        ``log_odds`` extra risk. Plant it on a column no model may use (migration background),
        so every model is blind to it and the audit must find exactly that group.

    Examples
    --------
    >>> truth = default_truth("logistic")
    >>> truth.coefficient("mbo", "mbo_level", 1) - truth.coefficient("mbo", "mbo_level", 4)
    2.05
    """

    kind: TruthKind
    intercepts: dict
    effects: pd.DataFrame
    interactions: dict
    region_effects: pd.Series
    year_effects: dict
    region_deprivation: pd.Series
    region_urbanity: pd.Series
    slopes: dict = field(default_factory=dict)
    planted: tuple | None = None

    def coefficient(self, model_group: str, variable: str, level=None) -> float:
        """Main effect of one level (or the slope of a continuous variable), in log-odds."""
        if variable in self.slopes.get(model_group, {}):
            return self.slopes[model_group][variable]
        table = self.effects
        row = table[(table.model_group == model_group) & (table.variable == variable) & (table.level == level)]
        if row.empty:
            raise KeyError(f"no effect for {model_group}/{variable}/{level!r}")
        return float(row["coef"].iloc[0])

    def year_effect(self, year: int, model_group: str) -> float:
        """Intercept shift of a school year for a model group, in log-odds.

        Linear between listed years; outside them, the nearest listed year's.

        Examples
        --------
        >>> truth = default_truth()
        >>> truth.year_effect(2018, "vo"), truth.year_effect(2010, "vo")
        (0.0, 0.0)
        """
        table = self.year_effects[model_group]
        years = sorted(table)
        return float(np.interp(year, years, [table[y] for y in years]))

    def log_odds(self, frame: pd.DataFrame, *, include_region: bool = True) -> np.ndarray:
        """True log-odds of vsv for every row of a person-year frame.

        Parameters
        ----------
        frame : DataFrame
            A person-year table (DESIGN section 4); only observable columns are used, plus
            ``migration_background`` for the ``nonlinear`` truth's direct effect.
        include_region : bool, default=True
            Add the regional random effect. Without it, the log-odds a model on
            characteristics alone can at best reach.

        Returns
        -------
        ndarray of shape (n_rows,)
        """
        eta = np.zeros(len(frame))
        group = frame["sector"].map(dict(MODEL_GROUP)).astype(object).to_numpy()
        age = age_at_reference_date(frame["birth_date"], frame["school_year"]).to_numpy()
        years = frame["school_year"].to_numpy()
        for model_group in ("vo", "mbo"):
            for year in np.unique(years):
                rows = (years == year) & (group == model_group)
                eta[rows] += self.year_effect(int(year), model_group)
        derived = {
            "wealth_group": _wealth_groups(frame["wealth_percentile"]),
            "multiproblematiek": (frame[list(PROBLEM_FLAGS)].sum(axis=1) >= MULTIPROBLEM_THRESHOLD).to_numpy(),
        }
        for model_group in ("vo", "mbo"):
            rows = group == model_group
            if not rows.any():
                continue
            sub = frame.loc[rows]
            part = np.full(rows.sum(), self.intercepts[model_group])
            values = dict(derived)
            values["age_group"] = _age_groups(age, model_group)
            for variable, level_effects in self._levels(model_group).items():
                column = values[variable][rows] if variable in values else sub[variable].to_numpy(dtype=object)
                part += _mapped(column, level_effects)
            for variable, slope in self.slopes.get(model_group, {}).items():
                part += slope * sub[variable].to_numpy(dtype=float)
            part += self._interaction_terms(sub, age[rows])
            if self.planted is not None:
                column, level, shift = self.planted
                part += shift * (sub[column].astype(object) == level).to_numpy()
            eta[rows] += part
        if include_region:
            eta += frame["region_code"].map(self.region_effects).to_numpy(dtype=float)
        return eta

    def probability(self, frame: pd.DataFrame, *, include_region: bool = True) -> np.ndarray:
        """True probability of vsv: the sigmoid of :meth:`log_odds`."""
        return _sigmoid(self.log_odds(frame, include_region=include_region))

    def _levels(self, model_group: str) -> dict[str, dict]:
        table = self.effects[self.effects.model_group == model_group]
        return {var: dict(zip(sub.level, sub.coef)) for var, sub in table.groupby("variable", sort=False)}

    def _interaction_terms(self, sub: pd.DataFrame, age: np.ndarray) -> np.ndarray:
        terms = np.zeros(len(sub))
        if not self.interactions:
            return terms
        c = self.interactions
        terms += c["delay_x_age"] * sub["delay_years"].to_numpy(float) * np.maximum(age - 16, 0)
        wealth = sub["wealth_percentile"].to_numpy(dtype="float64", na_value=np.nan)
        terms += c["wealth_top5"] * np.nan_to_num(wealth >= 95)
        level = sub["mbo_level"].to_numpy(dtype="float64", na_value=np.nan)
        bbl = (sub["mbo_pathway"].astype(object) == "bbl").to_numpy()
        terms += c["bbl_low_level"] * (bbl & (level <= 2))
        terms += c["psychosocial_x_crime"] * (sub["psychosocial"].to_numpy(bool) & sub["crime_suspect"].to_numpy(bool))
        if "migration_background" in sub:
            terms += c["non_western"] * (sub["migration_background"].astype(object) == "non_western").to_numpy()
        return terms

    def to_dict(self) -> dict:
        """A JSON-ready description of the truth (for manifests and notebooks)."""
        return {
            "kind": self.kind,
            "intercepts": dict(self.intercepts),
            "slopes": {g: dict(s) for g, s in self.slopes.items()},
            "effects": self.effects.astype({"level": str}).to_dict(orient="records"),
            "interactions": dict(self.interactions),
            "region_effects": {int(k): float(v) for k, v in self.region_effects.items()},
            "year_effects": {g: {int(k): float(v) for k, v in table.items()} for g, table in self.year_effects.items()},
            "planted": list(self.planted) if self.planted is not None else None,
        }


# Composition of the regions: household disadvantage (mean of a standard-normal latent) and
# mean urbanisation code. The big-city regions are more disadvantaged and more urban, which is
# why their need share exceeds their population share (Rijnmond 9.4% and Agglomeratie
# Amsterdam 8.7% of need, CBS 2023); Zuidoost-Brabant falls below its share (3.8%).
_DEPRIVATION = {
    1: 0.35, 2: 0.15, 3: 0.05, 8: 0.15, 10: -0.10, 12: 0.05, 14: 0.10, 16: -0.20, 17: -0.20,
    18: 0.15, 19: -0.05, 20: -0.25, 21: 0.33, 22: -0.15, 23: 0.05, 24: -0.15, 25: -0.15,
    26: -0.05, 27: -0.05, 28: 0.42, 29: 0.28, 30: 0.0, 34: 0.0, 35: 0.0, 36: -0.25, 37: 0.02,
    38: -0.15, 39: 0.20, 40: 0.10,
}
_URBANITY = {
    3: 2.6, 10: 3.0, 12: 2.9, 14: 2.5, 16: 2.7, 18: 2.8, 19: 1.8, 20: 2.6, 21: 1.4, 24: 2.6,
    25: 2.2, 26: 2.3, 27: 2.6, 28: 1.6, 29: 1.7, 30: 2.8, 34: 2.9, 35: 2.6, 36: 3.0, 37: 2.7,
    39: 2.5, 40: 2.3,
}
_DEFAULT_URBANITY = 3.6


def default_truth(
    kind: TruthKind = "nonlinear",
    *,
    region_sd: float = 0.10,
    world_seed: int = 2023,
    planted: tuple | None = None,
) -> SyntheticTruth:
    """The default world of vsvrisk's synthetic populations.

    Parameters
    ----------
    kind : {"nonlinear", "logistic"}, default="nonlinear"
        ``logistic``: main effects only, no regional effect, for coefficient-recovery checks.
    region_sd : float, default=0.10
        Standard deviation of the regional random effects (log-odds) of the nonlinear truth.
    world_seed : int, default=2023
        Seed of the regional random effects. It is part of the world, not of the sample: two
        populations drawn with different seeds share the same truth.
    planted : tuple (column, level, log_odds), optional
        A known miscalibration for one group (see :class:`SyntheticTruth`), e.g.
        ``("migration_background", "western", 0.7)``.

    Returns
    -------
    SyntheticTruth
    """
    if kind not in ("nonlinear", "logistic"):
        raise ValueError(f"kind must be 'nonlinear' or 'logistic', got {kind!r}")
    codes = pd.Index(range(1, 41), name="region_code")
    rows = [
        (group, variable, level, coef)
        for group, variables in _LEVEL_EFFECTS.items()
        for variable, levels in variables.items()
        for level, coef in levels.items()
    ] + [
        (group, flag, True, coef) for group, flags in _FLAG_EFFECTS.items() for flag, coef in flags.items()
    ] + [
        (group, flag, False, 0.0) for group, flags in _FLAG_EFFECTS.items() for flag in flags
    ]
    effects = pd.DataFrame(rows, columns=["model_group", "variable", "level", "coef"])
    if kind == "nonlinear":
        draws = np.random.default_rng(world_seed).normal(0.0, region_sd, size=len(codes))
        region_effects = pd.Series(draws - draws.mean(), index=codes, name="region_effect")
        interactions = {name: coef for name, (coef, _) in INTERACTIONS.items()}
    else:
        region_effects = pd.Series(0.0, index=codes, name="region_effect")
        interactions = {}
    return SyntheticTruth(
        kind=kind,
        intercepts=dict(_INTERCEPTS),
        effects=effects,
        interactions=interactions,
        region_effects=region_effects,
        year_effects={g: dict(table) for g, table in _YEAR_EFFECTS.items()},
        region_deprivation=pd.Series(_DEPRIVATION, index=codes).fillna(0.0).rename("deprivation"),
        region_urbanity=pd.Series(_URBANITY, index=codes).fillna(_DEFAULT_URBANITY).rename("urbanity"),
        slopes={g: dict(s) for g, s in _SLOPES.items()},
        planted=tuple(planted) if planted is not None else None,
    )


def _mapped(column: np.ndarray, effects: dict) -> np.ndarray:
    """``Series(column).map(effects).fillna(0.0)`` as floats, each distinct value looked up once.

    A column has a handful of levels over a million rows: mapping the levels and taking them by
    code gives the same numbers as mapping every row (missing values keep a code of their own,
    so a key for them would be found as ``map`` finds it).
    """
    codes, levels = pd.factorize(column, use_na_sentinel=False)
    return pd.Series(levels).map(effects).fillna(0.0).to_numpy(dtype=float)[codes]
