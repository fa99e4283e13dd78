"""The explanation's page (``explain.html``): national drivers, the 40 regions, region A against B.

Self-contained like every report page (images inline as PNG data, no scripts, no network), in the
reader's language, every variable by its glossary label. The terms of a region and of a
comparison are listed by their size in need per person, the budget's unit, so that a term which
moves much money (the vo/mbo mix) is never hidden behind terms that only look large in log-odds.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from html import escape
from typing import Any

import pandas as pd

from vsvrisk.report._page import crumbs, page
from vsvrisk.report.glossary import Glossary, glossary
from vsvrisk.report.story import story_html

__all__ = ["render_explain_html"]

_CSS = """table.plain{margin:.6em 0}table.plain td,table.plain th{border:1px solid #ddd;padding:3px 6px;text-align:right;
vertical-align:top}table.plain th{background:#f3f3f3}table.plain td.t,table.plain th.t{text-align:left}
img{max-width:100%;height:auto}details{margin:.3em 0}summary{cursor:pointer}.grid{display:flex;flex-wrap:wrap;gap:1em}
.grid img{max-width:480px}"""


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f"<img src='data:image/png;base64,{data}' alt='{escape(alt, quote=True)}'>"


def _label(term: str, g: Glossary) -> str:
    return g.variable(term)


def _drivers(drivers: pd.DataFrame, g: Glossary) -> str:
    parts = []
    for group, table in drivers.groupby("model_group", sort=False):
        rows = "".join(
            f"<tr><td>{'' if pd.isna(r.rank) else int(r.rank)}</td><td class='t'>{escape(_label(str(r.variable), g))}</td>"
            f"<td>{escape(g.number(r.mean_abs_shap, 3))}</td><td>{escape(g.percent(r.share_of_total, 1))}</td></tr>"
            for r in table.itertuples())
        persons = g.number(table["n_persons"].iloc[0])
        # A variable whose every contribution is exactly 0 is one the model never uses (no split on
        # it, or no weight): said once under the table, so that a 0,000 is not read as rounding.
        unused = "<p class='note'>" + escape(g.pick(
            "0,000: dit kenmerk verschuift bij geen enkele leerling de voorspelling (het model gebruikt het niet).",
            "0.000: this variable moves no pupil's prediction (the model does not use it).")) + "</p>" \
            if (table["mean_abs_shap"] == 0).any() else ""
        parts.append(f"<div><h3>{escape(g.level('sector', group))} ({persons} {g.pick('leerlingen', 'pupils')})</h3>"
                     f"<table class='plain'><tr><th>{g.pick('Rang', 'Rank')}</th><th class='t'>{g.pick('Kenmerk', 'Variable')}"
                     f"</th><th>{g.pick('Gem. |SHAP|', 'Mean |SHAP|')}</th><th>{g.pick('Aandeel', 'Share')}</th></tr>"
                     f"{rows}</table>{unused}</div>")
    return f"<div class='grid'>{''.join(parts)}</div>"


def _regions(regions: pd.DataFrame, g: Glossary) -> str:
    rows = []
    for (code, name), region in regions.groupby(["region_code", "region_name"], sort=True):
        first = region.iloc[0]
        if bool(first["suppressed"]):
            rows.append(f"<tr><td>{code}</td><td class='t'>{escape(str(name))}</td><td colspan='5' class='t note'>"
                        f"{escape(g.pick('onderdrukt: te weinig leerlingen', 'suppressed: too few pupils'))}</td></tr>")
            continue
        # The terms in need per person (% of the national mean): the budget's own unit.
        terms = (100 * region.set_index("term")["contribution_share"] / first["population_share"]).sort_values()
        up = ", ".join(f"{_label(t, g)} {g.number(v, 0, signed=True)}%" for t, v in terms[::-1].items() if v >= 0.5)
        down = ", ".join(f"{_label(t, g)} {g.number(v, 0, signed=True)}%" for t, v in terms.items() if v <= -0.5)
        up = ", ".join(up.split(", ")[:3]) if up else "–"
        down = ", ".join(down.split(", ")[:3]) if down else "–"
        ratio = first["need_share"] / first["population_share"]
        rows.append(
            f"<tr><td>{code}</td><td class='t'>{escape(str(name))}</td><td>{escape(g.number(first['n_persons']))}</td>"
            f"<td>{escape(g.percent(first['need_share'], 2))}</td><td>{escape(g.percent(first['population_share'], 2))}</td>"
            f"<td class='{'more' if ratio > 1 else 'less'}'>{escape(g.number(ratio, 2))}</td>"
            f"<td class='t'><span class='more'>{escape(up)}</span><br><span class='less'>{escape(down)}</span></td></tr>")
    heads = [g.pick("Code", "Code"), g.pick("Regio", "Region"), g.pick("Leerlingen", "Pupils"),
             g.pick("Aandeel behoefte", "Need share"), g.pick("Aandeel leerlingen", "Pupil share"),
             g.pick("Behoefte per leerling (land = 1)", "Need per pupil (nation = 1)"),
             g.pick("Grootste factoren omhoog / omlaag (behoefte per leerling, % van het landelijk gemiddelde)",
                    "Largest terms up / down (need per pupil, % of the national mean)")]
    head = "".join(f"<th{' class=t' if k in (1, 6) else ''}>{escape(h)}</th>" for k, h in enumerate(heads))
    return f"<div class='scroll'><table class='plain'><tr>{head}</tr>{''.join(rows)}</table></div>"


def _comparison(comparison: pd.DataFrame, image: bytes, g: Glossary) -> tuple[str, str]:
    a = comparison.attrs
    rows = "".join(f"<tr><td class='t'>{escape(_label(str(r.term), g))}</td>"
                   f"<td>{escape(g.number(r.contribution_need_per_person, 3, signed=True))}</td>"
                   f"<td>{escape(g.number(r.contribution_log_odds, 3, signed=True))}</td></tr>"
                   for r in comparison.itertuples()
                   # a term that rounds to zero in both units is no reason for anything: left out
                   if round(r.contribution_need_per_person, 3) or round(r.contribution_log_odds, 3))
    title = g.pick(f"{a['name_a']} tegen {a['name_b']}", f"{a['name_a']} against {a['name_b']}")
    body = (f"<p>{escape(g.pick('Verschil in behoefte per leerling', 'Difference in need per pupil'))} "
            f"{escape(g.number(a['difference_need_per_person'], 3, signed=True))} "
            f"({escape(g.pick('landelijk gemiddelde = 1', 'national mean = 1'))}); "
            f"{escape(g.pick('in gemiddelde log-odds', 'in mean log-odds'))} "
            f"{escape(g.number(a['difference_log_odds'], 3, signed=True))}. "
            f"{escape(g.pick('Gesorteerd op behoefte per leerling: de eenheid van het geld.', 'Sorted by need per pupil: the unit of the money.'))}</p>"
            + _img(image, "comparison") + f"<table class='plain'><tr><th class='t'>{g.pick('Factor', 'Term')}</th>"
            f"<th>{g.pick('Behoefte per leerling', 'Need per pupil')}</th><th>Log-odds</th></tr>{rows}</table>")
    return title, body


def _method(g: Glossary, threshold: int) -> str:
    return "<p class='note'>" + escape(g.pick(
        "Verklaard wordt de voorspelde log-odds van vsv van elke leerling (bij een gekalibreerd model: vóór de "
        "kalibratie): een basiswaarde (één per model: vo, of mbo met vavo) plus een bijdrage per kenmerk (SHAP-waarden: "
        "exacte TreeSHAP voor LightGBM, coëfficiënt maal de gecentreerde waarde voor het logistische model). Het "
        "verschil tussen het aandeel behoefte en het aandeel leerlingen van een regio wordt exact over dezelfde "
        "factoren verdeeld, plus de verhouding vo/mbo (het verschil in gemiddelde basiswaarde); de delen tellen "
        f"precies op. Tabellen: cellen van minder dan {threshold} leerlingen zijn onderdrukt.",
        "What is explained is the model's predicted log-odds of vsv for each pupil (for a calibrated model: before "
        "calibration): a base value (one per sector model: vo, or mbo with vavo) plus one contribution per variable "
        "(SHAP values: exact TreeSHAP for LightGBM, coefficient times the centred value for the logistic model). A "
        "region's need share minus its pupil share is split exactly over the same terms, plus the mix of vo and mbo "
        "pupils (the difference in mean base value); the parts add up exactly. Tables: cells of fewer than "
        f"{threshold} pupils are suppressed.")) + "</p>"


def render_explain_html(*, drivers: pd.DataFrame, regions: pd.DataFrame, images: Mapping[str, bytes],
                        waterfalls: Mapping[tuple, bytes], comparison: pd.DataFrame | None = None,
                        story: Mapping[str, Any] | None = None, threshold: int = 10,
                        person_level_plots: bool = False, lang: str = "nl", index: str | None = None) -> str:
    """The explanation page from the explain step's tables and plots (PNG bytes).

    ``images`` holds ``drivers``, ``regions need``, ``regions``, ``compare`` (with a
    comparison) and, with ``person_level_plots``, ``beeswarm <group>`` and ``dependence <group>
    <variable>``; ``waterfalls`` maps (code, name) to each region's waterfall.
    """
    g = glossary(lang)
    title = g.pick("Waarom het voorspelde vsv-risico tussen regio’s verschilt", "Why predicted vsv risk differs between regions")
    if person_level_plots:
        persons = "".join(f"<p>{_img(png, key)}</p><div class='grid'>" + "".join(
            _img(d, k) for k, d in images.items() if k.startswith(f"dependence {key[9:]} ")) + "</div>"
            for key, png in images.items() if key.startswith("beeswarm "))
    else:
        persons = "<p>" + escape(g.pick(
            "Standaard uit: deze grafieken tonen individuele leerlingen. Maak ze alleen binnen de beveiligde omgeving "
            "(met --person-level-plots) en toets ze aan de uitvoerregels voordat iets die omgeving verlaat.",
            "Off by default: these plots show individual pupils. Make them only inside the secure environment "
            "(with --person-level-plots), and check them against the output rules before anything leaves it.")) + "</p>"
    sections = [
        (g.pick("Landelijke drijfveren", "National drivers"), "<p>" + escape(g.pick(
            "Gemiddelde absolute SHAP-waarde per kenmerk: hoeveel een kenmerk de voorspelde log-odds van een leerling "
            "gemiddeld verschuift. Per model.", "Mean absolute SHAP value per variable: how much, on average, a variable "
            "moves a pupil's predicted log-odds. Per sector model.")) + "</p>" + _drivers(drivers, g)
         + _img(images["drivers"], "mean |SHAP|")),
        (g.pick("Hoe elk kenmerk werkt (steekproef van leerlingen)", "How each variable acts (sample of pupils)"), persons),
        (g.pick("De 40 regio’s", "The 40 regions"), "<p>" + escape(g.pick(
            "De behoefte per leerling is het aandeel behoefte van een regio gedeeld door haar aandeel leerlingen: 1,25 "
            "betekent een kwart meer behoefte per leerling dan het landelijk gemiddelde.",
            "The need per pupil is a region's need share divided by its pupil share: 1.25 means a quarter more need per "
            "pupil than the national mean.")) + "</p>" + _img(images["regions need"], "regions, need per pupil")
         + _regions(regions, g) + _img(images["regions"], "regions, log-odds")),
    ]
    if comparison is not None:
        sections.append(_comparison(comparison, images["compare"], g))
    sections.append((g.pick("Elke regio, stap voor stap", "Each region, step by step"), "".join(
        f"<details><summary>{escape(f'{code:02d} {name}')}</summary>{_img(png, f'waterfall {name}')}</details>"
        for (code, name), png in waterfalls.items())))
    sections.append((g.pick("Methode", "Method"), _method(g, threshold)))
    body = [crumbs([(g.pick("← Overzicht", "← Overview"), index)])] if index else []
    body += [f"<h1>{escape(title)}</h1>", story_html(story, g)]
    body += [f"<h2>{escape(heading)}</h2>{content}" for heading, content in sections]
    return page(title, body, g, extra_css=_CSS)
