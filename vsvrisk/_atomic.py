"""All-or-nothing output: write to a temporary name beside the target, rename at the end."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vsvrisk.exceptions import OutputExistsError


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def refuse_existing(path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Raise :class:`OutputExistsError` if ``path`` exists and may not be replaced.

    Workflows call it before any expensive work, so that a wrong ``--out`` fails at once;
    :func:`atomic_output` calls it again when the output is written.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(f"output {path} exists already: choose another path or pass --overwrite")
    return path


@contextmanager
def atomic_output(path: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path that becomes ``path`` only if the block succeeds.

    The temporary path lies in the same folder (so the final rename is atomic on one file
    system) and does not exist yet: the caller creates a file or a folder there. If the block
    raises, or the process is interrupted, the temporary path is removed and ``path`` is left
    as it was.

    Parameters
    ----------
    path : path-like
        The final file or folder.
    overwrite : bool, default=False
        Replace ``path`` if it exists; otherwise an existing ``path`` is an error.

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_output(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = refuse_existing(path, overwrite=overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    tmp.unlink()  # the caller decides whether it becomes a file or a folder
    try:
        yield tmp
        if not tmp.exists():
            raise RuntimeError(f"nothing was written to the temporary output {tmp}")
        if path.exists():
            _remove(path)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
