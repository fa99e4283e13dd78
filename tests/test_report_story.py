"""One run, one story: the demo's pages agree on the run, the cohort, the rules and every amount
shown for Rijnmond; no page or workbook shows a code name; English on request.

Checked against allocation.csv and the demo's own files (the cohort's hash from the file
itself), not against what the pages say about each other.
"""

from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from vsvrisk.report.glossary import glossary
from vsvrisk.runs import allocate_run

RIJNMOND = 29
CODE_NAME = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


class _Text(HTMLParser):
    """The text a reader sees (tooltips included), the story block by key, and elements by data-field."""

    SKIP = {"style", "script", "code"}

    def __init__(self):
        super().__init__()
        self.text, self.story, self.stack, self.current = [], {}, [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag not in ("br", "meta", "rect", "img"):
            self.stack.append(tag)
        if "data-story" in attrs:
            self.current = attrs["data-story"]
            self.story[self.current] = ""

    def handle_endtag(self, tag):
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()
        if tag == "dd":
            self.current = None

    def handle_data(self, data):
        if not self.SKIP & set(self.stack):
            self.text.append(data)
            if self.current:
                self.story[self.current] += data


def _read(path: Path) -> _Text:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def pages(demo_outputs):
    out = demo_outputs.out
    names = {"index": out / "index.html", "allocation": out / "allocation" / "allocation.html",
             "region": out / "allocation" / f"regio-{RIJNMOND:02d}.html", "impact": out / "impact" / "impact.html",
             "audit": out / "audit" / "audit.html", "explain": out / "explain" / "explain.html",
             "card": out / "card" / "card.html"}
    return {name: _read(path) for name, path in names.items()}


def test_every_page_names_the_same_run_and_cohort(pages, demo_outputs):
    manifest = pd.read_json(demo_outputs.out / "allocation" / "manifest.json", typ="series")
    run_id = manifest["model_run_id"]
    cohort = demo_outputs.out / "cohort-2019.parquet"
    sha = hashlib.sha256(cohort.read_bytes()).hexdigest()[:12]
    persons = len(pd.read_parquet(cohort, columns=["school_year"]))
    for name, page in pages.items():
        assert run_id in page.story["model"], name
        if name != "card":
            assert page.story["cohort"] == pages["allocation"].story["cohort"], name
    text = pages["allocation"].story["cohort"]
    assert "schooljaar 2019/20" in text and sha in text and glossary("nl").number(persons) in text
    for name in ("index", "region", "impact"):  # the pages about money name the same rules
        assert pages[name].story["rules"] == pages["allocation"].story["rules"], name
        assert pages[name].story["previous"] == pages["allocation"].story["previous"], name
    assert "demping ±5%" in pages["allocation"].story["rules"]


def test_every_amount_shown_for_rijnmond_is_the_allocation(pages, demo_outputs):
    g = glossary("nl")
    row = pd.read_csv(demo_outputs.out / "allocation" / "allocation.csv").set_index("region_code").loc[RIJNMOND]
    amount, previous, change = g.euro(row["amount_eur"]), g.euro(row["previous_eur"]), g.euro(row["change_eur"], signed=True)
    for name in ("allocation", "region", "index", "impact"):
        text = "".join(pages[name].text)
        assert amount in text, name
        # any other euro amount on the Rijnmond parts must be one of the allocation's figures
    region = "".join(pages["region"].text)
    assert previous in region and change in region
    assert f"Rijnmond krijgt {amount}, {change}" in region
    interval = f"{g.euro(row['amount_low'])} – {g.euro(row['amount_high'])}"
    assert interval in region
    allocation = "".join(pages["allocation"].text)
    assert previous in allocation and change in allocation
    assert f"29 Rijnmond: {amount}" in "".join(pages["index"].text)  # the map's tile


def test_the_chance_of_a_change_is_shown_with_its_threshold_inside_the_band(pages):
    text = "".join(pages["allocation"].text)
    assert "Kans op > 2,5% verandering" in text and "Kans op > 5" not in text


def test_the_impact_starts_from_the_model_that_allocates(pages, demo_outputs):
    impact = pd.read_csv(demo_outputs.out / "impact" / "impact.csv")
    allocation = pd.read_csv(demo_outputs.out / "allocation" / "allocation.csv")
    baseline = impact[impact["alternative"] == "baseline"].set_index("region_code")["amount_eur"]
    assert baseline.to_dict() == allocation.set_index("region_code")["amount_eur"].to_dict()
    text = "".join(pages["impact"].text)
    model = pages["impact"].story["model"]
    # an alternative equal to the model that allocates is left out, not offered as an alternative
    if model.startswith("lightgbm (LightGBM)"):
        assert "Weggelaten: model lightgbm (LightGBM): dat is de baseline zelf." in text
        assert "model lightgbm (LightGBM) in plaats van" not in text
    else:
        assert model.startswith("cbs-replica (logistische regressie)")
        assert "model lightgbm (LightGBM) in plaats van cbs-replica" in text and "Weggelaten" not in text


def _html_files(out: Path) -> list[Path]:
    # compare.html is the researchers' model comparison (its own issue), not a report of the run
    return [p for p in sorted(out.rglob("*.html")) if p.name != "compare.html"]


def _workbook_labels(path: Path) -> list[str]:
    book = openpyxl.load_workbook(path)
    labels = []
    for sheet in book.worksheets:
        labels += [str(c.value) for c in sheet[1] if c.value is not None]
    amounts, rules, words, manifest = book.worksheets
    labels += [str(v) for row in amounts.iter_rows(min_row=2, values_only=True) for v in row if isinstance(v, str)]
    labels += [str(row[0]) for row in rules.iter_rows(min_row=2, values_only=True)]
    labels += [str(v) for row in words.iter_rows(min_row=2, values_only=True) for v in row[1:] if v]
    labels += [str(row[0]) for row in manifest.iter_rows(min_row=2, values_only=True)]
    return labels


def test_no_page_or_workbook_shows_a_code_name(demo_outputs, policy_outputs):
    found = {}
    for out in (demo_outputs.out, policy_outputs.out):
        for path in _html_files(out):
            names = set(CODE_NAME.findall(" ".join(_read(path).text)))
            names = {n for n in names if not n.endswith((".csv", ".html"))}
            if names:
                found[str(path.relative_to(out.parent))] = sorted(names)
    for path in demo_outputs.out.rglob("*.xlsx"):
        names = {n for label in _workbook_labels(path) for n in CODE_NAME.findall(label)
                 if not label.endswith((".csv", ".parquet", ".yaml"))}
        if names:
            found[str(path.relative_to(demo_outputs.out))] = sorted(names)
    assert found == {}


@pytest.fixture(scope="module")
def english(demo_outputs, tmp_path_factory):
    """The demo's 2026 allocation again, from its need table, in English."""
    folder = tmp_path_factory.mktemp("english")
    table = pd.read_csv(demo_outputs.out / "allocation" / "allocation.csv")
    table[["region_code", "need"]].to_csv(folder / "need.csv", index=False)
    return allocate_run(demo_outputs.out / "allocation-2026.yaml", folder / "allocation", need=folder / "need.csv",
                        lang="en"), table


def test_lang_en_gives_the_english_versions_of_the_same_pages(english):
    folder, dutch = english
    page = "".join(_read(folder / "allocation.html").text)
    region = "".join(_read(folder / f"regio-{RIJNMOND:02d}.html").text)
    g = glossary("en")
    amount = dutch.set_index("region_code").at[RIJNMOND, "amount_eur"]  # the same need, the same rules, the same euros
    assert "Amount per region" in page and "Bedrag per regio" not in page and g.euro(amount) in page
    assert f"Rijnmond receives {g.euro(amount)}" in region
    book = openpyxl.load_workbook(folder / "allocation.xlsx")
    assert book.sheetnames == ["Amounts", "Rules", "Data dictionary", "Manifest"]
    assert [c.value for c in book["Amounts"][1]][:5] == ["Code", "Region", "Need", "Need share", "Amount"]
    assert not [n for label in _workbook_labels(folder / "allocation.xlsx") for n in CODE_NAME.findall(label)
                if not label.endswith((".csv", ".parquet", ".yaml"))]
    for path in folder.glob("*.html"):  # the English pages show no code names either
        assert not CODE_NAME.findall(" ".join(_read(path).text)), path.name


def test_the_policy_pages_in_english_show_no_code_name_and_no_dutch(policy_outputs, tmp_path):
    """The prevention and registration pages rendered in English from the runs' own files (the
    path ran with --lang en itself)."""
    import json

    from vsvrisk.policy.html import render_prevention_html, render_registration_html

    out = policy_outputs.out
    story = json.loads((out / "registration" / "manifest.json").read_text())["extra"]["story"]
    summary = pd.read_csv(out / "prevention" / "prevention.csv").rename(columns={"region_code": "preventing_region"})
    pages = {"prevention": render_prevention_html(summary, pd.read_csv(out / "prevention" / "prevention-regions.csv"),
                                                  [("Data", "synthetic")], story=story, lang="en"),
             "registration": render_registration_html(
                 pd.read_csv(out / "registration" / "registration.csv"),
                 pd.read_csv(out / "registration" / "registration-national.csv"),
                 pd.read_csv(out / "registration" / "risks-to-watch.csv"), [("Data", "synthetic")], share_pp=5.0,
                 story=story, lang="en"),
             "path": (out / "path-en" / "path.html").read_text(encoding="utf-8")}
    for name, html in pages.items():
        (tmp_path / f"{name}.html").write_text(html, encoding="utf-8")
        text = " ".join(_read(tmp_path / f"{name}.html").text)
        assert not CODE_NAME.findall(text), name
        assert '<html lang="en">' in html and "How this was made" in text, name
        for dutch in ("Hoe dit is gemaakt", "leerlingen", "regio's", "Verlies", "bedrag"):
            assert dutch not in text, (name, dutch)
    assert "Risk to watch" in pages["registration"] and "per additional registered pupil" in pages["registration"]
