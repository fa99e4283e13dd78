"""One run, one story: the model run, the cohort and the rules every report is about.

Each workflow describes what it worked on with :func:`describe_model`, :func:`describe_cohort`
and :func:`describe_rules`, records the result in its manifest (``extra.story``) and shows it at
the top of its page with :func:`story_html`. The same run, cohort and rules then read the same on
the allocation, the region pages, the explanation, the audit, the card and the impact, and a
reader (or a test) can check that they agree.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from vsvrisk.report.glossary import Glossary
from vsvrisk.report.manifest import file_sha256

__all__ = ["describe_cohort", "describe_model", "describe_rules", "story_facts", "story_html"]


def describe_model(run_id: str | None, name: str | None = None, learner: str | None = None) -> dict | None:
    """The model run: its MLflow id, its name (the spec) and its learner; None without a model.

    Examples
    --------
    >>> describe_model("3ffaa558", "cbs-replica", "logistic")["learner"]
    'logistic'
    """
    if run_id is None:
        return None
    return {"run_id": str(run_id), "name": name, "learner": learner}


def describe_cohort(frame: pd.DataFrame, path: str | os.PathLike | None = None, *,
                    source: str | None = None, sha256: str | None = None) -> dict:
    """The scored cohort: school year(s), number of persons, and the file with its hash.

    Parameters
    ----------
    frame : DataFrame
        The person-year rows of the cohort (only ``school_year`` is read, and the row count).
    path : path, optional
        The file it was read from; its SHA-256 is taken unless ``sha256`` is given.
    source : str, optional
        Where it came from when there is no file (e.g. "synthetic, seed 1").

    Examples
    --------
    >>> frame = pd.DataFrame({"school_year": [2019, 2019, 2019]})
    >>> describe_cohort(frame, source="synthetic")
    {'school_year': 2019, 'n_persons': 3, 'path': None, 'sha256': None, 'source': 'synthetic'}
    """
    years = sorted(int(y) for y in pd.unique(frame["school_year"]))
    if path is not None and sha256 is None and Path(path).is_file():
        sha256 = file_sha256(path)
    return {"school_year": years[0] if len(years) == 1 else years, "n_persons": int(len(frame)),
            "path": None if path is None else os.fspath(path), "sha256": sha256,
            "source": source or ("file" if path is not None else None)}


def describe_rules(config: Mapping[str, Any] | Any, *, dampening: bool | None = None,
                   need_table: str | os.PathLike | None = None) -> dict:
    """The allocation rules as applied: budget, base, floor, band, scenario, previous file and hash.

    ``config`` is an allocation config (a model or its dict). The band is recorded only where it
    applies (a previous allocation is given), as the allocation applies it.

    Examples
    --------
    >>> describe_rules({"budget_eur": 90_000_000, "scenario": "all", "max_change": 0.05})["max_change"] is None
    True
    """
    values = config.model_dump(mode="json") if hasattr(config, "model_dump") else dict(config)
    previous = values.get("previous")
    if dampening is None:
        dampening = previous is not None and values.get("max_change") is not None
    scenario = values.get("scenario")
    return {
        "budget_eur": values.get("budget_eur"),
        "base_amount_eur": values.get("base_amount_eur") or 0,
        "floor_eur": values.get("floor_eur") or 0,
        "max_change": values.get("max_change") if dampening else None,
        "scenario": None if need_table is not None else scenario,
        "need_table": None if need_table is None else os.fspath(need_table),
        "need_table_sha256": None if need_table is None or not Path(need_table).is_file() else file_sha256(need_table),
        "previous": None if previous is None else os.fspath(previous),
        "previous_sha256": None if previous is None or not Path(previous).is_file() else file_sha256(previous),
        "change_threshold_pct": values.get("change_threshold_pct"),
    }


_SOURCES = {"synthetic": ("synthetisch (uit de specificatie van het model)", "synthetic (from the model's spec)"),
            "run": ("het evaluatiecohort van de run", "the run's evaluation cohort"), "file": ("", ""),
            "policy": ("synthetisch (uit de beleidsconfiguratie)", "synthetic (from the policy config)")}


def _short(sha256: str | None) -> str:
    return "" if not sha256 else f"sha256 {sha256[:12]}"


def scenario_text(scenario: Any, g: Glossary) -> str:
    """The need scenario in words."""
    if scenario is None:
        return g.pick("niet van toepassing: de behoefte komt uit een tabel", "not applied: need comes from a table")
    if scenario == "all" or scenario == {"all": None}:
        return g.pick("alle leerlingen tellen mee", "every pupil counts")
    share = scenario.get("top_share") if isinstance(scenario, Mapping) else None
    if share is None:
        return str(scenario)
    top = g.percent(share, 0)
    return g.pick(f"alleen leerlingen met een risico in de landelijke top {top}",
                  f"only pupils whose risk is in the national top {top}")


def story_facts(story: Mapping[str, Any], g: Glossary) -> list[tuple[str, str]]:
    """The story as (label, text) pairs, in the glossary's language.

    Examples
    --------
    >>> from vsvrisk.report.glossary import glossary
    >>> story = {"model": describe_model("abc123", "cbs-replica", "logistic"),
    ...          "cohort": {"school_year": 2019, "n_persons": 20000, "path": "c.parquet", "sha256": "ab" * 32}}
    >>> story_facts(story, glossary("nl"))[1]
    ('Cohort', 'schooljaar 2019/20, 20.000 leerlingen, c.parquet (sha256 abababababab)')
    """
    return [(label, text) for _, label, text in _story_items(story, g)]


def _story_items(story: Mapping[str, Any], g: Glossary) -> list[tuple[str, str, str]]:
    pairs = []
    model = story.get("model")
    if "model" in story:
        if model is None:
            pairs.append(("model", g.pick("Model", "Model"), g.pick("geen: de behoefte komt uit een tabel",
                                                              "none: need comes from a table")))
        else:
            learner = {"logistic": g.pick("logistische regressie", "logistic regression"),
                       "lightgbm": "LightGBM"}.get(model.get("learner"), model.get("learner"))
            name = f"{model.get('name')} ({learner})" if model.get("name") else ""
            run = (f"{g.pick('run', 'run')} {model['run_id']}" if model.get("run_id")
                   else g.pick("geschat voor deze studie, geen getraceerde run", "fitted for this study, no tracked run"))
            pairs.append(("model", g.pick("Model", "Model"), ", ".join(part for part in (name, run) if part)))
    cohort = story.get("cohort")
    if cohort:
        years = cohort["school_year"]
        year = g.school_year(years) if not isinstance(years, list) else ", ".join(g.school_year(y) for y in years)
        where = cohort.get("path") or _SOURCES.get(cohort.get("source"), ("", ""))[g.index] or cohort.get("source") or ""
        if cohort.get("sha256"):
            where += f" ({_short(cohort['sha256'])})"
        pairs.append(("cohort", "Cohort", g.pick(f"schooljaar {year}, {g.number(cohort['n_persons'])} leerlingen",
                                       f"school year {year}, {g.number(cohort['n_persons'])} pupils")
                      + (f", {where}" if where else "")))
    rules = story.get("rules")
    if rules:
        parts = [g.pick(f"budget {g.euro(rules['budget_eur'])}", f"budget {g.euro(rules['budget_eur'])}")]
        if rules.get("base_amount_eur"):
            parts.append(g.pick(f"basisbedrag {g.euro(rules['base_amount_eur'])}",
                                f"base amount {g.euro(rules['base_amount_eur'])}"))
        if rules.get("floor_eur"):
            parts.append(g.pick(f"minimumbedrag {g.euro(rules['floor_eur'])}",
                                f"minimum amount {g.euro(rules['floor_eur'])}"))
        if rules.get("max_change"):
            parts.append(g.pick(f"demping ±{g.percent(rules['max_change'], 0)} tegen vorig jaar",
                                f"dampening ±{g.percent(rules['max_change'], 0)} against last year"))
        elif rules.get("bands"):  # the multi-year path: several bands side by side
            bands = ", ".join(g.percent(band, 1) for band in rules["bands"])
            parts.append(g.pick(f"dempingsbanden {bands} naast elkaar", f"dampening bands {bands} side by side"))
        else:
            parts.append(g.pick("geen demping (geen vorig jaar)", "no dampening (no previous year)"))
        pairs.append(("rules", g.pick("Regels", "Rules"), ", ".join(parts)))
        pairs.append(("scenario", g.pick("Scenario", "Scenario"), scenario_text(rules.get("scenario"), g)))
        if rules.get("need_table"):
            pairs.append(("need_table", g.pick("Behoeftetabel", "Need table"),
                          f"{rules['need_table']} ({_short(rules.get('need_table_sha256'))})"))
        if rules.get("previous"):
            pairs.append(("previous", g.pick("Vorig jaar", "Last year"),
                          f"{rules['previous']} ({_short(rules.get('previous_sha256'))})"))
    return pairs


def story_html(story: Mapping[str, Any] | None, g: Glossary) -> str:
    """The story as the block at the top of a page (``<dl class="story">``); empty without one."""
    if not story:
        return ""
    rows = "".join(f'<dt>{escape(label)}</dt><dd data-story="{key}">{escape(text)}</dd>'
                   for key, label, text in _story_items(story, g))
    return f'<dl class="story">{rows}</dl>'
