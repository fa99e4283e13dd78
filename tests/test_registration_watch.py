"""The allocation's risk to watch: the registrations that move the most money, named on the
allocation page, on the pages of the regions concerned, and in the model card (issue 17).

Checked on the demo's outputs against its own allocation.csv and model spec; the figure itself is
checked against a closed form in tests/test_policy_expected.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from vsvrisk.data.codes import PROBLEM_FLAGS
from vsvrisk.report.glossary import glossary
from vsvrisk.report.watch import watch_sentences

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.fixture(scope="module")
def watch(demo_outputs):
    manifest = json.loads((demo_outputs.out / "allocation" / "manifest.json").read_text(encoding="utf-8"))
    table = pd.read_csv(demo_outputs.out / "allocation" / "allocation.csv").set_index("region_code")
    return manifest["extra"]["registration_watch"], manifest, table


def test_the_risk_names_the_registrations_the_model_uses_and_regions_the_rules_let_move(watch):
    risks, manifest, table = watch
    model = manifest["extra"]["story"]["model"]
    spec = yaml.safe_load((CONFIGS / f"{model['name']}.yaml").read_text(encoding="utf-8"))
    in_spec = {name for names in spec["features"].values() for name in names} & set(PROBLEM_FLAGS)
    named = [row["registration"] for row in risks["national"]]
    # A logistic model uses every registration it is given; trees may never split on one.
    assert set(named) == in_spec if model["learner"] == "logistic" else set(named) <= in_spec
    assert len(named) == len(set(named)) > 0
    assert risks["lambda"] == pytest.approx(manifest["extra"]["lambda"], rel=1e-12)
    assert 0 < len(risks["regions"]) <= 5
    euros = [row["eur_per_person"] for row in risks["regions"]]
    assert euros == sorted(euros, reverse=True) and min(euros) > 0
    for row in risks["regions"]:
        code = row["region_code"]
        assert table.at[code, "binding"] == "none"  # a region held by a rule gains nothing at the margin
        assert row["eur_per_pp"] == pytest.approx(row["eur_per_person"] * table.at[code, "n_persons"] / 100, rel=1e-6)


def test_the_allocation_page_the_regions_pages_and_the_card_name_it(watch, demo_outputs):
    risks, _, _ = watch
    g, folder = glossary("nl"), demo_outputs.out / "allocation"
    page = (folder / "allocation.html").read_text(encoding="utf-8")
    assert "Risico om in de gaten te houden" in page
    for line in watch_sentences([*risks["national"], *risks["regions"]], g):
        assert line.replace("'", "&#x27;") in page
    named = {row["region_code"] for row in risks["regions"]}
    for code in range(1, 41):
        region = (folder / f"regio-{code:02d}.html").read_text(encoding="utf-8")
        assert ("Risico om in de gaten te houden" in region) == (code in named), code
        for row in risks["regions"]:
            if row["region_code"] == code:
                assert watch_sentences([row], g)[0] in region
    card = (demo_outputs.out / "card" / "card.html").read_text(encoding="utf-8")
    assert watch_sentences(risks["regions"][:1], g)[0] in card  # the largest, in the risks field


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_registrations_sentence_reads_without_nested_brackets(lang):
    # The registrar stands in brackets in the sentence: a label with brackets of its own read as
    # "(geregistreerd door gemeente (bijstand))".
    rows = [{"registration": name, "eur_per_person": 10.0, "region_name": "Twente", "eur_per_pp": 1.0}
            for name in PROBLEM_FLAGS]
    for line in watch_sentences(rows, glossary(lang)):
        depth = 0
        for character in line:
            depth += {"(": 1, ")": -1}.get(character, 0)
            assert depth in (0, 1), line
        assert depth == 0, line
