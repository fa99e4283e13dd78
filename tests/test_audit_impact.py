"""What a modelling choice does to the money: the shares and euros add up for every alternative,
the run is reproducible byte for byte, and a bad config is refused with the key named."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from vsvrisk.audit import impact, load_impact_config
from vsvrisk.runs import impact_run
from vsvrisk.exceptions import ConfigError, OutputExistsError

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
BUDGET = 90_000_000


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    """The shipped impact config, on a quick LightGBM and a small synthetic population."""
    folder = tmp_path_factory.mktemp("impact")
    spec = yaml.safe_load((CONFIGS / "lightgbm.yaml").read_text())
    spec["params"].update({"learning_rate": 0.2, "n_estimators": 80})
    spec["early_stopping_rounds"] = 10
    (folder / "quick-lightgbm.yaml").write_text(yaml.safe_dump(spec))
    settings = yaml.safe_load((CONFIGS / "impact.yaml").read_text())
    settings["model"] = "quick-lightgbm.yaml"
    settings["allocation"] = str(CONFIGS / "allocation-2026.yaml")
    settings["data"]["synthetic_n_persons"] = 15_000
    for alternative in settings["alternatives"]:
        if "model" in alternative:
            alternative["model"] = str(CONFIGS / alternative["model"])
        if alternative["name"] == "lightgbm":  # the baseline itself: left out, and the page says so
            alternative["model"] = "quick-lightgbm.yaml"
    path = folder / "impact.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


@pytest.fixture(scope="module")
def first_run(config):
    return impact_run(config, config.parent / "first")


def test_shares_add_up_to_one_and_euros_to_the_budget_for_every_alternative(first_run):
    table = pd.read_csv(first_run / "impact.csv")
    names = ["baseline", "without_wealth", "with_migration_background", "logistic", "scenario_all"]
    assert list(dict.fromkeys(table["alternative"])) == names
    for name, block in table.groupby("alternative"):
        assert sorted(block["region_code"]) == list(range(1, 41)), name
        assert block["share"].sum() == pytest.approx(1.0, abs=1e-5), name
        assert block["amount_eur"].sum() == BUDGET, name
        assert block["delta_eur"].sum() == 0, name
        assert block["delta_share_pp"].sum() == pytest.approx(0.0, abs=1e-3), name
    baseline = table[table["alternative"] == "baseline"]
    assert (baseline[["delta_eur", "delta_share_pp"]] == 0).all().all()
    # Each alternative moves money: a different model or scenario is never the same split.
    moved = table[table["alternative"] != "baseline"].groupby("alternative")["delta_eur"].apply(lambda d: d.abs().sum())
    assert (moved > 0).all()


def test_an_alternative_that_is_the_baseline_itself_is_left_out_and_named(first_run):
    manifest = json.loads((first_run / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["extra"]["skipped"] == ["lightgbm"]
    page = (first_run / "impact.html").read_text(encoding="utf-8")
    assert re.search(r"Weggelaten: model [\w-]+ \(LightGBM\): dat is de baseline zelf", page)
    assert "without_wealth" not in page and "zonder vermogen van het gezin" in page  # labels, not code names


def test_the_deltas_are_against_the_baseline(first_run):
    table = pd.read_csv(first_run / "impact.csv")
    wide = table.pivot(index="region_code", columns="alternative", values="amount_eur")
    delta = table.pivot(index="region_code", columns="alternative", values="delta_eur")
    assert (delta["logistic"] == wide["logistic"] - wide["baseline"]).all()
    share = table.pivot(index="region_code", columns="alternative", values="share")
    points = table.pivot(index="region_code", columns="alternative", values="delta_share_pp")
    assert points["scenario_all"].to_numpy() == pytest.approx(100 * (share["scenario_all"] - share["baseline"]).to_numpy(), abs=1e-4)


def test_the_same_config_gives_byte_identical_outputs(config, first_run):
    second = impact_run(config, config.parent / "second")
    assert sorted(p.name for p in second.iterdir()) == ["impact.csv", "impact.html", "impact.png", "manifest.json"]
    for name in ("impact.csv", "impact.png", "impact.html"):
        assert (first_run / name).read_bytes() == (second / name).read_bytes(), name
    with pytest.raises(OutputExistsError):
        impact_run(config, second)


def test_the_shipped_config_is_valid():
    settings = load_impact_config(CONFIGS / "impact.yaml")
    assert settings.model.is_file() and settings.allocation.is_file()
    assert {a.name for a in settings.alternatives} == {"without_wealth", "with_migration_background", "lightgbm",
                                                       "logistic", "scenario_all"}


def _settings(**change) -> dict:
    settings = {"model": str(CONFIGS / "lightgbm.yaml"), "allocation": str(CONFIGS / "allocation-2026.yaml"),
                "alternatives": [{"name": "scenario_all", "scenario": "all"}]}
    settings.update(change)
    return settings


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        (_settings(budget=1), "budget"),
        (_settings(model="no-such-spec.yaml"), "model"),
        (_settings(alternatives=[{"name": "nothing"}]), "changes nothing"),
        (_settings(alternatives=[{"name": "baseline", "scenario": "all"}]), "baseline"),
        (_settings(alternatives=[{"name": "a", "scenario": "all"}, {"name": "a", "scenario": "all"}]), "used twice"),
        (_settings(alternatives=[{"name": "a", "scenario": "some"}]), "scenario"),
        (_settings(alternatives=[{"name": "a", "drop_features": ["shoe_size"]}]), "shoe_size"),
        (_settings(alternatives=[{"name": "a", "add_features": ["shoe_size"]}]), "shoe_size"),
    ],
    ids=["an unknown key", "a model spec that does not exist", "an alternative that changes nothing",
         "an alternative called baseline", "two alternatives with one name", "an unknown scenario",
         "dropping a feature the model does not have", "adding a feature that does not exist"],
)
def test_a_bad_config_is_refused_with_the_key_named(settings, named):
    with pytest.raises(ConfigError, match=re.escape(named)):
        impact(settings)


def test_an_alternative_the_caller_has_fitted_already_is_taken_and_not_fitted_again(config, monkeypatch):
    # The demo's impact takes an alternative that another of its training runs fitted (the same
    # spec on the same cohort): the table is the one a fit giving those risks would make.
    import numpy as np

    import importlib

    from vsvrisk.audit.impact import FittedBaseline
    from vsvrisk.models import RiskModel, load_model_spec
    from vsvrisk.synth import generate

    impact_module = importlib.import_module("vsvrisk.audit.impact")  # the package's `impact` is the function
    settings = load_impact_config(config).model_copy(update={"n_jobs": 1})  # fits in this process
    spec = load_model_spec(config.parent / "quick-lightgbm.yaml")
    frame = generate(15_000, [2018, 2019], seed=1).frame
    train, cohort = frame[frame["school_year"] == 2018], frame[frame["school_year"] == 2019].reset_index(drop=True)
    model = RiskModel.from_spec(spec).fit(train)
    given = np.linspace(0.01, 0.2, len(cohort))
    fitted, real = [], impact_module._fit_and_score

    def fit(variant, *data):
        fitted.append(variant.learner)
        return given if variant.learner == "logistic" else real(variant, *data)

    monkeypatch.setattr(impact_module, "_fit_and_score", fit)
    taken = impact(settings, baseline=FittedBaseline(spec, model, train, cohort,
                                                     known=lambda s: given if s.learner == "logistic" else None))
    assert "logistic" not in fitted and fitted.count("lightgbm") == 2  # without wealth, with migration background
    fitted.clear()
    refitted = impact(settings, baseline=FittedBaseline(spec, model, train, cohort))
    assert "logistic" in fitted
    pd.testing.assert_frame_equal(taken, refitted, check_exact=True)
