"""Names, sizes and small helpers of the run-file layout, shared by the writer and the reader.

The layout itself is specified in docs/run-file.md; change both together.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any, Literal

import h5py
import numpy as np
from numpy.typing import NDArray

from instrumentkit.errors import ConfigError

from ._exclusive import WriterLock

ENTRY = "entry"
INSTRUMENT_PREFIX = "instrument_"
"""An instrument's NXinstrument group is /entry/instrument_<name> (a stream of the same name
is the NXdata /entry/<name>)."""
ENTRY_FIELDS = frozenset(
    ("entry_identifier", "program_name", "run_config", "metadata", "start_time", "end_time",
     "status", "reason")
)  # fmt: skip

# Files written by instrumentkit 0.1.0 kept instruments and streams one level down, in
# NXcollection groups /entry/instrument and /entry/data; the reader still reads them.
LEGACY_INSTRUMENTS = "instrument"
LEGACY_DATA = "data"

Compression = Literal["gzip", "blosc"] | None

StreamKind = Literal["readings", "waveforms", "spectra", "arrays", "axis_arrays", "sweep"]
STREAM_KINDS: tuple[StreamKind, ...] = (
    "readings", "waveforms", "spectra", "arrays", "axis_arrays", "sweep"
)  # fmt: skip

Status = Literal["created", "running", "completed", "aborted"]
STATUSES: tuple[Status, ...] = ("created", "running", "completed", "aborted")

# Fields written after SWMR starts cannot be created then, so they are reserved up front as
# fixed-length UTF-8 strings of these byte sizes (HDF5 SWMR cannot write variable-length data).
STATUS_BYTES = 16
END_TIME_BYTES = 64
REASON_BYTES = 4096
SETTINGS_END_MIN_BYTES = 64 * 1024

# Buffer and chunk sizes: one `ds[a:b] = x` costs ~150 us whatever its size, so buffers are
# large; chunks stay within the default 1 MiB chunk cache.
BUFFER_BYTES = 4 * 1024 * 1024
CHUNK_BYTES = 256 * 1024
MIN_CHUNK_ROWS = 1024
"""Rows per chunk of a stream's small columns, at least, when a big column has fewer."""

# A run stops (aborted, file closed cleanly) when less room than this is left on the disk:
# once a write has failed for lack of space, HDF5 can no longer close the file (_room.py).
MIN_FREE_BYTES = 64 * 1024 * 1024

TIME = "time"
MONOTONIC = "monotonic"


def libver_bounds() -> tuple[str, str]:
    """HDF5 file-format bounds: SWMR needs the 1.10 format, and nothing newer than HDF5 1.14
    may be used, since `libver="latest"` under HDF5 2.0 writes datatype messages that HDF5
    1.14 readers (HDFView, h5dump, MATLAB, older h5py) reject or crash on (decision 0204).
    """
    if h5py.version.hdf5_version_tuple >= (1, 14):
        return ("v110", "v114")
    return ("v110", "latest")  # an older library writes nothing newer than itself


def iso_now(time_ns: int | None = None) -> str:
    """The current local time (or `time_ns`, ns since 1970) in ISO 8601 with its UTC offset
    (NeXus NX_DATE_TIME); nanoseconds are cut, never rounded up, so the text is never later."""
    if time_ns is None:
        return datetime.now().astimezone().isoformat(timespec="microseconds")
    seconds, nanoseconds = divmod(int(time_ns), 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc).astimezone()
    return moment.replace(microsecond=nanoseconds // 1000).isoformat(timespec="microseconds")


def to_json(value: Any) -> str:
    """JSON text of a settings snapshot; NumPy scalars, arrays, enums and paths are converted."""
    return json.dumps(value, default=_json_default, ensure_ascii=False)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, (Path, datetime)):
        return str(value)
    # A snapshot documents the run: keep an unusual value as its text rather than fail.
    return repr(value)


def text_dtype(capacity: int | None = None) -> Any:
    """UTF-8 string type: variable length, or fixed length of `capacity` bytes."""
    return h5py.string_dtype("utf-8", capacity)


def fit_utf8(text: str, capacity: int) -> bytes:
    """Encode `text` in at most `capacity` bytes, cutting only between characters."""
    data = text.encode("utf-8")
    if len(data) <= capacity:
        return data
    return data[:capacity].decode("utf-8", errors="ignore").encode("utf-8")


def chunk_shape(row_shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    """Chunks of about CHUNK_BYTES: whole rows when a row fits, else slices of one row."""
    row_bytes = itemsize * math.prod(row_shape)
    if row_bytes <= CHUNK_BYTES:
        return (max(1, CHUNK_BYTES // max(row_bytes, 1)), *row_shape)
    # A row larger than a chunk (a long waveform): split its last axes until it fits.
    shape = list(row_shape)
    for axis in range(len(shape) - 1, -1, -1):
        rest = itemsize * math.prod(shape) // shape[axis]
        shape[axis] = max(1, min(shape[axis], CHUNK_BYTES // max(rest, 1)))
        if itemsize * math.prod(shape) <= CHUNK_BYTES:
            break
    return (1, *shape)


def status_flags(meanings: Mapping[int, str] | None) -> tuple[NDArray[np.int16], str]:
    """CF `flag_values` and `flag_meanings` of a status dataset: each code and one word.

    Code 0 means valid unless the instrument's meanings say otherwise; a meaning becomes
    one token (CF separates them by blanks), e.g. "invalid reading" -> "invalid_reading".
    """
    table = {0: "valid", **{int(code): str(text) for code, text in (meanings or {}).items()}}
    codes = sorted(table)
    words = [
        re.sub(r"[^\w.+-]+", "_", table[code].strip()).strip("_") or "unnamed" for code in codes
    ]
    return np.array(codes, dtype=np.int16), " ".join(words)


def flag_table(dataset: h5py.Dataset) -> dict[int, str]:
    """A dataset's CF flags as {code: meaning}; empty when it has none."""
    values, meanings = dataset.attrs.get("flag_values"), dataset.attrs.get("flag_meanings")
    if values is None or meanings is None:
        return {}
    text = meanings.decode() if isinstance(meanings, bytes) else str(meanings)
    return dict(zip((int(v) for v in np.atleast_1d(values)), text.split(), strict=False))


def instrument_group_name(key: str) -> str:
    """The name of an instrument's NXinstrument group under /entry."""
    return INSTRUMENT_PREFIX + key


def safe_name(name: str) -> str:
    """An HDF5 link name for a user-given name ('/' separates groups, '.' is the group itself)."""
    cleaned = name.replace("/", "_").strip()
    if cleaned in ("", ".", ".."):
        raise ValueError(f"{name!r} cannot be used as a name in the run file")
    return cleaned


def write_text(group: h5py.Group, name: str, text: str) -> h5py.Dataset:
    """A scalar variable-length UTF-8 string dataset (written once, before SWMR)."""
    return group.create_dataset(name, data=text, dtype=text_dtype())


def reserve_text(group: h5py.Group, name: str, capacity: int, initial: str = "") -> h5py.Dataset:
    """A fixed-length UTF-8 string dataset to be written after SWMR starts.

    Writing the initial value now allocates its storage before the switch.
    """
    dataset = group.create_dataset(name, shape=(), dtype=text_dtype(capacity))
    dataset[()] = initial.encode()
    return dataset


def filters_for(compression: Compression) -> dict[str, Any]:
    if compression is None:
        return {}
    if compression == "gzip":
        return {"compression": "gzip", "compression_opts": 4, "shuffle": True}
    if compression == "blosc":
        try:
            import hdf5plugin
        except ImportError as error:
            raise ConfigError(
                "blosc compression needs the hdf5plugin package: pip install "
                "'instrumentkit[blosc]' (or use compression='gzip')",
                field="compression",
            ) from error
        return dict(hdf5plugin.Blosc(cname="lz4", clevel=5, shuffle=hdf5plugin.Blosc.SHUFFLE))
    raise ConfigError(
        f"unknown compression {compression!r}; use None, 'gzip' or 'blosc'", field="compression"
    )


def check_output(path: Path, overwrite: bool) -> None:
    """Fail before anything is created: existing file, missing or unwritable directory."""
    if path.is_dir():  # before "exists": a folder is never replaced, and `-o ''` is "."
        raise IsADirectoryError(f"run file {path} is a directory; give a file name (run.h5)")
    if path.exists() and not overwrite:
        raise FileExistsError(
            f"run file {path} already exists; choose another name or pass overwrite=True"
        )
    WriterLock.check_free(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"output directory {folder} of run file {path.name} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"output directory {folder} is not writable (run file {path.name})")


def write_failed(path: str | os.PathLike[str], error: Exception) -> OSError:
    """A clear OSError for a failed HDF5 write (HDF5 reports a full disk as RuntimeError)."""
    if isinstance(error, OSError) and "rows up to the last flush" in str(error):
        return error  # already ours (a refused write, see _room.py)
    found = re.search(r"errno = (\d+)", str(error))
    code = int(found.group(1)) if found else getattr(error, "errno", None) or errno.EIO
    cause = os.strerror(code) if found else str(error)
    return OSError(
        code,
        f"writing run file {path} failed ({cause}); rows up to the last complete flush are in "
        f"the file, nothing more is written to it. HDF5 said: {str(error).splitlines()[0]}",
    )
