"""The report's charts as inline SVG: text drawn as paths, no fonts, no date, stable ids.

So a page opens the same inside a locked-down remote desktop and two runs give byte-identical
files. Used by the allocation report and the audit pages.
"""

from __future__ import annotations

import io
import re

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from vsvrisk.report.glossary import COLOURS, Glossary, glossary

__all__ = ["change_chart", "figure_svg", "share_chart"]

_UP, _DOWN, _BAR = COLOURS["more"], COLOURS["less"], COLOURS["bar"]


def figure_svg(fig: Figure) -> str:
    """Render a figure as inline SVG: text as paths (no fonts needed), stable ids, no date."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "vsvrisk"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]  # the XML prolog and doctype do not belong in HTML
    # Let CSS size the chart: the viewBox keeps the proportions.
    return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1', text, count=1)


def share_chart(table: pd.DataFrame, g: Glossary | None = None) -> str:
    """Bars of each region's share of national need, with its interval when the table has one."""
    g = g or glossary("nl")
    data = table.dropna(subset=["share"]).sort_values("share")
    fig = Figure(figsize=(8, 0.22 * len(data) + 0.9))
    ax = fig.add_subplot()
    positions = np.arange(len(data))
    error = None
    if {"share_low", "share_high"} <= set(data.columns):
        low = (data["share"] - data["share_low"]).clip(lower=0).fillna(0)
        high = (data["share_high"] - data["share"]).clip(lower=0).fillna(0)
        error = np.vstack([low.to_numpy(float), high.to_numpy(float)])
    ax.barh(positions, data["share"].to_numpy(float), color=_BAR, xerr=error,
            error_kw={"ecolor": "#333333", "capsize": 2, "elinewidth": 0.8})
    ax.set_yticks(positions, data["region_name"].astype(str).tolist(), fontsize=8)
    ax.set_ylim(-0.6, len(data) - 0.4)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: g.percent(x, 0)))
    ax.set_xlabel(g.pick("aandeel in de landelijke behoefte", "share of national need")
                  + (g.pick(" (lijn: interval)", " (line: interval)") if error is not None else ""))
    ax.grid(axis="x", color="#dddddd")
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    return figure_svg(fig)


def change_chart(table: pd.DataFrame, max_change: float | None, g: Glossary | None = None) -> str:
    """Bars of each region's change against last year, with the dampening band dashed."""
    g = g or glossary("nl")
    column = "change_pct" if "change_pct" in table.columns else "change_eur"
    data = table.dropna(subset=[column]).sort_values(column)
    values = data[column].to_numpy(float)
    fig = Figure(figsize=(8, 0.22 * len(data) + 0.9))
    ax = fig.add_subplot()
    positions = np.arange(len(data))
    ax.barh(positions, values, color=np.where(values >= 0, _UP, _DOWN))
    ax.set_yticks(positions, data["region_name"].astype(str).tolist(), fontsize=8)
    ax.set_ylim(-0.6, len(data) - 0.4)
    ax.axvline(0, color="#333333", linewidth=0.8)
    if column == "change_pct":
        ax.set_xlabel(g.pick("verandering tegen vorig jaar (%)", "change against last year (%)"))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: g.number(x, 1)))
        if max_change:
            for edge in (-100 * max_change, 100 * max_change):
                ax.axvline(edge, color="#777777", linestyle="--", linewidth=0.8)
            ax.set_title(g.pick("gestreept: grenzen van de demping", "dashed: dampening band"), fontsize=8,
                         loc="right", color="#555555")
    else:
        ax.set_xlabel(g.pick("verandering tegen vorig jaar (€)", "change against last year (€)"))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: g.number(x)))
    ax.grid(axis="x", color="#dddddd")
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    return figure_svg(fig)
