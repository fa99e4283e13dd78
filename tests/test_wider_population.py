"""The 2026 law's population (under 27) through the whole chain: file, models, SHAP, allocation.

Under the Wet van school naar duurzaam werk the target group runs to 27. A cohort drawn with
``upper_age=27`` holds pupils of 23-26; every step must take them as they are: the age groups
23-26 of the code book as features, exact explanations, and their need in the euros.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from vsvrisk.cli import main
from vsvrisk.data import age_at_reference_date, read_person_years
from vsvrisk.data.codes import age_group_labels
from vsvrisk.exceptions import SchemaError
from vsvrisk.explain import shap_values
from vsvrisk.models import RiskModel

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
OLDER_GROUPS = ("23", "24", "25", "26")


def test_the_code_book_has_mbo_age_groups_up_to_26_under_the_wider_definition():
    assert age_group_labels("mbo", 27)[-4:] == OLDER_GROUPS
    assert not set(OLDER_GROUPS) & set(age_group_labels("mbo"))


@pytest.fixture(scope="module")
def wide_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wide")
    path = folder / "cohorts.parquet"
    assert main(["synth", "--n-persons", "12000", "--school-years", "2018", "2019", "--upper-age", "27",
                 "--seed", "3", "--out", str(path)]) == 0
    return folder, path


@pytest.fixture(scope="module")
def wide_cohorts(wide_file):
    _, path = wide_file
    frame = read_person_years(path, upper_age=27, require_target=True)
    return frame[frame["school_year"] == 2018], frame[frame["school_year"] == 2019].reset_index(drop=True)


def _spec(name: str) -> dict:
    spec = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
    spec["upper_age"] = 27
    return spec


def test_the_default_contract_refuses_the_older_pupils_with_the_fix_named(wide_file):
    _, path = wide_file
    with pytest.raises(SchemaError, match="upper_age|below 23"):
        read_person_years(path)


@pytest.mark.parametrize("name", ["logistic", "lightgbm"])
def test_both_learners_use_the_older_age_groups_and_explain_them_exactly(wide_cohorts, name):
    train, cohort = wide_cohorts
    model = RiskModel.from_spec(_spec(name)).fit(train)
    p = model.predict_risk(cohort).to_numpy()
    age = age_at_reference_date(cohort["birth_date"], cohort["school_year"]).to_numpy()
    older = age >= 23
    assert older.sum() > 300 and np.isfinite(p).all()
    # the older pupils are scored as what they are: riskier than the under-23 mbo pupils, as in the truth
    mbo_young = (cohort["sector"].astype(str) != "vo").to_numpy() & ~older
    assert p[older].mean() > p[mbo_young].mean()
    assert cohort["p_true"][older].mean() > cohort["p_true"][mbo_young].mean()
    values = shap_values(model, cohort)
    variables = values.drop(columns=["model_group", "base", "margin"])
    np.testing.assert_allclose(values["base"] + variables.sum(axis=1), values["margin"], atol=1e-9)
    np.testing.assert_allclose(values["margin"], np.log(p / (1 - p)), atol=1e-8)
    # the older pupils' age groups carry their own contribution
    age_variable = "age_group" if "age_group" in values else "age"
    by_age = values[age_variable].groupby(np.where(older, "23-26", "under 23")).mean()
    assert by_age["23-26"] > by_age["under 23"]


def test_train_explain_and_allocate_take_the_wider_population_end_to_end(wide_file, wide_cohorts, tmp_path,
                                                                          monkeypatch):
    from vsvrisk.runs import allocate_run, explain_run, train

    _, path = wide_file
    _, cohort = wide_cohorts
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    run = train(_spec("lightgbm"), path, experiment="wider")
    assert run.result.n_eval == 12_000  # every pupil of 2019/20, the older ones too
    scored = tmp_path / "cohort-2019.parquet"
    cohort.drop(columns=["vsv"]).to_parquet(scored)
    explained = explain_run(run.run_id, data=scored, out=tmp_path / "explain", sample_size=500)
    drivers = pd.read_csv(explained / "drivers.csv")
    assert "age" in set(drivers["variable"])  # the LightGBM spec takes age itself, not its groups
    config = yaml.safe_load((CONFIGS / "allocation-2026.yaml").read_text())
    config.update(scenario="all", n_bootstrap=20, n_model_refits=0)
    config_path = tmp_path / "allocation.yaml"
    config_path.write_text(yaml.safe_dump(config))
    out = allocate_run(config_path, tmp_path / "allocation", run_id=run.run_id, data=scored)
    table = pd.read_csv(out / "allocation.csv")
    assert table["amount_eur"].sum() == config["budget_eur"]
    expected_need = run.result.model.predict_risk(cohort).sum()   # the 23-26 year olds count
    assert table["need"].sum() == pytest.approx(expected_need, rel=1e-6)
