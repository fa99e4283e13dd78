"""One self-contained HTML page per allocation, readable by a policy officer.

Nothing on the page is fetched from elsewhere (no CDN, fonts or scripts): the CSS is inline and
the charts are inline SVG drawn by matplotlib, so the page opens inside Remote Access and can be
mailed on as one file. Every piece of text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from html import escape
from typing import Any

import pandas as pd

from vsvrisk.exceptions import AllocationError
from vsvrisk.report.charts import change_chart, share_chart

__all__ = ["render_allocation_html", "column_kind"]

_LABELS = {
    "region_code": "Code", "region_name": "Region", "need": "Need", "share": "Need share",
    "amount_eur": "Amount", "previous_eur": "Last year", "change_eur": "Change",
    "change_pct": "Change %", "binding": "Held by",
}
_BINDING = {"none": "", "floor": "minimum", "lower_band": "max. down",
            "upper_band": "max. up"}


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
    if name.endswith("_pct"):
        return "percent_points"
    if name == "share" or name.startswith(("share_", "p_")) or name.endswith("_share"):
        return "fraction"
    if name.endswith("_eur") or name.startswith("amount_"):
        return "euro"
    if name.startswith("n_"):
        return "count"
    return "other"


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _euro(value: Any, signed: bool = False) -> str:
    if _missing(value):
        return "–"
    sign = "+" if signed and value > 0 else ("−" if value < 0 else "")
    return f"{sign}€\u00a0{abs(value):,.0f}"


def _fraction(value: Any, digits: int = 2) -> str:
    return "–" if _missing(value) else f"{100 * value:.{digits}f}%"


def _points(value: Any) -> str:
    if _missing(value):
        return "–"
    return f"{'+' if value > 0 else ''}{value:.1f}%".replace("-", "−")


def _explanation(table: pd.DataFrame, rules: Mapping[str, Any], budget: int) -> str:
    parts = [f"The budget of {_euro(budget)} is divided over the {len(table)} regions (RMC "
             f"regions) in proportion to their need: the expected number of pupils who leave "
             f"school without a basic qualification (vsv), the sum of every pupil's predicted "
             f"risk. A region with twice the need gets twice the variable part."]
    if rules.get("base_amount_eur"):
        parts.append(f"Every region first receives a fixed {_euro(rules['base_amount_eur'])}.")
    if rules.get("floor_eur"):
        parts.append(f"No region receives less than {_euro(rules['floor_eur'])}.")
    if rules.get("max_change"):
        parts.append(
            f"A dampening band keeps every region within {_fraction(rules['max_change'], 0)} of "
            f"last year's amount, so that a region can plan: where the band holds a region back, "
            f"the money is shared among the other regions by need.")
    parts.append("Amounts are whole euros and add up to the budget exactly.")
    return " ".join(parts)


def _any_suppressed(table: pd.DataFrame) -> bool:
    return "suppressed" in table.columns and bool(table["suppressed"].fillna(False).any())


def _table_note(table: pd.DataFrame) -> str:
    notes = ["Need: the expected number of early school leavers. Need share: the region's part "
             "of the national need."]
    if "amount_low" in table.columns:
        notes.append("Amount interval: the range the amount falls in when the need estimate is "
                     "redone on resampled data (the files also give the share interval).")
    if any(str(c).startswith("p_change_above") for c in table.columns):
        notes.append("Chance of big change: how likely the amount moves more than the chosen "
                     "threshold.")
    if "binding" in table.columns:
        notes.append("Held by: the rule that fixes the amount instead of need (the minimum, or "
                     "the dampening band's maximum rise or fall).")
    notes.append("–: not available, or suppressed because it rests on fewer persons than the "
                 "disclosure threshold.")
    return " ".join(notes)


def _cell(value: str, numeric: bool = True, title: str | None = None) -> str:
    attrs = ' class="num"' if numeric else ""
    if value == "–":
        attrs += ' title="suppressed or not available"'
    elif title:
        attrs += f' title="{escape(title)}"'
    return f"<td{attrs}>{escape(value)}</td>"


def _allocation_table(table: pd.DataFrame) -> str:
    has = set(table.columns)
    heads = ["Code", "Region", "Need", "Need share", "Amount"]
    if "previous_eur" in has:
        heads.append("Last year")
    if {"change_eur", "change_pct"} & has:
        heads.append("Change")
    # One interval column keeps the table within a screen: in euros when known (what a region
    # plans with), else as a share; the chart shows the share intervals, the files hold both.
    interval = ("amount" if {"amount_low", "amount_high"} <= has
                else "share" if {"share_low", "share_high"} <= has else None)
    if interval:
        heads.append("Amount interval" if interval == "amount" else "Share interval")
    chance = [c for c in table.columns if c.startswith("p_change_above")]
    heads += ["Chance of big change" if c == "p_change_above" else c for c in chance]
    if "binding" in has:
        heads.append("Held by")
    rows = []
    for row in table.itertuples(index=False):
        r = row._asdict()
        cells = [_cell(str(r["region_code"]), False), _cell(str(r["region_name"]), False),
                 _cell("–" if _missing(r.get("need")) else f"{r['need']:,.1f}"),
                 _cell(_fraction(r.get("share"))), _cell(_euro(r["amount_eur"]))]
        if "previous_eur" in has:
            cells.append(_cell(_euro(r["previous_eur"])))
        # One column for the change in euros and percent keeps the table within a screen.
        change = [_euro(r["change_eur"], signed=True)] if "change_eur" in has else []
        if "change_pct" in has:
            change.append(f"({_points(r['change_pct'])})" if change else _points(r["change_pct"]))
        if change:
            cells.append(_cell(" ".join(change)))
        if interval == "amount":
            high = _euro(r["amount_high"]).replace("€\u00a0", "")
            cells.append(_cell(f"{_euro(r['amount_low'])} – {high}"))
        elif interval == "share":
            cells.append(_cell(f"{_fraction(r['share_low'])} – {_fraction(r['share_high'])}"))
        cells += [_cell(_fraction(r[c], 0)) for c in chance]
        if "binding" in has:
            cells.append(_cell(_BINDING.get(str(r["binding"]), str(r["binding"])), False))
        rows.append("<tr>" + "".join(cells) + "</tr>")
    label = "Total of the regions shown" if _any_suppressed(table) else "Total"
    total = ["<td></td>", f"<td>{label}</td>",
             _cell(f"{table['need'].sum():,.1f}" if "need" in has else ""),
             _cell(_fraction(table["share"].sum()) if "share" in has else ""),
             _cell(_euro(table["amount_eur"].sum()))]
    total += [_cell(_euro(table[c].sum(), signed=c == "change_eur"))
              for c in ("previous_eur", "change_eur") if c in has]
    total += ["<td></td>"] * (len(heads) - len(total))
    head = "".join(f"<th>{escape(h)}</th>" if h in ("Code", "Region", "Held by")
                   else f'<th class="num">{escape(h)}</th>' for h in heads)
    return ('<div class="scroll"><table class="data"><thead><tr>' + head
            + "</tr></thead><tbody>" + "".join(rows) + "</tbody><tfoot><tr>" + "".join(total)
            + "</tr></tfoot></table></div>")


def _long_drivers(drivers: pd.DataFrame) -> pd.DataFrame:
    """Accept drivers long (region_code, feature, contribution) or wide (one column each)."""
    label = next((c for c in ("feature", "driver") if c in drivers.columns), None)
    value = next((c for c in ("contribution", "value") if c in drivers.columns), None)
    if label and value:
        return drivers.rename(columns={label: "feature", value: "contribution"})
    measures = [c for c in drivers.columns if c not in ("region_code", "region_name", "n_persons",
                                                        "suppressed")
                and pd.api.types.is_numeric_dtype(drivers[c])]
    return drivers.melt(id_vars=["region_code"], value_vars=measures, var_name="feature",
                        value_name="contribution")


def _drivers_table(drivers: pd.DataFrame, names: Mapping[int, str], top: int = 5) -> str:
    if "region_code" not in drivers.columns:
        raise AllocationError("the drivers table has no region_code column: give one row per "
                           "region and feature (region_code, feature, contribution)")
    long = _long_drivers(drivers).dropna(subset=["contribution"])
    rows = []
    for code, group in long.groupby("region_code", sort=True):
        group = group.reindex(group["contribution"].abs().sort_values(ascending=False).index)
        items = []
        for feature, amount in zip(group["feature"].head(top), group["contribution"].head(top)):
            kind = "up" if amount > 0 else "down"
            arrow = "▲" if amount > 0 else "▼"
            items.append(f'<span class="{kind}">{arrow} {escape(str(feature))} '
                         f'({amount:+.2f})</span>')
        rows.append(f"<tr><td>{escape(str(code))}</td><td>{escape(str(names.get(code, '')))}"
                    f"</td><td>{' · '.join(items)}</td></tr>")
    return ("<table class=\"data drivers\"><thead><tr><th>Code</th><th>Region</th>"
            f"<th>Largest drivers (top {top})</th></tr></thead><tbody>" + "".join(rows)
            + "</tbody></table>")


def _manifest_summary(manifest: Mapping[str, Any]) -> str:
    facts = [("vsvrisk version", manifest.get("vsvrisk_version")),
             ("Created (UTC)", manifest.get("created_utc")),
             ("Model run", manifest.get("model_run_id") or "none (need from a file)"),
             ("Seed", manifest.get("seed")),
             ("Python", (manifest.get("versions") or {}).get("python"))]
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in facts)
    for name, info in sorted((manifest.get("inputs") or {}).items()):
        if not info:
            text = "not used"
        else:
            text = f"{info.get('path')} · sha256 {str(info.get('sha256'))[:12]}…"
        rows += f"<tr><th>Input: {escape(name)}</th><td><code>{escape(text)}</code></td></tr>"
    return f'<table class="facts">{rows}</table>'


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#222;
margin:0;background:#fff;line-height:1.45}
main{max-width:1280px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:1.7em;margin:0 0 .3em}h2{font-size:1.2em;margin:1.8em 0 .5em;
border-bottom:1px solid #ddd;padding-bottom:.2em}
p.lead{max-width:52em}p.note{color:#555;font-size:.9em;max-width:60em}
.keys{display:flex;gap:28px;flex-wrap:wrap;margin:1em 0}
.keys div{background:#f3f5f9;border-radius:6px;padding:10px 16px}
.keys b{display:block;font-size:1.3em}
table{border-collapse:collapse;font-size:.85em}
table.data{min-width:60%}
.scroll{overflow-x:auto}
table.data th{background:#e9edf4;text-align:left;padding:5px 6px;vertical-align:bottom}
table.data td{padding:3px 6px;border-bottom:1px solid #eee;white-space:nowrap}
table.data tbody tr:nth-child(even){background:#fafbfd}
table.data tfoot td{font-weight:bold;border-top:2px solid #999}
th.num{text-align:right}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.facts th{text-align:left;padding:2px 14px 2px 0;font-weight:600;white-space:nowrap}
table.facts td{padding:2px 0}
.up{color:#1b7837}.down{color:#c2571a}
table.data.drivers td{white-space:normal}.drivers td span{white-space:nowrap}
figure{margin:0}figure svg{max-width:760px;width:100%;height:auto}
@media print{h2{page-break-after:avoid}.scroll{overflow:visible}}
"""


def render_allocation_html(
    allocation: pd.DataFrame,
    manifest: Mapping[str, Any],
    *,
    rules: Mapping[str, Any] | None = None,
    drivers: pd.DataFrame | None = None,
    title: str = "Budget per region",
    budget: int | None = None,
) -> str:
    """Render an allocation as one self-contained HTML page.

    Parameters
    ----------
    allocation : DataFrame
        As :func:`vsvrisk.allocate.allocate` returns it: ``region_code``, ``region_name``,
        ``need``, ``share``, ``amount_eur``; the change, interval, chance and ``binding``
        columns are shown when present.
    manifest : mapping
        From :func:`vsvrisk.report.build_manifest`; its summary closes the page.
    rules : mapping, optional
        The allocation rules (``budget_eur``, ``base_amount_eur``, ``floor_eur``,
        ``max_change``), used in the explanation and to draw the dampening band.
    drivers : DataFrame, optional
        Why each region's need differs: long (``region_code``, ``feature``, ``contribution``)
        or wide (``region_code`` and one column per feature). The five largest per region are
        shown.
    title : str, default="Budget per region"
        The page title.
    budget : int, optional
        The budget in euros. Default: ``rules["budget_eur"]``, else the sum of ``amount_eur``
        (give it when rows are suppressed, or the sum falls short).

    Returns
    -------
    str
        The page; it refers to nothing outside itself.

    Examples
    --------
    >>> table = pd.DataFrame({"region_code": [1, 2], "region_name": ["A", "B & C"],
    ...                       "need": [1.0, 3.0], "share": [0.25, 0.75], "amount_eur": [25, 75]})
    >>> page = render_allocation_html(table, {"vsvrisk_version": "0.1.0"})
    >>> "B &amp; C" in page, "<script" in page
    (True, False)
    """
    rules = dict(rules or {})
    names = dict(zip(allocation["region_code"].tolist(), allocation["region_name"].astype(str)))
    has_change = bool({"change_pct", "change_eur"} & set(allocation.columns))
    if budget is None:
        budget = rules.get("budget_eur") or allocation["amount_eur"].sum()
    keys = [("Budget", _euro(budget)), ("Regions", str(len(allocation)))]
    if "binding" in allocation.columns:
        held = int((allocation["binding"].astype(str) != "none").sum())
        keys.append(("Held by a rule, not need", f"{held} region{'s' if held != 1 else ''}"))
    if _any_suppressed(allocation):
        keys.append(("Suppressed regions", str(int(allocation["suppressed"].sum()))))
    sections = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="lead">{escape(_explanation(allocation, rules, budget))}</p>',
        '<div class="keys">' + "".join(f"<div>{escape(k)}<b>{escape(v)}</b></div>"
                                       for k, v in keys) + "</div>",
        "<h2>Amount per region</h2>", _allocation_table(allocation),
        f'<p class="note">{escape(_table_note(allocation))}</p>',
        "<h2>Share of need per region</h2>", f"<figure>{share_chart(allocation)}</figure>",
    ]
    if has_change:
        sections += ["<h2>Change against last year</h2>",
                     f"<figure>{change_chart(allocation, rules.get('max_change'))}</figure>"]
    if drivers is not None:
        sections += ["<h2>What drives need per region</h2>",
                     '<p class="note">How much each factor moves the region\'s share of need away '
                     "from its share of pupils, in percentage points (SHAP, from the explain step): "
                     "▲ raises the need, ▼ lowers it; <i>sector mix</i> is the region's mix of vo "
                     "and mbo pupils.</p>", _drivers_table(drivers, names)]
    warnings = (manifest.get("extra") or {}).get("drift_warnings") or []
    if warnings:
        sections += ["<h2>Warnings</h2>", "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in warnings) + "</ul>"]
    lam = allocation.attrs.get("lambda")
    recompute = ("To recompute: amount = clip(base + λ × need, lower, upper), rounded to whole "
                 "euros by largest remainder" + (f"; here λ = {lam:,.4f} euro per unit of need."
                                                 if lam is not None else "."))
    sections += ["<h2>How this was made</h2>", f'<p class="note">{escape(recompute)}</p>',
                 _manifest_summary(manifest)]
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{_CSS}</style></head>"
            "<body><main>\n" + "\n".join(sections) + "\n</main></body></html>\n")
