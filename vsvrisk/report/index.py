"""One index page per output folder: the run, cohort and rules, the map, and every report of it.

``write_index`` looks at what the folder holds (``allocation/``, ``explain/``, ``audit/``,
``card/``, ``impact/``, ``compare/``), reads the allocation's manifest for the story and its
csv for the map, and links each report by a relative path, so the folder can be copied or
zipped whole and still works.
"""

from __future__ import annotations

import json
import os
from html import escape
from pathlib import Path

import pandas as pd

from vsvrisk._atomic import atomic_output
from vsvrisk.report._page import keys, page
from vsvrisk.report.glossary import glossary
from vsvrisk.report.map import region_map_svg
from vsvrisk.report.story import story_html

__all__ = ["REPORTS", "render_index_html", "write_index"]

#: The reports an index links, in order: (relative path, title nl, title en, what it answers nl, en).
REPORTS = (
    ("allocation/allocation.html", "Verdeling van het budget", "Allocation of the budget",
     "Het bedrag per regio, de verandering tegen vorig jaar en de regel die het vasthoudt.",
     "The amount per region, the change against last year and the rule that holds it."),
    ("allocation/allocation.xlsx", "Verdeling in Excel", "Allocation in Excel",
     "Dezelfde bedragen met de regels, het gegevenswoordenboek en het manifest, af te drukken op A4.",
     "The same amounts with the rules, the data dictionary and the manifest, printable on A4."),
    ("allocation/regio-29.html", "Een pagina per regio", "A page per region",
     "Voor elke regio: bedrag, regel, interval en de grootste redenen in euro’s (hier Rijnmond; de kaart "
     "linkt naar alle 40).", "For every region: amount, rule, interval and the largest reasons in euros (here "
     "Rijnmond; the map links all 40)."),
    ("explain/explain.html", "Waarom regio’s verschillen", "Why regions differ",
     "Welke kenmerken het voorspelde risico drijven, landelijk en per regio.",
     "Which characteristics drive the predicted risk, nationally and per region."),
    ("audit/audit.html", "Eerlijkheidsaudit", "Fairness audit",
     "Voor wie het model het risico onder- of overschat, en wat dat met het geld doet.",
     "For whom the model under- or overestimates risk, and what that does to the money."),
    ("card/card.html", "Modelkaart (algoritmeregister)", "Model card (algorithm register)",
     "De velden voor het algoritmeregister; open velden vult een persoon in.",
     "The fields for the algorithm register; open fields are for a person to fill in."),
    ("impact/impact.html", "Wat modelkeuzes met het geld doen", "What modelling choices do to the money",
     "Het verschil per regio als één keuze van het model dat verdeelt anders was.",
     "The difference per region if one choice of the allocating model were made otherwise."),
    ("compare/compare.html", "Modellen naast elkaar", "Models side by side",
     "De geschatte modellen vergeleken (voor onderzoekers).", "The fitted models compared (for researchers)."),
)


def render_index_html(folder: str | os.PathLike, *, lang: str = "nl", title: str | None = None) -> str:
    """The index page of an output folder (see :func:`write_index`).

    Examples
    --------
    >>> import tempfile
    >>> page = render_index_html(tempfile.mkdtemp())
    >>> "Overzicht" in page and "<script" not in page
    True
    """
    g = glossary(lang)
    folder = Path(folder)
    title = title or g.pick("Overzicht: verdeling van het vsv-budget", "Overview: allocation of the vsv budget")
    manifest_path, table_path = folder / "allocation" / "manifest.json", folder / "allocation" / "allocation.csv"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
    story = (manifest.get("extra") or {}).get("story")
    sections = [f"<h1>{escape(title)}</h1>", story_html(story, g)]
    if table_path.is_file():
        table = pd.read_csv(table_path)
        budget = (manifest.get("config") or {}).get("budget_eur") or int(table["amount_eur"].sum())
        figures = [(g.pick("Budget", "Budget"), g.euro(budget)), (g.pick("Regio’s", "Regions"), str(len(table)))]
        if "binding" in table.columns:
            figures.append((g.pick("Vastgehouden door een regel", "Held by a rule, not need"),
                            str(int((table["binding"].astype(str) != "none").sum()))))
        sections += [keys(figures), f"<h2>{escape(g.pick('Kaart', 'Map'))}</h2>",
                     f'<p class="note">{escape(g.pick("Elke tegel is een regio: regiocode, bedrag en verandering tegen vorig jaar. Klik op een tegel voor de pagina van de regio.", "Each tile is a region: region code, amount and change against last year. Click a tile for the region page."))}</p>',
                     f'<figure class="map">{region_map_svg(table, g, link="allocation/regio-{code:02d}.html")}</figure>']
    items = []
    for path, title_nl, title_en, what_nl, what_en in REPORTS:
        if (folder / path).is_file():
            items.append(f'<li><a href="{escape(path, quote=True)}">{escape(g.pick(title_nl, title_en))}</a>: '
                         f"{escape(g.pick(what_nl, what_en))}</li>")
    sections += [f"<h2>{escape(g.pick('De rapporten van deze run', 'The reports of this run'))}</h2>",
                 '<ul class="drivers">' + "".join(items) + "</ul>",
                 f'<p class="note">{escape(g.pick("Alle rapporten gaan over dezelfde modelrun, hetzelfde cohort en dezelfde regels (zie bovenaan elke pagina). Elke map heeft een manifest.json waarmee de uitkomst kan worden nagerekend.", "Every report is about the same model run, cohort and rules (see the top of each page). Every folder has a manifest.json from which the outcome can be recomputed."))}</p>']
    return page(title, sections, g)


def write_index(folder: str | os.PathLike, *, lang: str = "nl") -> Path:
    """Write ``index.html`` into an output folder (replacing an earlier one, all or nothing).

    Returns
    -------
    Path
        The page.
    """
    text = render_index_html(folder, lang=lang)
    target = Path(folder) / "index.html"
    with atomic_output(target, overwrite=True) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target
