"""National drivers, and why one region needs more than another: tables from summed SHAP values.

**Regional decomposition in log-odds.** Per person, ``margin = base + sum of contributions``.
Averaging over a region and subtracting the national average gives, exactly::

    mean margin(region) - mean margin(nation)
        = sum over variables of [mean contribution(region) - mean contribution(nation)]
          + [mean base(region) - mean base(nation)]            <- "model_group_mix"

The last term is there because vo and mbo have separate models with different base values:
a region with more mbo pupils than the nation has a higher mean base. With a logistic model a
variable's term is ``coef * (regional mean - national mean)`` of its columns (per model group).

**Need share.** A region's share of need is ``P_r / P`` (sums of predicted probabilities,
calibrated if the model is); its population share is ``n_r / N``. Their difference is
``sum over the region's persons of (p_i - mean p) / P``. Each person's probability gap to the
probability at the national mean margin ``m``, ``p_i - g(m)`` (``g``: the model's link, the
sigmoid or the calibration map on it), is split over the terms in proportion to the person's
centred log-odds contributions ``d_it`` (contribution minus its national mean; the base for
``model_group_mix``), which add up to ``margin_i - m``: with ``s_i`` the slope of the secant of
``g`` between ``m`` and ``margin_i``, ``p_i - g(m) = sum over t of s_i * d_it`` exactly. Summed
over the region, minus the region's population share of the national sum, divided by ``P``,
this splits ``share_r - n_r/N`` over the same terms, exactly. Where a region's terms all point
one way, the shares follow the log-odds; a term's share weighs persons by how steep the
sigmoid is at their risk, so a push on already high-risk pupils adds more need than the same
push on low-risk ones. (A plain proportional split of the regional share gap by the regional
log-odds terms would divide by their sum, which can be near zero or of the other sign.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vsvrisk.exceptions import ConfigError, DisclosureError
from vsvrisk.report import suppress_small_cells

__all__ = ["MIX_TERM", "national_drivers", "level_contributions", "regional_decomposition", "compare_regions"]

#: The term for the difference in mean base value (the vo/mbo mix of a region).
MIX_TERM = "model_group_mix"


def national_drivers(aggregates, *, threshold: int = 10) -> pd.DataFrame:
    """Mean |SHAP| per variable and model group, with its rank (1: the strongest driver).

    Parameters
    ----------
    aggregates : ShapAggregates
        From :func:`~vsvrisk.explain.aggregate_shap`.
    threshold : int, default=10
        Model groups of fewer persons are suppressed.

    Returns
    -------
    DataFrame
        ``model_group``, ``variable``, ``rank``, ``mean_abs_shap`` (log-odds),
        ``share_of_total`` (of the group's summed mean |SHAP|), ``n_persons``, ``suppressed``.

    Examples
    --------
    >>> from vsvrisk.models import RiskModel
    >>> from vsvrisk.synth import generate
    >>> from vsvrisk.explain import aggregate_shap
    >>> frame = generate(5_000, school_years=[2019], seed=1).frame
    >>> model = RiskModel("logistic", {"vo": ["age_group", "vo_type"],
    ...                                "mbo": ["age_group", "mbo_level"]}).fit(frame)
    >>> drivers = national_drivers(aggregate_shap(model, frame, sample_size=0))
    >>> drivers[["model_group", "rank"]].to_numpy().tolist()
    [['vo', 1], ['vo', 2], ['mbo', 1], ['mbo', 2]]
    """
    rows = []
    for group in aggregates.groups:
        n = int(aggregates.group_sizes[group])
        variables = aggregates.model_variables[group]
        mean_abs = aggregates.abs_sums.loc[group, variables] / max(n, 1)
        table = pd.DataFrame({"model_group": group, "variable": variables,
                              "mean_abs_shap": mean_abs.to_numpy(), "n_persons": n})
        table["share_of_total"] = table["mean_abs_shap"] / table["mean_abs_shap"].sum() if n else np.nan
        table["rank"] = table["mean_abs_shap"].rank(ascending=False, method="min").astype(int)
        rows.append(table.sort_values("rank", kind="stable"))
    drivers = pd.concat(rows, ignore_index=True)[
        ["model_group", "variable", "rank", "mean_abs_shap", "share_of_total", "n_persons"]]
    # No total across model groups is published, so one small group is not recoverable.
    return suppress_small_cells(drivers, threshold=threshold, total_published=False)


def level_contributions(aggregates, *, threshold: int = 10) -> pd.DataFrame:
    """Mean contribution per level of each variable and model group (a dependence table).

    Levels of fewer than ``threshold`` persons are suppressed, with a second level where
    needed so that a blanked level cannot be recovered from the group's total.

    Returns
    -------
    DataFrame
        ``model_group``, ``variable``, ``level``, ``n_persons``, ``mean_contribution``
        (log-odds), ``suppressed``.

    Examples
    --------
    >>> from vsvrisk.models import RiskModel
    >>> from vsvrisk.synth import generate
    >>> from vsvrisk.explain import aggregate_shap
    >>> frame = generate(5_000, school_years=[2019], seed=1).frame
    >>> model = RiskModel("logistic", {"vo": ["vo_type"], "mbo": ["mbo_level"]}).fit(frame)
    >>> levels = level_contributions(aggregate_shap(model, frame, sample_size=0))
    >>> levels.loc[levels["variable"] == "mbo_level", "level"].tolist()
    ['1', '2', '3', '4', 'none']
    """
    table = aggregates.levels.copy()
    table["mean_contribution"] = table["sum_contribution"] / table["n_persons"]
    table = table.drop(columns="sum_contribution")
    blocks = [suppress_small_cells(block, threshold=threshold, total_published=True)
              for _, block in table.groupby(["model_group", "variable"], sort=False)]
    if not blocks:
        return table.assign(suppressed=pd.Series(dtype=bool))
    return pd.concat(blocks, ignore_index=True)


def _wide_decomposition(aggregates) -> pd.DataFrame:
    """One row per region: mean margin, shares, and each term in log-odds and in share."""
    sums, weighted = aggregates.sums, aggregates.secant_sums
    n = aggregates.n_persons.to_numpy(dtype=float)
    total_n, total_p = n.sum(), sums["probability"].sum()
    per_person = np.divide(1.0, n, out=np.full_like(n, np.nan), where=n > 0)
    population = n / total_n
    terms = {**{v: v for v in aggregates.variables}, MIX_TERM: "base"}
    out = {"n_persons": aggregates.n_persons.to_numpy(),
           "region_mean_log_odds": sums["margin"].to_numpy() * per_person,
           "need_share": sums["probability"].to_numpy() / total_p,
           "population_share": population}
    for term, column in terms.items():
        national_mean = sums[column].sum() / total_n
        out[f"log_odds:{term}"] = sums[column].to_numpy() * per_person - national_mean
        # sum over the region of s_i * d_it, with d_it = contribution - its national mean.
        regional = weighted[column].to_numpy() - national_mean * weighted["secant"].to_numpy()
        share = (regional - population * regional.sum()) / total_p
        if term == MIX_TERM:  # the link at the mean margin differs by model group (calibration)
            at_mean = sums["link_at_mean"].to_numpy()
            share = share + (at_mean - population * at_mean.sum()) / total_p
        out[f"share:{term}"] = share
    wide = pd.DataFrame(out, index=aggregates.n_persons.index)
    wide.attrs["national_mean_log_odds"] = sums["margin"].sum() / total_n
    return wide


def regional_decomposition(aggregates, *, names: dict | None = None, threshold: int = 10) -> pd.DataFrame:
    """Why each region's predicted risk differs from the nation's, split over the variables.

    Parameters
    ----------
    aggregates : ShapAggregates
        From :func:`~vsvrisk.explain.aggregate_shap` over the nation (``by="region_code"``).
    names : dict, default=None
        Region code -> name. ``None``: the 40 regions of the catalogue (every one gets rows,
        with zero persons if absent) when the aggregates are per ``region_code``.
    threshold : int, default=10
        Regions of fewer persons are suppressed (and one more region if only one would be,
        since the national figures are published).

    Returns
    -------
    DataFrame
        Long: one row per region and term (each variable, then ``model_group_mix``), with
        ``region_code``, ``region_name``, ``n_persons``, ``term``, ``contribution_log_odds``,
        ``contribution_share``, ``region_mean_log_odds``, ``national_mean_log_odds``,
        ``need_share``, ``population_share``, ``suppressed``. Per region the log-odds terms add
        up to ``region_mean_log_odds - national_mean_log_odds`` and the share terms to
        ``need_share - population_share``.

    Examples
    --------
    >>> from vsvrisk.models import RiskModel
    >>> from vsvrisk.synth import generate
    >>> from vsvrisk.explain import aggregate_shap
    >>> frame = generate(5_000, school_years=[2019], seed=1).frame
    >>> model = RiskModel("logistic", {"vo": ["age_group", "vo_type"],
    ...                                "mbo": ["age_group", "mbo_level"]}).fit(frame)
    >>> table = regional_decomposition(aggregate_shap(model, frame, sample_size=0))
    >>> table["region_code"].nunique(), sorted(table["term"].unique())
    (40, ['age_group', 'mbo_level', 'model_group_mix', 'vo_type'])
    >>> one = table[table["region_code"] == 21]
    >>> gap = one["region_mean_log_odds"].iloc[0] - one["national_mean_log_odds"].iloc[0]
    >>> bool(abs(one["contribution_log_odds"].sum() - gap) < 1e-9)
    True
    """
    by = aggregates.by
    if names is None and by == "region_code":
        from vsvrisk.data.regions import region_names

        names = region_names()
    wide = _wide_decomposition(aggregates)
    national = wide.attrs["national_mean_log_odds"]
    if names is not None:
        missing = wide.index.difference(pd.Index(list(names)))
        if len(missing):
            raise ConfigError(f"{by} {missing[0]} is not a known region: the data's {by} must be in the region catalogue")
        wide = wide.reindex(pd.Index(list(names), name=by))
        wide["n_persons"] = wide["n_persons"].fillna(0).astype(int)
    wide = wide.rename_axis(by).reset_index()
    wide.insert(1, "region_name", wide[by].map(names) if names is not None else wide[by].astype(str))
    wide = suppress_small_cells(wide, threshold=threshold, total_published=True)
    terms = [*aggregates.variables, MIX_TERM]
    fixed = [by, "region_name", "n_persons", "region_mean_log_odds", "need_share", "population_share", "suppressed"]
    parts = []
    for term in terms:
        part = wide[fixed].copy()
        part.insert(3, "term", term)
        part.insert(4, "contribution_log_odds", wide[f"log_odds:{term}"])
        part.insert(5, "contribution_share", wide[f"share:{term}"])
        parts.append(part)
    long = pd.concat(parts, ignore_index=True)
    long.insert(long.columns.get_loc("region_mean_log_odds") + 1, "national_mean_log_odds", national)
    order = {term: i for i, term in enumerate(terms)}
    long = long.sort_values([by, "term"], key=lambda s: s.map(order) if s.name == "term" else s,
                            kind="stable", ignore_index=True)
    long.attrs["suppression"] = wide.attrs.get("suppression")
    return long


def compare_regions(table: pd.DataFrame, a, b, *, by: str = "region_code") -> pd.DataFrame:
    """Region A versus region B: the difference of their mean log-odds, per variable.

    Parameters
    ----------
    table : DataFrame
        From :func:`regional_decomposition` (or ``regions.csv`` read back).
    a, b : region codes
    by : str, default="region_code"

    Returns
    -------
    DataFrame
        One row per term, the largest difference in need per person first (the budget's
        unit, so a term that moves much money is never hidden below ones that only look large
        in log-odds): ``term``, ``region_a`` and
        ``region_b`` (each region's term against the nation, log-odds),
        ``contribution_log_odds`` (A minus B) and ``contribution_need_per_person``: A minus B
        of each region's share term divided by its population share, i.e. the term's part in
        the difference of the regions' predicted need per person, in units of the national
        mean risk (``+0.10``: ten percent of the national mean more per person). The first
        adds up exactly to the difference of the regions' mean log-odds, the second to
        ``need_share / population_share`` of A minus that of B; both totals are in ``attrs``
        (``difference_log_odds``, ``difference_need_per_person``), with the regions' names and
        mean log-odds. (A plain difference of the share terms would mix in the regions' sizes.)

    Raises
    ------
    ConfigError
        A region that is not in the table.
    DisclosureError
        A region whose figures are suppressed (too few persons).

    Examples
    --------
    >>> table = pd.DataFrame({"region_code": [1, 1, 2, 2], "region_name": ["A", "A", "B", "B"],
    ...     "term": ["age", "model_group_mix"] * 2, "contribution_log_odds": [0.3, 0.1, -0.2, 0.0],
    ...     "contribution_share": [0.01, 0.0, -0.01, 0.0], "region_mean_log_odds": [-3.6, -3.6, -4.2, -4.2],
    ...     "need_share": [0.6, 0.6, 0.4, 0.4], "population_share": [0.5, 0.5, 0.5, 0.5]})
    >>> compare_regions(table, 1, 2)[["term", "contribution_log_odds"]].round(2).to_numpy().tolist()
    [['age', 0.5], ['model_group_mix', 0.1]]
    """
    needed = [by, "term", "contribution_log_odds", "contribution_share", "region_mean_log_odds",
              "need_share", "population_share"]
    absent = [c for c in needed if c not in table.columns]
    if absent:
        raise ConfigError(f"the regions table lacks column '{absent[0]}': pass the table of regional_decomposition (regions.csv)")
    rows = {}
    for label, code in (("a", a), ("b", b)):
        region = table[table[by].astype(str) == str(code)]
        if region.empty:
            raise ConfigError(f"region {code} is not in the regions table: choose one of {sorted(table[by].unique().tolist())}")
        if region["contribution_log_odds"].isna().any():
            raise DisclosureError(f"region {code} has too few persons: its figures are suppressed and cannot be compared")
        rows[label] = region.set_index("term")
    ra, rb = rows["a"], rows["b"]
    first_a, first_b = ra.iloc[0], rb.iloc[0]
    terms = ra.index.union(rb.index, sort=False)
    ra, rb = ra.reindex(terms), rb.reindex(terms)
    result = pd.DataFrame({
        "term": terms,
        "region_a": ra["contribution_log_odds"].fillna(0.0).to_numpy(),
        "region_b": rb["contribution_log_odds"].fillna(0.0).to_numpy(),
        "contribution_need_per_person": (ra["contribution_share"].fillna(0.0) / float(first_a["population_share"])
                                         - rb["contribution_share"].fillna(0.0) / float(first_b["population_share"])).to_numpy(),
    })
    result.insert(3, "contribution_log_odds", result["region_a"] - result["region_b"])
    result = result.iloc[np.argsort(-result["contribution_need_per_person"].abs().to_numpy(), kind="stable")]
    result = result.reset_index(drop=True)
    result.attrs.update({
        "region_a": a, "region_b": b,
        "name_a": str(first_a.get("region_name", a)), "name_b": str(first_b.get("region_name", b)),
        "mean_log_odds_a": float(first_a["region_mean_log_odds"]),
        "mean_log_odds_b": float(first_b["region_mean_log_odds"]),
        "difference_log_odds": float(first_a["region_mean_log_odds"] - first_b["region_mean_log_odds"]),
        "need_per_person_a": float(first_a["need_share"] / first_a["population_share"]),
        "need_per_person_b": float(first_b["need_share"] / first_b["population_share"]),
        "difference_need_per_person": float(first_a["need_share"] / first_a["population_share"]
                                            - first_b["need_share"] / first_b["population_share"]),
    })
    return result
