"""The command line: happy paths print the figures; bad input is one line, exit 2, no file."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from vsvrisk.cli import main
from vsvrisk.data import read_person_years


def test_synth_writes_a_valid_file_and_prints_the_published_figures(tmp_path, capsys):
    out = tmp_path / "cohorts.csv"
    assert main(["synth", "--n-persons", "3000", "--school-years", "2018", "2019", "--seed", "5", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Entree" in printed and "Rijnmond" in printed and "2018/19" in printed and "2019/20" in printed
    frame = read_person_years(out, require_target=True)
    assert frame.groupby("school_year").size().to_dict() == {2018: 3000, 2019: 3000}
    assert "p_true" in frame  # the truth travels with the synthetic file (ignored by the schema)


def test_synth_is_reproducible_through_files(tmp_path):
    paths = [tmp_path / "a.parquet", tmp_path / "b.parquet"]
    for path in paths:
        assert main(["synth", "--n-persons", "2000", "--seed", "9", "--out", str(path)]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(paths[0]), pd.read_parquet(paths[1]))


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["synth", "--out", "{tmp}/x.xlsx"], ".parquet or .csv"),
        (["synth", "--out", "{tmp}/x.csv", "--truth", "quadratic"], "--truth"),
        (["synth", "--out", "{tmp}/x.csv", "--n-persons", "0"], "n-persons"),
        (["synth", "--out", "{tmp}/x.csv", "--seed", "one"], "seed"),
        (["synth"], "--out"),
        (["synth", "--out", "{tmp}/x.csv", "--upper-age", "40"], "upper_age"),
        (["train", "--config", "{tmp}/missing.yaml"], "missing.yaml"),
        (["frobnicate"], "frobnicate"),
    ],
    ids=["an unknown output suffix", "an unknown truth", "zero persons", "a seed that is not a number",
         "no output file", "an upper age out of range", "a config file that does not exist", "an unknown command"],
)
def test_bad_input_is_one_line_exit_two_and_no_file(tmp_path, capsys, arguments, named):
    arguments = [a.replace("{tmp}", str(tmp_path)) for a in arguments]
    assert main(arguments) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "\n" not in error and named in error
    assert "Traceback" not in error
    assert list(tmp_path.iterdir()) == []


def test_an_existing_output_is_refused_unless_overwrite(tmp_path, capsys):
    out = tmp_path / "x.parquet"
    out.write_text("keep me")
    assert main(["synth", "--n-persons", "500", "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err and out.read_text() == "keep me"
    assert main(["synth", "--n-persons", "500", "--out", str(out), "--overwrite"]) == 0
    assert len(pd.read_parquet(out)) == 500


def test_a_failure_while_writing_leaves_no_partial_file(tmp_path, monkeypatch):
    def broken(frame, path, **kwargs):
        with open(path, "wb") as handle:
            handle.write(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", broken)
    out = tmp_path / "x.parquet"
    with pytest.raises(OSError):
        main(["synth", "--n-persons", "500", "--out", str(out)])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("line", "named"),
    [
        ("learner: xgboost", "'logistic' or 'lightgbm'"),
        ("colour: blue", "colour"),
        ("calibration: platt", "'none', 'sigmoid' or 'isotonic'"),
        ("learner: [unclosed", "not valid YAML"),
    ],
    ids=["an unknown learner", "an unknown key", "an unknown calibration", "broken YAML"],
)
def test_a_bad_model_config_is_one_line_naming_the_key(tmp_path, capsys, monkeypatch, line, named):
    monkeypatch.chdir(tmp_path)
    key = line.split(":")[0]
    good = {"name": "name: x", "learner": "learner: logistic", "features": "features: {vo: [vo_type], mbo: [mbo_level]}"}
    good[key] = line
    config = tmp_path / "bad.yaml"
    config.write_text("\n".join(good.values()) + "\n")
    assert main(["train", "--config", str(config)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "\n" not in error and named in error
    assert not (tmp_path / "mlflow.db").exists()


def test_the_demo_runs_the_chain_end_to_end_and_ends_with_one_summary(demo_outputs):
    assert demo_outputs.code == 0
    printed, tmp_path = demo_outputs.printed, demo_outputs.root
    demo = demo_outputs.out
    report = demo / "allocation"
    assert sorted(p.name for p in report.iterdir()) == ["allocation.csv", "allocation.html", "allocation.xlsx", "manifest.json",
                                                        *(f"regio-{code:02d}.html" for code in range(1, 41))]
    table = pd.read_csv(report / "allocation.csv")
    assert table["amount_eur"].sum() == 90_000_000
    # dampened against the demo's previous year: within 5%, give or take the euro of rounding
    assert (table["change_eur"].abs() <= 0.05 * table["previous_eur"] + 1).all()
    assert (tmp_path / "mlflow.db").is_file()

    # progress: an overall bar over the steps, ending complete
    assert "demo: step 10 of 10" in printed and "100%" in printed
    # one summary, after the progress, and only one
    assert printed.count("Summary of the demo") == 1
    summary = printed[printed.index("Summary of the demo"):]
    # the CBS replica and LightGBM side by side, the better one explained
    assert "Models side by side: fitted on 2018/19, evaluated on 2019/20" in summary
    for heading in ("AUC vo", "AUC mbo", "cal. slope vo", "cal. slope mbo", "need L1"):
        assert heading in summary
    assert "cbs-replica" in summary and "lightgbm" in summary
    assert (demo / "explain" / "explain.html").is_file() and (demo / "explain" / "compare.csv").is_file()
    # the money: the five largest amounts and the five largest changes against the previous year
    assert "largest amounts (of EUR 90,000,000)" in summary and "largest changes against the previous year" in summary
    largest = summary.split("largest amounts")[1].split("largest changes")[0]
    changes = summary.split("largest changes")[1].split("Reports")[0]
    assert all(name in largest for name in table.nlargest(5, "amount_eur")["region_name"])
    moved = table.assign(size=table["change_eur"].abs()).sort_values(["size", "region_code"], ascending=[False, True])
    assert all(name in changes for name in moved.head(5)["region_name"])
    assert all(f"{amount:,}" in largest for amount in table.nlargest(5, "amount_eur")["amount_eur"])
    # where the reports are, and the one command that opens the MLflow UI on the store
    pages = ["index.html", "allocation/regio-29.html",
             "allocation/allocation.csv", "allocation/allocation.xlsx", "allocation/allocation.html",
             "allocation/manifest.json", "explain/explain.html", "audit/audit.html", "card/card.html",
             "impact/impact.html", "compare/compare.html"]
    for page in pages:
        assert (demo / page).is_file() and f"demo/{page}" in summary
    ui = [line.strip() for line in summary.splitlines() if line.strip().endswith(" ui")]
    assert ui == [f"MLFLOW_TRACKING_URI=sqlite:///{tmp_path / 'mlflow.db'} {Path(sys.executable).parent / 'vsvrisk'} ui"]


def test_national_size_overrides_the_number_of_persons(monkeypatch, tmp_path):
    import vsvrisk.demo

    calls = []
    monkeypatch.setattr(vsvrisk.demo, "run_demo", lambda out, n_persons, seed, console, **options: calls.append(n_persons))
    monkeypatch.setattr(vsvrisk.demo, "print_summary", lambda console, result: None)
    assert main(["demo", "--national", "--n-persons", "5000", "--out", str(tmp_path / "demo")]) == 0
    assert main(["demo", "--n-persons", "5000", "--out", str(tmp_path / "demo")]) == 0
    assert calls == [vsvrisk.demo.NATIONAL_N_PERSONS, 5000] and vsvrisk.demo.NATIONAL_N_PERSONS == 1_500_000


@pytest.mark.parametrize("command", ["audit", "card", "explain"], ids=["audit", "card", "explain"])
def test_an_unknown_run_id_is_one_line_and_exit_two(tmp_path, capsys, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert main([command, "--run", "0123456789abcdef", "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "0123456789abcdef" in error and "\n" not in error
    assert not (tmp_path / "out").exists()
