"""The command line starts without the modelling stack: help and bad input are answered at once.

Checked by what is imported, not by the clock, so that a busy machine cannot make it fail;
``experiments/bench_cli.py`` has the seconds. A wrong key or value in any config, and a run id
that the local store does not hold, are bad input too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
HEAVY = ("pandas", "sklearn", "mlflow", "lightgbm", "scipy", "matplotlib", "shap", "pandera", "pyarrow", "statsmodels")


def _imported_after(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_the_command_line_imports_nothing_heavy():
    assert _imported_after("import vsvrisk.cli") == []


@pytest.mark.parametrize("arguments", [
    ["--help"], ["audit", "--help"], ["frobnicate"], ["synth", "--out", "x.xlsx"],
    ["train", "--config", "missing.yaml"], ["allocate", "--config", "missing.yaml", "--out", "o", "--need", "n.csv"],
    ["explain", "--run", "abc", "--out", "o", "--compare", "29"], ["audit", "--run", "abc", "--out", "."],
    ["allocate", "--config", str(CONFIGS / "allocation-2026.yaml"), "--out", "o"],
], ids=["the help", "a command's help", "an unknown command", "a bad output suffix", "a missing model spec",
        "a missing allocation config", "one region to compare", "an existing output folder",
        "allocate with neither --need nor --run"])
def test_help_and_bad_input_are_answered_without_the_modelling_stack(arguments, tmp_path):
    code = ("import contextlib, io, os\n"
            f"os.chdir({str(tmp_path)!r})\n"
            "from vsvrisk.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
            f"    status = main({arguments!r})\n"
            "assert status in (0, 2), status")
    assert _imported_after(code) == []


#: What help needs not: typer checks option values with pydantic, but help checks none (the
#: groups' --help has a bool default: vsvrisk._cli_checks.GroupHelp); yaml and the config models
#: come with a config, importlib.metadata with vsvrisk.__version__, the store's modules with a run id.
NOT_FOR_HELP = ("pydantic", "yaml", "importlib.metadata", "vsvrisk.tracking", "sqlite3", "vsvrisk.config")


def _new_modules(code: str, folder: Path) -> set[str]:
    """Top-level names of the modules that ``code`` imports beyond a bare interpreter's."""
    probe = "import json, sys\nbare = set(sys.modules)\n" + code + (
        "\nprint(json.dumps(sorted({m for m in sys.modules if m not in bare})))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=folder)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_no_help_page_imports_pydantic_yaml_or_the_store(tmp_path):
    from tests.test_cli_help import COMMANDS

    pages = [["--help"], *([*name.split(), "--help"] for name in COMMANDS)]
    code = ("import contextlib, io\n"
            "from vsvrisk.cli import main\n"
            f"for arguments in {pages!r}:\n"
            "    with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            "        assert main(arguments) == 0 and 'Usage' in out.getvalue(), arguments\n")
    imported = _new_modules(code, tmp_path)
    assert "typer" in imported and "vsvrisk.cli" in imported  # the probe ran the command line
    assert sorted(imported & {*NOT_FOR_HELP, *HEAVY}) == []


def test_bad_input_without_a_config_or_a_run_id_reads_neither(tmp_path):
    (tmp_path / "existing").mkdir()
    code = ("import contextlib, io\n"
            "from vsvrisk.cli import main\n"
            "with contextlib.redirect_stderr(io.StringIO()) as err:\n"
            "    assert main(['explain', '--run', 'abc', '--out', 'existing']) == 2\n"
            "assert 'exists already' in err.getvalue(), err.getvalue()\n")
    imported = _new_modules(code, tmp_path)
    assert sorted(imported & {"yaml", "vsvrisk.config", "vsvrisk.tracking", "sqlite3", *HEAVY}) == []


def _run_cli(arguments: list[str], folder: Path) -> tuple[int, str, list[str]]:
    """Exit status, stderr and the heavy packages imported, of ``vsvrisk ARGUMENTS`` run in ``folder``."""
    code = ("import contextlib, io, json, os, sys\n"
            f"os.chdir({str(folder)!r})\n"
            "os.environ.pop('MLFLOW_TRACKING_URI', None)\n"
            "from vsvrisk.cli import main\n"
            "err = io.StringIO()\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):\n"
            f"    status = main({arguments!r})\n"
            "print(json.dumps([status, err.getvalue()]))")
    probe = f"{code}\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    *_, result, imported = done.stdout.strip().splitlines()
    status, stderr = json.loads(result)
    return status, stderr, json.loads(imported)


def _write(path: Path, data: dict) -> str:
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.fixture(scope="module")
def bad_configs(tmp_path_factory) -> dict[str, str]:
    """One config of each kind with one wrong key or value (and an impact config naming a bad spec)."""
    folder = tmp_path_factory.mktemp("bad-configs")
    spec = yaml.safe_load((CONFIGS / "lightgbm.yaml").read_text())
    allocation = yaml.safe_load((CONFIGS / "allocation-2026.yaml").read_text())
    impact = yaml.safe_load((CONFIGS / "impact.yaml").read_text())
    impact["alternatives"] = [a for a in impact["alternatives"] if "model" not in a]  # relative paths
    policy = yaml.safe_load((CONFIGS / "policy.yaml").read_text())
    sweep = yaml.safe_load((CONFIGS / "sweep-lightgbm.yaml").read_text())
    return {
        "spec": _write(folder / "spec.yaml", {**spec, "learnr": "lightgbm"}),
        "allocation": _write(folder / "allocation.yaml", {**allocation, "budget_eur": -1}),
        "impact": _write(folder / "impact.yaml", {**impact, "model": str(CONFIGS / "lightgbm.yaml"),
                                                  "allocation": str(CONFIGS / "allocation-2026.yaml"), "alternativs": []}),
        "impact-spec": _write(folder / "impact-spec.yaml", {**impact, "model": str(folder / "spec.yaml"),
                                                            "allocation": str(CONFIGS / "allocation-2026.yaml")}),
        "policy": _write(folder / "policy.yaml", {**policy, "model": str(CONFIGS / "cbs-replica.yaml"),
                                                  "allocation": str(folder / "allocation.yaml")}),
        "sweep": _write(folder / "sweep.yaml", {**sweep, "model": str(CONFIGS / "lightgbm.yaml"),
                                                "space": {"params.num_leaves": {"type": "int", "low": 40, "high": 4}}}),
    }


@pytest.mark.parametrize(("arguments", "named"), [
    (["train", "--config", "{spec}"], "unknown key 'learnr'"),
    (["allocate", "--config", "{allocation}", "--need", "{allocation}", "--out", "o"], "key 'budget_eur'"),
    (["impact", "--config", "{impact}", "--out", "o"], "unknown key 'alternativs'"),
    (["impact", "--config", "{impact-spec}", "--out", "o"], "unknown key 'learnr'"),
    (["impact", "--config", str(CONFIGS / "impact.yaml"), "--allocation", "{allocation}", "--out", "o"], "budget_eur"),
    (["policy", "path", "--config", "{policy}", "--out", "o"], "key 'budget_eur'"),
    (["policy", "prevention", "--config", str(CONFIGS / "policy.yaml"), "--out", "o", "--regions", "29,99"],
     "region code 99"),
    (["sweep", "--config", "{sweep}"], "low <= high"),
    (["audit", "--run", "0123456789abcdef", "--out", "o"], "run '0123456789abcdef' not found"),
    (["allocate", "--config", str(CONFIGS / "allocation-2026.yaml"), "--run", "abc", "--out", "o"], "run 'abc' not found"),
    (["promote", "--run", "abc"], "run 'abc' not found"),
], ids=["a model spec", "an allocation config", "an impact config", "a model spec an impact config names",
        "impact --allocation", "the allocation config a policy config names", "a policy option",
        "a sweep's search space", "audit: a run id not in the store", "allocate: a run id not in the store",
        "promote: a run id not in the store"])
def test_config_errors_and_unknown_runs_are_answered_without_the_modelling_stack(arguments, named, bad_configs,
                                                                                  tmp_path):
    status, stderr, imported = _run_cli([a.format(**bad_configs) for a in arguments], tmp_path)
    assert status == 2 and stderr.startswith("error: ") and named in stderr, stderr
    assert len(stderr.strip().splitlines()) == 1
    assert imported == []
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no output, and no MLflow store made by looking


def test_the_library_still_finds_what_the_lazy_modules_stand_for():
    from vsvrisk import runs
    from vsvrisk._compat import Interval, _fit_context

    assert callable(runs.train) and callable(runs.allocate_run) and callable(_fit_context)
    assert Interval.__module__.startswith("sklearn")
    with pytest.raises(AttributeError, match="no_such_workflow"):
        runs.no_such_workflow
