"""How many LightGBM threads each model group gets when the groups are fitted side by side."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed

from vsvrisk._cores import usable_cores

__all__ = ["SideBySide", "side_by_side_threads"]

#: LightGBM's names for its number of threads.
THREAD_PARAMETERS = frozenset({"n_jobs", "num_threads", "nthread", "num_thread", "nthreads"})


def available_cores() -> int:
    """``OMP_NUM_THREADS`` where it is set (joblib's workers set it to their share of the
    machine), else the cores this process may use."""
    try:
        limit = int(os.environ.get("OMP_NUM_THREADS", "").split(",")[0])
    except ValueError:
        limit = 0
    if limit > 0:
        return limit
    return usable_cores()


def side_by_side_threads(learner: str, n_groups: int, params: dict, chosen: set) -> int | None:
    """LightGBM threads per model group when the groups are fitted side by side, or None: one
    after the other, each on the threads the spec asks for.

    Side by side when the spec leaves LightGBM's threads to the library (``chosen``, the
    parameters the spec sets, names none), there are two or more groups and at least as many
    cores (:func:`available_cores`): the cores are shared out, one thread a group on two cores.
    Only with ``deterministic`` and ``force_row_wise``: LightGBM then grows the same trees on
    any number of threads (checked at national size and in the tests), so this changes the
    time, not the model. Why: one model's OpenMP threads on every core fall over when another
    process competes for them (DESIGN section 13), and a group's own Python work (features,
    split) overlaps the other group's trees.

    Examples
    --------
    >>> params = {"deterministic": True, "force_row_wise": True}
    >>> side_by_side_threads("lightgbm", 2, params, set()) in (None, *range(1, 1025))
    True
    >>> side_by_side_threads("lightgbm", 2, params, {"n_jobs"}) is None  # the spec chose its threads
    True
    """
    if learner != "lightgbm" or n_groups < 2 or chosen & THREAD_PARAMETERS:
        return None
    if not (params.get("deterministic") and params.get("force_row_wise")):
        return None
    cores = available_cores()
    return cores // n_groups if cores >= n_groups else None


class SideBySide:
    """Model groups fitted on threads of their own, ``threads`` LightGBM threads each.

    When one group's fit fails, or the user interrupts the fit (Ctrl-C reaches the thread that
    waits), the other groups stop at their next tree (:meth:`callback`) instead of training on
    for seconds before the error is shown.
    """

    def __init__(self, threads: int):
        self.threads = threads
        self._stop = threading.Event()

    def callback(self):
        """A LightGBM callback that ends the training once a fit beside it has failed."""

        def stop_beside_a_failure(env) -> None:
            if self._stop.is_set():
                raise RuntimeError("stopped: the fit of another model group failed or was interrupted")

        return stop_beside_a_failure

    def map(self, fit, groups: list) -> list:
        """``[fit(group) for group in groups]``, the groups side by side."""
        with ThreadPoolExecutor(len(groups)) as pool:  # LightGBM releases the GIL
            futures = [pool.submit(fit, group) for group in groups]
            try:
                for future in as_completed(futures):  # the first failure raises here, whichever group
                    future.result()
                return [future.result() for future in futures]
            except BaseException:  # a failure, or Ctrl-C while waiting
                self._stop.set()
                raise
