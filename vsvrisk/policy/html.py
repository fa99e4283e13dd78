"""The policy pages: one self-contained HTML page per analysis, in the style of the other reports.

The frame, stylesheet and story block (model, cohort, rules) are the reports' own
(:mod:`vsvrisk.report._page`, :mod:`vsvrisk.report.story`); every label comes from the
glossary (:mod:`vsvrisk.report.glossary`), Dutch by default and English on request, with the
numbers written as the language writes them and the glossary's colours (less money orange, more
money blue). Charts are inline SVG, every text is escaped, and there is no timestamp (the time
of a run lives in ``manifest.json``), so the same inputs give byte-identical pages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from vsvrisk.report._page import facts as facts_table
from vsvrisk.report._page import page
from vsvrisk.report.charts import figure_svg
from vsvrisk.report.glossary import COLOURS, Glossary, glossary
from vsvrisk.report.story import story_html
from vsvrisk.report.watch import watch_sentences

__all__ = ["render_prevention_html", "render_registration_html", "render_path_html", "watch_lines"]

_EXTRA_CSS = "table.data.wrap td{white-space:normal}ul.watch li{margin:.3em 0}"
_LINE = "#333333"  # axes and whiskers, as on the other charts


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def _points(g: Glossary, value, digits: int = 1, signed: bool = True) -> str:
    """A value already in percent (``loss_pct``, ``gap_pct``) in the language's notation."""
    return "–" if _missing(value) else g.number(value, digits, signed) + "%"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _head(g: Glossary, title: str, story, lead: str) -> list[str]:
    return [f"<h1>{escape(title)}</h1>", story_html(story, g), f'<p class="lead">{escape(lead)}</p>']


def _made(g: Glossary, pairs: Iterable[tuple[str, Any]]) -> str:
    return f"<h2>{escape(g.label('facts'))}</h2>" + facts_table(pairs)


def _table(heads: list[str], rows: list[list[str]], numeric: set[int], css: str = "data") -> str:
    head = "".join(f'<th{" class=num" if i in numeric else ""}>{escape(h)}</th>' for i, h in enumerate(heads))
    body = "".join("<tr>" + "".join(f'<td{" class=num" if i in numeric else ""}>{escape(c)}</td>'
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f'<div class="scroll"><table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _axes(height: float, width: float = 8.0):
    fig = Figure(figsize=(width, height))
    return fig, fig.add_subplot()


def _finish(ax) -> None:
    ax.grid(axis="x", color="#dddddd")
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)


# --------------------------------------------------------------------------- prevention


def _prevention_chart(summary: pd.DataFrame, g: Glossary) -> str:
    data = summary.iloc[::-1]
    fig, ax = _axes(0.5 * len(data) + 1.2)
    y = np.arange(len(data))
    noise = data["noise_eur_sd"].fillna(0).to_numpy(float)
    ax.barh(y, 2 * noise, left=-noise, color=COLOURS["band"], height=0.8,
            label=g.pick("ruis (± 1 sd van het bedrag)", "noise (± 1 sd of the amount)"))
    loss = data["loss_eur"].to_numpy(float)
    error = np.vstack([loss - data["loss_eur_low"].to_numpy(float), data["loss_eur_high"].to_numpy(float) - loss])
    ax.barh(y, loss, color=COLOURS["less"], height=0.4, xerr=error, error_kw={"ecolor": _LINE, "capsize": 3},
            label=g.pick("verlies (gemiddeld; lijn: kleinste–grootste)", "loss (mean; line: smallest–largest)"))
    ax.axvline(0, color=_LINE, linewidth=0.8)
    ax.set_yticks(y, data["region_name"].astype(str).tolist(), fontsize=9)
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: g.euro(x)))
    ax.set_xlabel(g.pick("verlies van de regio die voorkomt (€)", "loss of the preventing region (€)"))
    ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    _finish(ax)
    return figure_svg(fig)


def render_prevention_html(summary: pd.DataFrame, table: pd.DataFrame, facts: Iterable[tuple[str, Any]], *,
                           story: Mapping[str, Any] | None = None, lang: str = "nl") -> str:
    """The prevention check (:func:`vsvrisk.policy.prevention_check`) as one page.

    ``facts`` are (label, value) pairs in the page's language; ``story`` (the model, cohort and
    rules, :mod:`vsvrisk.report.story`) heads the page.
    """
    g = glossary(lang)
    fraction = float(summary["fraction"].iloc[0])
    rows = [[str(r.region_name), g.number(r.n_persons),
             f"{g.number(r.expected_vsv_before, 1)} → {g.number(r.expected_vsv_after, 1)}",
             f"{g.number(r.observed_vsv_before, 1)} → {g.number(r.observed_vsv_after, 1)}",
             g.euro(r.amount_before_eur), g.euro(r.loss_eur), f"{g.euro(r.loss_eur_low)} – {g.euro(r.loss_eur_high)}",
             _points(g, r.loss_pct, 2, signed=False), g.euro(r.noise_eur_sd),
             f"{r.largest_gain_region} ({g.euro(r.largest_gain_eur, True)})"] for r in summary.itertuples()]
    heads = [g.column("region_name"), g.column("n_persons"),
             *(g.label(k) for k in ("vsv_expected", "vsv_observed", "amount_before", "loss", "loss_range", "loss_pct",
                                    "noise", "winner"))]
    mean = table.groupby(["region_code", "region_name", "preventing_region"])["change_eur"].mean().unstack()
    names = dict(zip(summary["preventing_region"], summary["region_name"]))
    wide = [[str(code), str(name), *(g.euro(v, True) for v in values)] for (code, name), values in mean.iterrows()]
    share, draws = g.percent(fraction, 0), int(summary["n_seeds"].iloc[0])
    lead = g.pick(
        f"Het budget volgt de voorspelde, niet de waargenomen uitval: een regio die uitval voorkomt, houdt dat jaar "
        f"haar geld. Maar het model wordt op nieuwere cohorten opnieuw geschat. Hier voorkomt één regio (telkens een "
        f"andere) {share} van haar verwachte vsv'ers in het nieuwere cohort; het model wordt daarop opnieuw geschat "
        f"zoals het ministerie dat doet, en het budget opnieuw verdeeld. Het verlies is het bedrag zonder preventie "
        f"min het bedrag met preventie, gemiddeld over {draws} trekkingen van de uitkomsten (dezelfde toevalsgetallen "
        f"met en zonder preventie, zodat alleen het effect verschilt). De ruis is hoeveel het bedrag van de regio "
        f"zonder preventie al over de trekkingen schommelt: een verlies ruim kleiner dan de ruis valt in het niet.",
        f"The budget follows predicted, not observed, dropout: a region that prevents dropout keeps its money that "
        f"year. But the model is refitted on newer cohorts. Here one region (each in turn) prevents {share} of its "
        f"expected vsv'ers in the newer cohort; the model is refitted as the ministry would, and the budget split "
        f"again. The loss is the amount without prevention minus the amount with it, averaged over {draws} draws "
        f"of the outcomes (the same random numbers with and without prevention, so that only the effect differs). "
        f"The noise is how much the region's amount without prevention already varies over the draws: a loss well "
        f"below the noise is lost in it.")
    sections = [*_head(g, g.pick("Preventie: houdt een regio die uitval voorkomt haar geld?",
                                 "Prevention: does a region that prevents dropout keep its money?"), story, lead),
                _table(heads, rows, {1, 4, 5, 6, 7, 8}, "data wrap"),
                f"<figure>{_prevention_chart(summary, g)}</figure>",
                f"<h2>{escape(g.pick('Verandering per regio (gemiddeld over de trekkingen)', 'Change per region (mean over the draws)'))}</h2>",
                _table([g.column("region_code"), g.column("region_name"),
                        *(g.pick(f"preventie in {names[c]}", f"prevention in {names[c]}") for c in mean.columns)],
                       wide, set(range(2, 2 + len(mean.columns)))),
                _made(g, facts)]
    return page(g.pick("Preventie en het budget", "Prevention and the budget"), sections, g, extra_css=_EXTRA_CSS)


# --------------------------------------------------------------------------- registration


def _registration_chart(table: pd.DataFrame, g: Glossary, n: int = 15) -> str:
    data = table.dropna(subset=["eur_per_person_fixed"]).nlargest(n, "eur_per_person_fixed").iloc[::-1]
    fig, ax = _axes(0.3 * len(data) + 1.0)
    y = np.arange(len(data))
    ax.barh(y, data["eur_per_person_fixed"].to_numpy(float), color=COLOURS["more"])
    ax.set_yticks(y, [f"{r.region_name}: {g.variable(r.registration)}" for r in data.itertuples()], fontsize=8)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: g.euro(x)))
    ax.set_xlabel(g.pick("euro's per extra geregistreerde leerling (model en regels vast)",
                         "euros per newly registered pupil (model and rules fixed)"))
    _finish(ax)
    return figure_svg(fig)


def watch_lines(watch: pd.DataFrame, lang: str = "nl") -> list[str]:
    """One sentence per risk to watch (from :func:`vsvrisk.policy.risks_to_watch`).

    Examples
    --------
    >>> watch = pd.DataFrame({"region_name": ["Rijnmond"], "registration": ["crime_suspect"],
    ...                       "eur_per_person": [512.4], "eur_per_pp": [21000.0]})
    >>> watch_lines(watch)[0]
    'Rijnmond: verdachte van een misdrijf (geregistreerd door politie) levert €\\xa0512 per extra geregistreerde leerling op, €\\xa021.000 per procentpunt meer geregistreerden.'
    """
    return watch_sentences(watch.to_dict("records"), glossary(lang))


def render_registration_html(table: pd.DataFrame, national: pd.DataFrame, watch: pd.DataFrame,
                             facts: Iterable[tuple[str, Any]], *, share_pp: float = 1.0,
                             story: Mapping[str, Any] | None = None, lang: str = "nl") -> str:
    """The registration elasticity (:func:`vsvrisk.policy.registration_elasticity`) as one page."""
    g = glossary(lang)
    refit = "eur_per_person_refit" in national.columns
    heads = [g.label(k) for k in ("registration", "who", "changed", "per_person_fixed", "per_person_rebalanced",
                                  *(("per_person_refit",) if refit else ()))]
    rows = [[_capital(g.variable(r.registration)), g.registrar(r.registration), g.number(r.n_changed),
             g.euro(r.eur_per_person_fixed), g.euro(r.eur_per_person_rebalanced),
             *((g.euro(r.eur_per_person_refit),) if refit else ())] for r in national.itertuples()]
    points = g.number(share_pp, 1 if share_pp % 1 else 0)
    lead = g.pick(
        "Een deel van de kenmerken in het model zijn registraties van lokale instanties (jeugdzorg, politie, "
        "schuldhulpverlening). Registreert een regio meer van haar leerlingen, dan stijgt hun voorspelde risico en "
        "daarmee de behoefte van de regio, zonder dat één leerling meer risico loopt. Hier registreert elke regio "
        f"(telkens alleen) {points} procentpunt meer van haar leerlingen, willekeurig gekozen onder wie nog niet "
        "geregistreerd was. 'Model vast' is wat de verdeelregel betaalt voor de extra behoefte (de prijs van "
        "behoefte, lambda, keer de extra behoefte); 'na herverdeling' is wat de regio houdt nadat het vaste budget "
        "opnieuw is verdeeld (een deel betaalt zij zelf, de rest de andere regio's)",
        "Some of the model's characteristics are registrations by local bodies (youth care, police, debt "
        "counselling). If a region registers more of its pupils, their predicted risk rises and with it the "
        "region's need, without any pupil being at more risk. Here each region (on its own) registers "
        f"{points} percentage point more of its pupils, chosen at random among those not yet registered. 'Model "
        "fixed' is what the rule pays for the extra need (the price of need, lambda, times the extra need); 'after "
        "rebalancing' is what the region keeps once the fixed budget is split again (part of it the region pays "
        "itself, the rest the other regions)")
    lead += g.pick("; 'na herschatting' is wat overblijft nadat het model is geschat op een cohort met dezelfde extra "
                   "registraties.", "; 'after a refit' is what is left once the model is fitted on a cohort with the "
                   "same extra registrations.") if refit else "."
    if "eur_per_person_refit" in watch.columns:
        lead += g.pick(" Bij de risico's hieronder staat ook wat overblijft nadat het model is geschat op een cohort "
                       "met dezelfde extra registraties.", " The risks below also say what is left once the model "
                       "is fitted on a cohort with the same extra registrations.")
    per_region = table.sort_values(["registration", "eur_per_person_fixed"], ascending=[True, False])
    detail = [[str(r.region_code), str(r.region_name), _capital(g.variable(r.registration)), g.number(r.n_changed),
               g.euro(r.eur_fixed), g.euro(r.eur_rebalanced), g.euro(r.eur_per_person_fixed), g.euro(r.eur_per_pp_fixed)]
              for r in per_region.itertuples()]
    detail_heads = [g.column("region_code"), g.column("region_name"),
                    *(g.label(k) for k in ("registration", "changed", "eur_fixed", "eur_rebalanced",
                                           "per_person_fixed", "per_pp"))]
    sections = [*_head(g, g.pick("Registratie: volgt het geld de behoefte of de registratie?",
                                 "Registration: does money follow need, or paperwork?"), story, lead),
                f"<h2>{escape(g.pick('Landelijk', 'Nationally'))}</h2>",
                _table(heads, rows, set(range(2, len(heads))), "data wrap"),
                f"<h2>{escape(g.label('risk_to_watch'))}</h2>",
                '<ul class="watch">' + "".join(f"<li>{escape(line)}</li>" for line in watch_lines(watch, lang)) + "</ul>",
                f"<figure>{_registration_chart(table, g)}</figure>",
                f"<details><summary>{escape(g.pick('Per regio en registratie', 'Per region and registration'))}</summary>"
                + _table(detail_heads, detail, {3, 4, 5, 6, 7}) + "</details>", _made(g, facts)]
    return page(g.pick("Registratie en het budget", "Registration and the budget"), sections, g, extra_css=_EXTRA_CSS)


# --------------------------------------------------------------------------- path


def _path_chart(table: pd.DataFrame, tolerance_pct: float, g: Glossary) -> str:
    bands = list(dict.fromkeys(table["band"]))
    fig = Figure(figsize=(3.2 * len(bands) + 1, 3.4))
    axes = fig.subplots(1, len(bands), sharey=True, squeeze=False)[0]
    for ax, band in zip(axes, bands):
        block = table[table["band"] == band]
        ax.axhspan(-tolerance_pct, tolerance_pct, color=COLOURS["band"], zorder=0)
        for _, line in block.groupby("region_code"):
            ax.plot(line["year"], line["gap_pct"], color=COLOURS["bar"], linewidth=0.8, alpha=0.6, marker="o",
                    markersize=2)
        ax.axhline(0, color=_LINE, linewidth=0.8)
        ax.set_title(f"{g.label('band').lower()} {g.percent(band, 1)}", fontsize=9)
        ax.set_xticks(sorted(block["year"].unique()))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda x, _: g.number(x, 0)))
        ax.tick_params(labelsize=8)
        ax.spines[["top", "right"]].set_visible(False)
    axes[0].set_ylabel(g.pick("bedrag t.o.v. bedrag op basis van behoefte (%)", "amount against need-based amount (%)"),
                       fontsize=8)
    fig.tight_layout()
    return figure_svg(fig)


def render_path_html(path, facts: Iterable[tuple[str, Any]], *, story: Mapping[str, Any] | None = None,
                     lang: str = "nl") -> str:
    """The multi-year path (:func:`vsvrisk.policy.allocation_path`) as one page."""
    g = glossary(lang)
    table, years = path.table, sorted(path.table["year"].unique())
    not_yet = f"{g.label('not_yet')} {years[-1]}"
    band_rows = [[g.percent(r["band"], 1), not_yet if _missing(r["all_reached_year"]) else str(r["all_reached_year"]),
                  "–" if _missing(r["years_to_converge"]) else str(r["years_to_converge"]), str(r["n_not_reached"]),
                  _points(g, r["largest_change_pct"], 1, signed=False), *(str(r[f"n_reached_{y}"]) for y in years)]
                 for r in path.bands.to_dict("records")]
    tolerance = _points(g, path.tolerance_pct, 1, signed=False)
    lead = g.pick(
        "Elk jaar verdeelt de regel het budget naar de behoefte van dat jaar, maar het bedrag van een regio mag niet "
        "meer veranderen dan de dempingsband ten opzichte van het jaar ervoor. Een regio heeft haar bedrag op basis "
        "van behoefte (de verdeling van dat jaar zonder band) bereikt vanaf het jaar waarin haar bedrag er binnen "
        f"{tolerance} van ligt en dat tot het eind van het pad blijft. Zolang een regio door de band wordt "
        "vastgehouden, wijken ook de bedragen van de andere regio's af: het budget is vast.",
        "Each year the rule splits the budget by that year's need, but a region's amount may not change by more "
        "than the dampening band against the year before. A region has reached its need-based amount (that "
        f"year's split without a band) from the year its amount lies within {tolerance} of it and stays there to "
        "the end of the path. While a region is held by the band, the other regions' amounts differ too: the "
        "budget is fixed.")
    sections = [*_head(g, g.pick("Meerjarenpad: wanneer krijgt elke regio haar bedrag op basis van behoefte?",
                                 "Multi-year path: when does each region get its need-based amount?"), story, lead),
                _table([*(g.label(k) for k in ("band", "all_reached", "years", "not_reached", "largest_change")),
                        *(g.pick(f"bereikt {y}", f"reached {y}") for y in years)], band_rows,
                       set(range(2, 5 + len(years)))),
                f"<figure>{_path_chart(table, path.tolerance_pct, g)}</figure>"]
    for band, block in table.groupby("band", sort=True):
        regions = path.regions[path.regions["band"] == band].set_index("region_code")
        amounts = block.pivot(index=["region_code", "region_name"], columns="year", values="amount_eur")
        last = block[block["year"] == years[-1]].set_index("region_code")["target_eur"]
        rows = []
        for (code, name), values in amounts.iterrows():
            reached = regions.loc[code, "reached_year"]
            rows.append([str(code), str(name), *(g.euro(v) for v in values), g.euro(last.loc[code]),
                         not_yet if _missing(reached) else str(reached),
                         _points(g, regions.loc[code, "largest_change_pct"])])
        heads = [g.column("region_code"), g.column("region_name"), *map(str, years),
                 f"{g.label('target')} {years[-1]}", g.label("reached"), g.label("largest_change")]
        summary = g.pick(f"Band {g.percent(band, 1)}: bedragen per jaar", f"Band {g.percent(band, 1)}: amounts per year")
        sections.append(f"<details><summary>{escape(summary)}</summary>"
                        + _table(heads, rows, set(range(2, len(heads)))) + "</details>")
    sections.append(_made(g, facts))
    return page(g.pick("Meerjarenpad onder de dempingsband", "Multi-year path under the dampening band"), sections, g,
                extra_css=_EXTRA_CSS)
