"""A picture of the country: the 40 regions as a tile map, coloured by change, labelled by amount.

A tile map, not a drawn map: every region gets one square of equal size, placed on a grid by
its approximate location (north at the top, the Randstad on the left, Limburg at the bottom), so
that a small region with a large change is as visible as a large one, and no boundary file or
network is needed. It is plain inline SVG (a few kilobytes); each tile links to the region's page
and has a tooltip with its full name.
"""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd

from vsvrisk.report.glossary import COLOURS, Glossary

__all__ = ["TILES", "region_map_svg"]

#: (column, row) of each region on the tile grid: column 0 is the west coast, row 0 the north.
TILES = {
    4: (4, 0), 3: (5, 0), 2: (6, 0),
    23: (2, 1), 5: (3, 1), 6: (4, 1), 7: (5, 1), 1: (6, 1),
    24: (2, 2), 22: (3, 2), 9: (5, 2), 8: (6, 2),
    25: (1, 3), 21: (2, 3), 18: (3, 3), 17: (4, 3), 10: (5, 3), 12: (6, 3),
    28: (0, 4), 26: (1, 4), 20: (2, 4), 16: (3, 4), 14: (4, 4), 11: (5, 4), 13: (6, 4),
    29: (0, 5), 27: (1, 5), 19: (2, 5), 15: (3, 5), 40: (4, 5),
    31: (0, 6), 30: (1, 6), 34: (2, 6), 35: (3, 6), 36: (4, 6),
    32: (0, 7), 37: (4, 7), 38: (5, 7),
    33: (1, 8), 39: (5, 8),
}
_TILE, _GAP, _LEGEND = 92, 6, 60
#: The change classes, in percent against last year, and their colours (less ... more).
_EDGES = (-2.5, -0.5, 0.5, 2.5)
_SHADES = ("#b35806", "#f1a340", "#f0f0f0", "#92c5de", "#2166ac")


def _shade(change_pct: float | None) -> str:
    if change_pct is None or not np.isfinite(change_pct):
        return "#dde3ec"
    return _SHADES[int(np.searchsorted(_EDGES, change_pct, side="right"))]


def _text_colour(fill: str) -> str:
    return "#ffffff" if fill in (_SHADES[0], _SHADES[-1]) else "#222222"


def region_map_svg(table: pd.DataFrame, g: Glossary, *, link: str | None = "regio-{code:02d}.html") -> str:
    """The tile map of an allocation table as inline SVG.

    Parameters
    ----------
    table : DataFrame
        ``region_code``, ``region_name``, ``amount_eur`` and, when there is a previous year,
        ``change_pct`` (the colour); without it every tile is one neutral colour.
    g : Glossary
        The language of the labels.
    link : str or None
        Where a tile links to (formatted with ``code``); None for no links.

    Examples
    --------
    >>> from vsvrisk.data import regions
    >>> from vsvrisk.report.glossary import glossary
    >>> table = regions()[["region_code", "region_name"]].assign(amount_eur=2_260_000)
    >>> svg = region_map_svg(table, glossary("nl"))
    >>> svg.startswith("<svg") and svg.count("<rect class=\\"tile\\"") == 40 and "€\\xa02,3\\xa0mln" in svg
    True
    """
    has_change = "change_pct" in table.columns and table["change_pct"].notna().any()
    columns = 1 + max(c for c, _ in TILES.values())
    rows = 1 + max(r for _, r in TILES.values())
    width = columns * (_TILE + _GAP)
    height = rows * (_TILE + _GAP) + _LEGEND
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(g.pick("Kaart van de 40 regio’s", "Map of the 40 regions"), quote=True)}" '
             'font-family="system-ui,Arial,sans-serif">']
    for row in table.itertuples(index=False):
        code = int(row.region_code)
        column, line = TILES[code]
        x, y = column * (_TILE + _GAP), line * (_TILE + _GAP)
        change = getattr(row, "change_pct", None) if has_change else None
        change = None if change is None or pd.isna(change) else float(change)
        fill = _shade(change)
        ink = _text_colour(fill)
        amount = g.millions(row.amount_eur)
        tip = f"{code} {row.region_name}: {g.euro(row.amount_eur)}"
        if change is not None:
            tip += f" ({g.number(change, 1, signed=True)}%)"
        tile = (f'<title>{escape(tip)}</title><rect class="tile" x="{x}" y="{y}" width="{_TILE}" height="{_TILE}" '
                f'rx="6" fill="{fill}" stroke="#ffffff"/>'
                f'<text x="{x + _TILE / 2:g}" y="{y + 22}" text-anchor="middle" font-size="17" font-weight="700" '
                f'fill="{ink}">{code}</text>'
                f'<text x="{x + _TILE / 2:g}" y="{y + 46}" text-anchor="middle" font-size="14" fill="{ink}">'
                f"{escape(amount)}</text>")
        if change is not None:
            tile += (f'<text x="{x + _TILE / 2:g}" y="{y + 68}" text-anchor="middle" font-size="13" fill="{ink}">'
                     f"{escape(g.number(change, 1, signed=True))}%</text>")
        if link:
            href = escape(link.format(code=code), quote=True)
            tile = f'<a href="{href}">{tile}</a>'
        parts.append(f'<g data-region="{code}">{tile}</g>')
    parts.append(_legend(g, has_change, rows * (_TILE + _GAP) + 8, width))
    parts.append("</svg>")
    return "".join(parts)


def _legend(g: Glossary, has_change: bool, top: int, width: int) -> str:
    if not has_change:
        text = g.pick("Tegel: regiocode en bedrag. Geen vorig jaar: geen kleur voor verandering.",
                      "Tile: region code and amount. No previous year: no colour for change.")
        return f'<text x="0" y="{top + 20}" font-size="14" fill="#444">{escape(text)}</text>'
    low, high = _EDGES[1], _EDGES[-1]
    n = g.number
    labels = (f"< {n(-high, 1)}%", f"{n(-high, 1)} … {n(low, 1)}%", f"± {n(-low, 1)}%",
              f"{n(-low, 1, signed=True)} … {n(high, 1, signed=True)}%", f"> {n(high, 1, signed=True)}%")
    parts = [f'<text x="0" y="{top + 14}" font-size="14" fill="#444">'
             f'{escape(g.pick("Verandering tegen vorig jaar:", "Change against last year:"))}</text>']
    step = min(150, (width - 10) // 5)
    for k, (shade, label) in enumerate(zip(_SHADES, labels)):
        x = k * step
        parts.append(f'<rect x="{x}" y="{top + 24}" width="18" height="18" rx="3" fill="{shade}" stroke="#999"/>'
                     f'<text x="{x + 24}" y="{top + 38}" font-size="13" fill="#444">{escape(label)}</text>')
    return "".join(parts)
