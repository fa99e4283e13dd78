"""The policy pages: one self-contained HTML page per analysis, in Dutch, as the other reports.

Inline CSS (:mod:`vsvrisk.report.html`), charts as inline SVG, every text escaped, no timestamp
(the time of a run lives in ``manifest.json``), so the same inputs give byte-identical pages.
Every label a person reads is in :data:`LABELS` (Dutch), one place for a glossary to take over.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from vsvrisk.report.charts import figure_svg
from vsvrisk.report.html import _CSS

__all__ = ["LABELS", "REGISTRATION_LABELS", "euro_text", "number_text", "scenario_text", "render_prevention_html",
           "render_registration_html", "render_path_html", "watch_lines"]

#: Every label on the pages (Dutch).
LABELS = {
    "region": "Regio", "code": "Code", "persons": "Leerlingen", "facts": "Hoe dit is gemaakt",
    "vsv_expected": "Verwachte vsv'ers (voor → na)", "vsv_observed": "Waargenomen vsv'ers (voor → na)",
    "amount_before": "Bedrag zonder preventie", "loss": "Verlies", "loss_range": "Verlies (kleinste–grootste)",
    "loss_pct": "Verlies in % van het bedrag", "noise": "Ruis: spreiding van het bedrag zonder preventie",
    "winner": "Grootste winnaar", "registration": "Registratie", "who": "Wie registreert",
    "changed": "Extra geregistreerd", "per_person_fixed": "€ per extra geregistreerde (model vast)",
    "per_person_rebalanced": "€ per extra geregistreerde (na herverdeling)",
    "per_person_refit": "€ per extra geregistreerde (na herschatting)", "per_pp": "€ per procentpunt (model vast)",
    "band": "Dempingsband", "all_reached": "Alle regio's bereikt in", "years": "Jaren",
    "not_reached": "Regio's niet bereikt", "largest_change": "Grootste jaarlijkse verandering",
    "reached": "Bereikt in", "target": "Bedrag op basis van behoefte", "not_yet": "niet t/m",
}
#: The registrations in Dutch, and who registers them.
REGISTRATION_LABELS = {
    "psychosocial": ("Jeugdzorg of jeugd-ggz (psychosociaal)", "gemeente en jeugdzorgaanbieders"),
    "crime_suspect": ("Verdachte van een misdrijf", "politie"),
    "problem_debts": ("Problematische schulden in het huishouden", "schuldhulpverlening"),
    "benefits_household": ("Bijstand in het huishouden", "gemeente"),
    "parent_crime_suspect": ("Ouder verdachte van een misdrijf", "politie"),
    "parent_mental_health": ("Ouder in specialistische ggz", "ggz-aanbieders"),
}
_EXTRA_CSS = "table.data.wrap td{white-space:normal}ul.watch li{margin:.3em 0}span.note{color:#777}"
_BAR, _NOISE, _LINE = "#4a6fa5", "#c9d3e3", "#333333"


def _page(title: str, sections: list[str]) -> str:
    return ('<!DOCTYPE html>\n<html lang="nl"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{_CSS}{_EXTRA_CSS}</style></head>"
            "<body><main>\n" + "\n".join(sections) + "\n</main></body></html>\n")


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def _number(value, digits: int = 0) -> str:
    """Dutch notation: 1.234.567,8 (a point between thousands, a comma before decimals)."""
    if _missing(value):
        return "–"
    text = f"{abs(value):,.{digits}f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return ("−" if value < 0 and round(abs(value), digits) > 0 else "") + text


def _eur(value, signed: bool = False) -> str:
    if _missing(value):
        return "–"
    sign = "+" if signed and round(value) > 0 else ""
    return f"{sign}€\u00a0{_number(value)}".replace("€\u00a0−", "−€\u00a0")


def _pct(value, digits: int = 1, signed: bool = True) -> str:
    if _missing(value):
        return "–"
    return ("+" if signed and round(value, digits) > 0 else "") + _number(value, digits) + "%"


def euro_text(value) -> str:
    """An amount as a Dutch reader writes it: ``€ 1.234.567``.

    Examples
    --------
    >>> euro_text(90_000_000), euro_text(-1234.4)
    ('€\xa090.000.000', '−€\xa01.234')
    """
    return _eur(value)


def number_text(value, digits: int = 0) -> str:
    """A number in Dutch notation (``1.234,5``)."""
    return _number(value, digits)


def scenario_text(scenario) -> str:
    """The need scenario in words: every pupil counts, or only the national top share."""
    if scenario == "all":
        return "alle leerlingen tellen mee (scenario 1)"
    return f"alleen de landelijke top {_number(100 * scenario.top_share)}% naar voorspeld risico telt mee (scenario 4)"


def _facts(pairs) -> str:
    rows = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>" for k, v in pairs)
    return f'<h2>{LABELS["facts"]}</h2><table class="facts">{rows}</table>'


def _table(heads: list[str], rows: list[list[str]], numeric: set[int], css: str = "data") -> str:
    head = "".join(f'<th{" class=num" if i in numeric else ""}>{escape(h)}</th>' for i, h in enumerate(heads))
    body = "".join("<tr>" + "".join(f'<td{" class=num" if i in numeric else ""}>{escape(c)}</td>'
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f'<div class="scroll"><table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _axes(height: float, width: float = 8.0):
    fig = Figure(figsize=(width, height))
    return fig, fig.add_subplot()


# --------------------------------------------------------------------------- prevention


def _prevention_chart(summary: pd.DataFrame) -> str:
    data = summary.iloc[::-1]
    fig, ax = _axes(0.5 * len(data) + 1.2)
    y = np.arange(len(data))
    noise = data["noise_eur_sd"].fillna(0).to_numpy(float)
    ax.barh(y, 2 * noise, left=-noise, color=_NOISE, height=0.8, label="ruis (± 1 sd van het bedrag)")
    loss = data["loss_eur"].to_numpy(float)
    error = np.vstack([loss - data["loss_eur_low"].to_numpy(float), data["loss_eur_high"].to_numpy(float) - loss])
    ax.barh(y, loss, color=_BAR, height=0.4, xerr=error, error_kw={"ecolor": _LINE, "capsize": 3},
            label="verlies (gemiddeld; lijn: kleinste–grootste)")
    ax.axvline(0, color=_LINE, linewidth=0.8)
    ax.set_yticks(y, data["region_name"].astype(str).tolist(), fontsize=9)
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: _eur(x)))
    ax.set_xlabel("verlies van de regio die voorkomt (€)")
    ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return figure_svg(fig)


def render_prevention_html(summary: pd.DataFrame, table: pd.DataFrame, facts: Mapping[str, Any]) -> str:
    """The prevention check (:func:`vsvrisk.policy.prevention_check`) as one page."""
    fraction = float(summary["fraction"].iloc[0])
    rows = [[str(r.region_name), _number(r.n_persons),
             f"{_number(r.expected_vsv_before, 1)} → {_number(r.expected_vsv_after, 1)}",
             f"{_number(r.observed_vsv_before, 1)} → {_number(r.observed_vsv_after, 1)}",
             _eur(r.amount_before_eur), _eur(r.loss_eur), f"{_eur(r.loss_eur_low)} – {_eur(r.loss_eur_high)}",
             _pct(r.loss_pct, 2, signed=False), _eur(r.noise_eur_sd), f"{r.largest_gain_region} ({_eur(r.largest_gain_eur, True)})"]
            for r in summary.itertuples()]
    heads = [LABELS[k] for k in ("region", "persons", "vsv_expected", "vsv_observed", "amount_before", "loss",
                                 "loss_range", "loss_pct", "noise", "winner")]
    mean = table.groupby(["region_code", "region_name", "preventing_region"])["change_eur"].mean().unstack()
    names = dict(zip(summary["preventing_region"], summary["region_name"]))
    wide = [[str(code), str(name), *(_eur(v, True) for v in values)] for (code, name), values in mean.iterrows()]
    lead = (f"Het budget volgt de voorspelde, niet de waargenomen uitval: een regio die uitval voorkomt, houdt dat "
            f"jaar haar geld. Maar het model wordt op nieuwere cohorten opnieuw geschat. Hier voorkomt één regio "
            f"(telkens een andere) {_pct(100 * fraction, 0, signed=False)} van haar verwachte vsv'ers in het nieuwere "
            f"cohort; het model wordt daarop opnieuw geschat zoals het ministerie dat doet, en het budget opnieuw "
            f"verdeeld. Het verlies is het bedrag zonder preventie min het bedrag met preventie, gemiddeld over "
            f"{int(summary['n_seeds'].iloc[0])} trekkingen van de uitkomsten (dezelfde toevalsgetallen met en zonder "
            f"preventie, zodat alleen het effect verschilt). De ruis is hoeveel het bedrag van de regio zonder "
            f"preventie al over de trekkingen schommelt: een verlies ruim kleiner dan de ruis valt in het niet.")
    sections = ["<h1>Preventie: houdt een regio die uitval voorkomt haar geld?</h1>",
                f'<p class="lead">{escape(lead)}</p>', _table(heads, rows, {1, 4, 5, 6, 7, 8}, "data wrap"),
                f"<figure>{_prevention_chart(summary)}</figure>",
                "<h2>Verandering per regio (gemiddeld over de trekkingen)</h2>",
                _table([LABELS["code"], LABELS["region"], *(f"preventie in {names[c]}" for c in mean.columns)], wide,
                       set(range(2, 2 + len(mean.columns)))),
                _facts(facts.items())]
    return _page("Preventie en het budget", sections)


# --------------------------------------------------------------------------- registration


def _registration_chart(table: pd.DataFrame, n: int = 15) -> str:
    data = table.dropna(subset=["eur_per_person_fixed"]).nlargest(n, "eur_per_person_fixed").iloc[::-1]
    fig, ax = _axes(0.3 * len(data) + 1.0)
    y = np.arange(len(data))
    ax.barh(y, data["eur_per_person_fixed"].to_numpy(float), color=_BAR)
    labels = [f"{r.region_name}: {REGISTRATION_LABELS[r.registration][0].lower()}" for r in data.itertuples()]
    ax.set_yticks(y, labels, fontsize=8)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: _eur(x)))
    ax.set_xlabel("euro's per extra geregistreerde leerling (model en regels vast)")
    ax.grid(axis="x", color="#dddddd")
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    return figure_svg(fig)


def watch_lines(watch: pd.DataFrame) -> list[str]:
    """One Dutch sentence per risk to watch (from :func:`vsvrisk.policy.risks_to_watch`).

    Examples
    --------
    >>> watch = pd.DataFrame({"region_name": ["Rijnmond"], "registration": ["crime_suspect"],
    ...                       "eur_per_person": [512.4], "eur_per_pp": [21000.0]})
    >>> watch_lines(watch)[0]
    'Rijnmond: verdachte van een misdrijf (geregistreerd door politie) levert €\xa0512 per extra geregistreerde leerling op, €\xa021.000 per procentpunt meer geregistreerden.'
    """
    lines = []
    for r in watch.to_dict("records"):
        label, who = REGISTRATION_LABELS[r["registration"]]
        line = (f"{r['region_name']}: {label.lower()} (geregistreerd door {who}) levert {_eur(r['eur_per_person'])} per "
                f"extra geregistreerde leerling op, {_eur(r['eur_per_pp'])} per procentpunt meer geregistreerden")
        if not _missing(r.get("eur_per_person_refit")):
            line += f"; na herschatting van het model nog {_eur(r['eur_per_person_refit'])} per leerling"
        lines.append(line + ".")
    return lines


def render_registration_html(table: pd.DataFrame, national: pd.DataFrame, watch: pd.DataFrame,
                             facts: Mapping[str, Any], *, share_pp: float = 1.0) -> str:
    """The registration elasticity (:func:`vsvrisk.policy.registration_elasticity`) as one page."""
    refit = "eur_per_person_refit" in national.columns
    heads = [LABELS[k] for k in ("registration", "who", "changed", "per_person_fixed", "per_person_rebalanced",
                                 *(("per_person_refit",) if refit else ()))]
    rows = [[REGISTRATION_LABELS[r.registration][0], REGISTRATION_LABELS[r.registration][1], _number(r.n_changed),
             _eur(r.eur_per_person_fixed), _eur(r.eur_per_person_rebalanced),
             *((_eur(r.eur_per_person_refit),) if refit else ())] for r in national.itertuples()]
    lead = ("Een deel van de kenmerken in het model zijn registraties van lokale instanties (jeugdzorg, politie, "
            "schuldhulpverlening). Registreert een regio meer van haar leerlingen, dan stijgt hun voorspelde risico "
            "en daarmee de behoefte van de regio, zonder dat één leerling meer risico loopt. Hier registreert elke "
            f"regio (telkens alleen) {_number(share_pp, 1 if share_pp % 1 else 0)} procentpunt meer van haar "
            "leerlingen, willekeurig gekozen onder wie nog niet geregistreerd was. 'Model vast' is wat de verdeelregel "
            "betaalt voor de extra behoefte (de prijs van behoefte, lambda, keer de extra behoefte); 'na herverdeling' "
            "is wat de regio houdt nadat het vaste budget opnieuw is verdeeld (een deel betaalt zij zelf, de rest de "
            "andere regio's)")
    lead += ("; 'na herschatting' is wat overblijft nadat het model is geschat op een cohort met dezelfde extra "
             "registraties." if refit else ".")
    if "eur_per_person_refit" in watch.columns:
        lead += (" Bij de risico's hieronder staat ook wat overblijft nadat het model is geschat op een cohort met "
                 "dezelfde extra registraties.")
    per_region = table.sort_values(["registration", "eur_per_person_fixed"], ascending=[True, False])
    detail = [[str(r.region_code), str(r.region_name), REGISTRATION_LABELS[r.registration][0], _number(r.n_changed),
               _eur(r.eur_fixed), _eur(r.eur_rebalanced), _eur(r.eur_per_person_fixed), _eur(r.eur_per_pp_fixed)]
              for r in per_region.itertuples()]
    sections = ["<h1>Registratie: volgt het geld de behoefte of de registratie?</h1>",
                f'<p class="lead">{escape(lead)}</p>', "<h2>Landelijk</h2>",
                _table(heads, rows, set(range(2, len(heads))), "data wrap"),
                "<h2>Risico om in de gaten te houden</h2>",
                '<ul class="watch">' + "".join(f"<li>{escape(line)}</li>" for line in watch_lines(watch)) + "</ul>",
                f"<figure>{_registration_chart(table)}</figure>",
                "<details><summary>Per regio en registratie</summary>"
                + _table([LABELS["code"], LABELS["region"], LABELS["registration"], LABELS["changed"], "€ model vast",
                          "€ na herverdeling", LABELS["per_person_fixed"], LABELS["per_pp"]], detail, {3, 4, 5, 6, 7})
                + "</details>", _facts(facts.items())]
    return _page("Registratie en het budget", sections)


# --------------------------------------------------------------------------- path


def _path_chart(table: pd.DataFrame, tolerance_pct: float) -> str:
    bands = list(dict.fromkeys(table["band"]))
    fig = Figure(figsize=(3.2 * len(bands) + 1, 3.4))
    axes = fig.subplots(1, len(bands), sharey=True, squeeze=False)[0]
    for ax, band in zip(axes, bands):
        block = table[table["band"] == band]
        ax.axhspan(-tolerance_pct, tolerance_pct, color=_NOISE, zorder=0)
        for _, line in block.groupby("region_code"):
            ax.plot(line["year"], line["gap_pct"], color=_BAR, linewidth=0.8, alpha=0.6, marker="o", markersize=2)
        ax.axhline(0, color=_LINE, linewidth=0.8)
        ax.set_title(f"band {_pct(100 * band, 1, signed=False)}", fontsize=9)
        ax.set_xticks(sorted(block["year"].unique()))
        ax.tick_params(labelsize=8)
        ax.spines[["top", "right"]].set_visible(False)
    axes[0].set_ylabel("bedrag t.o.v. bedrag op basis van behoefte (%)", fontsize=8)
    fig.tight_layout()
    return figure_svg(fig)


def render_path_html(path, facts: Mapping[str, Any]) -> str:
    """The multi-year path (:func:`vsvrisk.policy.allocation_path`) as one page."""
    table, years = path.table, sorted(path.table["year"].unique())
    band_rows = [[_pct(100 * r["band"], 1, signed=False),
                  str(r["all_reached_year"]) if not _missing(r["all_reached_year"]) else f"{LABELS['not_yet']} {years[-1]}",
                  "–" if _missing(r["years_to_converge"]) else str(r["years_to_converge"]), str(r["n_not_reached"]),
                  _pct(r["largest_change_pct"], 1, signed=False), *(str(r[f"n_reached_{y}"]) for y in years)]
                 for r in path.bands.to_dict("records")]
    lead = (f"Elk jaar verdeelt de regel het budget naar de behoefte van dat jaar, maar het bedrag van een regio mag "
            f"niet meer veranderen dan de dempingsband ten opzichte van het jaar ervoor. Een regio heeft haar bedrag "
            f"op basis van behoefte (de verdeling van dat jaar zonder band) bereikt vanaf het jaar waarin haar bedrag "
            f"er binnen {_pct(path.tolerance_pct, 1, signed=False)} van ligt en dat tot het eind van het pad blijft. "
            f"Zolang een regio door de band wordt vastgehouden, wijken ook de bedragen van de andere regio's af: het "
            f"budget is vast.")
    sections = ["<h1>Meerjarenpad: wanneer krijgt elke regio haar bedrag op basis van behoefte?</h1>",
                f'<p class="lead">{escape(lead)}</p>',
                _table([LABELS["band"], LABELS["all_reached"], LABELS["years"], LABELS["not_reached"],
                        LABELS["largest_change"], *(f"bereikt {y}" for y in years)], band_rows,
                       set(range(2, 5 + len(years)))),
                f"<figure>{_path_chart(table, path.tolerance_pct)}</figure>"]
    for band, block in table.groupby("band", sort=True):
        regions = path.regions[path.regions["band"] == band].set_index("region_code")
        amounts = block.pivot(index=["region_code", "region_name"], columns="year", values="amount_eur")
        last = block[block["year"] == years[-1]].set_index("region_code")["target_eur"]
        rows = []
        for (code, name), values in amounts.iterrows():
            reached = regions.loc[code, "reached_year"]
            rows.append([str(code), str(name), *(_eur(v) for v in values), _eur(last.loc[code]),
                         f"{LABELS['not_yet']} {years[-1]}" if _missing(reached) else str(reached),
                         _pct(regions.loc[code, "largest_change_pct"])])
        heads = [LABELS["code"], LABELS["region"], *map(str, years), f"{LABELS['target']} {years[-1]}",
                 LABELS["reached"], LABELS["largest_change"]]
        sections.append(f"<details><summary>Band {_pct(100 * band, 1, signed=False)}: bedragen per jaar</summary>"
                        + _table(heads, rows, set(range(2, len(heads)))) + "</details>")
    sections.append(_facts(facts.items()))
    return _page("Meerjarenpad onder de dempingsband", sections)
