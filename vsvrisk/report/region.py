"""A page per region (``regio-XX.html``): what goes to the region with its budget letter.

One A4 page: the amount, last year's, the change and the rule that held it, the interval, how
the region's need compares with its share of the pupils, and the largest reasons its need differs
from the nation's, in euros, each with one sentence a non-specialist can follow.

The reasons come from the regional decomposition (:func:`vsvrisk.explain.regional_decomposition`):
the gap between a region's need share and its pupil share, split exactly over the model's
variables and the vo/mbo mix. A term is turned into euros at this allocation's rate: what one
percentage point of need share is worth (lambda times the national need), so the terms are in
the unit of the budget question and sorted by it.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

import pandas as pd

from vsvrisk.report._page import crumbs, keys, page
from vsvrisk.report.glossary import Glossary, glossary
from vsvrisk.report.html import chance_threshold
from vsvrisk.report.story import story_html
from vsvrisk.report.watch import watch_html

__all__ = ["driver_euros", "render_region_html"]

# One A4 page: the budget letter's enclosure.
_PRINT_CSS = ("@media print{main{font-size:9pt;line-height:1.3}h1{font-size:15pt}h2{font-size:11pt;margin:.8em 0 .3em}"
              ".keys{margin:.5em 0;gap:8px}.keys div{padding:3px 8px}.keys b{font-size:11pt}dl.story{margin:.4em 0 .6em}"
              "ul.drivers li{margin:.15em 0}p{margin:.4em 0}}")


def driver_euros(drivers: pd.DataFrame, rate: float) -> pd.DataFrame:
    """The decomposition's terms of each region in euros, largest first, zeros left out.

    Parameters
    ----------
    drivers : DataFrame
        Long: ``region_code``, ``term``, ``contribution_share`` (a fraction of the national need).
    rate : float
        Euros per unit of need share (lambda times the national need).

    Returns
    -------
    DataFrame
        ``region_code``, ``term``, ``euros`` (rounded to hundreds), sorted per region by the size
        of ``euros``; terms that round to zero are dropped: they are no reason for anything.

    Examples
    --------
    >>> terms = pd.DataFrame({"region_code": [1, 1, 1], "term": ["age", "parents", "gender"],
    ...                       "contribution_share": [0.001, -0.004, 0.0000001]})
    >>> driver_euros(terms, 80_000_000)[["term", "euros"]].to_numpy().tolist()
    [['parents', -320000.0], ['age', 80000.0]]
    """
    table = drivers.dropna(subset=["contribution_share"])
    table = table.assign(euros=(table["contribution_share"].astype(float) * rate).round(-2))
    table = table[table["euros"] != 0]
    order = table["euros"].abs().sort_values(ascending=False, kind="stable").index
    table = table.loc[order].sort_values("region_code", kind="stable")
    return table[["region_code", "term", "euros"]].reset_index(drop=True)


def _sentence(term: str, euros: float, region: str, g: Glossary) -> str:
    amount = g.euro(abs(euros))
    if term == "model_group_mix":
        return g.pick(
            f"{region} heeft naar verhouding meer mbo-leerlingen (die vaker zonder diploma stoppen dan "
            f"vo-leerlingen) dan het land; dat brengt ongeveer {amount} extra." if euros > 0 else
            f"{region} heeft naar verhouding meer vo-leerlingen (die minder vaak zonder diploma stoppen dan "
            f"mbo-leerlingen) dan het land; dat scheelt ongeveer {amount}.",
            f"{region} has relatively more mbo pupils (who leave without a diploma more often than vo pupils) "
            f"than the country; that brings about {amount} more." if euros > 0 else
            f"{region} has relatively more vo pupils (who leave without a diploma less often than mbo pupils) "
            f"than the country; that costs about {amount}.")
    label = g.variable(term)
    return g.pick(
        f"Wat {label} betreft hebben de leerlingen in {region} vaker dan gemiddeld in het land kenmerken die "
        f"met voortijdig schoolverlaten samengaan; dat brengt ongeveer {amount} extra." if euros > 0 else
        f"Wat {label} betreft hebben de leerlingen in {region} minder vaak dan gemiddeld in het land kenmerken "
        f"die met voortijdig schoolverlaten samengaan; dat scheelt ongeveer {amount}.",
        f"In {label}, pupils in {region} more often than the national average have characteristics that go with "
        f"early school leaving; that brings about {amount} more." if euros > 0 else
        f"In {label}, pupils in {region} less often than the national average have characteristics that go "
        f"with early school leaving; that costs about {amount}.")


def _rule_sentence(row: Mapping[str, Any], rules: Mapping[str, Any], g: Glossary) -> str:
    binding = str(row.get("binding", "none"))
    band = g.percent(rules.get("max_change") or 0, 0)
    return {
        "none": g.pick("Het bedrag volgt de behoefte: geen regel houdt het vast.",
                       "The amount follows need: no rule holds it."),
        "floor": g.pick(f"Het bedrag is het minimumbedrag van {g.euro(rules.get('floor_eur'))}; naar behoefte alleen "
                        "was het lager geweest.",
                        f"The amount is the minimum amount of {g.euro(rules.get('floor_eur'))}; by need alone it "
                        "would have been lower."),
        "lower_band": g.pick(f"De demping houdt het bedrag vast op de grootste daling die is toegestaan ({band} "
                             "minder dan vorig jaar); naar behoefte alleen was het lager geweest.",
                             f"Dampening holds the amount at the largest fall allowed ({band} less than last "
                             "year); by need alone it would have been lower."),
        "upper_band": g.pick(f"De demping houdt het bedrag vast op de grootste stijging die is toegestaan ({band} "
                             "meer dan vorig jaar); naar behoefte alleen was het hoger geweest.",
                             f"Dampening holds the amount at the largest rise allowed ({band} more than last "
                             "year); by need alone it would have been higher."),
    }.get(binding, g.rule(binding))


def render_region_html(row: Mapping[str, Any], manifest: Mapping[str, Any], *, rules: Mapping[str, Any],
                       pupil_share: float | None = None, drivers: pd.DataFrame | None = None,
                       lang: str = "nl", allocation_page: str = "allocation.html", index: str | None = None,
                       top: int = 6) -> str:
    """Render one region's page.

    Parameters
    ----------
    row : mapping
        The region's row of the allocation table (as written to allocation.csv).
    manifest : mapping
        The allocation's manifest (its ``extra.story`` heads the page).
    rules : mapping
        The allocation rules.
    pupil_share : float, optional
        The region's share of the pupils (for need against pupils).
    drivers : DataFrame, optional
        This region's terms in euros (:func:`driver_euros`), largest first.
    lang : {"nl", "en"}, default="nl"
    allocation_page, index : str
        Relative links back to the allocation page and the index.
    top : int, default=6
        How many terms to show; the rest are summed in one line.

    Examples
    --------
    >>> row = {"region_code": 29, "region_name": "Rijnmond", "share": 0.094, "amount_eur": 7102495}
    >>> html = render_region_html(row, {}, rules={"budget_eur": 90_000_000})
    >>> "Rijnmond" in html and "€\\xa07.102.495" in html
    True
    """
    g = glossary(lang)
    name, code = str(row["region_name"]), int(row["region_code"])
    title = g.pick(f"{name} (regio {code})", f"{name} (region {code})")
    links = [(g.pick("← Alle regio’s", "← All regions"), allocation_page)]
    if index:
        links.insert(0, (g.pick("← Overzicht", "← Overview"), index))
    sections = [crumbs(links), f"<h1>{escape(title)}</h1>", story_html((manifest.get("extra") or {}).get("story"), g)]
    if bool(row.get("suppressed")) is True:
        sections.append(f'<p class="lead">{escape(g.pick("Deze regio rust op te weinig leerlingen om te tonen (onthullingsbeheersing).", "This region rests on too few pupils to be shown (disclosure control)."))}</p>')
        return page(title, sections, g)
    amount = g.euro(row["amount_eur"])
    figures = [(g.column("amount_eur"), amount)]
    lead = g.pick(f"{name} krijgt {amount}", f"{name} receives {amount}")
    if pd.notna(row.get("previous_eur", float("nan"))):
        figures += [(g.column("previous_eur"), g.euro(row["previous_eur"])),
                    (g.column("change_eur"), f"{g.euro(row['change_eur'], signed=True)} "
                                             f"({g.number(row.get('change_pct'), 1, signed=True)}%)")]
        lead += g.pick(f", {g.euro(row['change_eur'], signed=True)} ({g.number(row.get('change_pct'), 1, signed=True)}%) "
                       f"tegen {g.euro(row['previous_eur'])} vorig jaar.",
                       f", {g.euro(row['change_eur'], signed=True)} ({g.number(row.get('change_pct'), 1, signed=True)}%) "
                       f"against {g.euro(row['previous_eur'])} last year.")
    else:
        lead += "."
    level = ((manifest.get("extra") or {}).get("intervals") or {}).get("level") or 0.9
    if pd.notna(row.get("amount_low", float("nan"))):
        figures.append((g.pick(f"{g.percent(level, 0)}-interval", f"{g.percent(level, 0)} interval"),
                        f"{g.euro(row['amount_low'])} – {g.euro(row['amount_high'])}"))
    sections += [f'<p class="lead" data-field="lead">{escape(lead)}</p>', keys(figures),
                 f"<h2>{escape(g.pick('De regel die het bedrag bepaalt', 'The rule that sets the amount'))}</h2>",
                 f"<p>{escape(_rule_sentence(row, rules, g))}</p>"]
    chance = chance_threshold(rules, manifest)
    if chance is not None and pd.notna(row.get("p_change_above", float("nan"))):
        sections.append("<p>" + escape(g.pick(
            f"Kans dat het bedrag meer dan {g.number(chance, 1)}% van vorig jaar afwijkt, gegeven de onzekerheid in "
            f"de behoefte: {g.percent(row['p_change_above'], 0)}.",
            f"Chance that the amount differs from last year's by more than {g.number(chance, 1)}%, given the "
            f"uncertainty in need: {g.percent(row['p_change_above'], 0)}.")) + "</p>")
    if pd.notna(row.get("amount_low", float("nan"))):
        sections.append('<p class="note">' + escape(g.pick(
            f"Het interval: als de behoefte opnieuw wordt geschat op opnieuw getrokken leerlingen, ligt het bedrag "
            f"met {g.percent(level, 0)} zekerheid tussen {g.euro(row['amount_low'])} en {g.euro(row['amount_high'])}.",
            f"The interval: when need is estimated again on resampled pupils, the amount lies between "
            f"{g.euro(row['amount_low'])} and {g.euro(row['amount_high'])} with {g.percent(level, 0)} confidence."))
            + "</p>")
    sections.append(f"<h2>{escape(g.pick('Behoefte tegen aandeel leerlingen', 'Need against share of pupils'))}</h2>")
    share = row.get("share")
    if pupil_share and pd.notna(share):
        ratio = share / pupil_share
        sections.append("<p>" + escape(g.pick(
            f"{name} heeft {g.percent(share, 2)} van de landelijke behoefte en {g.percent(pupil_share, 2)} van de "
            f"leerlingen: per leerling {g.number(ratio, 2)} keer de landelijke behoefte "
            f"({'meer' if ratio > 1 else 'minder'} dan gemiddeld).",
            f"{name} has {g.percent(share, 2)} of the national need and {g.percent(pupil_share, 2)} of the pupils: "
            f"per pupil {g.number(ratio, 2)} times the national need ({'more' if ratio > 1 else 'less'} than "
            "average).")) + "</p>")
    else:
        sections.append("<p>" + escape(g.pick(f"{name} heeft {g.percent(share, 2)} van de landelijke behoefte.",
                                              f"{name} has {g.percent(share, 2)} of the national need.")) + "</p>")
    if drivers is not None and len(drivers):
        sections += [f"<h2>{escape(g.pick('Waarom de behoefte hier anders is dan landelijk', 'Why need here differs from the nation'))}</h2>",
                     _drivers_list(drivers, name, g, top),
                     '<p class="note">' + escape(g.pick(
                         "Elk bedrag is het deel van het verschil tussen het aandeel behoefte en het aandeel leerlingen "
                         "dat bij die factor hoort (uit de verklaring van het model, SHAP, over alle leerlingen), "
                         "omgerekend tegen de euro’s die een procentpunt behoefte dit jaar waard is. Samen "
                         "verklaren de factoren het hele verschil; bedragen die op nul afronden staan er niet bij.",
                         "Each amount is the part of the gap between need share and pupil share that belongs to "
                         "the factor (from the model's explanation, SHAP, over all pupils), valued at what one "
                         "percentage point of need is worth this year. Together the factors explain the whole gap; "
                         "amounts that round to zero are left out.")) + "</p>"]
    # Where this region's registrations move the most money in the country: a risk to watch.
    sections.append(watch_html((manifest.get("extra") or {}).get("registration_watch"), g, region=code))
    return page(title, sections, g, extra_css=_PRINT_CSS)


def _drivers_list(drivers: pd.DataFrame, region: str, g: Glossary, top: int) -> str:
    items = []
    for term, euros in zip(drivers["term"].head(top), drivers["euros"].head(top)):
        kind = "more" if euros > 0 else "less"
        label = g.variable(term)
        items.append(f'<li data-term="{escape(str(term), quote=True)}"><b class="{kind}">'
                     f"{escape(label[:1].upper() + label[1:])}: {escape(g.euro(euros, signed=True))}</b><br>"
                     f"{escape(_sentence(term, euros, region, g))}</li>")
    rest = drivers["euros"].iloc[top:]
    if len(rest):
        items.append(f"<li>{escape(g.pick('Overige factoren samen', 'Other factors together'))}: "
                     f"{escape(g.euro(rest.sum(), signed=True))}</li>")
    return '<ul class="drivers">' + "".join(items) + "</ul>"
