"""Plots of the explanations: national drivers (``shap``'s beeswarm and scatter), waterfalls.

The beeswarm and dependence plots use the ``shap`` package's plotting on a sample of rows
(:attr:`ShapAggregates.sample`); they draw through pyplot, so the caller closes the figure
(``plt.close(fig)``; :func:`vsvrisk.tracking.log_figure` does). The other figures are plain
matplotlib ``Figure`` objects, independent of pyplot state.

Each dot of a beeswarm or dependence plot is one person of the sample: check such plots
against the output rules before they leave a secure environment (the tables are suppressed;
the dots are not aggregates).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

from vsvrisk.exceptions import ConfigError, DisclosureError
from vsvrisk.report.glossary import COLOURS, glossary

__all__ = ["drivers_figure", "beeswarm_figure", "dependence_figure", "waterfall_figure",
           "regions_figure", "comparison_figure"]

_MORE, _LESS = COLOURS["more"], COLOURS["less"]  # more need, less need: the reports' one pair of colours


def _codes(values: pd.Series) -> tuple[np.ndarray, list | None]:
    """Numbers to colour and place the dots by; the level names for a categorical variable."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        seen = np.unique(values.cat.codes.to_numpy())
        seen = seen[seen >= 0]
        position = np.full(len(values.cat.categories) + 1, np.nan)  # the last entry: code -1, missing
        position[seen] = np.arange(len(seen))
        return position[values.cat.codes.to_numpy()], [str(c) for c in values.cat.categories[seen]]
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype(float).to_numpy(), ["False", "True"]
    return values.to_numpy(dtype=float, na_value=np.nan), None


def _explanation(aggregates, group: str):
    import shap

    if group not in aggregates.sample_values:
        raise ConfigError(f"no sampled rows of model group '{group}': aggregate with sample_size > 0")
    rows = aggregates.sample[aggregates.sample["model_group"] == group]
    variables = aggregates.model_variables[group]
    values = aggregates.sample_values[group].loc[:, variables]
    data = np.column_stack([_codes(values[v])[0] for v in variables])
    return shap.Explanation(values=rows[variables].to_numpy(dtype=float), base_values=rows["base"].to_numpy(dtype=float),
                            data=data, feature_names=list(variables)), values


def drivers_figure(drivers: pd.DataFrame, top: int = 12, *, lang: str = "en") -> Figure:
    """Bars of mean |SHAP| per variable, one panel per model group (variables by their labels).

    Examples
    --------
    >>> drivers = pd.DataFrame({"model_group": ["vo", "vo"], "variable": ["age", "gender"],
    ...                         "rank": [1, 2], "mean_abs_shap": [0.3, 0.1]})
    >>> len(drivers_figure(drivers).axes)
    1
    """
    groups = list(dict.fromkeys(drivers["model_group"]))
    figure = Figure(figsize=(5.2 * len(groups), 0.8 + 0.32 * min(top, drivers.groupby("model_group").size().max())))
    for i, group in enumerate(groups):
        axes = figure.add_subplot(1, len(groups), i + 1)
        shown = drivers[drivers["model_group"] == group].dropna(subset=["mean_abs_shap"]).nsmallest(top, "rank")[::-1]
        g = glossary(lang)
        axes.barh([g.variable(v) for v in shown["variable"]], shown["mean_abs_shap"], color=_LESS)
        axes.set_title(f"{group}: {g.pick('gem.', 'mean')} |SHAP| (log-odds)", fontsize=10)
        axes.tick_params(labelsize=8)
        axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    return figure


def beeswarm_figure(aggregates, group: str, max_display: int = 12):
    """``shap.plots.beeswarm`` of a model group's sampled rows (a pyplot figure).

    Categorical variables are coloured by the position of their level (for ordered ones such
    as age group or mbo level, low to high); booleans 0/1.

    See Also
    --------
    dependence_figure : one variable's value against its contribution.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from vsvrisk.explain import aggregate_shap
    >>> from vsvrisk.models import RiskModel
    >>> from vsvrisk.synth import generate
    >>> frame = generate(3_000, school_years=[2019], seed=1).frame
    >>> model = RiskModel("logistic", {"vo": ["age_group", "vo_type"],
    ...                                "mbo": ["age_group", "mbo_level"]}).fit(frame)
    >>> aggregates = aggregate_shap(model, frame, sample_size=500)
    >>> figure = beeswarm_figure(aggregates, "mbo")
    >>> figure.axes[0].get_xlabel()
    'contribution to the log-odds of vsv'
    >>> plt.close(figure)
    >>> figure = dependence_figure(aggregates, "mbo", "mbo_level")
    >>> [t.get_text() for t in figure.axes[0].get_xticklabels()]
    ['1', '2', '3', '4', 'none']
    >>> plt.close(figure)
    """
    import matplotlib.pyplot as plt
    import shap

    explanation, _ = _explanation(aggregates, group)
    figure = plt.figure(figsize=(8, 0.6 + 0.4 * min(max_display, explanation.shape[1])))
    axes = figure.add_subplot()
    shap.plots.beeswarm(explanation, max_display=max_display, ax=axes, show=False, plot_size=None,
                        color_bar_label="value (level order)")
    axes.set_title(f"{group}: SHAP values of {len(explanation)} sampled persons (log-odds)", fontsize=10)
    axes.set_xlabel("contribution to the log-odds of vsv")
    figure.tight_layout()
    return figure


def dependence_figure(aggregates, group: str, variable: str):
    """``shap.plots.scatter`` of one variable: its value against its contribution (pyplot).

    Categorical variables are placed at their levels, in the encoder's order, with the level
    names on the axis. Examples: see :func:`beeswarm_figure`.
    """
    import matplotlib.pyplot as plt
    import shap

    if variable not in aggregates.model_variables.get(group, []):
        raise ConfigError(f"variable '{variable}' is not in the {group} model: choose one of {aggregates.model_variables.get(group)}")
    explanation, values = _explanation(aggregates, group)
    figure = plt.figure(figsize=(6.5, 4))
    axes = figure.add_subplot()
    shap.plots.scatter(explanation[:, variable], ax=axes, show=False, hist=False, dot_size=6, alpha=0.5)
    _, labels = _codes(values[variable])
    if labels is not None:
        axes.set_xticks(range(len(labels)), labels, rotation=30 if len(labels) > 6 else 0, fontsize=9)
    axes.axhline(0.0, color="#999999", linewidth=0.8)
    axes.set_title(f"{group}: {variable}", fontsize=10)
    axes.set_xlabel(variable)
    axes.set_ylabel("contribution (log-odds)")
    figure.tight_layout()
    return figure


def _waterfall(axes, start: float, start_label: str, end_label: str, terms: pd.Series, top: int,
               lang: str = "en", unit: str = "log-odds") -> None:
    """Horizontal waterfall from ``start`` through the largest ``terms`` to their sum."""
    g = glossary(lang)
    order = terms.abs().sort_values(ascending=False).index
    shown = terms[order[:top]]
    rest = terms[order[top:]]
    shown.index = [g.variable(term) for term in shown.index]
    if len(rest):
        shown = pd.concat([shown, pd.Series({g.pick(f"overige {len(rest)} factoren", f"other {len(rest)} terms"): rest.sum()})])
    labels = [start_label, *shown.index, end_label]
    position, reached = start, [start]
    for i, (_, value) in enumerate(shown.items(), start=1):
        axes.barh(i, value, left=position, color=_MORE if value > 0 else _LESS, height=0.7)
        axes.text(position + value, i, f" {g.number(value, 3, signed=True)} ", va="center",
                  ha="left" if value >= 0 else "right", fontsize=7)
        position += value
        reached.append(position)
    for y, x in ((0, start), (len(labels) - 1, position)):
        axes.plot([x], [y], marker="D", color="black")
        axes.text(x, y, f"  {g.number(x, 3)}", va="center", fontsize=8)
    axes.set_yticks(range(len(labels)), labels, fontsize=8)
    axes.invert_yaxis()
    axes.axvline(start, color="#999999", linewidth=0.8, linestyle=":")
    axes.set_xlabel(g.pick("gemiddelde log-odds van vsv", "mean log-odds of vsv") if unit == "log-odds"
                    else g.pick("behoefte per leerling (landelijk gemiddelde = 1)", "need per pupil (national mean = 1)"))
    axes.spines[["top", "right"]].set_visible(False)
    # Room for the value labels on both sides of the bars' reach.
    span = max(max(reached) - min(reached), 1e-3)
    axes.set_xlim(min(reached) - 0.3 * span, max(reached) + 0.3 * span)


def _fit_margins(figure: Figure) -> None:
    # Fixed margins in inches instead of tight_layout: 40 waterfalls draw twice as fast.
    width, height = figure.get_size_inches()
    figure.subplots_adjust(left=2.3 / width, right=1 - 0.25 / width, bottom=0.55 / height, top=1 - 0.4 / height)


def _region(table: pd.DataFrame, code, by: str) -> pd.DataFrame:
    region = table[table[by].astype(str) == str(code)]
    if region.empty:
        raise ConfigError(f"region {code} is not in the regions table")
    if region["contribution_log_odds"].isna().any():
        raise DisclosureError(f"region {code} has too few persons: its figures are suppressed")
    return region


def waterfall_figure(table: pd.DataFrame, region, *, top: int = 8, by: str = "region_code", lang: str = "en") -> Figure:
    """From the national mean log-odds to one region's, term by term (largest first).

    Examples
    --------
    >>> table = pd.DataFrame({"region_code": [1, 1], "region_name": ["A", "A"],
    ...     "term": ["age", "model_group_mix"], "contribution_log_odds": [0.3, -0.1],
    ...     "region_mean_log_odds": [-3.8, -3.8], "national_mean_log_odds": [-4.0, -4.0],
    ...     "need_share": [0.1, 0.1], "population_share": [0.08, 0.08]})
    >>> waterfall_figure(table, 1).axes[0].get_title()
    'A: mean log-odds −3.80 against −4.00 nationally'
    """
    rows = _region(table, region, by)
    first = rows.iloc[0]
    figure = Figure(figsize=(7.5, 1.2 + 0.3 * (min(top, len(rows)) + 3)))
    axes = figure.add_subplot()
    g = glossary(lang)
    _waterfall(axes, float(first["national_mean_log_odds"]), g.pick("land", "nation"), str(first.get("region_name", region)),
               rows.set_index("term")["contribution_log_odds"], top, lang)
    name = first.get("region_name", region)
    mean, nation = g.number(first["region_mean_log_odds"], 2), g.number(first["national_mean_log_odds"], 2)
    axes.set_title(g.pick(f"{name}: gemiddelde log-odds {mean} tegen {nation} landelijk",
                          f"{name}: mean log-odds {mean} against {nation} nationally"), fontsize=10)
    figure.text(0.99, 0.01, g.pick(f"aandeel behoefte {g.percent(first['need_share'], 2)}, aandeel leerlingen "
                                   f"{g.percent(first['population_share'], 2)}",
                                   f"need share {g.percent(first['need_share'], 2)}, population share "
                                   f"{g.percent(first['population_share'], 2)}"),
                ha="right", fontsize=7, color="#555555")
    _fit_margins(figure)
    return figure


def regions_figure(table: pd.DataFrame, *, measure: str = "log_odds", top: int = 6, by: str = "region_code",
                   lang: str = "en") -> Figure:
    """All regions at once: each region's gap to the nation, split by term.

    Parameters
    ----------
    table : DataFrame
        From :func:`~vsvrisk.explain.regional_decomposition`.
    measure : {"log_odds", "need_per_person"}, default="log_odds"
        ``log_odds``: mean log-odds minus the national mean. ``need_per_person``: need share
        divided by population share, minus 1 (the predicted need per person against the
        national mean; each term is its share term divided by the population share).
    top : int, default=6
        The terms with the largest mean |contribution| over the regions get a colour each;
        the others are one grey segment. A black dot marks the total.

    Suppressed regions are left out (named in the footnote).

    Examples
    --------
    >>> table = pd.DataFrame({"region_code": [1, 1, 2, 2], "region_name": ["A", "A", "B", "B"],
    ...     "term": ["age", "model_group_mix"] * 2, "contribution_log_odds": [0.3, 0.1, -0.2, 0.0],
    ...     "contribution_share": [0.01, 0.0, -0.01, 0.0], "population_share": [0.5] * 4})
    >>> [t.get_text() for t in regions_figure(table).axes[0].get_yticklabels()]
    ['B', 'A']
    """
    if measure not in ("log_odds", "need_per_person"):
        raise ConfigError(f"measure must be 'log_odds' or 'need_per_person', got {measure!r}")
    g = glossary(lang)
    shown = table.dropna(subset=["contribution_log_odds"]).copy()
    if measure == "need_per_person":
        shown["value"] = shown["contribution_share"] / shown["population_share"]
        label = g.pick("behoefte per leerling tegen het landelijk gemiddelde (1 = +100%)",
                       "need per person against the national mean (1 = +100%)")
        title = g.pick("Waarom de behoefte per leerling verschilt", "Why need per person differs")
    else:
        shown["value"] = shown["contribution_log_odds"]
        label = g.pick("gemiddelde log-odds van de regio min het landelijk gemiddelde",
                       "mean log-odds of the region minus the national mean")
        title = g.pick("Waarom de gemiddelde log-odds verschillen", "Why mean log-odds differ")
    wide = shown.pivot_table(index=[by, "region_name"], columns="term", values="value", aggfunc="first", sort=False)
    leading = wide.abs().mean().sort_values(ascending=False).index[:top]
    parts = wide[leading].copy()
    parts["other"] = wide.drop(columns=leading).sum(axis=1)
    total = wide.sum(axis=1).sort_values()
    parts = parts.loc[total.index]
    figure = Figure(figsize=(9, 1.6 + 0.26 * len(parts)))
    axes = figure.add_subplot()
    colours = [*colormaps["tab10"].colors[:top], (0.75, 0.75, 0.75)]
    y = np.arange(len(parts))
    positive, negative = np.zeros(len(parts)), np.zeros(len(parts))
    for colour, term in zip(colours, parts.columns):
        values = parts[term].to_numpy()
        axes.barh(y, values, left=np.where(values >= 0, positive, negative), color=colour, label=g.variable(term),
                  height=0.75)
        positive, negative = positive + np.clip(values, 0, None), negative + np.clip(values, None, 0)
    axes.plot(total.to_numpy(), y, "o", color="black", markersize=3.5, label=g.pick("totaal", "total"))
    axes.set_yticks(y, [name for _, name in parts.index], fontsize=7)
    axes.axvline(0.0, color="black", linewidth=0.6)
    axes.set_xlabel(label)
    axes.legend(fontsize=7, loc="lower right", frameon=False)
    axes.set_title(g.pick(f"{title} tussen regio’s: bijdrage per kenmerk",
                          f"{title} between regions: contributions per variable"), fontsize=10)
    hidden = sorted(set(table["region_name"]) - set(shown["region_name"]))
    if hidden:
        figure.text(0.01, 0.005, g.pick("onderdrukt (te weinig leerlingen): ", "suppressed (too few persons): ")
                    + ", ".join(map(str, hidden)), fontsize=6)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    return figure


def comparison_figure(comparison: pd.DataFrame, *, top: int = 8, lang: str = "en") -> Figure:
    """Waterfall from region B's need per person to region A's, largest terms first.

    The terms are in need per person (the budget's unit), so the ones shown are those that
    move the money most; in log-odds a term such as the vo/mbo mix looks small and would be
    folded into "other" while it moves many euros.

    Parameters
    ----------
    comparison : DataFrame
        From :func:`~vsvrisk.explain.compare_regions` (its ``attrs`` name the regions).

    Examples
    --------
    >>> comparison = pd.DataFrame({"term": ["age", "model_group_mix"], "contribution_need_per_person": [0.5, 0.1]})
    >>> comparison.attrs.update(name_a="A", name_b="B", need_per_person_b=0.8, difference_need_per_person=0.6)
    >>> comparison_figure(comparison).axes[0].get_title()
    'A against B: +0.600 in need per person (national mean = 1)'
    """
    attrs = comparison.attrs
    terms = comparison.set_index("term")["contribution_need_per_person"]
    start = attrs.get("need_per_person_b", 0.0)
    figure = Figure(figsize=(7.5, 1.2 + 0.3 * (min(top, len(terms)) + 3)))
    axes = figure.add_subplot()
    g = glossary(lang)
    _waterfall(axes, start, str(attrs.get("name_b", "B")), str(attrs.get("name_a", "A")), terms, top, lang,
               unit="need per person")
    difference = g.number(attrs.get("difference_need_per_person", terms.sum()), 3, signed=True)
    a, b = attrs.get("name_a", "A"), attrs.get("name_b", "B")
    axes.set_title(g.pick(f"{a} tegen {b}: {difference} behoefte per leerling (land = 1)",
                          f"{a} against {b}: {difference} in need per person (national mean = 1)"), fontsize=10)
    _fit_margins(figure)
    return figure
