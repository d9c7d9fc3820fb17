"""One writer per run file: a lock that a second writer, in any process, runs into.

HDF5 locks a file while it creates it but lets go once SWMR starts (readers must get in),
so a second run told to overwrite the file truncated it under the first one: the first
went on writing into the second's file and reported `completed` for rows that were gone.
The lock is an open-file-description lock (Linux `F_OFD_SETLK`) on a descriptor of our
own: it does not meet HDF5's `flock()`, other descriptors of the file (readers, the disk
room's) do not drop it, and the kernel drops it when the process dies, so the file of a
crashed run can be replaced. Where there are no such locks (macOS, Windows), or the file
system refuses them, writing goes on without one. On NFS, where the kernel turns HDF5's
`flock()` into the same kind of lock as ours, HDF5 meets our own lock: the file is then
created without it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import struct
from pathlib import Path
from typing import Any

import h5py

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["WriterLock", "create_locked"]

_SET_LOCK = getattr(fcntl, "F_OFD_SETLK", None)
_GET_LOCK = getattr(fcntl, "F_OFD_GETLK", None)
_HELD_ELSEWHERE = (errno.EAGAIN, errno.EACCES)
_FLOCK = "hhqqi"  # struct flock: type, whence, start, length (0: to the end), pid


def _write_lock_on_the_whole_file() -> bytes:
    """A `struct flock` asking for (or asking about) a write lock on the whole file."""
    return struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)


def _in_use(path: Path) -> FileExistsError:
    return FileExistsError(
        f"run file {path} is being written by another run (in this or another process); "
        "write another file, or wait until that run has ended"
    )


class WriterLock:
    """Held by the writer of `path` from before the file is created until it is closed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self.created = False  # the lock's open made the (empty) file

    @classmethod
    def take(cls, path: Path) -> WriterLock:
        """Lock `path` (created empty if missing); FileExistsError if a writer holds it."""
        lock = cls(path)
        if _SET_LOCK is None:
            return lock
        lock.created = not path.exists()
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError:
            lock.created = False
            return lock  # creating the file will fail and say why
        try:
            fcntl.fcntl(fd, _SET_LOCK, _write_lock_on_the_whole_file())
        except OSError as error:
            os.close(fd)
            if error.errno not in _HELD_ELSEWHERE:
                return lock  # a file system without these locks: go on without one
            raise _in_use(path) from None
        lock._fd = fd
        return lock

    @staticmethod
    def check_free(path: Path) -> None:
        """FileExistsError if a writer holds `path` now (checked before a run is set up)."""
        if _GET_LOCK is None or not path.is_file():
            return
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return  # unreadable: creating it will say why
        try:
            answer = fcntl.fcntl(fd, _GET_LOCK, _write_lock_on_the_whole_file())
        except OSError:
            return
        finally:
            os.close(fd)
        if struct.unpack(_FLOCK, answer)[0] != fcntl.F_UNLCK:
            raise _in_use(path)

    def release(self, *, remove: bool = False) -> None:
        """Let go (after the file is closed); `remove` deletes a file the lock created."""
        if remove and self.created:
            with contextlib.suppress(OSError):
                self.path.unlink()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def create_locked(path: Path, libver: Any) -> tuple[h5py.File, WriterLock]:
    """Lock `path`, then create the run file there (truncating what another run is not
    writing); the lock is released and a file it created removed if creating fails."""
    lock = WriterLock.take(path)
    try:
        try:
            return h5py.File(path, "w", libver=libver), lock
        except OSError as error:
            if lock._fd is None or "unable to lock file" not in str(error):
                raise
        lock.release()  # NFS: HDF5's flock() met our lock, not another writer's
        return h5py.File(path, "w", libver=libver), lock
    except BaseException:
        lock.release(remove=True)
        raise
