"""The model card: filled in from the run and its audit, the rest marked for a person, never guessed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from vsvrisk.audit import model_card
from vsvrisk.runs import audit_run, card_run
from vsvrisk.audit.card import TO_BE_FILLED_IN
from vsvrisk.exceptions import ConfigError, OutputExistsError

CONFIGS = Path(__file__).resolve().parents[1] / "configs"

# The fields of the brief, by their attribute in the register's standard.
FIELDS = ("name", "organization", "description_short", "decision_making_process", "goal", "impact", "risks",
          "proportionality", "lawful_basis", "training_data", "source_data", "algorithm_type", "methods_and_models",
          "performance", "human_intervention", "fairness_findings")
# Only a person of the responsible organisation can fill these in.
PERSON_ONLY = ("organization", "department", "contact_email", "status", "risk_category", "proportionality",
               "objection_procedure")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from vsvrisk.runs import train

    folder = tmp_path_factory.mktemp("card_store")
    spec = yaml.safe_load((CONFIGS / "logistic.yaml").read_text())
    spec["data"]["synthetic_n_persons"] = 20_000
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        run = train(spec)
        yield folder, run


def test_a_card_has_every_field_and_marks_what_only_a_person_can_fill_in(store, monkeypatch):
    folder, run = store
    monkeypatch.chdir(folder)
    card = model_card(run.run_id, lang="en")
    assert set(FIELDS) <= set(card["fields"])
    assert card["standard"]["version"] == "0.3.1"
    for key in PERSON_ONLY:
        field = card["fields"][key]
        assert field["value"].startswith(TO_BE_FILLED_IN) and field["source"] == "person", key
    assert set(PERSON_ONLY) <= set(card["to_be_filled"])
    # What the run knows is filled in from the run: performance from its metrics, the data it saw.
    metrics = run.result.evaluation.metrics
    assert f"ROC-AUC {metrics['vo_roc_auc']:.3f}" in card["fields"]["performance"]["value"]
    assert "synthetic" in card["fields"]["training_data"]["value"]
    assert "Never used as a feature: migration background." in card["fields"]["training_data"]["value"]
    assert card["fields"]["lawful_basis"]["value"].startswith("Wet van school naar duurzaam werk")
    assert card["fields"]["algorithm_type"]["value"] == "self-learning"
    assert len(card["fields"]["description_short"]["value"]) <= 150  # the standard's limit
    assert card["fields"]["fairness_findings"]["value"].startswith("No fairness audit was found")
    assert "No allocation was found for this run" in card["fields"]["risks"]["value"]  # so no risk to watch yet
    dutch = model_card(run.run_id)  # Dutch by default: the register is Dutch
    assert dutch["fields"]["organization"]["value"].startswith("IN TE VULLEN DOOR DE VERANTWOORDELIJKE ORGANISATIE")
    assert dutch["fields"]["algorithm_type"]["value"] == "zelflerend" and dutch["lang"] == "nl"
    assert set(dutch["fields"]) == set(card["fields"]) and dutch["to_be_filled"] == card["to_be_filled"]


def test_the_card_takes_the_fairness_findings_from_the_runs_audit(store, monkeypatch):
    folder, run = store
    monkeypatch.chdir(folder)
    audit_run(run.run_id, folder / "audit", n_boot=0)
    card = model_card(run.run_id, lang="en")
    assert card["fields"]["fairness_findings"]["source"] == "audit"
    assert "The audit compared" in card["fields"]["fairness_findings"]["value"]
    given = model_card(run.run_id, audit=folder / "audit", lang="en")
    assert given["fields"]["fairness_findings"] == card["fields"]["fairness_findings"]
    with pytest.raises(ConfigError, match="not found"):
        model_card(run.run_id, audit=folder / "no-audit-here")


def test_card_run_writes_yaml_and_html_reproducibly(store, monkeypatch):
    folder, run = store
    monkeypatch.chdir(folder)
    first = card_run(run.run_id, folder / "card1", lang="en")
    second = card_run(run.run_id, folder / "card2", lang="en")
    assert sorted(p.name for p in first.iterdir()) == ["card.html", "card.yaml", "manifest.json"]
    for name in ("card.yaml", "card.html"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    card = yaml.safe_load((first / "card.yaml").read_text(encoding="utf-8"))
    assert card["run_id"] == run.run_id and set(FIELDS) <= set(card["fields"])
    page = (first / "card.html").read_text(encoding="utf-8")
    assert f'<span class="todo">{TO_BE_FILLED_IN}</span>' in page and "<script" not in page
    with pytest.raises(OutputExistsError):
        card_run(run.run_id, first)


def test_an_unknown_run_is_one_line(store, monkeypatch):
    folder, _ = store
    monkeypatch.chdir(folder)
    with pytest.raises(ConfigError, match="not found"):
        model_card("0" * 32)
