"""One pipeline run at a time on a warehouse, whoever starts it: `omnichannel run`, the UI, a schedule, a sensor.

DuckDB takes one writing process per file, and two runs' steps would interleave and fail on its lock. So a run holds
an exclusive lock on `<warehouse>.lock` from its start to its end, and a second run waits for it instead of failing.
The kernel drops the lock when its process dies: a killed run never keeps it. Reentrant within a process, so that
`omnichannel run` holds it across its ingestion and transform runs and no other run slips in between.
"""

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

# Locks this process holds: lock file -> how many nested holders.
_held: dict[Path, int] = {}


def lock_path(warehouse: Path) -> Path:
    warehouse = Path(warehouse).resolve()
    return warehouse.with_name(warehouse.name + ".lock")


def _holder(fd: int) -> str:
    """The pid the holder wrote into the lock file, for the waiting message."""
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 32).decode(errors="replace").strip() or "unknown"


@contextmanager
def exclusive(warehouse: Path, waiting: Callable[[str], None] = lambda message: None) -> Iterator[None]:
    """Holds the warehouse's run lock for the duration; says so through `waiting` and waits while another holds it."""
    path = lock_path(warehouse)
    if path in _held:
        _held[path] += 1
        try:
            yield
        finally:
            _held[path] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            waiting(f"waiting for the warehouse {Path(warehouse)}: another run holds it (process {_holder(fd)})")
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        _held[path] = 1
        try:
            yield
        finally:
            del _held[path]
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
