"""The two Linux system calls Python's os module lacks: syncfs and a parent-death signal.

Elsewhere both are unavailable and callers fall back (fsync per file; a fork server).
"""

import ctypes
import ctypes.util
import os
import signal
import sys
from functools import lru_cache
from pathlib import Path

_PR_SET_PDEATHSIG = 1


@lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def has_syncfs() -> bool:
    """True where syncfs(2) exists."""
    libc = _libc()
    return libc is not None and hasattr(libc, "syncfs")


def syncfs(directory: Path) -> None:
    """Flush every written file of the filesystem holding directory (write errors raise)."""
    libc = _libc()
    if libc is None or not hasattr(libc, "syncfs"):
        raise OSError("syncfs is not available on this system")
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        if libc.syncfs(ctypes.c_int(descriptor)) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"syncfs: {os.strerror(error)}", str(directory))
    finally:
        os.close(descriptor)


def die_with_parent(*, parent_pid: int | None) -> None:
    """Have the kernel kill this process when its parent dies; exit now if it already has.

    A forked child holds copies of its parent's sockets: alive after the parent was killed,
    it would keep the parent's database transaction, and its locks, open.
    """
    libc = _libc()
    if libc is not None and libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"prctl(PR_SET_PDEATHSIG): {os.strerror(error)}")
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)  # the parent died before the signal was armed
