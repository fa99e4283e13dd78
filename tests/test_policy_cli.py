"""``vsvrisk policy prevention|registration|path``: one folder each, all or nothing, tracked in MLflow."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from vsvrisk.cli import main

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
FILES = {
    "prevention": ["manifest.json", "prevention-regions.csv", "prevention.csv", "prevention.html"],
    "registration": ["manifest.json", "registration-national.csv", "registration.csv", "registration.html",
                     "risks-to-watch.csv"],
    "path": ["manifest.json", "path-bands.csv", "path-regions.csv", "path.csv", "path.html"],
}


def _config(folder: Path, **changes) -> Path:
    settings = yaml.safe_load((CONFIGS / "policy.yaml").read_text())
    settings.update(model=str(CONFIGS / "cbs-replica.yaml"), allocation=str(CONFIGS / "allocation-2026.yaml"),
                    data={"synthetic_n_persons": 10_000, "synthetic_seed": 4},
                    prevention={"regions": [29], "fraction": 0.3, "n_seeds": 2},
                    registration={"registrations": ["psychosocial", "crime_suspect"], "n_watch": 2, "share_pp": 5.0},
                    path={"years": [2026, 2027], "bands": [0.025, 0.1]})
    settings.update(changes)
    path = folder / "policy.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


@pytest.fixture(scope="module")
def outputs(policy_outputs):
    """The session's policy runs (tests/conftest.py): the working folder and the exit codes."""
    return policy_outputs.folder, policy_outputs.codes


@pytest.mark.parametrize("analysis", list(FILES))
def test_each_analysis_writes_its_folder_and_a_dutch_self_contained_page(policy_outputs, analysis):
    assert policy_outputs.codes[analysis] == 0
    out = policy_outputs.out / analysis
    assert sorted(p.name for p in out.iterdir()) == FILES[analysis]
    page = (out / f"{analysis}.html").read_text(encoding="utf-8")
    assert '<html lang="nl">' in page and "Hoe dit is gemaakt" in page
    # Self-contained: nothing fetched from elsewhere (the SVG's xmlns names are not fetched).
    assert "<script" not in page and "<link" not in page and 'src="' not in page and 'href="http' not in page
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["extra"]["analysis"] == analysis
    assert set(manifest["outputs"]) == set(FILES[analysis]) - {"manifest.json"}
    # The story block names the model, the cohort scored (10,000 a cohort; the path scores two) and the rules.
    story = manifest["extra"]["story"]
    assert story["model"] == {"run_id": None, "name": "cbs-replica", "learner": "logistic"}
    assert story["cohort"]["n_persons"] == (20_000 if analysis == "path" else 10_000)
    assert story["rules"]["budget_eur"] == 90_000_000 and story["rules"]["previous"] is None
    assert 'data-story="cohort"' in page and "10.000 leerlingen" in page


def test_lang_en_gives_the_page_in_english_with_english_numbers(policy_outputs):
    assert policy_outputs.codes["path-en"] == 0
    page = (policy_outputs.out / "path-en" / "path.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in page and "How this was made" in page and "Hoe dit is gemaakt" not in page
    assert "dampening bands 5.0% side by side" in page and "Multi-year path" in page
    table = pd.read_csv(policy_outputs.out / "path-en" / "path.csv")
    amount = int(table["amount_eur"].iloc[0])
    assert f"€\u00a0{amount:,}" in page  # a comma between thousands, as English writes it


def test_every_analysis_is_an_mlflow_run_with_its_folder(outputs):
    from mlflow import MlflowClient

    folder, _ = outputs
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        from vsvrisk import tracking

        tracking.configure()
        client = MlflowClient()
        experiment = client.get_experiment_by_name("policy")
        runs = client.search_runs([experiment.experiment_id])
        tags = [run.data.tags["analysis"] for run in runs]
        assert set(tags) == set(FILES) and tags.count("prevention") == tags.count("registration") == 1
        prevention = next(run for run in runs if run.data.tags["analysis"] == "prevention")
        assert "loss_eur_29" in prevention.data.metrics
        listed = [item.path for item in client.list_artifacts(prevention.info.run_id, "policy-prevention")]
        assert "policy-prevention/prevention.html" in listed


def test_the_outputs_hold_what_the_library_promises(outputs):
    folder = outputs[0] / "out"
    prevention = pd.read_csv(folder / "prevention" / "prevention-regions.csv")
    assert prevention.groupby("seed")["amount_after_eur"].sum().eq(90_000_000).all()
    registration = pd.read_csv(folder / "registration" / "registration.csv")
    assert set(registration["registration"]) == {"psychosocial", "crime_suspect"} and len(registration) == 80
    watch = pd.read_csv(folder / "registration" / "risks-to-watch.csv")
    refitted = registration.dropna(subset=["eur_refit"])
    assert len(watch) == 2 and set(zip(refitted.region_code, refitted.registration)) == set(
        zip(watch.region_code, watch.registration))
    assert registration.loc[registration["suppressed"], "eur_fixed"].isna().all()  # fewer than 10 newly registered
    bands = pd.read_csv(folder / "path" / "path-bands.csv")
    assert bands["band"].tolist() == [0.025, 0.1]
    path = pd.read_csv(folder / "path" / "path.csv")
    assert path.groupby(["band", "year"])["amount_eur"].sum().eq(90_000_000).all()


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["policy", "prevention", "--regions", "29,x"], "--regions"),
        (["policy", "prevention", "--regions", "41"], "41"),
        (["policy", "prevention", "--fraction", "1.5"], "fraction"),
        (["policy", "path", "--bands", "5"], "band 5.0"),
        (["policy", "path", "--first", "{tmp}/missing.csv"], "missing.csv"),
        (["policy", "prevention", "--data-file"], "--data-file"),
    ],
    ids=["a region code that is not a number", "a region code out of range", "a fraction above one",
         "a band written as a percentage", "a first year's file that does not exist", "an unknown option"],
)
def test_bad_input_is_one_line_exit_two_and_no_folder(tmp_path, capsys, arguments, named):
    config = _config(tmp_path)
    out = tmp_path / "out"
    arguments = [a.replace("{tmp}", str(tmp_path)) for a in arguments]
    assert main([*arguments, "--config", str(config), "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "\n" not in error and named in error, error
    assert not out.exists()


def test_the_prevention_check_refuses_a_data_file(tmp_path, capsys):
    data = tmp_path / "cohorts.parquet"
    assert main(["synth", "--n-persons", "1000", "--school-years", "2018", "2019", "--out", str(data)]) == 0
    config = _config(tmp_path, data={"path": str(data)})
    assert main(["policy", "prevention", "--config", str(config), "--out", str(tmp_path / "out")]) == 2
    assert "synthetic world" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_an_existing_folder_is_refused_before_any_work(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    assert main(["policy", "path", "--config", str(_config(tmp_path)), "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err and list(out.iterdir()) == []


def test_the_path_starts_from_a_given_allocation_and_records_it(outputs, monkeypatch):
    folder, _ = outputs
    monkeypatch.chdir(folder)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    path = pd.read_csv(folder / "out" / "path" / "path.csv")
    first = path[(path["band"] == 0.1) & (path["year"] == 2027)][["region_code", "amount_eur"]]
    first.to_csv(folder / "first.csv", index=False)
    out = folder / "path-from-first"
    assert main(["policy", "path", "--config", str(folder / "policy.yaml"), "--out", str(out),
                 "--first", str(folder / "first.csv"), "--bands", "0.05"]) == 0
    again = pd.read_csv(out / "path.csv")
    start = again[again["year"] == 2026].set_index("region_code")["previous_eur"]
    assert start.to_dict() == first.set_index("region_code")["amount_eur"].to_dict()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["inputs"]["first"]["sha256"] and manifest["config"]["path"]["bands"] == [0.05]
