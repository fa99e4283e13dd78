"""One self-contained HTML page per allocation, readable by a policy officer.

Nothing on the page is fetched from elsewhere (no CDN, fonts or scripts): the CSS is inline and
the charts are inline SVG, so the page opens inside Remote Access and can be mailed on as one
file. Every piece of text is escaped; every label comes from :mod:`vsvrisk.report.glossary`, in
Dutch unless English is asked for. The table fits a 1024 px window; the map and each region's
name link to the region pages (``regio-XX.html``) beside it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from html import escape
from typing import Any

import pandas as pd

from vsvrisk.report._page import crumbs, facts, keys, page
from vsvrisk.report.charts import change_chart, share_chart
from vsvrisk.report.glossary import Glossary, glossary
from vsvrisk.report.map import region_map_svg
from vsvrisk.report.story import story_html
from vsvrisk.report.watch import watch_html

__all__ = ["render_allocation_html", "column_kind", "chance_threshold", "drift_sentences", "region_page_name"]


def column_kind(name: str) -> str:
    """Say how a column of an allocation table is shown: by its name, as allocate names them.

    Returns one of ``"percent_points"`` (``*_pct``, already x100), ``"fraction"`` (``share``,
    ``share_*``, ``*_share``, ``p_*``), ``"euro"`` (``*_eur``, ``amount_*``), ``"count"``
    (``n_*``) or ``"other"``.

    Examples
    --------
    >>> [column_kind(c) for c in ("change_pct", "amount_share", "amount_low", "n_persons")]
    ['percent_points', 'fraction', 'euro', 'count']
    """
    name = name.removeprefix("model_")
    if name.endswith("_pct"):
        return "percent_points"
    if name == "share" or name.startswith(("share_", "p_")) or name.endswith("_share"):
        return "fraction"
    if name.endswith("_eur") or name.startswith("amount_"):
        return "euro"
    if name.startswith("n_"):
        return "count"
    return "other"


def region_page_name(code: int) -> str:
    """The file name of a region's page: ``regio-29.html``."""
    return f"regio-{int(code):02d}.html"


def chance_threshold(rules: Mapping[str, Any], manifest: Mapping[str, Any]) -> float | None:
    """The x of "chance of a change of more than x%", where that chance can be non-zero.

    None when it cannot: no previous year (nothing to change against), or a dampening band no
    wider than x (the band holds every amount within x, so the chance is 0 by construction).

    Examples
    --------
    >>> chance_threshold({"max_change": 0.05}, {"extra": {"intervals": {"change_threshold_pct": 2.5}}})
    2.5
    >>> chance_threshold({"max_change": 0.05}, {"extra": {"intervals": {"change_threshold_pct": 5.0}}}) is None
    True
    """
    x = ((manifest.get("extra") or {}).get("intervals") or {}).get("change_threshold_pct")
    if x is None:
        x = rules.get("change_threshold_pct")
    band = rules.get("max_change")
    if x is None or (band is not None and x >= 100 * band - 1e-9):
        return None
    return float(x)


def drift_sentences(rows: list[Mapping[str, Any]], g: Glossary) -> list[str]:
    """The drift checks that fired, one sentence each in the reader's language.

    Examples
    --------
    >>> drift_sentences([{"check": "psi", "feature": "wealth_percentile", "value": 0.31, "threshold": 0.2}],
    ...                 glossary("nl"))[0][:60]
    'De verdeling van vermogen van het gezin is tussen het traini'
    """
    lines = []
    for row in rows:
        if row["check"] == "psi":
            variable = g.variable(row["feature"])
            lines.append(g.pick(
                f"De verdeling van {variable} is tussen het trainingscohort en het gescoorde cohort veranderd "
                f"(stabiliteitsindex {g.number(row['value'], 2)}, boven {g.number(row['threshold'], 1)}): controleer "
                "de gegevens, of train het model opnieuw op een recent cohort.",
                f"The distribution of {variable} has shifted between the training and the scored cohort (population "
                f"stability index {g.number(row['value'], 2)}, above {g.number(row['threshold'], 1)}): check the data, "
                "or retrain the model on a recent cohort."))
        elif row["check"] == "not_checked":
            lines.append(g.pick("Verschuiving niet gecontroleerd: het trainingsbestand van het model is hier niet gevonden.",
                                "Drift not checked: the model's training data file is not found here."))
        else:
            where = g.pick("landelijk", "nationally") if row["feature"] == "all" else g.pick(
                f"in het {row['feature']}", f"in {row['feature']}")
            low = row["value"] > 0
            lines.append(g.pick(
                f"De kalibratie is {where} {g.number(row['value'], 2, signed=True)} log-odds verschoven tussen het "
                f"trainingscohort en het gescoorde cohort (meer dan {g.number(row['threshold'], 1)}): de voorspelde "
                f"risico’s zijn gemiddeld te {'laag' if low else 'hoog'}; herkalibreer of train het model opnieuw.",
                f"Calibration-in-the-large moved {where} by {g.number(row['value'], 2, signed=True)} log-odds between "
                f"the training and the scored cohort (more than {g.number(row['threshold'], 1)}): predicted risks are on "
                f"average too {'low' if low else 'high'}; recalibrate or retrain the model."))
    return lines


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _explanation(table: pd.DataFrame, rules: Mapping[str, Any], budget: int, g: Glossary) -> str:
    parts = [g.pick(
        f"Het budget van {g.euro(budget)} wordt verdeeld over de {len(table)} regio’s (RMC-regio’s) naar hun "
        "behoefte: het verwachte aantal leerlingen dat zonder startkwalificatie van school gaat (vsv), de som "
        "van de voorspelde kansen van de leerlingen. Een regio met twee keer zoveel behoefte krijgt twee keer "
        "zoveel van het variabele deel.",
        f"The budget of {g.euro(budget)} is divided over the {len(table)} regions (RMC regions) in proportion "
        "to their need: the expected number of pupils who leave school without a basic qualification (vsv), the "
        "sum of the pupils' predicted chances. A region with twice the need gets twice the variable part.")]
    if rules.get("base_amount_eur"):
        parts.append(g.pick(f"Elke regio krijgt eerst een vast basisbedrag van {g.euro(rules['base_amount_eur'])}.",
                            f"Every region first receives a fixed base amount of {g.euro(rules['base_amount_eur'])}."))
    if rules.get("floor_eur"):
        parts.append(g.pick(f"Geen regio krijgt minder dan het minimumbedrag van {g.euro(rules['floor_eur'])}.",
                            f"No region receives less than the minimum amount of {g.euro(rules['floor_eur'])}."))
    if rules.get("max_change"):
        band = g.percent(rules["max_change"], 0)
        parts.append(g.pick(
            f"De demping houdt elke regio binnen {band} van het bedrag van vorig jaar, zodat een regio kan "
            "plannen; wat een regio daardoor niet krijgt of niet hoeft af te staan, wordt naar behoefte over de "
            "andere regio’s verdeeld.",
            f"Dampening keeps every region within {band} of last year's amount, so that a region can plan; "
            "what the band holds back is shared among the other regions by need."))
    parts.append(g.pick("De bedragen zijn hele euro’s en tellen precies op tot het budget.",
                        "Amounts are whole euros and add up to the budget exactly."))
    return " ".join(parts)


def _any_suppressed(table: pd.DataFrame) -> bool:
    return "suppressed" in table.columns and bool(table["suppressed"].fillna(False).astype(bool).any())


def _cell(value: str, numeric: bool = True, field: str | None = None) -> str:
    attrs = ' class="num"' if numeric else ""
    if field:
        attrs += f' data-field="{field}"'
    return f"<td{attrs}>{value}</td>"


def _allocation_table(table: pd.DataFrame, g: Glossary, chance: float | None, level: float | None) -> str:
    has = set(table.columns)
    heads = [g.column("region_code"), g.column("region_name"), g.column("share"), g.column("amount_eur")]
    if "previous_eur" in has:
        heads.append(g.column("previous_eur"))
    if {"change_eur", "change_pct"} & has:
        heads.append(g.column("change_eur"))
    # One interval column keeps the table within a screen: in euros (what a region plans with);
    # the chart shows the share intervals, the files hold both.
    interval = {"amount_low", "amount_high"} <= has
    if interval:
        heads.append(g.pick(f"{g.percent(level or 0.9, 0)}-interval bedrag", f"{g.percent(level or 0.9, 0)} interval"))
    show_chance = chance is not None and "p_change_above" in has
    if show_chance:
        heads.append(g.pick(f"Kans op > {g.number(chance, 1)}% verandering", f"Chance of > {g.number(chance, 1)}% change"))
    if "binding" in has:
        heads.append(g.column("binding"))
    rows = []
    for r in table.to_dict("records"):
        code = int(r["region_code"])
        name = f'<a href="{region_page_name(code)}">{escape(str(r["region_name"]))}</a>'
        cells = [_cell(str(code), False), _cell(name, False, "region_name"),
                 _cell(escape(g.percent(r.get("share"), 2)), field="share"),
                 _cell(escape(g.euro(r["amount_eur"])), field="amount_eur")]
        if "previous_eur" in has:
            cells.append(_cell(escape(g.euro(r["previous_eur"])), field="previous_eur"))
        if {"change_eur", "change_pct"} & has:
            change = g.euro(r.get("change_eur"), signed=True) if "change_eur" in has else ""
            if "change_pct" in has and not _missing(r.get("change_pct")):
                change += f" ({g.number(r['change_pct'], 1, signed=True)}%)"
            cells.append(_cell(escape(change.strip() or "–"), field="change_eur"))
        if interval:
            if _missing(r.get("amount_low")):
                cells.append(_cell("–"))
            else:
                cells.append(_cell(f"{escape(g.euro(r['amount_low']))} –<br>{escape(g.euro(r['amount_high']))}"))
        if show_chance:
            cells.append(_cell(escape(g.percent(r.get("p_change_above"), 0)), field="p_change_above"))
        if "binding" in has:
            rule = str(r["binding"])
            cells.append(_cell(escape("" if rule == "none" else g.rule(rule)), False, "binding"))
        rows.append(f'<tr data-region="{code}">' + "".join(cells) + "</tr>")
    label = g.pick("Totaal van de getoonde regio’s", "Total of the regions shown") if _any_suppressed(table) \
        else g.pick("Totaal", "Total")
    total = ["<td></td>", f"<td>{escape(label)}</td>",
             _cell(escape(g.percent(table["share"].sum(), 2))),
             _cell(escape(g.euro(table["amount_eur"].sum())), field="amount_eur")]
    if "previous_eur" in has:
        total.append(_cell(escape(g.euro(table["previous_eur"].sum()))))
    if {"change_eur", "change_pct"} & has:
        total.append(_cell(escape(g.euro(table["change_eur"].sum(), signed=True)) if "change_eur" in has else ""))
    total += ["<td></td>"] * (len(heads) - len(total))
    numeric = {g.column("region_code"), g.column("region_name"), g.column("binding")}
    head = "".join(f"<th>{escape(h)}</th>" if h in numeric else f'<th class="num">{escape(h)}</th>' for h in heads)
    return ('<div class="scroll"><table class="data allocation"><thead><tr>' + head + "</tr></thead><tbody>"
            + "".join(rows) + '</tbody><tfoot><tr data-region="total">' + "".join(total)
            + "</tr></tfoot></table></div>")


def _table_note(table: pd.DataFrame, g: Glossary, chance: float | None, level: float | None) -> str:
    notes = [g.pick("Aandeel behoefte: het deel van de landelijke behoefte (verwachte aantal voortijdig "
                    "schoolverlaters) dat in de regio ligt.",
                    "Need share: the region's part of the national need (the expected number of early school "
                    "leavers).")]
    if "amount_low" in table.columns:
        notes.append(g.pick(
            f"Interval: het bedrag ligt met {g.percent(level or 0.9, 0)} zekerheid hiertussen als de behoefte "
            "opnieuw wordt geschat op opnieuw getrokken leerlingen (de bestanden geven ook het interval op het aandeel).",
            f"Interval: the amount lies within it with {g.percent(level or 0.9, 0)} confidence when need is "
            "estimated again on resampled pupils (the files also give the interval on the share)."))
    if chance is not None and "p_change_above" in table.columns:
        notes.append(g.pick(f"Kans: hoe waarschijnlijk het bedrag meer dan {g.number(chance, 1)}% stijgt of daalt "
                            "tegen vorig jaar, gegeven die onzekerheid.",
                            f"Chance: how likely the amount rises or falls by more than {g.number(chance, 1)}% "
                            "against last year, given that uncertainty."))
    if "binding" in table.columns:
        notes.append(g.pick("Vastgehouden door: de regel die het bedrag vastlegt in plaats van de behoefte "
                            "(het minimumbedrag, of de grootste daling of stijging die de demping toestaat).",
                            "Held by: the rule that fixes the amount instead of need (the minimum amount, or the "
                            "largest fall or rise the dampening allows)."))
    notes.append(g.pick("–: niet beschikbaar, of onderdrukt omdat het op minder leerlingen rust dan de "
                        "onthullingsdrempel.",
                        "–: not available, or suppressed because it rests on fewer pupils than the disclosure "
                        "threshold."))
    return " ".join(notes)


def _made(manifest: Mapping[str, Any], g: Glossary) -> str:
    lam = (manifest.get("extra") or {}).get("lambda")
    recompute = g.pick(
        "Narekenen: bedrag = begrenzen(basisbedrag + λ × behoefte, ondergrens, bovengrens), afgerond op hele "
        "euro’s naar grootste rest" + (f"; hier λ = {g.number(lam, 4)} euro per eenheid behoefte." if lam else "."),
        "To recompute: amount = clip(base amount + λ × need, lower limit, upper limit), rounded to whole euros "
        "by largest remainder" + (f"; here λ = {g.number(lam, 4)} euro per unit of need." if lam else "."))
    pairs = [(g.pick("vsvrisk-versie", "vsvrisk version"), manifest.get("vsvrisk_version")),
             (g.pick("Gemaakt (UTC)", "Created (UTC)"), manifest.get("created_utc")),
             (g.pick("Seed", "Seed"), manifest.get("seed"))]
    for name, info in sorted((manifest.get("inputs") or {}).items()):
        text = g.pick("niet gebruikt", "not used") if not info else f"{info.get('path')} (sha256 {str(info.get('sha256'))[:12]})"
        pairs.append((g.pick("Invoer: ", "Input: ") + _INPUTS.get(name, (name, name))[g.index], text))
    return f'<p class="note">{escape(recompute)}</p>' + facts(pairs)


_INPUTS = {"config": ("verdeelconfiguratie", "allocation config"), "need": ("behoeftetabel", "need table"),
           "data": ("cohort", "cohort"), "previous": ("verdeling vorig jaar", "last year's allocation")}


def render_allocation_html(
    allocation: pd.DataFrame,
    manifest: Mapping[str, Any],
    *,
    rules: Mapping[str, Any] | None = None,
    title: str | None = None,
    budget: int | None = None,
    lang: str = "nl",
    index: str | None = None,
) -> str:
    """Render an allocation as one self-contained HTML page.

    Parameters
    ----------
    allocation : DataFrame
        As :func:`vsvrisk.allocate.allocate` returns it: ``region_code``, ``region_name``,
        ``need``, ``share``, ``amount_eur``; the change, interval, chance and ``binding``
        columns are shown when present.
    manifest : mapping
        From :func:`vsvrisk.report.build_manifest`; its ``extra.story`` (run, cohort, rules)
        heads the page and its summary closes it.
    rules : mapping, optional
        The allocation rules (``budget_eur``, ``base_amount_eur``, ``floor_eur``,
        ``max_change``), used in the explanation and to draw the dampening band.
    title : str, optional
        The page title; default "Budget per regio" / "Budget per region".
    budget : int, optional
        The budget in euros. Default: ``rules["budget_eur"]``, else the sum of ``amount_eur``
        (give it when rows are suppressed, or the sum falls short).
    lang : {"nl", "en"}, default="nl"
    index : str, optional
        A relative link to the output folder's index page.

    Returns
    -------
    str
        The page; it refers to nothing outside itself but the region pages beside it.

    Examples
    --------
    >>> table = pd.DataFrame({"region_code": [1, 2], "region_name": ["A", "B & C"],
    ...                       "need": [1.0, 3.0], "share": [0.25, 0.75], "amount_eur": [25, 75]})
    >>> page = render_allocation_html(table, {"vsvrisk_version": "0.1.0"})
    >>> "B &amp; C" in page, "<script" in page, "€\\xa075" in page
    (True, False, True)
    """
    g = glossary(lang)
    rules = dict(rules or {})
    title = title or g.pick("Budget per regio", "Budget per region")
    has_change = bool({"change_pct", "change_eur"} & set(allocation.columns))
    if budget is None:
        budget = rules.get("budget_eur") or int(allocation["amount_eur"].sum())
    extra = manifest.get("extra") or {}
    level = (extra.get("intervals") or {}).get("level")
    chance = chance_threshold(rules, manifest)
    figures = [(g.pick("Budget", "Budget"), g.euro(budget)), (g.pick("Regio’s", "Regions"), str(len(allocation)))]
    if "binding" in allocation.columns:
        held = int((allocation["binding"].astype(str) != "none").sum())
        figures.append((g.pick("Vastgehouden door een regel", "Held by a rule, not need"), str(held)))
    if _any_suppressed(allocation):
        figures.append((g.pick("Onderdrukte regio’s", "Suppressed regions"), str(int(allocation["suppressed"].sum()))))
    sections = []
    if index:
        sections.append(crumbs([(g.pick("← Overzicht", "← Overview"), index)]))
    sections += [
        f"<h1>{escape(title)}</h1>", story_html(extra.get("story"), g),
        f'<p class="lead">{escape(_explanation(allocation, rules, budget, g))}</p>', keys(figures),
        f"<h2>{escape(g.pick('Kaart', 'Map'))}</h2>",
        f'<p class="note">{escape(g.pick("Elke tegel is een regio, ongeveer op haar plaats in het land: regiocode, bedrag en verandering tegen vorig jaar. Klik op een tegel voor de pagina van de regio.", "Each tile is a region, roughly where it lies in the country: region code, amount and change against last year. Click a tile for the region page."))}</p>',
        f'<figure class="map">{region_map_svg(allocation, g)}</figure>',
        f"<h2>{escape(g.pick('Bedrag per regio', 'Amount per region'))}</h2>",
        _allocation_table(allocation, g, chance, level),
        f'<p class="note">{escape(_table_note(allocation, g, chance, level))}</p>',
        f"<h2>{escape(g.pick('Aandeel in de behoefte per regio', 'Share of need per region'))}</h2>",
        f"<figure>{share_chart(allocation, g)}</figure>",
    ]
    if has_change:
        sections += [f"<h2>{escape(g.pick('Verandering tegen vorig jaar', 'Change against last year'))}</h2>",
                     f"<figure>{change_chart(allocation, rules.get('max_change'), g)}</figure>"]
    sections.append(watch_html(extra.get("registration_watch"), g))
    warnings = drift_sentences(extra.get("drift") or [], g)
    if warnings:
        sections += [f"<h2>{escape(g.pick('Waarschuwingen: verschuiving tussen cohorten', 'Warnings: drift between cohorts'))}</h2>",
                     "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in warnings) + "</ul>"]
    sections += [f"<h2>{escape(g.pick('Hoe dit is gemaakt', 'How this was made'))}</h2>", _made(manifest, g)]
    return page(title, sections, g)
