"""A new SQLite MLflow store copied from an empty one, instead of migrated from scratch.

MLflow sets up a new SQLite store by creating its first schema and then running every Alembic
migration since (about 50 scripts, each loaded and run): 5 CPU seconds, paid by every new
project folder, every demo in a fresh folder and every test with a store of its own. The
result is the same file each time for one MLflow version, so it is built once per version,
kept in the user's cache folder (``$VSVRISK_CACHE_DIR``, else ``$XDG_CACHE_HOME/vsvrisk``, else
``~/.cache/vsvrisk``) and copied. The empty store holds the tables only: MLflow itself creates
the Default experiment when it opens the copy, with the copy's own artifact folder.

Only a speed-up: where the cache cannot be written or the template cannot be built (another
MLflow whose private set-up function moved), nothing is copied and MLflow sets up the store
itself, as before. MLflow checks the schema version of every store it opens, so a stale copy
could not pass unnoticed; the template's name carries the MLflow version for that reason.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["copy_empty_store"]

_log = logging.getLogger(__name__)


def _cache_folder() -> Path:
    explicit = os.environ.get("VSVRISK_CACHE_DIR")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vsvrisk"


def _template() -> Path:
    """The empty store of the installed MLflow, built on first use."""
    import mlflow
    import sqlalchemy
    from mlflow.store.db.utils import _initialize_tables  # what SqlAlchemyStore runs on a new file

    path = _cache_folder() / f"mlflow-{mlflow.__version__}-empty-store.db"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, building = tempfile.mkstemp(prefix=path.stem, suffix=".db.part", dir=path.parent)
    os.close(handle)
    try:
        engine = sqlalchemy.create_engine(f"sqlite:///{building}")
        try:
            _initialize_tables(engine)
        finally:
            engine.dispose()
        os.replace(building, path)  # whole or not at all: two processes may build it at once
    finally:
        Path(building).unlink(missing_ok=True)
    return path


def copy_empty_store(database: Path) -> bool:
    """Copy the empty store to ``database`` (a file that does not exist or is empty).

    Returns whether it was copied; when not, MLflow sets the store up itself on first contact.
    The caller holds the store's lock.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> copy_empty_store(folder / "mlflow.db") and (folder / "mlflow.db").stat().st_size > 0
    True
    """
    if database.exists() and database.stat().st_size > 0:
        return False
    # Copied beside it and moved into place: a reader that does not take the lock (the MLflow UI,
    # sqlite3) sees no store or a whole one, never half a file ("database disk image is malformed").
    copying = database.with_name(f".{database.name}.{os.getpid()}.copy")
    try:
        template = _template()
        database.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, copying)
        os.replace(copying, database)
    except Exception as error:  # noqa: BLE001 - only a speed-up: MLflow builds the store itself
        _log.debug("no empty MLflow store to copy (%s): MLflow sets up %s itself", error, database)
        copying.unlink(missing_ok=True)
        return False
    return True
