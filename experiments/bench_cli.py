"""Benchmark: how fast the command line answers help and bad input (target: under 0.5 s each).

Runs ``vsvrisk`` in a fresh process for the top-level help, every command's help, and a table
of input errors (usage errors, bad option values, a missing or existing path, a config of each
kind with a wrong key or value, a run id that is not in the store: none there yet, or an MLflow
store without it), each in an empty working folder, and prints per
line the exit status, the wall-clock and CPU seconds of the process (the median of ``--repeat``
runs) and the first words of what it printed on stderr. CPU seconds are what a quiet machine
would take as wall-clock time; the load average is printed with them. ``--against TREE`` runs
every line also with another source tree of vsvrisk first on ``PYTHONPATH`` (e.g. ``git archive
main | tar -x -C /tmp/main``), the two alternating, so that both see the same load.

    .venv/bin/python experiments/bench_cli.py [--repeat 3] [--against /tmp/main]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VSVRISK = str(Path(sys.executable).with_name("vsvrisk"))
COMMANDS = ("synth", "demo", "train", "compare", "promote", "sweep", "explain", "allocate", "audit", "impact", "card", "ui",
            "policy")
TARGET_S = 0.5

#: (what, arguments); {configs} is the repository's configs/ folder, {bad} a config with an unknown key,
#: {existing} a folder that exists, {need} a need table, {bad_spec_impact} an impact config naming a
#: model spec with an unknown key, {bad_sweep} a sweep whose search space is empty.
ERRORS = [
    ("an unknown command", ["frobnicate"]),
    ("a missing option", ["synth"]),
    ("an option value of the wrong type", ["synth", "--out", "x.csv", "--seed", "one"]),
    ("an unknown output suffix", ["synth", "--out", "x.xlsx"]),
    ("an unknown truth", ["synth", "--out", "x.csv", "--truth", "quadratic"]),
    ("an existing output file", ["synth", "--out", "{existing_file}"]),
    ("a model spec that does not exist", ["train", "--config", "missing.yaml"]),
    ("a model spec with an unknown key", ["train", "--config", "{bad}"]),
    ("explain: one region to compare", ["explain", "--run", "abc", "--out", "o", "--compare", "29"]),
    ("explain: an existing output folder", ["explain", "--run", "abc", "--out", "{existing}"]),
    ("allocate: neither --need nor --run", ["allocate", "--config", "{configs}/allocation-2026.yaml", "--out", "o"]),
    ("allocate: an existing output folder", ["allocate", "--config", "{configs}/allocation-2026.yaml", "--need",
                                             "{need}", "--out", "{existing}"]),
    ("allocate: a config that does not exist", ["allocate", "--config", "missing.yaml", "--need", "{need}", "--out", "o"]),
    ("allocate: a config with an unknown key", ["allocate", "--config", "{bad}", "--need", "{need}", "--out", "o"]),
    ("audit: an existing output folder", ["audit", "--run", "abc", "--out", "{existing}"]),
    ("impact: a config that does not exist", ["impact", "--config", "missing.yaml", "--out", "o"]),
    ("impact: an existing output folder", ["impact", "--config", "{configs}/impact.yaml", "--out", "{existing}"]),
    ("card: an existing output folder", ["card", "--run", "abc", "--out", "{existing}"]),
    ("impact: a config with an unknown key", ["impact", "--config", "{bad}", "--out", "o"]),
    ("impact: it names a spec with an unknown key", ["impact", "--config", "{bad_spec_impact}", "--out", "o"]),
    ("policy: a config with an unknown key", ["policy", "path", "--config", "{bad}", "--out", "o"]),
    ("policy: a region code out of range", ["policy", "prevention", "--config", "{configs}/policy.yaml", "--out", "o",
                                           "--regions", "29,99"]),
    ("sweep: a config with an unknown key", ["sweep", "--config", "{bad}"]),
    ("sweep: a search dimension with low > high", ["sweep", "--config", "{bad_sweep}"]),
    ("a run id, no store here yet", ["audit", "--run", "abc", "--out", "o"]),
]
#: Run against an MLflow store that holds one run (made with MLflow before the timing starts).
STORE_ERRORS = [
    ("a run id not in the store", ["audit", "--run", "0123456789abcdef", "--out", "o"]),
    ("promote: a run id not in the store", ["promote", "--run", "0123456789abcdef"]),
]


def _run(arguments: list[str], folder: Path, store: Path | None = None,
         tree: str | None = None) -> tuple[int, float, float, str]:
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{store or folder / 'mlflow.db'}"}
    if tree is not None:
        env["PYTHONPATH"] = os.pathsep.join([tree, *filter(None, [os.environ.get("PYTHONPATH")])])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([VSVRISK, *arguments], cwd=folder, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return done.returncode, wall, cpu, (done.stderr.strip().splitlines() or [""])[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--against", help="another source tree of vsvrisk, timed alternately with this one")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="vsvrisk-cli-"))
    (work / "existing").mkdir()
    (work / "existing.csv").write_text("keep\n")
    (work / "bad.yaml").write_text("name: x\nfrobnicate: 1\n")
    (work / "need.csv").write_text("region_code,need\n" + "".join(f"{code},1\n" for code in range(1, 41)))
    configs = ROOT / "configs"
    (work / "bad-spec.yaml").write_text((configs / "lightgbm.yaml").read_text() + "\nlearnr: lightgbm\n")
    (work / "bad-spec-impact.yaml").write_text(
        f"model: {work / 'bad-spec.yaml'}\nallocation: {configs / 'allocation-2026.yaml'}\n"
        "alternatives: [{name: without_wealth, drop_features: [wealth_group]}]\n")
    (work / "bad-sweep.yaml").write_text(f"name: s\nmodel: {configs / 'lightgbm.yaml'}\nobjective: mbo_roc_auc\n"
                                         "search: optuna\nn_trials: 2\n"
                                         "space: {params.num_leaves: {type: int, low: 40, high: 4}}\n")
    values = {"configs": str(configs), "bad": str(work / "bad.yaml"), "existing": str(work / "existing"),
              "existing_file": str(work / "existing.csv"), "need": str(work / "need.csv"),
              "bad_spec_impact": str(work / "bad-spec-impact.yaml"), "bad_sweep": str(work / "bad-sweep.yaml")}
    store = work / "store" / "mlflow.db"
    store.parent.mkdir()
    # A store that holds one run, made by MLflow itself (its tables as MLflow makes them).
    subprocess.run([sys.executable, "-c", "import mlflow, sys\nmlflow.set_tracking_uri(sys.argv[1])\n"
                    "with mlflow.start_run(): pass", f"sqlite:///{store}"], cwd=store.parent, check=True,
                   capture_output=True)
    lines = [("vsvrisk --help", ["--help"], None)]
    lines += [(f"vsvrisk {name} --help", [name, "--help"], None) for name in COMMANDS]
    lines += [(what, [a.format(**values) for a in arguments], None) for what, arguments in ERRORS]
    lines += [(what, arguments, store) for what, arguments in STORE_ERRORS]
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    against = f" {'other':>6}" if args.against else ""
    print(f"{'':44} {'exit':>4} {'wall s':>7} {'cpu s':>6}{against}  stderr")
    slowest = 0.0
    for what, arguments, store_of_line in lines:
        runs, others = [], []
        for _ in range(args.repeat):
            runs.append(_run(arguments, Path(tempfile.mkdtemp(dir=work)), store_of_line))
            if args.against:
                others.append(_run(arguments, Path(tempfile.mkdtemp(dir=work)), store_of_line, args.against))
        code, _, _, message = runs[-1]
        wall = statistics.median(r[1] for r in runs)
        cpu = statistics.median(r[2] for r in runs)
        slowest = max(slowest, cpu)
        other = f" {statistics.median(r[2] for r in others):6.2f}" if others else ""
        print(f"{what[:44]:44} {code:4d} {wall:7.2f} {cpu:6.2f}{other}  {message[:70]}", flush=True)
    print(f"slowest CPU time of help and input errors: {slowest:.2f} s (target < {TARGET_S} s)")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
