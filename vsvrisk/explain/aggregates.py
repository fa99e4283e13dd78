"""Sums of SHAP values per region and model group, chunk by chunk: no person-level table comes out.

:func:`aggregate_shap` goes through a cohort ``chunk_size`` rows at a time (the explainers of
:mod:`vsvrisk.explain.shap_values`) and keeps only sums per region, per model group and per
level of each variable, plus a small random sample of rows for the plots. What
:mod:`vsvrisk.explain.drivers` turns into national drivers and the regional decomposition.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse

from vsvrisk.exceptions import SchemaError
from vsvrisk.explain.shap_values import (
    CHUNK_SIZE,
    _explained_chunks,
    _explainers,
    _fit_means,
    _level_label,
)

__all__ = ["ShapAggregates", "aggregate_shap"]


@dataclass
class ShapAggregates:
    """Sums of SHAP values over a frame, per region and per model group (no person rows).

    ``sums`` (index: region) holds, per region, the sums of each variable's contribution and
    of ``base``, ``margin``, ``probability`` (the model's probability, calibrated if the model
    is) and ``link_at_mean`` (each person's probability at the national mean margin).
    ``secant_sums`` holds the same contributions and ``base`` weighted by each person's secant
    slope, and ``secant`` (the sum of the slopes): what the need-share split needs
    (:func:`vsvrisk.explain.regional_decomposition`). ``abs_sums`` (index: model group) holds the
    sums of |contribution| per variable, ``group_sizes`` the rows per group. ``levels`` holds
    per model group, variable and level the number of persons and the sum of contributions.
    ``sample`` holds the per-row values (as :func:`shap_values`) of a random sample of rows and
    ``sample_values`` the variables' values of those rows per group: person-level, for the
    plots, never written as a table.
    """

    by: str
    variables: list
    groups: tuple
    model_variables: dict
    n_persons: pd.Series
    sums: pd.DataFrame
    secant_sums: pd.DataFrame
    abs_sums: pd.DataFrame
    group_sizes: pd.Series
    levels: pd.DataFrame
    national_mean_margin: float
    sample: pd.DataFrame
    sample_values: dict = field(default_factory=dict)


def _level_sums(values: pd.Series, contributions: np.ndarray, missing: str) -> pd.DataFrame:
    """Persons and summed contribution per level of one variable (grouped on the raw values)."""
    summed = pd.Series(contributions, index=values.index).groupby(
        values, dropna=False, observed=True, sort=True).agg(["size", "sum"])
    summed.index = [_level_label(v, missing) for v in summed.index]
    return summed.rename_axis("level").reset_index()


def _regional_sums(chunk: tuple, mean_margin: float, plain: np.ndarray, secant: np.ndarray) -> None:
    """Add one explained chunk's sums per region, plain and weighted by the secant slopes."""
    explainer, persons, contributions, base, margin = chunk
    probability = explainer.link(margin)
    at_mean = float(explainer.link(np.array([mean_margin]))[0])
    gap = margin - mean_margin
    # The secant of the link between the national mean margin and this person's margin:
    # p - link(mean) = slope * (margin - mean) exactly, which is what lets the need share
    # be split over the same terms as the log-odds (see drivers.regional_decomposition).
    # A person at the mean margin has p = link(mean): slope 0 loses nothing.
    slope = np.divide(probability - at_mean, gap, out=np.zeros_like(gap), where=np.abs(gap) > 1e-12)
    # Per distinct row, then times its persons in each region (the sparse counts).
    plain += persons @ np.column_stack([contributions, base, margin, probability, np.full(len(base), at_mean)])
    secant += persons @ np.column_stack([contributions * slope[:, None], base * slope, slope])


def _persons(regions: np.ndarray, inverse: np.ndarray, n_regions: int, n_distinct: int) -> scipy.sparse.csr_matrix:
    """How many persons of each region (row) have each distinct row (column)."""
    return scipy.sparse.csr_matrix((np.ones(inverse.size), (regions, inverse)), shape=(n_regions, n_distinct))


def aggregate_shap(model, X: pd.DataFrame, *, by: str = "region_code", chunk_size: int = CHUNK_SIZE,
                   sample_size: int = 20_000, random_state: int = 0) -> ShapAggregates:
    """Sum SHAP values per region and per model group, chunk by chunk.

    One SHAP pass over ``X`` (a logistic model first takes the column means that centre its
    contributions, and the national mean margin, in a cheap pass of its own). Only sums are
    kept, plus ``sample_size`` random rows for the plots. A tree model's contributions come per
    distinct row of its classes (persons the trees cannot tell apart share one) and wait, with
    each distinct row's persons per region, until the last chunk has given the national mean
    margin that the secant sums need (a national cohort: some 100 MB).

    Parameters
    ----------
    model : RiskModel
    X : DataFrame
        Person-year rows (usually one cohort, the whole nation).
    by : str, default="region_code"
        The column the sums are taken per.
    chunk_size : int, default=500_000
    sample_size : int, default=20_000
        Rows whose per-row values are kept for the beeswarm and dependence plots (0: none).
    random_state : int, default=0
        Seed of that sample.

    Returns
    -------
    ShapAggregates

    Examples
    --------
    >>> from vsvrisk.models import RiskModel
    >>> from vsvrisk.synth import generate
    >>> frame = generate(5_000, school_years=[2019], seed=1).frame
    >>> model = RiskModel("logistic", {"vo": ["age_group", "vo_type"],
    ...                                "mbo": ["age_group", "mbo_level"]}).fit(frame)
    >>> aggregates = aggregate_shap(model, frame, sample_size=100)
    >>> int(aggregates.n_persons.sum()), len(aggregates.sample)
    (5000, 100)
    """
    if by not in X:
        raise SchemaError(f"column '{by}' not found in X: it is what the sums are taken per")
    if X[by].isna().any():
        raise SchemaError(f"column '{by}' is missing for {int(X[by].isna().sum())} rows: every row needs a {by}")
    explainers, union, groups = _explainers(model, X)
    # A logistic model's contributions are centred on its column means: a first pass takes them
    # (and the mean margin). Trees need no centre: their margins come with the contributions,
    # and the rows' mean-dependent sums wait until the last chunk has given the mean.
    logistic = any(explainer.is_logistic for explainer in explainers.values())
    mean_margin = _fit_means(explainers, X, groups, chunk_size) if logistic else None
    n_union = len(union)
    positions, regions = pd.factorize(X[by].to_numpy(), sort=True)
    chosen = np.zeros(len(X), dtype=bool)
    if sample_size > 0:
        rng = np.random.default_rng(random_state)
        chosen[rng.choice(len(X), size=min(sample_size, len(X)), replace=False)] = True
    plain, secant = np.zeros((len(regions), n_union + 4)), np.zeros((len(regions), n_union + 2))
    abs_sums = {g: np.zeros(n_union) for g in explainers}
    levels, sample_rows, sample_values = [], [], {g: [] for g in explainers}
    waiting, margin_sum = [], 0.0
    # Each chunk's contributions come per distinct row (``inverse``: a person's row); the sums
    # per region are the distinct rows' values times their persons there.
    for rows, group, mask, prepared, contributions, base, inverse in _explained_chunks(
            explainers, X, groups, chunk_size, distinct=True):
        explainer = explainers[group]
        margin = base + contributions.sum(axis=1)
        persons = _persons(positions[rows][mask], inverse, len(regions), len(base))
        counts = np.bincount(inverse, minlength=len(base)).astype(float)
        margin_sum += float(counts @ margin)
        waiting.append((explainer, persons, contributions, base, margin))
        if mean_margin is not None:
            _regional_sums(waiting.pop(), mean_margin, plain, secant)
        abs_sums[group] += counts @ np.abs(contributions)
        for variable in explainer.variables:
            summed = _level_sums(prepared[variable], contributions[inverse, union.index(variable)],
                                 explainer.missing_label(variable))
            summed.insert(0, "variable", variable)
            summed.insert(0, "model_group", group)
            levels.append(summed)
        picked = chosen[rows][mask]
        if picked.any():
            values, at = prepared.iloc[np.flatnonzero(picked)], inverse[picked]
            part = pd.DataFrame(np.column_stack([contributions[at], base[at], margin[at]]),
                                index=values.index, columns=[*union, "base", "margin"])
            part.insert(0, "model_group", group)
            sample_rows.append(part)
            sample_values[group].append(explainer.as_levels(values))
    if mean_margin is None:
        mean_margin = margin_sum / max(len(X), 1)  # the mean of base + contributions: the trees' margin
    for chunk in waiting:  # in the order they were explained, as the logistic model's are summed
        _regional_sums(chunk, mean_margin, plain, secant)
    # Everything was summed chunk by chunk into small tables: regions x terms, never rows.
    regions = pd.Index(regions, name=by)
    level_columns = ["model_group", "variable", "level", "size", "sum"]
    level_table = (pd.concat(levels) if levels else pd.DataFrame(columns=level_columns)).groupby(
        level_columns[:3], sort=False, as_index=False)[["size", "sum"]].sum()
    sample = pd.concat(sample_rows) if sample_rows else pd.DataFrame(columns=["model_group", *union, "base", "margin"])
    return ShapAggregates(
        by=by, variables=union, groups=tuple(explainers),
        model_variables={g: list(e.variables) for g, e in explainers.items()},
        n_persons=pd.Series(np.bincount(positions, minlength=len(regions)), index=regions, name="n_persons"),
        sums=pd.DataFrame(plain, index=regions, columns=[*union, "base", "margin", "probability", "link_at_mean"]),
        secant_sums=pd.DataFrame(secant, index=regions, columns=[*union, "base", "secant"]),
        abs_sums=pd.DataFrame(abs_sums, index=union).T,
        group_sizes=pd.Series({g: int((groups == g).sum()) for g in explainers}, name="n_persons"),
        levels=level_table.rename(columns={"size": "n_persons", "sum": "sum_contribution"}),
        national_mean_margin=mean_margin, sample=sample,
        sample_values={g: pd.concat(parts) for g, parts in sample_values.items() if parts},
    )
