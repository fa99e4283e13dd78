"""Every command in the README is run by a test or by CI, so the README cannot go stale.

Each fenced block of README.md declares a language and is one of:

- ``<!-- tested -->`` on the line before the fence: run here exactly as written, shell blocks with
  bash (``.venv/bin`` first on PATH, in a clean temporary folder that holds a link to
  ``configs/``), Python blocks in this process;
- ``<!-- covered: ... -->``: run elsewhere or by hand; every such block is listed in
  :data:`COVERED` below, word for word, with what covers it;
- ``text``: not commands (a directory listing).

A new block that is none of these fails :func:`test_every_fenced_block_is_tested_or_covered`.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

#: The blocks not run here, word for word, and what runs them instead.
COVERED = {
    "make demo\nmake test": (
        "`make test` is what CI runs (.ci/run, checked below). `make demo` runs `.venv/bin/vsvrisk demo` "
        "(the Makefile, checked below), which tests/test_cli.py::"
        "test_the_demo_runs_the_chain_end_to_end_and_ends_with_one_summary runs end to end at 20,000 persons "
        "(the default 200,000 takes minutes: measured by hand)."
    ),
    ".venv/bin/python experiments/bench_synth.py      # 1.5 million persons: seconds and peak memory\n"
    ".venv/bin/python experiments/bench_train.py      # library LightGBM path against raw lightgbm.train\n"
    ".venv/bin/python experiments/compare_models.py   # four models at national size against the truth\n"
    ".venv/bin/python experiments/bench_explain.py    # fast exact TreeSHAP against raw pred_contrib\n"
    ".venv/bin/python experiments/bench_allocate.py   # 1,000 bootstrap replicates over 1.5 million persons\n"
    ".venv/bin/python experiments/model_size.py       # LightGBM trees x leaves as a sweep: AUC, calibration, the choice\n"
    ".venv/bin/python experiments/bench_national.py   # the whole chain at national size against the raw reference": (
        "National-size benchmarks, by design run by hand (STYLE.md: national-size runs live in experiments/, "
        "not in the test suite); their figures are in experiments/README.md. test_the_benchmarks_start checks "
        "that each script named exists and starts."
    ),
}

#: Words that start a command line: a block of language ``text`` may not hold one.
COMMAND_WORDS = {"vsvrisk", "make", "python", "python3", "pip", "$", "source", "cd"}


@dataclass(frozen=True)
class Block:
    line: int  # of the opening fence, 1-based
    language: str
    mark: str  # the HTML comment on the line before the fence, without <!-- -->
    body: str

    def __str__(self) -> str:
        return f"README.md:{self.line} ({self.language or 'no language'})"


def _blocks(text: str) -> list[Block]:
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if lines[i].startswith("```"):
            start, language = i, lines[i][3:].strip().split(" ")[0]
            before = lines[i - 1].strip() if i > 0 else ""
            mark = before[4:-3].strip() if before.startswith("<!--") and before.endswith("-->") else ""
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                i += 1
            assert i < len(lines), f"README.md:{start + 1}: a fence that is never closed"
            blocks.append(Block(start + 1, language, mark, "\n".join(lines[start + 1:i])))
        i += 1
    return blocks


BLOCKS = _blocks(README.read_text(encoding="utf-8"))
TESTED_SHELL = [b for b in BLOCKS if b.mark == "tested" and b.language == "sh"]
TESTED_PYTHON = [b for b in BLOCKS if b.mark == "tested" and b.language == "python"]


def test_every_fenced_block_is_tested_or_covered():
    assert BLOCKS, "no fenced blocks found in README.md"
    for block in BLOCKS:
        assert block.language, f"{block}: give the fence a language (sh, python or text)"
        if block.language == "text":
            commands = [line for line in block.body.splitlines()
                        if line.split()[:1] and (line.split()[0] in COMMAND_WORDS or line.startswith(".venv/bin/"))]
            assert not commands, f"{block}: commands in a text block are run by nobody: {commands}"
        elif block.mark == "tested":
            assert block.language in ("sh", "python"), f"{block}: only sh and python blocks can be run"
        else:
            assert block.mark.startswith("covered"), f"{block}: mark it <!-- tested --> or <!-- covered: ... -->"
            assert block.body in COVERED, (f"{block}: a covered block must be listed word for word in "
                                           f"tests/test_readme.py COVERED, with what covers it")
    assert TESTED_SHELL and TESTED_PYTHON
    stale = set(COVERED) - {block.body for block in BLOCKS}
    assert not stale, f"COVERED lists blocks that are no longer in the README: {stale}"


def test_what_covers_make_test_and_make_demo_runs_them():
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipes = dict(re.findall(r"^(demo|test):.*\n\t(.+)$", makefile, flags=re.MULTILINE))
    assert recipes["demo"] == "$(BIN)/vsvrisk demo"
    assert recipes["test"].startswith("$(BIN)/python -m pytest")


def _clean_folder(tmp_path: Path) -> Path:
    """A clean working folder where the README's relative paths (configs/...) resolve."""
    (tmp_path / "configs").symlink_to(ROOT / "configs", target_is_directory=True)
    return tmp_path


@pytest.mark.parametrize("block", TESTED_SHELL, ids=str)
def test_the_tested_shell_blocks_run_as_written(block, tmp_path):
    folder = _clean_folder(tmp_path)
    environment = {key: value for key, value in os.environ.items() if key != "MLFLOW_TRACKING_URI"}
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}"
    environment["COLUMNS"] = "120"
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block.body], cwd=folder, env=environment,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{block} failed (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr and "error:" not in done.stderr, done.stderr
    # every file or folder the block names with --out is there afterwards
    for line in block.body.splitlines():
        words = shlex.split(line, comments=True)
        for flag, value in zip(words, words[1:]):
            if flag == "--out":
                assert (folder / value).exists(), f"{block}: `{line}` did not write {value}"


@pytest.mark.parametrize("block", TESTED_PYTHON, ids=str)
def test_the_tested_python_blocks_run_as_written(block, tmp_path, monkeypatch):
    monkeypatch.chdir(_clean_folder(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    exec(compile(block.body, str(block), "exec"), {"__name__": "__readme__"})


def test_the_benchmarks_start():
    (block,) = [b for b in BLOCKS if b.body.startswith(".venv/bin/python experiments/")]
    for line in block.body.splitlines():
        script = ROOT / shlex.split(line, comments=True)[1]
        assert script.is_file(), f"{block}: {script} does not exist"
        done = subprocess.run([sys.executable, str(script), "--help"], cwd=ROOT, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0 and "--n-persons" in done.stdout, f"{script.name}: {done.stderr[-2000:]}"
