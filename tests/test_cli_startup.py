"""The command line starts without the modelling stack: help and bad input are answered at once.

Checked by what is imported, not by the clock, so that a busy machine cannot make it fail;
``experiments/bench_cli.py`` has the seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_the_library_still_finds_what_the_lazy_modules_stand_for():
    from vsvrisk import runs
    from vsvrisk._compat import Interval, _fit_context

    assert callable(runs.train) and callable(runs.allocate_run) and callable(_fit_context)
    assert Interval.__module__.startswith("sklearn")
    with pytest.raises(AttributeError, match="no_such_workflow"):
        runs.no_such_workflow
