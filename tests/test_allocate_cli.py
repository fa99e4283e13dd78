"""`vsvrisk allocate`: a worked example by hand, reproducibility, and bad input at the door."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from vsvrisk.allocate import AllocationRules, allocate
from vsvrisk.cli import main

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_worked_example_with_base_floor_and_both_bands_binding():
    # Computed by hand. base 100, floor 150, max_change 10%.
    # Region 1: need 0, previous 150: base 100 is below lo = max(150, 135) = 150 -> 150 (floor).
    # Region 2: need 5000, previous 1000: 100 + 5000 is above hi = 1100 -> 1100 (upper band).
    # Region 3: need 300, previous 1000: 100 + 300 is below lo = 900 -> 900 (lower band).
    # Regions 4-40: need 100, previous 200: 100 + lambda * 100 within [180, 220].
    # Budget 9550 = 150 + 1100 + 900 + 37 * (100 + 100 * lambda)  =>  lambda = 1, 200 each.
    need = pd.Series([0.0, 5000.0, 300.0] + [100.0] * 37, index=range(1, 41))
    previous = pd.Series([150.0, 1000.0, 1000.0] + [200.0] * 37, index=range(1, 41))
    rules = AllocationRules(budget_eur=9550, base_amount_eur=100, floor_eur=150, max_change=0.10)
    table = allocate(need, rules, previous)
    assert table["amount_eur"].tolist() == [150, 1100, 900] + [200] * 37
    assert table["binding"].tolist()[:4] == ["floor", "upper_band", "lower_band", "none"]
    assert table.attrs["lambda"] == pytest.approx(1.0)
    assert table["amount_eur"].sum() == 9550


@settings(max_examples=60, deadline=None)
@given(need=st.lists(st.floats(0, 1e4, allow_nan=False), min_size=40, max_size=40),
       order=st.permutations(list(range(40))), budget=st.integers(1_000, 10**8))
def test_the_order_of_the_rows_changes_nothing(need, order, budget):
    table = pd.DataFrame({"region_code": range(1, 41), "need": need})
    if table["need"].sum() == 0:
        table.loc[0, "need"] = 1.0
    shuffled = table.iloc[order]
    rules = AllocationRules(budget_eur=budget)
    pd.testing.assert_frame_equal(allocate(table, rules), allocate(shuffled, rules))


def _need_file(folder: Path, rows: list[str] | None = None, header: str = "region_code,need") -> Path:
    rows = rows if rows is not None else [f"{code},{code * 1.5}" for code in range(1, 41)]
    path = folder / "need.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def _config(folder: Path, **changes) -> Path:
    data = yaml.safe_load((CONFIGS / "allocation-2026.yaml").read_text())
    data.update(changes)
    path = folder / "allocation.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _rows_without(code: int) -> list[str]:
    return [f"{c},{c * 1.5}" for c in range(1, 41) if c != code]


BAD_INPUTS = [
    ("negative need", {"rows": _rows_without(7) + ["7,-2"]}, {}, "need"),
    ("missing need", {"rows": _rows_without(7) + ["7,"]}, {}, "need"),
    ("a missing region", {"rows": _rows_without(7)}, {}, "7"),
    ("a duplicate region", {"rows": _rows_without(0) + ["7,3"]}, {}, "7"),
    ("an unknown region code", {"rows": _rows_without(0) + ["41,3"]}, {}, "41"),
    ("a negative budget", {}, {"budget_eur": -5}, "budget_eur"),
    ("a zero budget", {}, {"budget_eur": 0}, "budget_eur"),
    ("a budget in cents", {}, {"budget_eur": 90000000.5}, "budget_eur"),
    ("floors above the budget", {}, {"floor_eur": 3_000_000, "base_amount_eur": 0}, "floor_eur"),
    ("a previous year with other regions", {}, {"previous": "previous.csv"}, "region"),
    ("a previous file that does not exist", {}, {"previous": "nowhere.csv"}, "previous"),
]


@pytest.mark.parametrize(("need_change", "config_change", "named"), [case[1:] for case in BAD_INPUTS],
                         ids=[case[0] for case in BAD_INPUTS])
def test_bad_input_is_one_line_exit_two_and_no_output_folder(tmp_path, capsys, need_change, config_change, named):
    (tmp_path / "previous.csv").write_text("region_code,amount_eur\n" + "\n".join(f"{c},1000" for c in range(1, 40)) + "\n")
    need = _need_file(tmp_path, **need_change)
    config = _config(tmp_path, **config_change)
    out = tmp_path / "out"
    assert main(["allocate", "--config", str(config), "--need", str(need), "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "\n" not in error and named in error, error
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_an_existing_output_folder_is_refused_unless_overwrite(tmp_path, capsys):
    need, config, out = _need_file(tmp_path), _config(tmp_path), tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["allocate", "--config", str(config), "--need", str(need), "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err and (out / "keep.txt").exists()
    assert main(["allocate", "--config", str(config), "--need", str(need), "--out", str(out), "--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["allocation.csv", "allocation.html", "allocation.xlsx", "manifest.json",
                                                     *(f"regio-{code:02d}.html" for code in range(1, 41))]


def test_a_need_table_allocates_the_whole_budget_and_says_the_scenario_was_ignored(tmp_path):
    import json

    need, config, out = _need_file(tmp_path), _config(tmp_path), tmp_path / "out"
    assert main(["allocate", "--config", str(config), "--need", str(need), "--out", str(out)]) == 0
    table = pd.read_csv(out / "allocation.csv")
    assert table["amount_eur"].sum() == 90_000_000 and len(table) == 40
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["extra"]["scenario_applied"] is False
    assert manifest["inputs"]["need"]["sha256"]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    spec = yaml.safe_load((CONFIGS / "logistic.yaml").read_text())
    spec["data"]["synthetic_n_persons"] = 20_000
    (folder / "spec.yaml").write_text(yaml.safe_dump(spec))
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        from vsvrisk.runs import train

        run = train(folder / "spec.yaml")
    return folder, run.run_id


def test_same_inputs_and_seed_give_byte_identical_allocations_and_intervals(trained_run, monkeypatch):
    folder, run_id = trained_run
    monkeypatch.chdir(folder)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    config = _config(folder, n_bootstrap=200)
    for name in ("a", "b"):
        assert main(["allocate", "--config", str(config), "--run", run_id, "--out", str(folder / name)]) == 0
    first, second = (folder / "a" / "allocation.csv").read_bytes(), (folder / "b" / "allocation.csv").read_bytes()
    assert first == second
    table = pd.read_csv(folder / "a" / "allocation.csv")
    assert (table["share_low"] <= table["share"]).all() and (table["share"] <= table["share_high"]).all()
    assert table["amount_eur"].sum() == 90_000_000
    assert np.all(table["n_persons"].dropna() >= 10)


def test_a_cohort_saved_by_dutch_excel_allocates_as_the_comma_file_and_the_manifest_says_so(trained_run, monkeypatch):
    import csv
    import io
    import json

    from vsvrisk.data import write_person_years
    from vsvrisk.synth import generate

    folder, run_id = trained_run
    monkeypatch.chdir(folder)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cohort = generate(2_000, school_years=[2019], seed=5).frame.drop(columns=["p_true", "p_true_features"])
    cohort["woonplaats"] = "Súdwest-Fryslân"  # a letter Windows-1252 writes in one byte
    comma = write_person_years(cohort, folder / "cohort.csv", overwrite=True)
    rows = csv.reader(io.StringIO(comma.read_text(encoding="utf-8"), newline=""))
    text = io.StringIO()
    csv.writer(text, delimiter=";", lineterminator="\r\n").writerows(rows)  # as Dutch Excel saves it
    (folder / "cohort-nl.csv").write_bytes(text.getvalue().encode("cp1252"))
    config = _config(folder, n_bootstrap=0)
    for data, out in (("cohort.csv", "en"), ("cohort-nl.csv", "nl")):
        assert main(["allocate", "--config", str(config), "--run", run_id, "--data", str(folder / data),
                     "--out", str(folder / out), "--overwrite"]) == 0
    assert (folder / "nl" / "allocation.csv").read_bytes() == (folder / "en" / "allocation.csv").read_bytes()
    manifest = json.loads((folder / "nl" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["inputs"]["data"]["csv_dialect"] == {"encoding": "cp1252", "separator": ";",
                                                         "decimal_mark": None, "thousands_separator": None}
