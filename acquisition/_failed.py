"""Ending a run after HDF5 failed to write its file (an I/O error the writer could not
foresee, unlike a full disk, see _room.py).

After a failed write HDF5 can neither flush nor close the file: every attempt writes
again, fails again, and the process may crash at exit (SIGSEGV). So nothing more of
HDF5's goes to the disk: its file descriptor is pointed at an anonymous memory file
(Linux `memfd_create`), where HDF5 finishes and closes without error, and the run's end
fields, fixed-length strings reserved at declaration, are written in place by offset.
The file is left as HDF5 last wrote it, marked `aborted` with the reason.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping

import h5py

from ._layout import fit_utf8

END_FIELDS = ("end_time", "reason", "status")


def end_field_offsets(entry: h5py.Group) -> dict[str, tuple[int, int]]:
    """File offset and capacity of each end-of-run field (known once they are allocated)."""
    found = {}
    for name in END_FIELDS:
        offset = entry[name].id.get_offset()
        if offset is not None:
            found[name] = (int(offset), entry[name].dtype.itemsize)
    return found


def close_after_failure(
    file: h5py.File, offsets: Mapping[str, tuple[int, int]], values: Mapping[str, str]
) -> str | None:
    """Close `file` without HDF5 writing to the disk, then write `values` in place.

    Returns what went wrong on the way (None if nothing did).
    """
    path = file.filename
    problem = None
    with contextlib.suppress(AttributeError, OSError):  # memfd_create: Linux only
        discard = os.memfd_create("instrumentkit-discarded-writes")
        os.dup2(discard, file.id.get_vfd_handle())
        os.close(discard)
    try:
        file.close()
    except (OSError, RuntimeError) as error:
        problem = f"HDF5 could not close it: {str(error).splitlines()[0]}"
    try:
        descriptor = os.open(path, os.O_WRONLY)
    except OSError as error:
        return f"cannot reopen it to mark it aborted: {error}"
    try:
        for name, text in values.items():
            if name in offsets:
                offset, capacity = offsets[name]
                os.pwrite(descriptor, fit_utf8(text, capacity).ljust(capacity, b"\0"), offset)
        os.fsync(descriptor)
    except OSError as error:
        problem = f"cannot mark it aborted: {error}"
    finally:
        os.close(descriptor)
    return problem
