"""The risk to watch: registrations that move money, in sentences a reader can follow.

Several of the model's predictors are registrations by local bodies (youth care, the police,
debt counselling). A region whose bodies register more of its pupils gets more money without
any pupil being at more risk. :func:`vsvrisk.policy.expected_registration_gain` says how much
per additional registered pupil; the policy page, the allocation page, the region pages and the
model card name the largest as a risk to watch, with the words of one function here so that one
risk reads the same everywhere.

A row is a mapping with ``registration``, ``eur_per_person`` and optionally ``region_name``
(absent or None: the national figure), ``eur_per_pp`` (euros per percentage point more of the
region's pupils registered) and ``eur_per_person_refit`` (what is left after a refit).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from vsvrisk.report.glossary import Glossary

__all__ = ["watch_html", "watch_sentences"]


def _known(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def watch_sentences(rows: Iterable[Mapping[str, Any]], g: Glossary) -> list[str]:
    """One sentence per risk to watch, in the glossary's language.

    Examples
    --------
    >>> from vsvrisk.report.glossary import glossary
    >>> rows = [{"region_name": "Rijnmond", "registration": "crime_suspect", "eur_per_person": 512.4,
    ...          "eur_per_pp": 21000.0}, {"registration": "psychosocial", "eur_per_person": 80.0}]
    >>> watch_sentences(rows, glossary("nl"))[0]
    'Rijnmond: verdachte van een misdrijf (geregistreerd door politie) levert €\\xa0512 per extra geregistreerde leerling op, €\\xa021.000 per procentpunt meer geregistreerden.'
    >>> watch_sentences(rows, glossary("en"))[1]
    'Nationally: psychosocial problems (registered by youth care or youth mental health care) brings €\\xa080 per additional registered pupil.'
    """
    lines = []
    for row in rows:
        name = row["registration"]
        where = row.get("region_name") or g.pick("Landelijk", "Nationally")
        line = g.pick(f"{where}: {g.variable(name)} (geregistreerd door {g.registrar(name)}) levert "
                      f"{g.euro(row['eur_per_person'])} per extra geregistreerde leerling op",
                      f"{where}: {g.variable(name)} (registered by {g.registrar(name)}) brings "
                      f"{g.euro(row['eur_per_person'])} per additional registered pupil")
        if _known(row.get("eur_per_pp")):
            line += g.pick(f", {g.euro(row['eur_per_pp'])} per procentpunt meer geregistreerden",
                           f", {g.euro(row['eur_per_pp'])} per percentage point more registered")
        if _known(row.get("eur_per_person_refit")):
            line += g.pick(f"; na herschatting van het model nog {g.euro(row['eur_per_person_refit'])} per leerling",
                           f"; after a refit of the model {g.euro(row['eur_per_person_refit'])} per pupil is left")
        lines.append(line + ".")
    return lines


def watch_html(watch: Mapping[str, Any] | None, g: Glossary, *, region: int | None = None) -> str:
    """The section "Risico om in de gaten te houden" of the allocation page or a region's page.

    ``watch`` is what ``vsvrisk allocate --run`` records in its manifest (``extra.risks_to_watch``):
    ``national`` and ``regions`` (rows as above, the regions with ``region_code``). On a region's
    page (``region``) the section appears only where that region is among the largest; empty
    when there is nothing to show.
    """
    if not watch:
        return ""
    rows = list(watch.get("regions") or [])
    if region is not None:
        rows = [row for row in rows if int(row["region_code"]) == int(region)]
        if not rows:
            return ""
        national = []
        lead = g.pick(
            "Een deel van de kenmerken van het model zijn registraties door lokale instanties. Registreren zij "
            "meer leerlingen van deze regio, dan stijgt haar behoefte en daarmee haar bedrag, zonder dat een "
            "leerling meer risico loopt. Voor deze regio is dat effect een van de grootste van het land.",
            "Some of the model's characteristics are registrations by local bodies. If they register more of "
            "this region's pupils, its need and so its amount rise without any pupil being at more risk. For "
            "this region that effect is among the largest in the country.")
    else:
        national = list(watch.get("national") or [])
        lead = g.pick(
            "Een deel van de kenmerken van het model zijn registraties door lokale instanties. Een regio die meer "
            "van haar leerlingen registreert, krijgt meer geld zonder dat een leerling meer risico loopt. Hieronder "
            "het verwachte bedrag per extra geregistreerde leerling, met dit model en deze regels (de prijs van "
            "behoefte keer de gemiddelde stijging van het voorspelde risico van een nog niet geregistreerde leerling; "
            "niets voor een regio die door een regel wordt vastgehouden): landelijk per registratie, en de grootste "
            "per regio.",
            "Some of the model's characteristics are registrations by local bodies. A region that registers more "
            "of its pupils gets more money without any pupil being at more risk. Below, the expected amount per "
            "additional registered pupil with this model and these rules (the price of need times the mean rise "
            "in the predicted risk of a pupil not yet registered; nothing for a region held by a rule): nationally "
            "per registration, and the largest per region.")
        if not national and not rows:
            return ""
    if watch.get("note_top_share"):
        lead += " " + g.pick(
            "Alleen leerlingen in de landelijke top naar risico tellen mee; de grens blijft waar zij is, dus een "
            "leerling telt alleen mee zodra zijn voorspelde risico erboven ligt.",
            "Only pupils in the national top by risk count; the cut-off stays where it is, so a pupil counts "
            "only once their predicted risk lies above it.")
    items = "".join(f"<li>{escape(line)}</li>" for line in watch_sentences([*national, *rows], g))
    return (f'<section class="watch"><h2>{escape(g.label("risk_to_watch"))}</h2>'
            f'<p class="note">{escape(lead)}</p><ul class="watch">{items}</ul></section>')
