"""Who may read the files Backoffice writes.

A file holding sensitive data (an HR workbook with dates of birth or salaries, the staff
report and its PDF) is readable by its owner only (0600 on POSIX), whatever folder it is
written to: an `out/` folder on a shared drive must not hand it to everyone. A file rewritten
in place (a workbook after a sync) keeps the permissions it had: the person who shared it
with their team, or locked it down, decided them.

On Windows files have no POSIX mode bits: there the folder's access rules decide.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

OWNER_ONLY = 0o600


def make_private(path: Path) -> Path:
    """Create `path` if need be, readable and writable by its owner only, before anything is
    written into it (so it is never readable by others, not even for a moment)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, OWNER_ONLY))
    if os.name == "posix":
        os.chmod(path, OWNER_ONLY)
    return path


def write_private(target: Path, data: bytes) -> Path:
    """Write `data` as `target`, readable by its owner only: into a temporary file beside it,
    private before a byte is written, then put in place (a reader never sees half a file)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    try:
        make_private(Path(partial))
        Path(partial).write_bytes(data)
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)
    return target


def keep_mode(model: Path, target: Path) -> None:
    """Give `target` (a new copy about to replace `model`) the permissions `model` has."""
    try:
        shutil.copymode(model, target)
    except OSError:      # `model` gone, or a file system without modes: nothing to keep
        pass


def make_ordinary(path: Path) -> None:
    """Give `path` the permissions any new file of this user gets (their umask decides): a
    temporary file is created readable by its owner only, and the file it becomes is not
    always private."""
    if os.name != "posix":
        return
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)
