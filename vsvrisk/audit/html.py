"""Pages and folders of the accountability outputs: the audit, the impact of choices, the card.

Each page is self-contained as the allocation report is (inline CSS from
:mod:`vsvrisk.report.html`, charts as inline SVG, every text escaped) and carries no timestamp,
so the same inputs give byte-identical files; the time of a run lives in ``manifest.json`` only.
Every folder is written whole or not at all (:func:`vsvrisk._atomic.atomic_output`).
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
from vsvrisk.report.charts import figure_svg
from vsvrisk.report.html import _CSS

__all__ = ["render_audit_html", "render_impact_html", "render_card_html", "write_output_folder", "impact_figure"]

_EXTRA_CSS = """
tr.flag td{background:#fde2d4}span.out{color:#b3400a;font-weight:600}span.note{color:#777}
details{margin:.6em 0}summary{cursor:pointer;font-weight:600}
ul.findings li{margin:.3em 0}table.audit{font-size:.8em}table.audit td,table.audit th{padding:3px 4px}table.audit td.wrap{white-space:normal;min-width:14em}.todo{color:#8a5a00;background:#fff4d6;padding:0 4px}
table.data.wrap td{white-space:normal}table.card th{text-align:left;vertical-align:top;padding:6px 14px 6px 0;width:16em}
table.card td{padding:6px 0;vertical-align:top;white-space:pre-wrap;max-width:60em}
"""
_FLAG, _OK, _BAND = "#c2571a", "#4a6fa5", "#e9edf4"


def _page(title: str, sections: list[str]) -> str:
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{_CSS}{_EXTRA_CSS}</style></head>"
            "<body><main>\n" + "\n".join(sections) + "\n</main></body></html>\n")


def _number(value: Any, pattern: str = "{:.2f}") -> str:
    return "–" if value is None or pd.isna(value) else pattern.format(value)


def _interval(value, low, high, pattern: str = "{:.2f}") -> str:
    if pd.isna(value):
        return "–"
    if pd.isna(low) or pd.isna(high):
        return pattern.format(value)
    return f"{pattern.format(value)} ({pattern.format(low)}–{pattern.format(high)})".replace("inf", "∞")


def _true(value) -> bool:
    return bool(pd.notna(value) and value)


def _facts(pairs) -> str:
    rows = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>" for k, v in pairs)
    return f'<table class="facts">{rows}</table>'


def _forest(table: pd.DataFrame, band) -> str:
    """O/E ratio to the reference with its interval, one line per group (all sectors)."""
    data = table[(table["sector"] == "all") & ~table["characteristic"].str.contains(":")
                 & table["oe_ratio"].notna()].iloc[::-1]
    fig = Figure(figsize=(7.5, 0.24 * len(data) + 1.0))
    ax = fig.add_subplot()
    positions = np.arange(len(data))
    ax.axvspan(band[0], band[1], color=_BAND, zorder=0)
    ax.axvline(1, color="#333333", linewidth=0.8)
    colours = np.where(data["flag"].fillna(False).astype(bool), _FLAG, _OK)
    low = (data["oe_ratio"] - data["oe_ratio_low"]).fillna(0).clip(lower=0)
    high = (data["oe_ratio_high"] - data["oe_ratio"]).replace(np.inf, np.nan).fillna(0).clip(lower=0)
    for y, x, lo, hi, colour in zip(positions, data["oe_ratio"], low, high, colours):
        ax.errorbar(x, y, xerr=[[lo], [hi]], fmt="o", color=colour, ecolor=colour, capsize=2, markersize=4)
    ax.set_xscale("log")
    finite = pd.concat([data["oe_ratio_low"], data["oe_ratio_high"].replace(np.inf, np.nan)]).dropna()
    lo, hi = min(0.5, finite.min() * 0.9) if len(finite) else 0.5, max(2.0, finite.max() * 1.1) if len(finite) else 2.0
    ax.set_xlim(lo, hi)
    ticks = [t for t in (0.1, 0.25, 0.5, 0.8, 1, 1.25, 2, 4, 10) if lo <= t <= hi]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())
    labels = [f"{c}: {lv}" + (" (reference)" if ref else "") for c, lv, ref in
              zip(data["characteristic"], data["level"], data["is_reference"])]
    ax.set_yticks(positions, labels, fontsize=8)
    ax.set_ylim(-0.6, len(data) - 0.4)
    ax.set_xlabel("observed/expected, relative to the reference group (log scale; band: 0.8–1.25)")
    ax.spines[["top", "right"]].set_visible(False)
    return figure_svg(fig)


def _rated(value, ratio, outside: bool, low=None, high=None, pattern: str = "{:.1%}") -> str:
    """One cell: the value (with its interval when known) and its ratio to the reference."""
    text = escape(_interval(value, low, high, pattern) if low is not None else _number(value, pattern))
    if pd.notna(ratio):
        text += f' <span class="{"out" if outside else "note"}">×{ratio:.2f}</span>'
    return f'<td class="num">{text}</td>'


def _audit_table(block: pd.DataFrame) -> str:
    heads = ["Group", "Level", "Persons", "O/E (95%)", "O/E ratio (interval)", "ROC-AUC (95%) ×ratio",
             "Selected ×ratio", "TPR ×ratio", "FPR ×ratio", "Flag"]
    rows = []
    for r in block.to_dict("records"):
        outside = set(str(r.get("ratios_outside_band") or "").split(";"))
        cells = [f'<td class="wrap">{escape(r["characteristic"].replace("_", " ").replace(":", " × "))}</td>',
                 f"<td>{escape(r['level'].replace(':', ' × '))}{' (reference)' if r['is_reference'] else ''}</td>",
                 f'<td class="num">{escape(_number(r["n_persons"], "{:,.0f}"))}</td>',
                 f'<td class="num">{escape(_interval(r["oe"], r["oe_low"], r["oe_high"]))}</td>',
                 f'<td class="num">{escape(_interval(r["oe_ratio"], r["oe_ratio_low"], r["oe_ratio_high"]))}</td>',
                 _rated(r["roc_auc"], r["roc_auc_ratio"], "roc_auc" in outside, r["roc_auc_low"], r["roc_auc_high"],
                        "{:.2f}"),
                 *(_rated(r[m], r[f"{m}_ratio"], m in outside) for m in ("selection_rate", "tpr", "fpr")),
                 f"<td>{'FLAG' if _true(r['flag']) else ''}</td>"]
        flagged = ' class="flag"' if _true(r["flag"]) else ""
        rows.append(f"<tr{flagged}>" + "".join(cells) + "</tr>")
    head = "".join(f"<th>{escape(h)}</th>" for h in heads)
    return (f'<div class="scroll"><table class="data audit"><thead><tr>{head}</tr></thead><tbody>'
            + "".join(rows) + "</tbody></table></div>")


def render_audit_html(result, facts: Mapping[str, Any] | None = None, *, title: str = "Fairness audit") -> str:
    """Render an :class:`~vsvrisk.audit.AuditResult` as one self-contained page.

    Parameters
    ----------
    result : AuditResult
        From :func:`vsvrisk.audit.audit_predictions`.
    facts : mapping, optional
        Shown under "How this was made" (model run, cohort, ...); no timestamps, so that the
        page is the same for the same inputs.
    title : str, default="Fairness audit"

    Examples
    --------
    >>> from vsvrisk.synth import generate
    >>> from vsvrisk.audit import audit_predictions
    >>> frame = generate(5_000, seed=3).frame
    >>> result = audit_predictions(frame, frame["p_true"], n_boot=0, min_cell_size=10**6)
    >>> page = render_audit_html(result, {"Model run": "<none>"})
    >>> "&lt;none&gt;" in page, "<script" in page
    (True, False)
    """
    table, settings = result.table, result.settings
    band = settings["band"]
    findings = result.findings()
    persons = table.loc[(table["sector"] == "all") & (table["characteristic"] == "gender"), "n_persons"].sum()
    keys = [("Persons audited", f"{persons:,.0f}"),
            (f"Top {100 * settings['top_share']:.0f}% cut-off", f"risk ≥ {100 * result.cutoff:.2f}%"),
            ("Flagged rows", str(len(result.flagged))), ("Comparisons", str(settings["n_comparisons"]))]
    lead = ("For every group the audit compares the observed number of early school leavers (vsv) with the "
            "number the model expects (O/E), and how well the model ranks pupils (ROC-AUC). It also takes the "
            f"pupils whose predicted risk is in the national top {100 * settings['top_share']:.0f}% (the pupils "
            "that count toward need in the allocation) and shows which share of each group that is (selected), "
            "of those who did leave school (TPR), and of those who did not (FPR). Every figure is compared with a "
            "reference group: the largest, unless chosen otherwise.")
    rule = (f"A group is flagged when its O/E is outside {band[0]}–{band[1]} times the reference's and the "
            "interval of that ratio excludes 1. The budget follows the sum of predicted risks, so a group whose "
            "risk the model underestimates brings its regions less money than their need. The interval is exact "
            f"and simultaneous over all {settings['n_comparisons']} comparisons (Bonferroni, "
            f"{100 * settings['family_error']:.0f}% in all), so a flag is not a chance finding among many. "
            "Ratios of AUC, selected, TPR and FPR outside the band are shown in colour but do not flag: the "
            "selection should differ where risk differs, and where groups differ in risk no calibrated model "
            "can also give them equal TPR and FPR.")
    sections = [f"<h1>{escape(title)}</h1>", f'<p class="lead">{escape(lead)}</p>',
                '<div class="keys">' + "".join(f"<div>{escape(k)}<b>{escape(v)}</b></div>" for k, v in keys) + "</div>",
                "<h2>Findings</h2>",
                ('<ul class="findings">' + "".join(f"<li>{escape(line)}</li>" for line in findings) + "</ul>")
                if findings else "<p>No group is flagged.</p>",
                f'<p class="note">{escape(rule)}</p>',
                "<h2>Calibration per group, all sectors</h2>", f"<figure>{_forest(table, band)}</figure>"]
    for sector, block in table.groupby("sector", sort=False):
        label = "All sectors" if sector == "all" else f"Sector {sector}"
        sections.append(f"<details{' open' if sector == 'all' else ''}><summary>{escape(label)}</summary>"
                        f"{_audit_table(block)}</details>")
    notes = ["O/E: observed divided by expected vsv, with its exact 95% interval. Ratios are to the reference "
             "group of the same characteristic and sector. –: not available, or suppressed because the cell has "
             f"fewer than {settings['threshold']} persons."]
    if result.skipped:
        notes.append(f"Pairs of characteristics left out because a cell has fewer than {settings['min_cell_size']:,} "
                     f"persons: {', '.join(result.skipped)}.")
    made = [*(facts or {}).items(), ("References", ", ".join(f"{k} = {v}" for k, v in result.references.items())),
            ("Bootstrap replicates", settings["n_boot"]), ("Seed", settings["random_state"]),
            ("Disclosure threshold", settings["threshold"])]
    sections += [f'<p class="note">{escape(" ".join(notes))}</p>', "<h2>How this was made</h2>", _facts(made)]
    return _page(title, sections)


def impact_figure(table: pd.DataFrame) -> Figure:
    """Change in euros per region for every alternative against the baseline (one dot each)."""
    data = table[table["alternative"] != "baseline"]
    alternatives = list(dict.fromkeys(data["alternative"]))
    regions = data.drop_duplicates("region_code").sort_values("region_code", ascending=False)
    fig = Figure(figsize=(8.5, 0.2 * len(regions) + 1.4))
    ax = fig.add_subplot()
    position = {code: i for i, code in enumerate(regions["region_code"])}
    markers = "osD^v<>"
    for k, name in enumerate(alternatives):
        rows = data[data["alternative"] == name]
        ax.scatter(rows["delta_eur"], rows["region_code"].map(position), s=16, marker=markers[k % len(markers)],
                   label=name, zorder=3)
    ax.axvline(0, color="#333333", linewidth=0.8)
    ax.set_yticks(range(len(regions)), regions["region_name"].tolist(), fontsize=7)
    ax.set_ylim(-0.6, len(regions) - 0.4)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x / 1000:+,.0f}k" if x else "0"))
    ax.set_xlabel("change in the region's amount against the baseline allocation (euros)")
    ax.grid(axis="x", color="#dddddd")
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def render_impact_html(table: pd.DataFrame, alternatives: Mapping[str, str], facts: Mapping[str, Any],
                       *, title: str = "What a modelling choice does to the money") -> str:
    """Render the impact table (long: alternative x region) with its chart as one page."""
    summary = []
    for name, rows in table[table["alternative"] != "baseline"].groupby("alternative", sort=False):
        moved = rows["delta_eur"].abs().sum() / 2  # what one region gains another loses
        worst = rows.loc[rows["delta_eur"].idxmin()]
        best = rows.loc[rows["delta_eur"].idxmax()]
        summary.append(f"<tr><td>{escape(name)}</td><td>{escape(alternatives.get(name, ''))}</td>"
                       f'<td class="num">€ {moved:,.0f}</td>'
                       f"<td>{escape(str(best['region_name']))} ({best['delta_eur']:+,.0f})</td>"
                       f"<td>{escape(str(worst['region_name']))} ({worst['delta_eur']:+,.0f})</td></tr>")
    wide = table.pivot(index=["region_code", "region_name"], columns="alternative", values="delta_eur")
    names = [n for n in dict.fromkeys(table["alternative"]) if n != "baseline"]
    base = table[table["alternative"] == "baseline"].set_index("region_code")
    rows = []
    for (code, name), values in wide[names].iterrows():
        cells = "".join(f'<td class="num">{v:+,.0f}</td>' for v in values)
        rows.append(f"<tr><td>{code}</td><td>{escape(str(name))}</td>"
                    f'<td class="num">€ {base.loc[code, "amount_eur"]:,.0f}</td>{cells}</tr>')
    head = "".join(f'<th class="num">{escape(n)}</th>' for n in names)
    sections = [f"<h1>{escape(title)}</h1>",
                '<p class="lead">Each alternative changes one modelling choice and redoes the allocation with the '
                "same rules and budget. The tables show how many euros each region gains or loses against the "
                "baseline; the files also give the change in each region's share of need, in percentage points.</p>",
                "<h2>The alternatives</h2>",
                '<table class="data wrap"><thead><tr><th>Alternative</th><th>What changes</th><th class="num">Euros moved'
                "</th><th>Largest gain</th><th>Largest loss</th></tr></thead><tbody>" + "".join(summary)
                + "</tbody></table>",
                "<h2>Change per region</h2>", f"<figure>{figure_svg(impact_figure(table))}</figure>",
                '<div class="scroll"><table class="data"><thead><tr><th>Code</th><th>Region</th>'
                f'<th class="num">Baseline</th>{head}</tr></thead><tbody>' + "".join(rows) + "</tbody></table></div>",
                "<h2>How this was made</h2>", _facts(facts.items())]
    return _page(title, sections)


def render_card_html(card: Mapping[str, Any]) -> str:
    """Render a model card (see :func:`vsvrisk.audit.model_card`) as a readable page."""
    todo = card["to_be_filled_in"]
    rows = []
    for key, field in card["fields"].items():
        value = escape(str(field["value"])).replace(escape(todo), f'<span class="todo">{escape(todo)}</span>')
        rows.append(f"<tr><th>{escape(field['label'])}<br><code>{escape(key)}</code></th><td>{value}"
                    f'<br><span class="note">source: {escape(field["source"])}</span></td></tr>')
    standard = card["standard"]
    sections = [f"<h1>{escape(card['fields']['name']['value'])}: registration for the algorithm register</h1>",
                f'<p class="lead">In the fields of the {escape(standard["name"])} (version {escape(standard["version"])}). '
                f"Fields marked <span class=\"todo\">{escape(todo)}</span> can only be filled in by a person of "
                "the responsible organisation; vsvrisk leaves them open rather than guess.</p>",
                f'<table class="card">{"".join(rows)}</table>',
                "<h2>How this was made</h2>", _facts([("Model run", card["run_id"]),
                                                      ("vsvrisk version", card["generated_by"])])]
    return _page(f"Algorithm register: {card['fields']['name']['value']}", sections)


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
