"""The model card as a page: every field of the register's standard, labelled, with its source."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from vsvrisk.audit.card import SOURCES
from vsvrisk.audit.html import EXTRA_CSS
from vsvrisk.report._page import crumbs, facts, page
from vsvrisk.report.glossary import glossary
from vsvrisk.report.story import story_html

__all__ = ["render_card_html"]


def render_card_html(card: Mapping[str, Any], story: Mapping[str, Any] | None = None, *,
                     index: str | None = None) -> str:
    """Render a model card (see :func:`vsvrisk.audit.model_card`) as a readable page, in its language.

    The standard's attribute names (``description_short``, ...) are not shown: each field has
    its label; they stay in ``card.yaml`` for whoever enters the card into the register.
    """
    g = glossary(card.get("lang", "en"))
    todo = card["to_be_filled_in"]
    rows = []
    for key, field in card["fields"].items():
        value = escape(str(field["value"])).replace(escape(todo), f'<span class="todo">{escape(todo)}</span>')
        source = SOURCES.get(field["source"], (field["source"],) * 2)[g.index]
        rows.append(f'<tr data-field="{escape(key, quote=True)}"><th>{escape(field["label"])}</th><td>{value}'
                    f'<br><span class="note">{escape(g.pick("bron", "source"))}: {escape(source)}</span></td></tr>')
    standard = card["standard"]
    name = card["fields"]["name"]["value"]
    title = g.pick(f"{name}: registratie voor het algoritmeregister", f"{name}: registration for the algorithm register")
    sections = ([crumbs([(g.pick("← Overzicht", "← Overview"), index)])] if index else []) + [
        f"<h1>{escape(title)}</h1>", story_html(story, g),
        '<p class="lead">' + escape(g.pick(f"In de velden van de {standard['name']} (versie {standard['version']}). "
                                           "Velden gemarkeerd met ", f"In the fields of the {standard['name']} "
                                           f"(version {standard['version']}). Fields marked ")) +
        f'<span class="todo">{escape(todo)}</span>' + escape(g.pick(
            " kan alleen een persoon van de verantwoordelijke organisatie invullen; vsvrisk laat ze open in plaats "
            "van te gokken.", " can only be filled in by a person of the responsible organisation; vsvrisk leaves "
            "them open rather than guess.")) + "</p>",
        f'<table class="card">{"".join(rows)}</table>',
        f"<h2>{escape(g.pick('Hoe dit is gemaakt', 'How this was made'))}</h2>",
        facts([(g.pick("Modelrun", "Model run"), card["run_id"]), (g.pick("vsvrisk-versie", "vsvrisk version"),
                                                                  card["generated_by"])])]
    return page(g.pick(f"Algoritmeregister: {name}", f"Algorithm register: {name}"), sections, g, extra_css=EXTRA_CSS)
