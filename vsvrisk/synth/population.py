"""Draw a synthetic person-year table from a known truth, in chunks.

Covariates come from a small causal story: each household has a latent disadvantage
``z ~ N(deprivation[region], 1)``; problem flags, wealth, parental structure, mother's
education, school type, delay and mbo level all depend on it, so they are correlated the way
register data are. The target is then drawn from the truth's probability.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from vsvrisk.data.codes import (
    CATEGORICAL_CODES,
    COLUMNS,
    DEFAULT_UPPER_AGE,
    LOWER_AGE,
    MBO_FIELDS,
)
from vsvrisk.data.regions import regions
from vsvrisk.exceptions import ConfigError
from vsvrisk.synth.truth import SyntheticTruth, _sigmoid, default_truth

__all__ = ["SyntheticPopulation", "generate", "CHUNK_SIZE"]

#: Rows drawn per random stream. Fixed (not a parameter) because the stream layout decides
#: the numbers: the same seed gives the same frame, bit for bit, whatever the machine.
CHUNK_SIZE = 250_000

_SECTOR_SHARES = {"vo": 0.70, "mbo": 0.28, "vavo": 0.02}
# Problem flags: P(flag) = sigmoid(a + b * z) (+ extras below), z the household disadvantage.
_FLAG_MODEL = {
    "psychosocial": (-2.65, 0.55),
    "crime_suspect": (-4.60, 0.55),
    "problem_debts": (-3.10, 0.85),
    "benefits_household": (-3.10, 0.95),
    "parent_crime_suspect": (-3.70, 0.65),
    "parent_mental_health": (-3.20, 0.45),
}
# vo school types: pro and vso first, then an ordered ability scale over the rest.
_VO_ORDERED = ("vmbo_bb", "vmbo_kb", "vmbo_gt", "havo", "vwo")
_VO_ORDERED_SHARES = np.array([0.08, 0.10, 0.20, 0.28, 0.34])
# Normal age of the grade in mbo (before delay); older ages thin out geometrically.
_MBO_AGE_WEIGHTS = {16: 0.24, 17: 0.25, 18: 0.22, 19: 0.16, 20: 0.13}
_MBO_LEVEL_SHARES = np.array([0.03, 0.17, 0.26, 0.54])
_MBO_FIELD_SHARES = {"m": [0.48, 0.24, 0.10, 0.06, 0.12], "v": [0.06, 0.28, 0.48, 0.06, 0.12]}
# The 2026 law's wider population: pupils of 23-26 without a startkwalificatie, in mbo and some
# in vavo, on top of the under-23 population. Their share of a school year under upper_age=27
# is calibrated (experiments/calibrate_years.py) so that the wider definition counts about 28%
# more new vsv'ers than the under-23 one (letter 2026); a lower upper age keeps the ages below it.
_OLDER_SHARE = 0.0523
_OLDER_AGE_WEIGHTS = {23: 0.40, 24: 0.27, 25: 0.19, 26: 0.14}
_OLDER_VAVO = 0.15


@dataclass(frozen=True)
class SyntheticPopulation:
    """A synthetic population and the truth it was drawn from.

    Attributes
    ----------
    frame : DataFrame
        The person-year table (DESIGN section 4, in-memory dtypes) plus two columns the schema
        ignores: ``p_true`` (the true probability of vsv) and ``p_true_features`` (the same
        without the regional random effect: the best a model on characteristics can reach).
    truth : SyntheticTruth
        Coefficients, regional effects and non-linear terms.
    seed : int
        The seed the sample was drawn with.
    """

    frame: pd.DataFrame
    truth: SyntheticTruth
    seed: int


def _thresholds(shares: np.ndarray, scale: float) -> np.ndarray:
    # Cut points of a normal scale with this standard deviation that give these shares.
    return scale * ndtri(np.cumsum(shares)[:-1])


def _masked_int(values: np.ndarray, missing: np.ndarray) -> pd.arrays.IntegerArray:
    return pd.arrays.IntegerArray(values.astype(np.int64), mask=missing.astype(bool))


def _oct_first(years: np.ndarray) -> np.ndarray:
    months = (years - 1970).astype("datetime64[Y]").astype("datetime64[M]") + np.timedelta64(9, "M")
    return months.astype("datetime64[D]")


def _older_share(upper_age: int) -> float:
    """Share of a school year aged 23 up to ``upper_age`` (0 for the default population)."""
    kept = sum(w for age, w in _OLDER_AGE_WEIGHTS.items() if age < upper_age)
    return _OLDER_SHARE * kept / sum(_OLDER_AGE_WEIGHTS.values())


def _draw_chunk(rng: np.random.Generator, n: int, year: int, truth: SyntheticTruth, upper_age: int,
                region_codes: np.ndarray, region_weights: np.ndarray) -> pd.DataFrame:
    region = rng.choice(region_codes, size=n, p=region_weights)
    z = truth.region_deprivation.to_numpy()[region - 1] + rng.standard_normal(n)
    sector = rng.choice(np.array(list(_SECTOR_SHARES)), size=n, p=list(_SECTOR_SHARES.values()))
    # Drawn whatever the upper age, so the under-23 part of a wider population is distributed
    # as the default population is.
    older_draw, older_age_draw = rng.random(n), rng.random(n)
    share = _older_share(upper_age)
    older = older_draw < share
    sector = np.where(older, np.where(older_draw < share * _OLDER_VAVO, "vavo", "mbo"), sector)
    vo, mbo, vavo = sector == "vo", sector == "mbo", sector == "vavo"
    male = rng.random(n) < np.where(mbo, 0.53, 0.50)

    flags = {}
    for name, (a, b) in _FLAG_MODEL.items():
        logit = a + b * z
        if name == "crime_suspect":
            logit = logit + 0.8 * male + 0.5 * ~vo
        flags[name] = rng.random(n) < _sigmoid(logit)

    # Wealth: a national percentile of a score that falls with disadvantage; missing for 3%.
    score = -0.75 * z + 0.65 * rng.standard_normal(n)
    wealth = np.clip(np.floor(100 * ndtr(score / 1.0)), 0, 100)
    wealth_missing = rng.random(n) < _sigmoid(-3.6 + 0.3 * z)

    one_parent = rng.random(n) < _sigmoid(-1.55 + 0.6 * z)
    no_parent = rng.random(n) < _sigmoid(-4.3 + 0.7 * z + 0.6 * vavo)
    parents = np.where(no_parent, "none", np.where(one_parent, "one", "both"))

    education_scale = -0.8 * z + rng.logistic(size=n)
    mother_education = np.where(education_scale < -0.7, "low", np.where(education_scale > 0.8, "high", "mid"))
    mother_education = np.where(rng.random(n) < _sigmoid(-3.4 + 0.5 * z), "unknown", mother_education)

    urbanity = truth.region_urbanity.to_numpy()[region - 1]
    urbanisation = np.clip(np.rint(urbanity + 0.9 * rng.standard_normal(n)), 1, 5).astype(np.int64)
    non_western = rng.random(n) < _sigmoid(-2.3 + 0.7 * z + 0.35 * (5 - urbanisation))
    western = ~non_western & (rng.random(n) < 0.09)
    migration = np.where(non_western, "non_western", np.where(western, "western", "none"))

    # vo school type: ability falls with disadvantage; pro/vso for the lowest tail.
    ability = -0.55 * z + rng.standard_normal(n)
    # z has variance 1 + var(deprivation) (about 1.05), so the ability scale's sd is ~1.15.
    ability_sd = np.sqrt(1 + 0.55**2 * 1.05)
    special = rng.random(n) < _sigmoid(-3.3 + 0.5 * z)
    ordered = np.asarray(_VO_ORDERED)[np.searchsorted(_thresholds(_VO_ORDERED_SHARES, ability_sd), ability)]
    vo_type = np.where(special, np.where(rng.random(n) < 0.5, "pro", "vso"), ordered)

    # mbo: level on the same ability scale; bbl more common at levels 2-3 and for boys.
    level = 1 + np.searchsorted(_thresholds(_MBO_LEVEL_SHARES, ability_sd), ability)
    bbl = rng.random(n) < _sigmoid(-1.6 + 0.5 * ((level == 2) | (level == 3)) + 0.3 * male)
    pathway = np.where(bbl, "bbl", "bol")
    field_draw = rng.random(n)
    field = np.where(
        male,
        np.asarray(MBO_FIELDS)[np.searchsorted(np.cumsum(_MBO_FIELD_SHARES["m"])[:-1], field_draw)],
        np.asarray(MBO_FIELDS)[np.searchsorted(np.cumsum(_MBO_FIELD_SHARES["v"])[:-1], field_draw)],
    )

    # Age at the reference date: the normal age of the grade plus accumulated delay.
    delay = np.minimum(rng.poisson(np.exp(np.where(vo, -1.7, -1.1) + 0.45 * z + 0.3 * special)), np.where(vo, 3, 5))
    vo_base = rng.choice(np.arange(12, 18), size=n, p=[0.19, 0.19, 0.19, 0.18, 0.15, 0.10])
    regular_upper = min(upper_age, DEFAULT_UPPER_AGE)
    mbo_ages = np.arange(16, regular_upper)
    mbo_weights = np.array([_MBO_AGE_WEIGHTS.get(a, 0.13 * 0.55 ** (a - 20)) for a in mbo_ages])
    mbo_base = rng.choice(mbo_ages, size=n, p=mbo_weights / mbo_weights.sum())
    vavo_base = rng.choice(np.arange(17, 20), size=n, p=[0.45, 0.35, 0.20])
    base = np.where(vo, vo_base, np.where(mbo, mbo_base, vavo_base))
    age = np.clip(base + delay, LOWER_AGE, regular_upper - 1)
    if older.any():
        older_ages = np.array([a for a in _OLDER_AGE_WEIGHTS if a < upper_age])
        cumulative = np.cumsum([_OLDER_AGE_WEIGHTS[a] for a in older_ages])
        age = np.where(older, older_ages[np.searchsorted(cumulative / cumulative[-1], older_age_draw)], age)
    delay = np.minimum(delay, age - np.minimum(base, age))
    birth = _oct_first(np.full(n, year) - age) - rng.integers(0, 365, size=n).astype("timedelta64[D]")

    frame = pd.DataFrame(
        {
            "school_year": np.full(n, year, dtype=np.int64),
            "birth_date": birth.astype("datetime64[ns]"),
            "region_code": region.astype(np.int64),
            "sector": sector,
            "vo_type": np.where(vo, vo_type, None),
            "mbo_level": _masked_int(level, ~mbo),
            "mbo_pathway": np.where(mbo, pathway, None),
            "mbo_field": np.where(mbo, field, None),
            "gender": np.where(male, "m", "v"),
            "delay_years": delay.astype(np.int64),
            **flags,
            "wealth_percentile": _masked_int(wealth, wealth_missing),
            "parents": parents,
            "mother_education": mother_education,
            "urbanisation": urbanisation,
            "migration_background": migration,
        }
    )
    for column, codes in CATEGORICAL_CODES.items():
        frame[column] = pd.Categorical(frame[column], categories=list(codes))
    return frame


def generate(
    n_persons: int,
    school_years=(2019,),
    seed: int = 0,
    *,
    truth: SyntheticTruth | str = "nonlinear",
    upper_age: int = DEFAULT_UPPER_AGE,
) -> SyntheticPopulation:
    """Draw a synthetic population of ``n_persons`` per school year from a known truth.

    Parameters
    ----------
    n_persons : int
        Persons per school year (national scale is about 1.5 million).
    school_years : iterable of int, default=(2019,)
        School years t (2019 means 2019/20). Cohorts share the truth but differ by the
        truth's year effects (2018/19 higher than 2019/20, as published).
    seed : int, default=0
        Seed of the sample. Same seed, same frame, bit for bit.
    truth : SyntheticTruth or {"nonlinear", "logistic"}, default="nonlinear"
        The world to draw from; a string picks :func:`default_truth` of that kind.
    upper_age : int, default=23
        The population is younger than this at the reference date (27 under the 2026 law).

    Returns
    -------
    SyntheticPopulation
        ``frame`` (person-year table with ``vsv``, ``p_true``, ``p_true_features``),
        ``truth`` and ``seed``.

    Examples
    --------
    >>> population = generate(2_000, school_years=[2018, 2019], seed=1)
    >>> population.frame.groupby("school_year").size().tolist()
    [2000, 2000]
    >>> bool(population.frame["p_true"].between(0, 1).all())
    True
    """
    if isinstance(truth, str):
        truth = default_truth(truth)
    if n_persons < 1:
        raise ConfigError(f"n_persons must be at least 1, got {n_persons}")
    if not 20 <= upper_age <= 27:
        raise ConfigError(f"upper_age must lie between 20 and 27 (23 by default, 27 under the 2026 law), got {upper_age}")
    catalogue = regions()
    region_codes = catalogue["region_code"].to_numpy()
    weights = catalogue["population_k"].to_numpy(dtype=float)
    weights /= weights.sum()

    chunks = []
    for year in [int(y) for y in school_years]:
        for chunk, start in enumerate(range(0, n_persons, CHUNK_SIZE)):
            n = min(CHUNK_SIZE, n_persons - start)
            rng = np.random.default_rng([seed, year, chunk])
            part = _draw_chunk(rng, n, year, truth, upper_age, region_codes, weights)
            eta_features = truth.log_odds(part, include_region=False)
            eta = eta_features + truth.region_effects.to_numpy()[part["region_code"].to_numpy() - 1]
            part["p_true"] = _sigmoid(eta)
            part["p_true_features"] = _sigmoid(eta_features)
            part["vsv"] = pd.array(rng.random(n) < part["p_true"].to_numpy(), dtype="boolean")
            part.insert(0, "person_id", pd.array(np.char.add(f"{year}-", np.char.zfill((np.arange(n) + start).astype(str), 8)), dtype="string"))
            chunks.append(part)
    frame = pd.concat(chunks, ignore_index=True)
    ordered = [c for c in COLUMNS if c in frame] + ["p_true", "p_true_features"]
    return SyntheticPopulation(frame=frame[ordered], truth=truth, seed=seed)
