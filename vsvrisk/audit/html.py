"""Pages and folders of the accountability outputs: the audit and the impact of choices.

Each page is self-contained as the allocation report is (the shared frame of
:mod:`vsvrisk.report._page`, charts as inline SVG, every text escaped), speaks the reader's
language (Dutch by default, every label from :mod:`vsvrisk.report.glossary`), opens with the
run, cohort and rules it is about, and carries no timestamp, so the same inputs give
byte-identical files; the time of a run lives in ``manifest.json`` only. Every folder is written
whole or not at all (:func:`vsvrisk._atomic.atomic_output`). The card's page is in
:mod:`vsvrisk.audit._card_html`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from vsvrisk._atomic import atomic_output
from vsvrisk.report import add_outputs, assert_no_person_rows, write_manifest
from vsvrisk.report._page import crumbs, facts, keys, page
from vsvrisk.report.charts import figure_svg
from vsvrisk.report.glossary import COLOURS, Glossary, glossary
from vsvrisk.report.story import scenario_text, story_html

__all__ = ["alternative_label", "group_label", "impact_figure", "render_audit_html", "render_impact_html",
           "write_output_folder"]

EXTRA_CSS = """
tr.flag td{background:#fde2d4}span.out{color:#b35806;font-weight:600}
details{margin:.6em 0}summary{cursor:pointer;font-weight:600}
ul.findings li{margin:.3em 0}table.audit{font-size:.78em}table.audit td,table.audit th{padding:3px 3px}
table.audit td.wrap{min-width:9em}.todo{color:#8a5a00;background:#fff4d6;padding:0 4px}
table.card th{text-align:left;vertical-align:top;padding:6px 14px 6px 0;width:14em}
table.card td{padding:6px 0;vertical-align:top;white-space:pre-wrap}
"""


def group_label(characteristic: str, level: str, g: Glossary) -> tuple[str, str]:
    """A group of the audit in words: ("migratieachtergrond × geslacht", "niet-westers × man")."""
    names = str(characteristic).split(":")
    levels = str(level).split(":")
    return (" × ".join(g.variable(n) for n in names),
            " × ".join(g.level(n, lv) for n, lv in zip(names, levels)))


def _number(value: Any, g: Glossary, digits: int = 2) -> str:
    return g.number(value, digits)


def _interval(value, low, high, g: Glossary, digits: int = 2, percent: bool = False) -> str:
    show = (lambda v: g.percent(v, 1)) if percent else (lambda v: "∞" if v == np.inf else g.number(v, digits))
    if pd.isna(value):
        return "–"
    if pd.isna(low) or pd.isna(high):
        return show(value)
    return f"{show(value)} ({show(low)}–{show(high)})"


def _true(value) -> bool:
    return bool(pd.notna(value) and value)


def _forest(table: pd.DataFrame, band, g: Glossary) -> str:
    """O/E ratio to the reference with its interval, one line per group (all sectors)."""
    data = table[(table["sector"] == "all") & ~table["characteristic"].str.contains(":")
                 & table["oe_ratio"].notna()].iloc[::-1]
    fig = Figure(figsize=(7.5, 0.24 * len(data) + 1.0))
    ax = fig.add_subplot()
    positions = np.arange(len(data))
    ax.axvspan(band[0], band[1], color=COLOURS["band"], zorder=0)
    ax.axvline(1, color="#333333", linewidth=0.8)
    colours = np.where(data["flag"].fillna(False).astype(bool), COLOURS["flag"], COLOURS["ok"])
    low = (data["oe_ratio"] - data["oe_ratio_low"]).fillna(0).clip(lower=0)
    high = (data["oe_ratio_high"] - data["oe_ratio"]).replace(np.inf, np.nan).fillna(0).clip(lower=0)
    for y, x, lo, hi, colour in zip(positions, data["oe_ratio"], low, high, colours):
        ax.errorbar(x, y, xerr=[[lo], [hi]], fmt="o", color=colour, ecolor=colour, capsize=2, markersize=4)
    ax.set_xscale("log")
    finite = pd.concat([data["oe_ratio_low"], data["oe_ratio_high"].replace(np.inf, np.nan)]).dropna()
    lo, hi = min(0.5, finite.min() * 0.9) if len(finite) else 0.5, max(2.0, finite.max() * 1.1) if len(finite) else 2.0
    ax.set_xlim(lo, hi)
    ticks = [t for t in (0.1, 0.25, 0.5, 0.8, 1, 1.25, 2, 4, 10) if lo <= t <= hi]
    ax.set_xticks(ticks, [g.number(t, 2).rstrip("0").rstrip(",.") for t in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())
    labels = []
    for c, lv, ref in zip(data["characteristic"], data["level"], data["is_reference"]):
        name, level = group_label(c, lv, g)
        labels.append(f"{name}: {level}" + (g.pick(" (referentie)", " (reference)") if ref else ""))
    ax.set_yticks(positions, labels, fontsize=8)
    ax.set_ylim(-0.6, len(data) - 0.4)
    ax.set_xlabel(g.pick("waargenomen/verwacht, ten opzichte van de referentiegroep (logschaal; band: 0,8–1,25)",
                         "observed/expected, relative to the reference group (log scale; band: 0.8–1.25)"))
    ax.spines[["top", "right"]].set_visible(False)
    return figure_svg(fig)


def _rated(value, ratio, outside: bool, g: Glossary, low=None, high=None, percent: bool = True) -> str:
    """One cell: the value (with its interval when known) and its ratio to the reference."""
    if low is not None:
        text = escape(_interval(value, low, high, g, percent=percent))
    else:
        text = escape(g.percent(value, 1) if percent else g.number(value, 2))
    if pd.notna(ratio):
        text += f' <span class="{"out" if outside else "note"}">×{escape(g.number(ratio, 2))}</span>'
    return f'<td class="num">{text}</td>'


def _audit_table(block: pd.DataFrame, g: Glossary) -> str:
    heads = [g.pick("Kenmerk", "Characteristic"), g.pick("Groep", "Group"), g.pick("Leerlingen", "Pupils"),
             g.pick("W/V (95%)", "O/E (95%)"), g.pick("W/V t.o.v. referentie", "O/E ratio (interval)"),
             g.pick("ROC-AUC ×verhouding", "ROC-AUC ×ratio"), g.pick("Geselecteerd ×verh.", "Selected ×ratio"),
             g.pick("TPR ×verh.", "TPR ×ratio"), g.pick("FPR ×verh.", "FPR ×ratio"), g.pick("Signaal", "Flag")]
    rows = []
    for r in block.to_dict("records"):
        outside = set(str(r.get("ratios_outside_band") or "").split(";"))
        name, level = group_label(r["characteristic"], r["level"], g)
        reference = g.pick(" (referentie)", " (reference)") if r["is_reference"] else ""
        cells = [f'<td class="wrap">{escape(name)}</td>', f"<td>{escape(level + reference)}</td>",
                 f'<td class="num">{escape(g.number(r["n_persons"]))}</td>',
                 f'<td class="num">{escape(_interval(r["oe"], r["oe_low"], r["oe_high"], g))}</td>',
                 f'<td class="num">{escape(_interval(r["oe_ratio"], r["oe_ratio_low"], r["oe_ratio_high"], g))}</td>',
                 _rated(r["roc_auc"], r["roc_auc_ratio"], "roc_auc" in outside, g, percent=False),
                 *(_rated(r[m], r[f"{m}_ratio"], m in outside, g) for m in ("selection_rate", "tpr", "fpr")),
                 f"<td>{escape(g.pick('SIGNAAL', 'FLAG')) if _true(r['flag']) else ''}</td>"]
        flagged = ' class="flag"' if _true(r["flag"]) else ""
        rows.append(f"<tr{flagged}>" + "".join(cells) + "</tr>")
    head = "".join(f"<th>{escape(h)}</th>" for h in heads)
    return (f'<div class="scroll"><table class="data audit"><thead><tr>{head}</tr></thead><tbody>'
            + "".join(rows) + "</tbody></table></div>")


def _findings(result, g: Glossary) -> list[str]:
    lines = []
    for row in result.flagged.itertuples(index=False):
        name, level = group_label(row.characteristic, row.level, g)
        _, reference = group_label(row.characteristic, result.references.get(row.characteristic, ""), g)
        where = g.level("sector", row.sector)
        under = row.oe_ratio > 1
        lines.append(g.pick(
            f"{where}: {name} {level}: waargenomen/verwacht {g.number(row.oe, 2)}, {g.number(row.oe_ratio, 2)} keer "
            f"die van de referentiegroep ({reference}; interval {g.number(row.oe_ratio_low, 2)}–"
            f"{g.number(row.oe_ratio_high, 2)}): het model {'onderschat' if under else 'overschat'} vsv voor deze "
            f"groep, dus regio’s waar zij wonen krijgen {'minder' if under else 'meer'} dan hun behoefte.",
            f"{where}: {name} {level}: observed/expected {g.number(row.oe, 2)}, {g.number(row.oe_ratio, 2)} times "
            f"that of the reference group ({reference}; interval {g.number(row.oe_ratio_low, 2)}–"
            f"{g.number(row.oe_ratio_high, 2)}): the model {'under' if under else 'over'}-predicts vsv for this "
            f"group, so regions where it lives get {'less' if under else 'more'} than their need."))
    return lines


def render_audit_html(result, story: Mapping[str, Any] | None = None, *, lang: str = "nl",
                      title: str | None = None, index: str | None = None) -> str:
    """Render an :class:`~vsvrisk.audit.AuditResult` as one self-contained page.

    Parameters
    ----------
    result : AuditResult
        From :func:`vsvrisk.audit.audit_predictions`.
    story : mapping, optional
        The model run and cohort (:mod:`vsvrisk.report.story`); no timestamps, so that the page
        is the same for the same inputs.
    lang : {"nl", "en"}, default="nl"
    title : str, optional
    index : str, optional
        A relative link to the output's index page.

    Examples
    --------
    >>> from vsvrisk.synth import generate
    >>> from vsvrisk.audit import audit_predictions
    >>> frame = generate(5_000, seed=3).frame
    >>> result = audit_predictions(frame, frame["p_true"], n_boot=0, min_cell_size=10**6)
    >>> page = render_audit_html(result, {"model": {"run_id": "<none>"}})
    >>> "&lt;none&gt;" in page, "<script" in page, "niet-westers" in page
    (True, False, True)
    """
    g = glossary(lang)
    title = title or g.pick("Eerlijkheidsaudit", "Fairness audit")
    table, settings = result.table, result.settings
    band = settings["band"]
    findings = _findings(result, g)
    persons = table.loc[(table["sector"] == "all") & (table["characteristic"] == "gender"), "n_persons"].sum()
    top = g.percent(settings["top_share"], 0)
    figures = [(g.pick("Leerlingen in de audit", "Pupils audited"), g.number(persons)),
               (g.pick(f"Grens van de top {top}", f"Top {top} cut-off"), f"{g.pick('risico', 'risk')} ≥ {g.percent(result.cutoff, 2)}"),
               (g.pick("Gesignaleerde rijen", "Flagged rows"), str(len(result.flagged))),
               (g.pick("Vergelijkingen", "Comparisons"), g.number(settings["n_comparisons"]))]
    lead = g.pick(
        "Voor elke groep vergelijkt de audit het waargenomen aantal voortijdig schoolverlaters (vsv) met het aantal "
        "dat het model verwacht (W/V), en hoe goed het model leerlingen rangschikt (ROC-AUC). Ook neemt de audit de "
        f"leerlingen met een voorspeld risico in de landelijke top {top} (de leerlingen die bij de verdeling "
        "meetellen) en laat zien welk deel van elke groep dat is (geselecteerd), van wie wel uitviel (TPR) en van "
        "wie niet (FPR). Elk cijfer wordt vergeleken met een referentiegroep: de grootste, tenzij anders gekozen.",
        "For every group the audit compares the observed number of early school leavers (vsv) with the number the "
        "model expects (O/E), and how well the model ranks pupils (ROC-AUC). It also takes the pupils whose "
        f"predicted risk is in the national top {top} (the pupils that count toward need in the allocation) and "
        "shows which share of each group that is (selected), of those who did leave school (TPR), and of those "
        "who did not (FPR). Every figure is compared with a reference group: the largest, unless chosen otherwise.")
    low, high = g.number(band[0], 2).rstrip("0"), g.number(band[1], 2)
    rule = g.pick(
        f"Een groep krijgt een signaal als haar W/V buiten {low}–{high} keer die van de referentie ligt en het "
        "interval van die verhouding 1 uitsluit. Het budget volgt de som van de voorspelde risico’s: een groep "
        "waarvan het model het risico onderschat, brengt haar regio’s minder geld dan hun behoefte. Het interval "
        f"is exact en geldt tegelijk voor alle {g.number(settings['n_comparisons'])} vergelijkingen (Bonferroni, "
        f"{g.percent(settings['family_error'], 0)} in totaal), zodat een signaal geen toevalstreffer is. "
        "Verhoudingen van AUC, geselecteerd, TPR en FPR buiten de band zijn gekleurd maar geven geen signaal: de "
        "selectie hoort te verschillen waar het risico verschilt.",
        f"A group is flagged when its O/E is outside {low}–{high} times the reference's and the interval of that "
        "ratio excludes 1. The budget follows the sum of predicted risks, so a group whose risk the model "
        "underestimates brings its regions less money than their need. The interval is exact and simultaneous "
        f"over all {g.number(settings['n_comparisons'])} comparisons (Bonferroni, {g.percent(settings['family_error'], 0)} "
        "in all), so a flag is not a chance finding among many. Ratios of AUC, selected, TPR and FPR outside the "
        "band are shown in colour but do not flag: the selection should differ where risk differs.")
    sections = ([crumbs([(g.pick("← Overzicht", "← Overview"), index)])] if index else []) + [
        f"<h1>{escape(title)}</h1>", story_html(story, g), f'<p class="lead">{escape(lead)}</p>', keys(figures),
        f"<h2>{escape(g.pick('Bevindingen', 'Findings'))}</h2>",
        ('<ul class="findings">' + "".join(f"<li>{escape(line)}</li>" for line in findings) + "</ul>")
        if findings else f"<p>{escape(g.pick('Geen enkele groep krijgt een signaal.', 'No group is flagged.'))}</p>",
        f'<p class="note">{escape(rule)}</p>',
        f"<h2>{escape(g.pick('Kalibratie per groep, alle onderwijssoorten', 'Calibration per group, all sectors'))}</h2>",
        f"<figure>{_forest(table, band, g)}</figure>"]
    for sector, block in table.groupby("sector", sort=False):
        label = g.level("sector", sector)
        sections.append(f"<details{' open' if sector == 'all' else ''}><summary>{escape(label[:1].upper() + label[1:])}"
                        f"</summary>{_audit_table(block, g)}</details>")
    notes = [g.pick("W/V: waargenomen gedeeld door verwacht vsv, met het exacte 95%-interval. Verhoudingen zijn ten "
                    "opzichte van de referentiegroep van hetzelfde kenmerk en dezelfde onderwijssoort. –: niet "
                    f"beschikbaar, of onderdrukt omdat de cel minder dan {settings['threshold']} leerlingen heeft.",
                    "O/E: observed divided by expected vsv, with its exact 95% interval. Ratios are to the reference "
                    "group of the same characteristic and sector. –: not available, or suppressed because the cell "
                    f"has fewer than {settings['threshold']} pupils.")]
    if result.skipped:
        pairs = "; ".join(f"{g.level('sector', sector)}: {group_label(pair, '', g)[0]}"
                          for sector, _, pair in (entry.partition(": ") for entry in result.skipped))
        notes.append(g.pick(f"Paren van kenmerken weggelaten omdat een cel minder dan {g.number(settings['min_cell_size'])} "
                            f"leerlingen heeft: {pairs}.",
                            f"Pairs of characteristics left out because a cell has fewer than "
                            f"{g.number(settings['min_cell_size'])} pupils: {pairs}."))
    references = ", ".join(" = ".join(group_label(k, v, g)) for k, v in result.references.items())
    made = [(g.pick("Referentiegroepen", "References"), references),
            (g.pick("Trekkingen voor de intervallen", "Bootstrap replicates"), g.number(settings["n_boot"])),
            (g.pick("Seed", "Seed"), settings["random_state"]),
            (g.pick("Onthullingsdrempel", "Disclosure threshold"), settings["threshold"])]
    sections += [f'<p class="note">{escape(" ".join(notes))}</p>',
                 f"<h2>{escape(g.pick('Hoe dit is gemaakt', 'How this was made'))}</h2>", facts(made)]
    return page(title, sections, g, extra_css=EXTRA_CSS)


def alternative_label(alternative, spec: Mapping[str, Any] | None, baseline: Mapping[str, Any] | None,
                      g: Glossary) -> str:
    """An alternative of the impact study in words, from what it changes (never its code name).

    Examples
    --------
    >>> from vsvrisk.audit.impact import Alternative
    >>> a = Alternative(name="without_wealth", drop_features=["wealth_percentile"])
    >>> alternative_label(a, None, {}, glossary("nl"))
    'zonder vermogen van het gezin'
    """
    parts = []
    if alternative.drop_features:
        parts.append(g.pick("zonder ", "without ") + ", ".join(g.variable(f) for f in alternative.drop_features))
    if alternative.add_features:
        text = g.pick("met ", "with ") + ", ".join(g.variable(f) for f in alternative.add_features)
        if "migration_background" in alternative.add_features:
            text += g.pick(" (alleen voor de audit; nooit om te verdelen)", " (audit only; never to allocate)")
        parts.append(text)
    if alternative.model is not None and spec is not None:
        learner = {"logistic": g.pick("logistische regressie", "logistic regression"), "lightgbm": "LightGBM"}
        text = f"model {spec['name']} ({learner.get(spec['learner'], spec['learner'])})"
        if baseline:  # None: the alternative is the baseline itself, nothing to set it against
            text += g.pick(f" in plaats van {baseline.get('name')}", f" instead of {baseline.get('name')}")
        parts.append(text)
    if alternative.scenario is not None:
        parts.append(g.pick("scenario: ", "scenario: ") + scenario_text(
            alternative.scenario if alternative.scenario == "all" else {"top_share": alternative.scenario.top_share}, g))
    return "; ".join(parts)


def impact_figure(table: pd.DataFrame, labels: Mapping[str, str] | None = None, g: Glossary | None = None) -> Figure:
    """Change in euros per region for every alternative against the baseline (one dot each)."""
    g = g or glossary("nl")
    labels = labels or {}
    data = table[table["alternative"] != "baseline"]
    alternatives = list(dict.fromkeys(data["alternative"]))
    regions = data.drop_duplicates("region_code").sort_values("region_code", ascending=False)
    fig = Figure(figsize=(8.5, 0.2 * len(regions) + 1.8))
    ax = fig.add_subplot()
    position = {code: i for i, code in enumerate(regions["region_code"])}
    markers = "osD^v<>"
    for k, name in enumerate(alternatives):
        rows = data[data["alternative"] == name]
        ax.scatter(rows["delta_eur"], rows["region_code"].map(position), s=16, marker=markers[k % len(markers)],
                   label=labels.get(name, name), zorder=3)
    ax.axvline(0, color="#333333", linewidth=0.8)
    ax.set_yticks(range(len(regions)), regions["region_name"].tolist(), fontsize=7)
    ax.set_ylim(-0.6, len(regions) - 0.4)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: (g.number(x / 1000, 0, signed=True) + "k") if x else "0"))
    ax.set_xlabel(g.pick("verandering van het bedrag van de regio tegen de baseline (euro’s)",
                         "change in the region's amount against the baseline allocation (euros)"))
    ax.grid(axis="x", color="#dddddd")
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=1, frameon=False)
    fig.tight_layout()
    return fig


def render_impact_html(table: pd.DataFrame, labels: Mapping[str, str], story: Mapping[str, Any] | None = None, *,
                       lang: str = "nl", notes: list[str] | None = None, index: str | None = None) -> str:
    """Render the impact table (long: alternative x region) with its chart as one page.

    ``labels`` names every alternative in words (:func:`alternative_label`); the page shows no
    code names. ``notes`` are further sentences (an alternative left out, and why).
    """
    g = glossary(lang)
    title = g.pick("Wat een modelkeuze met het geld doet", "What a modelling choice does to the money")
    summary = []
    names = [n for n in dict.fromkeys(table["alternative"]) if n != "baseline"]
    for number, name in enumerate(names, start=1):
        rows = table[table["alternative"] == name]
        moved = rows["delta_eur"].abs().sum() / 2  # what one region gains another loses
        worst = rows.loc[rows["delta_eur"].idxmin()]
        best = rows.loc[rows["delta_eur"].idxmax()]
        summary.append(f"<tr><td>{number}</td><td>{escape(labels.get(name, name))}</td>"
                       f'<td class="num">{escape(g.euro(moved))}</td>'
                       f"<td>{escape(str(best['region_name']))} ({escape(g.euro(best['delta_eur'], signed=True))})</td>"
                       f"<td>{escape(str(worst['region_name']))} ({escape(g.euro(worst['delta_eur'], signed=True))})</td></tr>")
    wide = table.pivot(index=["region_code", "region_name"], columns="alternative", values="delta_eur")
    base = table[table["alternative"] == "baseline"].set_index("region_code")
    rows = []
    for (code, name), values in wide[names].iterrows():
        cells = "".join(f'<td class="num">{escape(g.euro(v, signed=True))}</td>' for v in values)
        rows.append(f'<tr data-region="{code}"><td>{code}</td><td>{escape(str(name))}</td>'
                    f'<td class="num" data-field="amount_eur">{escape(g.euro(base.loc[code, "amount_eur"]))}</td>{cells}</tr>')
    head = "".join(f'<th class="num">{number}</th>' for number in range(1, len(names) + 1))
    lead = g.pick(
        "Elk alternatief verandert één modelkeuze en doet de verdeling opnieuw met dezelfde regels en hetzelfde "
        "budget. De baseline is het model dat verdeelt, op hetzelfde cohort: haar bedragen zijn die van de verdeling. "
        "De tabellen tonen hoeveel euro elke regio wint of verliest tegen de baseline; de bestanden geven ook de "
        "verandering van het aandeel behoefte, in procentpunten.",
        "Each alternative changes one modelling choice and redoes the allocation with the same rules and budget. "
        "The baseline is the model that allocates, on the same cohort: its amounts are the allocation's. The tables "
        "show how many euros each region gains or loses against the baseline; the files also give the change in "
        "each region's share of need, in percentage points.")
    figure = figure_svg(impact_figure(table, {n: f"{k}. {labels.get(n, n)}" for k, n in enumerate(names, 1)}, g))
    sections = ([crumbs([(g.pick("← Overzicht", "← Overview"), index)])] if index else []) + [
        f"<h1>{escape(title)}</h1>", story_html(story, g), f'<p class="lead">{escape(lead)}</p>',
        f"<h2>{escape(g.pick('De alternatieven', 'The alternatives'))}</h2>",
        '<table class="data"><thead><tr><th>#</th><th>' + escape(g.pick("Wat verandert", "What changes"))
        + '</th><th class="num">' + escape(g.pick("Verschoven euro’s", "Euros moved")) + "</th><th>"
        + escape(g.pick("Grootste winst", "Largest gain")) + "</th><th>" + escape(g.pick("Grootste verlies", "Largest loss"))
        + "</th></tr></thead><tbody>" + "".join(summary) + "</tbody></table>",
        *(f'<p class="note">{escape(note)}</p>' for note in notes or ()),
        f"<h2>{escape(g.pick('Verandering per regio', 'Change per region'))}</h2>", f"<figure>{figure}</figure>",
        '<div class="scroll"><table class="data"><thead><tr><th>' + escape(g.column("region_code")) + "</th><th>"
        + escape(g.column("region_name")) + f'</th><th class="num">{escape(g.pick("Baseline", "Baseline"))}</th>'
        f"{head}</tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>",
        f'<p class="note">{escape(g.pick("Kolommen 1, 2, …: de alternatieven hierboven, verschil met de baseline.", "Columns 1, 2, …: the alternatives above, difference from the baseline."))}</p>']
    return page(title, sections, g, extra_css=EXTRA_CSS)


def write_output_folder(out: str | os.PathLike, files: Mapping[str, Callable[[Path], None]], manifest: Mapping,
                        *, tables: tuple = (), overwrite: bool = False) -> Path:
    """Write one output folder all or nothing: each file by its writer, then ``manifest.json``.

    ``tables`` are checked for person-level rows before anything is written; the manifest gets
    the SHA-256 of every file (see :func:`vsvrisk.report.add_outputs`).
    """
    for table in tables:
        assert_no_person_rows(table)
    out = Path(out)
    with atomic_output(out, overwrite=overwrite) as tmp:
        tmp.mkdir()
        for name, writer in files.items():
            writer(tmp / name)
        complete = add_outputs(manifest, {name: tmp / name for name in files})
        write_manifest(complete, tmp / "manifest.json")
    return out
