"""Timing and memory of one call, for benchmarks that compare explainers side by side in one process.

Peak memory is the process's resident set, sampled every few milliseconds during the call,
less what it held before: tracemalloc would miss what compiled code (numba, LightGBM's C++)
allocates outside Python's allocator.
"""

from __future__ import annotations

import os
import resource
import threading
import time
from dataclasses import dataclass

GIB = 1024**3


def rss_gib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / GIB


def load() -> str:
    """The 1-, 5- and 15-minute load averages, as ``uptime`` prints them."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


@dataclass
class Measured:
    result: object
    seconds: float  # wall clock
    cpu_seconds: float  # every thread of the process
    peak_gib: float  # resident memory above the level before the call
    load: str  # load averages just after the call


def measure(call) -> Measured:
    """Run ``call()`` once; its result, wall and CPU seconds, peak extra memory and the load after."""
    before, peak, done = rss_gib(), [rss_gib()], threading.Event()

    def sample():
        while not done.wait(0.005):
            peak[0] = max(peak[0], rss_gib())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start, start_cpu = time.perf_counter(), time.process_time()
    try:
        result = call()
    finally:
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - start_cpu
        done.set()
        sampler.join()
    return Measured(result, seconds, cpu_seconds, max(peak[0], rss_gib()) - before, load())
