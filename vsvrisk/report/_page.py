"""The frame every report page shares: one stylesheet, the header that names the run, A4 print.

Pages are self-contained (inline CSS, inline SVG, no scripts, fonts or network) so that they open
inside Remote Access and can be mailed on as one file; they fit a 1024 px window without
scrolling sideways and print on A4 from the browser. Every text is escaped here or by the caller.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from vsvrisk.report.glossary import COLOURS, Glossary

CSS = f"""
*{{box-sizing:border-box}}
body{{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#222;margin:0;
background:#fff;line-height:1.45}}
main{{max-width:1180px;margin:0 auto;padding:20px 22px 40px}}
h1{{font-size:1.6em;margin:0 0 .3em}}h2{{font-size:1.2em;margin:1.6em 0 .5em;
border-bottom:1px solid #ddd;padding-bottom:.2em}}h3{{font-size:1em;margin:1.2em 0 .3em}}
p.lead{{max-width:52em}}p.note,span.note{{color:#555;font-size:.9em}}p.note{{max-width:62em}}
nav.crumbs{{font-size:.85em;margin-bottom:.8em}}nav.crumbs a{{margin-right:1em}}
.keys{{display:flex;gap:16px;flex-wrap:wrap;margin:1em 0}}
.keys div{{background:#f3f5f9;border-radius:6px;padding:8px 14px}}
.keys b{{display:block;font-size:1.25em}}
table{{border-collapse:collapse;font-size:.85em}}
.scroll{{overflow-x:auto;max-width:100%}}
table.data{{width:100%}}
table.data th{{background:#e9edf4;text-align:left;padding:4px 5px;vertical-align:bottom;font-weight:600}}
table.data td{{padding:3px 5px;border-bottom:1px solid #eee;vertical-align:top}}
table.data tbody tr:nth-child(even){{background:#fafbfd}}
table.data tfoot td{{font-weight:bold;border-top:2px solid #999}}
th.num{{text-align:right}}td.num{{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}}
table.facts th{{text-align:left;padding:2px 14px 2px 0;font-weight:600;vertical-align:top;white-space:nowrap}}
table.facts td{{padding:2px 0;overflow-wrap:anywhere}}
dl.story{{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;background:#f7f8fb;
border-left:4px solid {COLOURS['bar']};padding:8px 12px;margin:.8em 0 1.2em;font-size:.9em}}
dl.story dt{{font-weight:600}}dl.story dd{{margin:0;overflow-wrap:anywhere}}
.more{{color:{COLOURS['more']}}}.less{{color:{COLOURS['less']}}}
ul.drivers{{padding-left:1.2em}}ul.drivers li{{margin:.35em 0}}
figure{{margin:0}}figure svg{{max-width:100%;height:auto}}figure.map svg{{max-width:600px}}
table.allocation td[data-field=region_name]{{min-width:9em}}
code{{font-size:.9em;overflow-wrap:anywhere}}
@page{{size:A4;margin:14mm}}
@media print{{main{{max-width:none;padding:0}}h2{{page-break-after:avoid}}.scroll{{overflow:visible}}
nav.crumbs{{display:none}}table.data{{font-size:.75em}}figure,tr{{page-break-inside:avoid}}}}
"""


def page(title: str, sections: Iterable[str], g: Glossary, *, extra_css: str = "") -> str:
    """One self-contained page in the glossary's language; ``sections`` are HTML already escaped."""
    return (f'<!DOCTYPE html>\n<html lang="{g.lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{CSS}{extra_css}</style></head>"
            "<body><main>\n" + "\n".join(sections) + "\n</main></body></html>\n")


def keys(pairs: Iterable[tuple[str, str]]) -> str:
    """The row of key figures under a page's title."""
    return '<div class="keys">' + "".join(f"<div>{escape(k)}<b>{escape(v)}</b></div>" for k, v in pairs) + "</div>"


def facts(pairs: Iterable[tuple[str, object]]) -> str:
    """A two-column table of facts (label, value), both escaped."""
    rows = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>" for k, v in pairs)
    return f'<table class="facts">{rows}</table>'


def crumbs(links: Iterable[tuple[str, str]]) -> str:
    """Links back to the index and the sibling pages (relative, so a copied folder still works)."""
    return '<nav class="crumbs">' + "".join(f'<a href="{escape(href, quote=True)}">{escape(text)}</a>'
                                            for text, href in links) + "</nav>"
