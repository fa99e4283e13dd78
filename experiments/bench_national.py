"""Benchmark: the whole chain at national scale, against the raw reference, in one run.

Two synthetic cohorts of 1.5 million persons (2018/19 and 2019/20), then the chain as a user
runs it, each stage timed with its peak memory:

1. synth: draw both cohorts, write the population and the 2019/20 cohort as parquet;
2. train: ``vsvrisk.runs.train`` with ``configs/lightgbm.yaml`` (read, features, split, early
   stopping, vo and mbo, out-of-time evaluation, MLflow logging);
3. allocate: ``vsvrisk.runs.allocate_run`` with ``configs/allocation-2026.yaml`` on the
   2019/20 cohort: score, exact SHAP for every scored row (the regional decomposition), 1,000
   bootstrap replicates, the rules, and the report (csv, xlsx, html, manifest).

The raw reference, in the same run: plain ``lightgbm.train`` on the same matrices with the same
split and early stopping (matrices built outside the timing), plus ``booster.predict(X,
pred_contrib=True)`` for every scored row, timed on ``--raw-rows`` rows per sector and scaled
to all of them (said so in the output; ``--raw-full`` times all rows).

Targets on the 2-core reference machine: the chain after synth under 40 s (issue 15) and within
1.5x the raw reference, peak memory under 8 GiB. What shared the machine while the chain ran is
printed beside it (the hypervisor's steal, other processes' CPU seconds, from ``/proc/stat``):
the chain's figure means "quiet" only when both are near zero.

With ``--profile`` the chain after synth runs under cProfile (CPU time of this process, the
bootstrap's worker processes apart) and the functions with the most cumulative time are printed:
the profile in ``experiments/README.md``. Timings under the profiler are not the benchmark's.

    .venv/bin/python experiments/bench_national.py [--n-persons 1500000] [--raw-rows 100000] [--raw-full]
                                                   [--profile] [--no-raw]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from _reference import raw_lightgbm_fits  # experiments/: the script's own folder

GIB = 1024**3
ROOT = Path(__file__).resolve().parents[1]


def _peak_rss(who=resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss * 1024 / GIB


def _host() -> tuple[float, float, float] | None:
    """(busy, stolen, all) CPU seconds of every core so far, from /proc/stat (None off Linux),
    and this process's own CPU seconds are taken beside them: what others took is the rest."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    idle, stolen, total = values[3] + values[4], values[7] if len(values) > 7 else 0, sum(values)
    return (total - idle - stolen) / tick, stolen / tick, total / tick


def _own_cpu() -> float:
    """CPU seconds of this process and of its worker processes that have ended."""
    return sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))


def _contention(before, after, own_cpu: float) -> str:
    """What shared the machine while the chain ran: the hypervisor's steal and other processes'
    CPU. A neighbour slows the chain's Python and memory traffic far more than LightGBM's inner
    loop, so the raw fit alone does not show it (experiments/README.md, "Seventh round")."""
    if before is None or after is None:
        return "not known (no /proc/stat)"
    busy, stolen, total = (b - a for a, b in zip(before, after))
    others = max(0.0, busy - own_cpu)
    return f"steal {100 * stolen / max(total, 1e-9):.1f}% of CPU time, other processes {others:.1f} CPU s"


def _raw_reference(population: Path, cohort: Path, args) -> dict:
    """Plain lightgbm.train (same matrices, split, early stopping) + pred_contrib on the cohort."""
    from vsvrisk.data import read_person_years
    from vsvrisk.models import RiskModel, load_model_spec

    spec = load_model_spec(ROOT / "configs" / "lightgbm.yaml")
    frame = read_person_years(population)
    frame = frame[frame["school_year"] == spec.data.train_year]
    scored = read_person_years(cohort)
    groups = RiskModel.from_spec(spec).model_groups(frame)
    scored_groups = RiskModel.from_spec(spec).model_groups(scored)
    train_s, shap_s, rows_timed, rows_all = 0.0, 0.0, 0, 0
    for group, pipeline, booster, seconds in raw_lightgbm_fits(spec, frame, groups):
        train_s += seconds
        to_explain = pipeline.transform(scored.loc[scored_groups == group])
        timed = to_explain if args.raw_full else to_explain.iloc[: args.raw_rows]
        start = time.perf_counter()
        booster.predict(timed, pred_contrib=True)
        shap_s += (time.perf_counter() - start) * len(to_explain) / len(timed)
        rows_timed, rows_all = rows_timed + len(timed), rows_all + len(to_explain)
        print(f"  raw {group}: {booster.best_iteration} trees; pred_contrib timed on {len(timed):,} of "
              f"{len(to_explain):,} rows", flush=True)
    return {"train": train_s, "shap": shap_s, "rows_timed": rows_timed, "rows_all": rows_all}


def _steps(marks: list, start: float, total: float) -> list[tuple[str, float]]:
    """(message, seconds until the next message) from the progress marks of one stage."""
    ends = [moment for moment, _ in marks[1:]] + [start + total]
    return [(message, end - moment) for (moment, message), end in zip(marks, ends)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-persons", type=int, default=1_500_000)
    parser.add_argument("--raw-rows", type=int, default=100_000, help="rows per sector for raw pred_contrib")
    parser.add_argument("--raw-full", action="store_true", help="time raw pred_contrib on every row")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="run the chain under cProfile and print its top lines")
    parser.add_argument("--no-raw", action="store_true", help="leave out the raw reference")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)

    import yaml

    from vsvrisk import runs
    from vsvrisk.data import write_person_years
    from vsvrisk.synth import generate

    work = Path(tempfile.mkdtemp(prefix="vsvrisk-national-"))
    os.chdir(work)  # the MLflow store (mlflow.db, mlruns/) goes here, not into the repository
    stages, marks = {}, []

    def progress(message: str) -> None:
        marks.append((time.perf_counter(), message))

    start = time.perf_counter()
    frame = generate(args.n_persons, [2018, 2019], seed=args.seed).frame
    population, cohort = work / "population.parquet", work / "cohort-2019.parquet"
    write_person_years(frame, population)
    write_person_years(frame[frame["school_year"] == 2019], cohort)
    del frame
    stages["synth (2 cohorts, parquet)"] = (time.perf_counter() - start, _peak_rss())
    print(f"synth done in {stages['synth (2 cohorts, parquet)'][0]:.1f} s", flush=True)

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
    host_before, cpu_before = _host(), _own_cpu()
    start = time.perf_counter()
    run = runs.train(ROOT / "configs" / "lightgbm.yaml", population, experiment="national", progress=progress)
    stages["train (lightgbm, vo + mbo)"] = (time.perf_counter() - start, _peak_rss())
    train_steps = _steps(marks, start, stages["train (lightgbm, vo + mbo)"][0])
    print(f"train done in {stages['train (lightgbm, vo + mbo)'][0]:.1f} s", flush=True)

    settings = yaml.safe_load((ROOT / "configs" / "allocation-2026.yaml").read_text(encoding="utf-8"))
    config = work / "allocation.yaml"
    config.write_text(yaml.safe_dump({**settings, "previous": None, "n_bootstrap": 1000}), encoding="utf-8")
    marks.clear()
    start = time.perf_counter()
    out = runs.allocate_run(config, work / "allocation", run_id=run.run_id, data=cohort, progress=progress)
    allocate_s = time.perf_counter() - start
    stages["allocate (SHAP all rows, 1,000 bootstrap, report)"] = (allocate_s, _peak_rss())
    contention = _contention(host_before, _host(), _own_cpu() - cpu_before)
    steps = _steps(marks, start, allocate_s)
    written = sorted(path.name for path in out.iterdir())
    if profiler is not None:
        import pstats

        profiler.disable()
        print("\nprofile of the chain after synth (CPU seconds of this process), by cumulative time:")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(r"vsvrisk|lightgbm/(basic|engine)|mlflow/(sklearn|tracking/fluent)", 40)

    raw = None
    if not args.no_raw:
        print("\nraw reference (same matrices)", flush=True)
        raw = _raw_reference(population, cohort, args)

    print(f"\n{'stage':52} {'seconds':>9} {'peak RSS GiB':>13}")
    for name, (seconds, peak) in stages.items():
        print(f"{name:52} {seconds:9.1f} {peak:13.2f}")
    for stage_steps, (name, _) in zip((train_steps, steps), list(stages.items())[1:]):
        print(f"{name}:")
        for message, seconds in stage_steps:
            print(f"  {message[:50]:50} {seconds:9.1f}")
    after_synth = sum(seconds for name, (seconds, _) in stages.items() if not name.startswith("synth"))
    print(f"{'chain after synth':52} {after_synth:9.1f}  (target < 40 s on a quiet machine)")
    print(f"{'the machine during the chain':52} {contention}")
    if raw is not None:
        _print_reference(raw, after_synth, args)
    print(f"{'peak RSS, this process':52} {_peak_rss():9.2f}  (target < 8 GiB)")
    print(f"{'peak RSS, largest worker process':52} {_peak_rss(resource.RUSAGE_CHILDREN):9.2f}")
    print(f"report folder: {', '.join(written)}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _print_reference(raw: dict, after_synth: float, args) -> None:
    scaled = "" if args.raw_full else f" (timed on {raw['rows_timed']:,} rows, scaled to {raw['rows_all']:,})"
    print(f"{'raw lightgbm.train, same matrices':52} {raw['train']:9.1f}")
    print(f"{'raw pred_contrib, every scored row' + scaled:52} {raw['shap']:9.1f}")
    reference = raw["train"] + raw["shap"]
    print(f"{'raw reference (train + pred_contrib)':52} {reference:9.1f}")
    print(f"{'ratio chain after synth / raw reference':52} {after_synth / reference:9.2f}  (target <= 1.5)")


if __name__ == "__main__":
    main()
