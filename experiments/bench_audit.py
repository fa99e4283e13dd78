"""Benchmark: the fairness audit with 1,000 bootstrap replicates of every group table, 1.5 M persons.

Times ``audit_predictions`` (every characteristic and every pair whose cells are large enough, by
sector, with the intervals of ROC-AUC, selection rate, TPR and FPR) on a synthetic national
cohort, its true probabilities standing in for a model's, split into the part without intervals
(``n_boot=0``) and the whole. Target on the 2-core reference machine: under 60 s for the whole.
With ``--metricframe N`` it also times the former implementation (fairlearn's MetricFrame, kept
in ``tests/_fairness_metricframe.py``) on N replicates, to put a figure on one replicate.
Prints seconds, CPU seconds, peak memory and the load average.

    .venv/bin/python experiments/bench_audit.py [--n-persons 1500000] [--n-boot 1000] [--metricframe 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

GIB = 1024**3


def _timed(function, *args, **kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-persons", type=int, default=1_500_000)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--metricframe", type=int, default=0, help="replicates of the former implementation (0: skip)")
    args = parser.parse_args()

    from vsvrisk.audit import audit_predictions, fairness
    from vsvrisk.synth import generate

    frame = generate(args.n_persons, school_years=[2019], seed=1).frame
    p = frame["p_true"].to_numpy()
    print(f"persons {len(frame):,}; load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    _, base_s, base_cpu = _timed(audit_predictions, frame, p, n_boot=0)
    print(f"audit without intervals (n_boot=0)    {base_s:6.1f} s   cpu {base_cpu:6.1f} s", flush=True)
    result, full_s, full_cpu = _timed(audit_predictions, frame, p, n_boot=args.n_boot)
    table = result.table
    print(f"audit with {args.n_boot:,} replicates          {full_s:6.1f} s   cpu {full_cpu:6.1f} s   (target < 60 s)")
    print(f"  rows {len(table)}, tables {table['characteristic'].nunique()}, "
          f"rows with an AUC interval {int(table['roc_auc_low'].notna().sum())}")
    if args.metricframe:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from _fairness_metricframe import _frame_rows

        def metricframe_rows(labels, *args, by_risk=None):
            return _frame_rows(labels.astype(str), *args)

        fast, fairness._frame_rows = fairness._frame_rows, metricframe_rows
        try:
            _, old_s, old_cpu = _timed(audit_predictions, frame, p, n_boot=args.metricframe)
        finally:
            fairness._frame_rows = fast
        print(f"MetricFrame, {args.metricframe} replicates             {old_s:6.1f} s   cpu {old_cpu:6.1f} s")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB:.2f} GiB; "
          f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
