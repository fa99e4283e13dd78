"""``vsvrisk demo``: the main job end to end on embedded defaults, with progress and one summary.

Two synthetic cohorts (2018/19 and 2019/20) -> the CBS replica and LightGBM, each fitted on
2018/19 and evaluated on 2019/20 (out of time) into the local MLflow store -> the two side by
side -> the better one (need shares closest to the truth) explained, and used to allocate the
EUR 90 million: first for a previous year (the 2018/19 cohort), then for 2026 (the 2019/20
cohort) dampened against it -> its fairness audit, its model card, and the impact of modelling
choices on the money (``configs/impact.yaml``'s alternatives to the model that allocates, on its
own cohorts, so that the impact's baseline is the allocation) -> one index page that links them
all. Every report is in Dutch unless English is asked for. Every step is a library call; this
module only sequences them, shows an overall progress bar with the current step's message, and
prints one summary at the end.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DEFAULT_N_PERSONS", "MODELS", "NATIONAL_N_PERSONS", "DemoResult", "print_summary", "run_demo", "ui_command"]

#: Persons per cohort: the default (a few minutes on two cores) and national size (``--national``).
DEFAULT_N_PERSONS = 200_000
NATIONAL_N_PERSONS = 1_500_000
#: The models put side by side (``configs/<name>.yaml``), both fitted and evaluated out of time.
MODELS = ("cbs-replica", "lightgbm")
TRAIN_YEAR, EVAL_YEAR = 2018, 2019
EXPERIMENT = "demo"
#: Bootstrap replicates of the audit's intervals (as ``vsvrisk audit``), and of the previous
#: year's allocation (only its amounts matter to the demo; 2026 keeps the config's 1,000).
AUDIT_BOOTSTRAP = 1000
PREVIOUS_BOOTSTRAP = 200
#: The explanation compares Rijnmond (CBS: 9.4% of the need) with Zuidoost-Brabant (3.8%).
COMPARE_REGIONS = (29, 37)

#: The steps: (key, what the bar says, weight on the overall bar: seconds at the default size
#: on the 2-core reference machine, so that the bar moves with the time spent).
STEPS = (
    ("cohorts", "drawing two synthetic cohorts (2018/19 and 2019/20)", 4),
    ("train cbs-replica", "training the CBS replica", 45),
    ("train lightgbm", "training LightGBM", 40),
    ("compare", "putting the models side by side (paired intervals)", 8),
    ("explain", "explaining the better model", 10),
    ("allocate previous", "allocating the previous year (2018/19 cohort)", 10),
    ("allocate 2026", "allocating 2026, dampened against the previous year", 15),
    ("audit", "auditing the model for fairness", 35),
    ("card", "writing the model card", 1),
    ("impact", "refitting the modelling choices of the allocating model (impact on the money)", 55),
)


@dataclass
class DemoResult:
    """What the demo made: the output folder, the two training runs, the chosen one, timings."""

    out: Path
    runs: dict = field(default_factory=dict)  # model name -> vsvrisk.runs.TrainRun
    best: str = ""
    sentences: list = field(default_factory=list)  # the comparison, one sentence per pair
    seconds: dict = field(default_factory=dict)  # step key -> seconds
    wall_seconds: float = 0.0

    @property
    def reports(self) -> list[tuple[str, Path]]:
        allocation = self.out / "allocation"
        return [("overview of every report (start here)", self.out / "index.html"),
                ("allocation, table (csv)", allocation / "allocation.csv"),
                ("allocation, formatted (xlsx)", allocation / "allocation.xlsx"),
                ("allocation, page (html)", allocation / "allocation.html"),
                ("a page per region (e.g. Rijnmond)", allocation / "regio-29.html"),
                ("allocation, manifest", allocation / "manifest.json"),
                ("why regions differ (explain)", self.out / "explain" / "explain.html"),
                ("fairness audit", self.out / "audit" / "audit.html"),
                ("model card (Algoritmeregister)", self.out / "card" / "card.html"),
                ("impact of modelling choices", self.out / "impact" / "impact.html"),
                ("models side by side (compare)", self.out / "compare" / "compare.html")]


class _Bar:
    """An overall bar over the steps (weighted by their usual time) and a line for the current step."""

    def __init__(self, console, seconds: dict) -> None:
        from rich.progress import BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn

        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(bar_width=24),
                                 TaskProgressColumn(), TimeElapsedColumn(), console=console)
        total = sum(weight for _, _, weight in STEPS)
        self.overall = self.progress.add_task(f"demo: step 0 of {len(STEPS)}", total=total)
        self.current = self.progress.add_task("", total=None)
        self.index = 0
        self.title = ""
        self.seconds = seconds  # step key -> seconds, filled as the steps end

    def __enter__(self) -> _Bar:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def step(self, key: str, title: str | None = None):
        """Context manager for one step; yields the callback that shows the step's messages."""
        return _Step(self, key, title)

    def message(self, text: str) -> None:
        self.progress.update(self.current, description=f"{self.title}: {text}" if text else self.title)


class _Step:
    def __init__(self, bar: _Bar, key: str, title: str | None) -> None:
        self.bar, self.key = bar, key
        self.weight = next(weight for k, _, weight in STEPS if k == key)
        self.title = title or next(t for k, t, _ in STEPS if k == key)

    def __enter__(self) -> Callable[[str], None]:
        bar = self.bar
        bar.index += 1
        bar.title = self.title
        bar.progress.update(bar.overall, description=f"demo: step {bar.index} of {len(STEPS)}")
        bar.progress.reset(bar.current, total=None, description=self.title)
        self.start = time.perf_counter()
        return bar.message

    def __exit__(self, *exc) -> None:
        self.bar.seconds[self.key] = time.perf_counter() - self.start
        self.bar.progress.advance(self.bar.overall, self.weight)
        if self.bar.index == len(STEPS) and exc[0] is None:
            self.bar.progress.update(self.bar.current, description="done", total=1, completed=1)


def _spec(name: str) -> dict:
    """A shipped model config, fitted on 2018/19 and evaluated on 2019/20 (the demo's two cohorts).

    The CBS replica validates on 2017/18 as CBS did; the demo evaluates both models on the
    same later cohort, out of time, so that they are compared on equal terms.
    """
    import yaml

    from vsvrisk import runs

    settings = yaml.safe_load(runs.default_config(name).read_text(encoding="utf-8"))
    settings["data"] = {**(settings.get("data") or {}), "train_year": TRAIN_YEAR, "eval_year": EVAL_YEAR}
    return settings


def run_demo(out: str | os.PathLike = "out/demo", n_persons: int = DEFAULT_N_PERSONS, seed: int = 1,
             *, console=None, lang: str = "nl") -> DemoResult:
    """Run every step of the demo into ``out`` (each subfolder replaced), showing progress.

    ``lang`` is the language of the reports (``nl``, the default, or ``en``).

    Returns
    -------
    DemoResult
        The runs, the chosen model and the seconds per step; :func:`print_summary` prints it.
    """
    import yaml
    from rich.console import Console

    from vsvrisk import runs
    from vsvrisk._display import print_figures, print_warnings
    from vsvrisk.data import write_person_years
    from vsvrisk.report.glossary import check_language
    from vsvrisk.report.index import write_index
    from vsvrisk.runs import audit_run, card_run, explain_run, impact_run
    from vsvrisk.runs._memo import remembering
    from vsvrisk.synth import generate

    check_language(lang)
    console = console or Console()
    out = Path(out)
    result = DemoResult(out)
    start = time.perf_counter()

    # The steps share what they compute on the same model and cohort (scores, SHAP sums): each once.
    with remembering(), _Bar(console, result.seconds) as bar:
        with bar.step("cohorts") as show:
            show(f"{n_persons:,} persons per cohort")
            frame = generate(n_persons, [TRAIN_YEAR, EVAL_YEAR], seed).frame
            population = out / "population.parquet"
            show(f"writing {population}")
            write_person_years(frame, population, overwrite=True)
            for year in (TRAIN_YEAR, EVAL_YEAR):
                write_person_years(frame[frame["school_year"] == year], out / f"cohort-{year}.parquet", overwrite=True)
        print_figures(frame, console)
        del frame
        for name in MODELS:
            with bar.step(f"train {name}") as show:
                result.runs[name] = runs.train(_spec(name), population, experiment=EXPERIMENT, progress=show)
            print_warnings(console, [f"{name}: {line}" for line in result.runs[name].warnings])
        with bar.step("compare") as show:
            ids = [run.run_id for run in result.runs.values()]  # this demo's runs, not earlier ones
            comparison = runs.compare_runs(run_ids=ids, progress=show)
            runs.write_comparison(comparison, out / "compare", overwrite=True)
            result.sentences = comparison.comparison.sentences
            result.best = min(result.runs, key=lambda n: result.runs[n].result.evaluation.metrics["need_share_l1"])
        best = result.runs[result.best]
        with bar.step("explain", f"explaining {result.best}, the better model") as show:
            explain_run(best.run_id, out / f"cohort-{EVAL_YEAR}.parquet", out / "explain", overwrite=True,
                        compare=COMPARE_REGIONS, progress=show, lang=lang, index="../index.html")
        settings = yaml.safe_load(runs.default_config("allocation-2026").read_text(encoding="utf-8"))
        configs = {"previous": out / "allocation-previous.yaml", "2026": out / "allocation-2026.yaml"}
        previous = {**settings, "previous": None, "n_bootstrap": PREVIOUS_BOOTSTRAP}
        configs["previous"].write_text(yaml.safe_dump(previous), encoding="utf-8")
        configs["2026"].write_text(yaml.safe_dump({**settings, "previous": "allocation-previous/allocation.csv"}),
                                   encoding="utf-8")
        for key, year, folder in (("previous", TRAIN_YEAR, "allocation-previous"), ("2026", EVAL_YEAR, "allocation")):
            with bar.step(f"allocate {key}") as show:
                runs.allocate_run(configs[key], out / folder, run_id=best.run_id, data=out / f"cohort-{year}.parquet",
                                  overwrite=True, progress=show, lang=lang, index="../index.html")
        story = json.loads((out / "allocation" / "manifest.json").read_text(encoding="utf-8"))["extra"]["story"]
        with bar.step("audit") as show:
            audit_run(best.run_id, out / "audit", out / f"cohort-{EVAL_YEAR}.parquet", overwrite=True,
                      n_boot=AUDIT_BOOTSTRAP, progress=show, lang=lang, index="../index.html")
        with bar.step("card"):
            card_run(best.run_id, out / "card", overwrite=True, audit=out / "audit", lang=lang,
                     story={k: story[k] for k in ("model", "cohort")}, index="../index.html")
        with bar.step("impact") as show:
            # The alternatives change the model that allocates, on its cohorts and under the 2026
            # rules: the impact's baseline amounts are the allocation's.
            impact_run(runs.default_config("impact"), out / "impact", overwrite=True, run_id=best.run_id,
                       data=out / f"cohort-{EVAL_YEAR}.parquet", allocation=configs["2026"], lang=lang,
                       index="../index.html", progress=show)
        write_index(out, lang=lang)
    result.wall_seconds = time.perf_counter() - start
    return result


def ui_command() -> str:
    """The one shell command that opens the MLflow UI on this store, from any folder."""
    from vsvrisk import tracking

    executable = Path(sys.executable).parent / "vsvrisk"
    program = str(executable) if executable.is_file() else "vsvrisk"
    return f"MLFLOW_TRACKING_URI={shlex.quote(tracking.tracking_uri())} {shlex.quote(program)} ui"


def print_summary(console, result: DemoResult) -> None:
    """The demo's one summary: the models side by side, the money, where the reports are, the UI."""
    import pandas as pd

    from vsvrisk._display import print_model_comparison, print_region_amounts

    minutes, seconds = divmod(round(result.wall_seconds), 60)
    console.rule(f"Summary of the demo ({minutes}:{seconds:02d} minutes)")
    print_model_comparison(console, result.runs, chosen=result.best)
    for sentence in result.sentences:
        console.print(f"  {sentence}", highlight=False, soft_wrap=True)
    console.print(f"{result.best} has the need shares closest to the truth: it is explained, allocates the money, "
                  "is audited and has the model card.", highlight=False)
    folder = result.out / "allocation"
    table = pd.read_csv(folder / "allocation.csv")
    print_region_amounts(console, table)
    console.print("Reports:")
    width = max(len(label) for label, _ in result.reports)
    for label, path in result.reports:
        console.print(f"  {label:{width}}  {path}", soft_wrap=True, highlight=False)
    console.print("Open the MLflow UI on the store (runs, metrics, plots, the explanation and the audit):")
    console.print(f"  {ui_command()}", soft_wrap=True, highlight=False)
