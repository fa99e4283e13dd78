"""The glossary: every name a person can meet has a label in both languages, numbers read as
the language writes them, and the data dictionary in docs/ is the one the code generates."""

from __future__ import annotations

from pathlib import Path

import pytest

from vsvrisk.audit.fairness import _LEVELS
from vsvrisk.exceptions import ConfigError
from vsvrisk.features import ALLOWED_FEATURES
from vsvrisk.report.dictionary import FILES, dictionary_markdown
from vsvrisk.report.glossary import COLUMNS, LANGUAGES, LEVELS, RULES, VARIABLES, glossary

DICTIONARY = Path(__file__).resolve().parents[1] / "docs" / "data-dictionary.md"


def test_the_data_dictionary_in_docs_is_up_to_date():
    assert DICTIONARY.read_text(encoding="utf-8") == dictionary_markdown(), (
        "docs/data-dictionary.md is out of date: run .venv/bin/python -m vsvrisk.report.dictionary > docs/data-dictionary.md")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_feature_column_rule_and_audit_level_has_a_label(lang):
    g = glossary(lang)
    assert set(ALLOWED_FEATURES) | {"model_group_mix"} <= set(VARIABLES)
    for columns in FILES.values():
        assert set(columns) <= set(COLUMNS)
    assert set(RULES) == {"none", "floor", "lower_band", "upper_band"}
    for characteristic, levels in _LEVELS.items():
        assert {str(level) for level in levels} <= set(LEVELS[characteristic]), characteristic
    labels = [g.variable(name) for name in VARIABLES] + [g.column(name) for name in COLUMNS] \
        + [g.rule(name) for name in RULES]
    assert not [label for label in labels if "_" in label], "a label is a code name"


@pytest.mark.parametrize(
    "lang, euro, percent, signed",
    [("nl", "€\u00a07.102.495", "5,0%", "−3,9%"), ("en", "€\u00a07,102,495", "5.0%", "−3.9%")],
    ids=["Dutch notation", "English notation"],
)
def test_numbers_are_written_as_the_language_writes_them(lang, euro, percent, signed):
    g = glossary(lang)
    assert g.euro(7_102_495) == euro and g.percent(0.05) == percent and g.percent(-0.0394, signed=True) == signed
    assert g.euro(-0.4) == "€\u00a00" and g.euro(1234, signed=True).startswith("+€")  # no "−0"
    assert g.euro(float("nan")) == "–" and g.number(None) == "–"


def test_one_concept_one_name_in_both_languages():
    nl, en = glossary("nl"), glossary("en")
    # the rule that holds an amount is named the same way in every output (no "lower band" /
    # "max. down" / "lower_band" for one rule)
    assert nl.rule("lower_band") == "grootste daling" and en.rule("lower_band") == "largest fall allowed"
    assert nl.variable("model_group_mix") == "verhouding vo/mbo" and en.variable("model_group_mix") == "mix of vo and mbo pupils"
    assert nl.level("migration_background", "non_western") == "niet-westers"


def test_an_unknown_language_is_one_clear_error():
    with pytest.raises(ConfigError, match="--lang must be one of nl, en"):
        glossary("de")
