"""Work a run hands to a thread of its own while it goes on (the bootstrap while the allocation
explains and applies the rules): compiled work that releases the GIL, so that the two cores do
not wait on each other's Python.

Not for work that is Python itself: a fit handed to a thread while MLflow set up its run (both
holding the GIL most of the time) took longer in all, measured in the national chain.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future

__all__ = ["on_a_thread"]


def on_a_thread(function, *args, **kwargs) -> Future:
    """``function(*args, **kwargs)`` on a thread of its own; ``.result()`` gives what it returned
    or raises what it raised. A daemon thread: a run that stops on an error does not wait for it."""
    future = Future()

    def run() -> None:
        try:
            future.set_result(function(*args, **kwargs))
        except BaseException as error:  # handed to the caller's .result()
            future.set_exception(error)

    threading.Thread(target=run, name=f"vsvrisk-{function.__name__}", daemon=True).start()
    return future
