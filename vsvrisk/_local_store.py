"""Whether a run id is in a local SQLite MLflow store, read with the standard library's sqlite3.

Importing MLflow takes seconds; a mistyped run id should be answered at once. The store's own
``runs`` table (``run_uuid``, the column MLflow's ``get_run`` filters on) says whether the run is
there. Only a definite absence counts: another kind of store, a file that is not MLflow's, a
locked or unreadable one is left to MLflow, so a run that MLflow would find is never refused.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

__all__ = ["sqlite_store_file", "run_in_sqlite_store"]


def sqlite_store_file(uri: str) -> Path | None:
    """The database file of a ``sqlite:///FILE`` tracking URI; None for any other store.

    A relative FILE is read from the working directory, as SQLAlchemy does; a URI with a query,
    a fragment or percent-encoding is left to MLflow (None).

    Examples
    --------
    >>> sqlite_store_file("sqlite:////data/mlflow.db"), sqlite_store_file("sqlite:///mlflow.db")
    (PosixPath('/data/mlflow.db'), PosixPath('mlflow.db'))
    >>> sqlite_store_file("http://localhost:5000") is None, sqlite_store_file("sqlite:///x.db?mode=ro") is None
    (True, True)
    """
    if not uri.startswith("sqlite:///"):
        return None
    name = uri.removeprefix("sqlite:///")
    if not name or name == ":memory:" or any(mark in name for mark in "?#%"):
        return None
    return Path(name)


def run_in_sqlite_store(uri: str, run_id: str) -> bool | None:
    """Whether the store at ``uri`` holds a run with this id; None when only MLflow can tell.

    Parameters
    ----------
    uri : str
        The tracking URI (:func:`vsvrisk.tracking.tracking_uri`).
    run_id : str
        The full run id, as ``MlflowClient.get_run`` takes it.

    Returns
    -------
    bool or None
        True or False from the store's ``runs`` table (False too when the file does not exist:
        MLflow would create an empty store there); None for another kind of store, or a file
        that cannot be read as an MLflow store.

    Examples
    --------
    >>> run_in_sqlite_store("sqlite:////nonexistent/mlflow.db", "3ffaa558")
    False
    >>> run_in_sqlite_store("http://localhost:5000", "3ffaa558") is None
    True
    """
    path = sqlite_store_file(uri)
    if path is None:
        return None
    if not path.exists():
        return False
    try:
        # Read-only: looking never creates or changes the store (MLflow migrates it on contact).
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=2)) as store:
            row = store.execute("SELECT 1 FROM runs WHERE run_uuid = ? LIMIT 1", (run_id,)).fetchone()
    except (sqlite3.Error, OSError, ValueError):  # not MLflow's, locked, unreadable: MLflow decides
        return None
    return row is not None
