"""How many LightGBM threads each model group gets when the groups are fitted side by side, and
work that runs on the core the first group to finish leaves free."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from contextvars import ContextVar

from vsvrisk._cores import usable_cores

__all__ = ["SideBySide", "beside_the_fit", "side_by_side_threads"]

#: The work waiting for a side-by-side fit's free core: (future, function, args) in order.
_WAITING: ContextVar[list | None] = ContextVar("vsvrisk_beside_the_fit", default=None)

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
        """``[fit(group) for group in groups]``, the groups side by side.

        Work handed over by :func:`beside_the_fit` queues behind the groups on the same threads,
        so it starts on the core of the first group to finish, while the others still train.
        """
        pool = ThreadPoolExecutor(len(groups), thread_name_prefix="vsvrisk-fit")  # LightGBM releases the GIL
        futures = [pool.submit(fit, group) for group in groups]
        beside = _take_waiting()
        for future, function, args in beside:
            pool.submit(_settle, future, function, args)
        try:
            for future in as_completed(futures):  # the first failure raises here, whichever group
                future.result()
            return [future.result() for future in futures]
        except BaseException:  # a failure, or Ctrl-C while waiting: wait for the groups to stop
            self._stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            for future, _, _ in beside:
                future.cancel()  # what never started
            raise
        finally:
            pool.shutdown(wait=False)  # work beside the fit goes on while the caller does


@contextmanager
def beside_the_fit() -> Iterator:
    """Hand work to the core that a side-by-side fit leaves free: ``submit(function, *args)``.

    On two cores vo and mbo train side by side, one LightGBM thread each (:class:`SideBySide`),
    and the smaller group finishes seconds before the larger one, leaving its core idle. Work
    submitted in the block (a ``concurrent.futures.Future`` comes back) starts on that core,
    after the groups of the next side-by-side fit in the block (``RiskModel.fit``), in the order
    submitted. Where no fit takes it (a logistic model, threads set by the spec, no fit at
    all), it runs on the calling thread when the block ends. Either way each future holds a
    result (or the error) once the block is left without an error; after an error the work
    not yet started is cancelled.

    Examples
    --------
    >>> with beside_the_fit() as submit:
    ...     later = submit(sum, [1, 2, 3])  # no fit in this block: runs as the block ends
    >>> later.result()
    6
    """
    waiting: list = []
    token = _WAITING.set(waiting)

    def submit(function, *args) -> Future:
        future: Future = Future()
        waiting.append((future, function, args))
        return future

    try:
        yield submit
    except BaseException:
        for future, _, _ in waiting:
            future.cancel()
        raise
    finally:
        _WAITING.reset(token)
    for future, function, args in waiting:
        _settle(future, function, args)


def _take_waiting() -> list:
    """The work :func:`beside_the_fit` holds for the next fit (taken: it runs once)."""
    waiting = _WAITING.get()
    if not waiting:
        return []
    taken = list(waiting)
    waiting.clear()
    return taken


def _settle(future: Future, function, args) -> None:
    if not future.set_running_or_notify_cancel():
        return
    try:
        future.set_result(function(*args))
    except BaseException as error:  # handed to the caller's .result()
        future.set_exception(error)
