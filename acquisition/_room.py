"""Room on the disk for a run file: checked, and claimed before HDF5 needs it.

Once an HDF5 write has failed for lack of space, the library can neither finish that flush
nor close the file: a flush that failed half way leaves extents that count rows whose data
never reached the disk (NaN rows), and the process may crash at exit. So HDF5 must never
be the one to find the disk full (decision 0205). Before every write of buffered rows and
after every flush the writer

- stops early, with `min_free_bytes` of margin (decision 0203), and
- claims the blocks HDF5 may write next, beyond the end of the file, with
  `fallocate(FALLOC_FL_KEEP_SIZE)`: the file's size does not change, but those blocks are
  the file's, so another process cannot fill them, and when there are none left it is this
  claim that fails, with ENOSPC, while every row up to the last flush is in the file and
  the file can still be closed as `aborted`.

Where `fallocate` is missing (not Linux, or a file system without it) only the checks
remain. The process's file-size limit (RLIMIT_FSIZE) is checked against the same bound,
since claimed blocks do not count against it.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
from pathlib import Path

from ._layout import CHUNK_BYTES

RESERVE_BYTES = 1024 * 1024
"""Room kept beyond any write's own bound: HDF5 metadata (chunk indexes, object headers,
free-space blocks) and the end of the run (status, end time, reason are written in place)."""

_KEEP_SIZE = 0x01  # FALLOC_FL_KEEP_SIZE
_NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_UNSUPPORTED = {errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL, errno.ENODEV, errno.ESPIPE}


def growth_bound(nbytes: int, datasets: int, *, compressed: bool = False) -> int:
    """Most bytes HDF5 can add to the file for `nbytes` of new rows in `datasets` datasets.

    Each dataset may write its two partly filled edge chunks whole; compressed rows may
    take twice their size (a compressed chunk rewritten larger lands at a new address);
    plus RESERVE_BYTES for metadata.
    """
    factor = 2 if compressed else 1
    return factor * nbytes + datasets * 2 * CHUNK_BYTES + RESERVE_BYTES


def _fallocate() -> ctypes._CFuncPtr | None:
    try:
        function = ctypes.CDLL(None, use_errno=True).fallocate
    except (AttributeError, OSError, TypeError):  # not Linux (no libc, or no fallocate)
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    function.restype = ctypes.c_int
    return function


class DiskRoom:
    """The room checks and claims of one run file (see the module docstring)."""

    def __init__(self, path: Path, min_free_bytes: int, *, compressed: bool = False) -> None:
        self.path = path
        self.min_free_bytes = min_free_bytes
        self.compressed = compressed
        self.claimed_to = 0
        """The file offset up to which disk blocks are claimed."""
        self._fd: int | None = None
        self._base = 0  # the file's size after the last flush
        self._fallocate = _fallocate()
        self._pending = 0  # bytes handed to HDF5 since the last flush
        self._flushed = False  # rows exist in the file only after a flush

    def before_create(self) -> None:
        """Refuse to start on a disk below the margin (nothing is written yet)."""
        if not self.min_free_bytes:
            return
        room = min(self._disk_free(), self._size_room())
        if room < self.min_free_bytes:
            raise OSError(
                errno.ENOSPC,
                f"run file {self.path}: cannot start, only {room / 1e6:.1f} MB left for it "
                f"(min_free_bytes={self.min_free_bytes}); no file was created. Free some space, "
                "write to another disk, or lower min_free_bytes",
            )

    def attach(self, fd: int) -> None:
        """Claim through the open file's descriptor from now on."""
        self._fd = fd

    def _size(self) -> int:
        return os.fstat(self._fd).st_size if self._fd is not None else 0

    def started(self, datasets: int) -> None:
        """Around the first flush: room for the declared objects and the end of the run."""
        self._base = self._size()
        self.claimed_to = 0
        self._ensure(datasets, 0)

    def before_write(self, nbytes: int, datasets: int) -> None:
        """Make sure HDF5 can take `nbytes` more rows; raise OSError(ENOSPC) if not."""
        self._ensure(datasets, nbytes)
        self._pending += nbytes

    def flushed(self, datasets: int) -> None:
        """After a flush: nothing pending; keep room for the next metadata and the end."""
        self._pending = 0
        self._flushed = True
        self._base = self._size()
        # HDF5 truncates the file to its end at a flush, which frees claimed blocks.
        self.claimed_to = 0
        self._ensure(datasets, 0)

    def _ensure(self, datasets: int, nbytes: int) -> None:
        # HDF5 writes nothing beyond base + bound before the next flush (see growth_bound).
        bound = growth_bound(self._pending + nbytes, datasets, compressed=self.compressed)
        writing = f" with {nbytes / 1e6:.1f} MB to write" if nbytes else ""
        limit = self._size_room(self._base)
        if self.min_free_bytes:  # the margin of decision 0203
            room = min(self._disk_free(), limit)
            if room - nbytes < self.min_free_bytes:
                self._refuse(f"only {room / 1e6:.1f} MB left for it{writing} "
                             f"(min_free_bytes={self.min_free_bytes})")  # fmt: skip
        if limit < bound:  # claimed blocks do not count against RLIMIT_FSIZE: check here
            self._refuse(f"only {limit / 1e6:.1f} MB left for it under the file-size limit"
                         f"{writing}")  # fmt: skip
        self._claim(self._base + bound, writing)

    def release(self) -> None:
        """After the file is closed: give back the claimed blocks beyond its end."""
        if not self.claimed_to or not self.path.exists():
            return
        with contextlib.suppress(OSError), open(self.path, "r+b") as file:
            file.truncate(os.fstat(file.fileno()).st_size)  # frees blocks past the end
        self.claimed_to = 0

    def _claim(self, end: int, writing: str) -> None:
        size = self._size()
        if self._fd is None or end <= max(size, self.claimed_to):
            return
        if self._fallocate is not None:
            start = max(size, self.claimed_to)
            if self._fallocate(self._fd, _KEEP_SIZE, start, end - start) == 0:
                self.claimed_to = end
                return
            code = ctypes.get_errno()
            if code in _NO_ROOM:
                more = end - start
                self._refuse(f"the disk has no room for {more / 1e6:.1f} MB more{writing} "
                             f"({os.strerror(code)})", code)  # fmt: skip
            if code not in _UNSUPPORTED:  # an I/O error: HDF5 would fail the same way
                raise OSError(code, f"run file {self.path}: cannot claim room on the disk "
                                    f"({os.strerror(code)})")  # fmt: skip
            self._fallocate = None  # this file system cannot: the check alone remains
        free = self._disk_free()
        if free < end - size:
            self._refuse(f"only {free / 1e6:.1f} MB left for {(end - size) / 1e6:.1f} MB more")

    def _refuse(self, why: str, code: int = errno.ENOSPC) -> None:
        kept = (
            "rows up to the last flush are safe in the file"
            if self._flushed
            else ("the file holds no rows yet")
        )
        raise OSError(
            code, f"run file {self.path}: stopping before the disk is full, {why}; {kept}"
        )

    def _disk_free(self) -> int:
        folder = self.path.parent if str(self.path.parent) else Path(".")
        return shutil.disk_usage(folder).free

    def _size_room(self, size: int | None = None) -> int:
        """How far the file may still grow under the process's file-size limit."""
        try:
            import resource
        except ImportError:  # Windows
            return 1 << 62
        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        if limit == resource.RLIM_INFINITY:
            return 1 << 62
        if size is None:
            size = self.path.stat().st_size if self.path.exists() else 0
        return limit - size


def room_left(path: Path) -> int:
    """Bytes a run file at `path` may still grow by: free disk space, and the file-size
    limit; checked before a run starts, so a config is refused before anything opens."""
    room = DiskRoom(path, 0)
    return min(room._disk_free(), room._size_room())
