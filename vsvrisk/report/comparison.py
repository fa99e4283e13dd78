"""The page and the chart of a model comparison (``compare.html``, ``compare.png``).

The page leads with one sentence per pair (which model is better on what, or that no
difference is detectable), then the need shares (what moves money), then one section per
sector with each model's scores and each pair's differences with their 95% intervals, and ends
with a glossary of every measure. Labels come from :data:`vsvrisk.evaluate.compare.COMPARISON_LABELS`.
The chart puts each quantity on its own axis: AUC differences, need-share distances and
calibration slopes have different units and a different "good", so they never share one.
Self-contained (inline CSS and SVG, no scripts, no network) and no wider than 1024 px.
"""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from vsvrisk.evaluate.compare import COMPARISON_LABELS, SECTOR_LABELS
from vsvrisk.report.charts import figure_svg

__all__ = ["comparison_figure", "render_comparison_html"]

_DETECTABLE, _NOT, _MODEL = "#2166ac", "#9a9a9a", "#4a6fa5"
_SECTOR_ORDER = ("vo", "mbo", "vavo", "all")


def _forest(axes, labels: list[str], values, lows, highs, colours, *, reference: float, xlabel: str) -> None:
    positions = np.arange(len(labels))[::-1]
    values, lows, highs = (np.asarray(v, dtype=float) for v in (values, lows, highs))
    for y, value, low, high, colour in zip(positions, values, lows, highs, colours):
        axes.plot([low, high], [y, y], color=colour, lw=2)
        axes.plot([value], [y], "o", color=colour, ms=5)
    axes.axvline(reference, color="#333333", lw=0.8, ls="--")
    axes.set_yticks(positions, labels, fontsize=8)
    axes.set_ylim(-0.7, len(labels) - 0.3)
    axes.set_xlabel(xlabel, fontsize=9)
    axes.tick_params(axis="x", labelsize=8)
    axes.grid(axis="x", color="#e5e5e5")
    axes.set_axisbelow(True)
    axes.spines[["top", "right"]].set_visible(False)


def comparison_figure(comparison) -> Figure:
    """Panels of one quantity each: AUC differences per pair and sector (when there is a pair),
    need-share distance per model, calibration slope per model and sector (each with its
    interval or its ideal value marked)."""
    auc = comparison.differences[comparison.differences["measure"] == "roc_auc"]
    auc = auc[auc["sector"] != "vavo"]  # few pupils: in the tables, not worth a third of the chart
    scores = comparison.scores[comparison.scores["sector"].isin(["vo", "mbo"])]
    heights = ([len(auc)] if not auc.empty else []) + [max(len(comparison.need), 1), max(len(scores), 1)]
    figure = Figure(figsize=(9.6, 1.4 + 0.24 * sum(heights) + 0.6 * len(heights)))
    grid = iter(figure.add_gridspec(len(heights), 1, height_ratios=[h + 1.5 for h in heights]))
    if not auc.empty:  # one model alone has no pair: no panel for differences
        top = figure.add_subplot(next(grid))
        _forest(top, [f"{r.model_a} - {r.model_b}, {r.sector}" for r in auc.itertuples()], auc["difference"],
                auc["low"], auc["high"], [_DETECTABLE if d else _NOT for d in auc["detectable"]], reference=0.0,
                xlabel="difference in AUC (A - B), 95% interval; blue: the interval excludes 0")
        top.set_title("Ranking: AUC difference per pair and sector", fontsize=10, loc="left")
    need = comparison.need
    middle = figure.add_subplot(next(grid))
    target = "the truth" if comparison.reference == "truth" else "the observed vsv"
    _forest(middle, need["model"].tolist(), 100 * need["need_distance"], 100 * need["low"], 100 * need["high"],
            [_MODEL] * len(need), reference=0.0, xlabel=f"distance of need shares to {target}, percentage points "
            "(95% interval; lower is better)")
    middle.set_title("Money: need shares against " + target, fontsize=10, loc="left")
    bottom = figure.add_subplot(next(grid))
    slope = scores["calibration_slope"].to_numpy(float)
    _forest(bottom, [f"{r.model}, {r.sector}" for r in scores.itertuples()], slope, slope, slope,
            [_MODEL] * len(scores), reference=1.0, xlabel="calibration slope (1 is ideal; below 1: risks too extreme)")
    bottom.set_title("Calibration: slope per model and sector", fontsize=10, loc="left")
    figure.tight_layout()
    return figure


def _number(value, digits: int = 4, signed: bool = False) -> str:
    if value is None or pd.isna(value):
        return "&ndash;"
    if value != 0 and round(value, digits) == 0:
        # "-0.00000" would read as a difference of nothing with a sign: two significant digits.
        return f"{value:+.1e}" if signed else f"{value:.1e}"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _interval(row, scale: float = 1.0, digits: int = 4) -> str:
    text = (f"{_number(scale * row.difference, digits, True)} "
            f"<span class='ci'>({_number(scale * row.low, digits, True)} to {_number(scale * row.high, digits, True)})</span>")
    return f"<b>{text}</b>" if row.detectable else text


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _sector_section(comparison, sector: str) -> str:
    scores = comparison.scores[comparison.scores["sector"] == sector]
    label = {k: COMPARISON_LABELS[k][0] for k in COMPARISON_LABELS}
    rows = [[escape(r.model), f"{r.n:,}", f"{r.events:,}", _number(r.roc_auc), _number(r.brier, 5),
             _number(r.log_loss), _number(r.calibration_slope, 3), _number(r.calibration_intercept, 3, True)]
            for r in scores.itertuples()]
    html = _table(["Model", "Pupils", "vsv", label["roc_auc"], label["brier"], label["log_loss"],
                   "Cal. slope", "Cal.-in-the-large"], rows)
    pairs = comparison.differences[comparison.differences["sector"] == sector]
    if not pairs.empty:
        rows = []
        for (a, b), group in pairs.groupby(["model_a", "model_b"], sort=False):
            cells = {r.measure: _interval(r, digits=5 if r.measure == "brier" else 4) for r in group.itertuples()
                     if r.measure != "need_distance"}
            rows.append([f"{escape(a)} &minus; {escape(b)}", cells.get("roc_auc", ""), cells.get("brier", ""),
                         cells.get("log_loss", "")])
        html += ("<p class='note'>Differences A &minus; B on the same pupils, 95% interval in brackets; "
                 "<b>bold</b>: the interval excludes 0 (a detectable difference).</p>"
                 + _table(["Pair (A − B)", label["roc_auc"], label["brier"], label["log_loss"]], rows))
    return f"<h2>{escape(SECTOR_LABELS.get(sector, sector))}</h2>{html}"


_CSS = """
body{font-family:system-ui,sans-serif;max-width:980px;margin:1.5em auto;padding:0 12px;color:#222;line-height:1.45}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.88em;margin:.4em 0}td,th{border-bottom:1px solid #e3e3e3;padding:3px 8px;
text-align:right}td:first-child,th:first-child{text-align:left}th{background:#f3f5f8}
.ci{color:#666;font-size:.92em;white-space:nowrap}.note{font-size:.88em;color:#444}ul.verdict li{margin:.35em 0}
dl dt{font-weight:600;margin-top:.5em}dl dd{margin-left:1.2em}svg{max-width:100%;height:auto}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dl.facts dt{margin:0}dl.facts dd{margin:0}
"""


def render_comparison_html(comparison, *, runs: pd.DataFrame, cohort: dict, left_out: list[str] = ()) -> str:
    """The comparison as one self-contained page (verdicts first, then need, sectors, glossary)."""
    target = "the synthetic truth" if comparison.reference == "truth" else "the observed vsv per region"
    year = cohort.get("school_year")
    facts = {
        "Evaluation cohort": f"{year}/{str(year + 1)[-2:]}, {cohort.get('n_persons', 0):,} pupils" if year else "",
        "Data": cohort.get("data_path") or cohort.get("data_source", ""),
        "Cohort SHA-256": str(cohort.get("sha256", ""))[:16] + "...",
        "Need shares held against": target,
        "Intervals": f"{100 * comparison.settings.get('level', 0.95):.0f}%, paired; need shares from "
                     f"{comparison.settings.get('n_boot', 0):,} bootstrap replicates over pupils "
                     f"(seed {comparison.settings.get('seed', 0)})",
    }
    facts_html = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in facts.items() if v)
    run_rows = [[escape(r.label), f"<code>{escape(r.run_id)}</code>", escape(r.learner), escape(r.spec)]
                for r in runs.itertuples()]
    verdicts = "".join(f"<li>{escape(s)}</li>" for s in comparison.sentences) or (
        "<li>Only one run on this cohort: nothing to compare it with. Train another model on the same "
        "cohort (vsvrisk train) and compare again.</li>")
    need = comparison.need
    need_rows = [[escape(r.model), f"{100 * r.need_distance:.2f} pp",
                  f"<span class='ci'>{100 * r.low:.2f} to {100 * r.high:.2f} pp</span>"] for r in need.itertuples()]
    need_pairs = comparison.differences[comparison.differences["measure"] == "need_distance"]
    pair_rows = [[f"{escape(r.model_a)} &minus; {escape(r.model_b)}", _interval(r, scale=100, digits=2) + " pp"]
                 for r in need_pairs.itertuples()]
    need_html = _table(["Model", COMPARISON_LABELS["need_distance"][0], "95% interval"], need_rows)
    if pair_rows:
        need_html += _table(["Pair (A − B)", "difference in distance, pp (95% interval)"], pair_rows)
    sectors = [s for s in _SECTOR_ORDER if (comparison.scores["sector"] == s).any()]
    glossary = "".join(f"<dt>{escape(label)}</dt><dd>{escape(text)}</dd>" for label, text in COMPARISON_LABELS.values())
    left = ("<p class='note'>Not compared: " + "; ".join(escape(line) for line in left_out) + ".</p>") if left_out else ""
    sections = [
        "<h1>Models side by side: which differences are real</h1>",
        f"<dl class='facts'>{facts_html}</dl>",
        "<h2>In one line per pair</h2>",
        f"<ul class='verdict'>{verdicts}</ul>",
        "<p class='note'>A difference is detectable when its 95% interval excludes 0. The intervals cover the "
        "chance in which pupils make up the evaluation cohort, for the models as they were fitted: two fits of "
        "one learner (another seed, another training sample) are two models, and their need shares can differ "
        "for real. To judge a learner rather than a fitted model, fit it with several seeds and compare the "
        "fits. The intervals are per comparison, not adjusted for the number of pairs and sectors: with many "
        "models, one in twenty comparisons of equal models will look detectable by chance.</p>",
        _table(["Model", "Run", "Learner", "Spec"], run_rows) + left,
        f"<h2>Need shares (all pupils): what moves money</h2>{need_html}",
        *(_sector_section(comparison, sector) for sector in sectors),
        "<h2>Chart</h2>",
        figure_svg(comparison_figure(comparison)),
        f"<h2>Glossary</h2><dl>{glossary}</dl>",
    ]
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>vsvrisk: models side by side</title><style>{_CSS}</style></head><body>"
            + "".join(sections) + "</body></html>")
