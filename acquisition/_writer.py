"""RunWriter: one HDF5 run file, declared first, then streamed to under SWMR.

Usage (the layout is specified in docs/run-file.md)::

    from instrumentkit.acquisition import RunWriter

    with RunWriter("run.h5", flush_interval=1.0, config_text=yaml_text) as writer:
        writer.add_instrument("dmm", idn=dmm.idn, driver="keysight.Keysight34461A",
                              settings=dmm.snapshot())
        volts = writer.add_readings("dmm", channels=["voltage"], units=["V"])
        scope = writer.add_stream("scope", first_waveform)      # declared from a record
        writer.start()                                          # SWMR on: nothing new after
        volts.append(reading)                                   # one Reading, any samples
        scope.append(first_waveform)
        writer.close("completed", settings_end={"dmm": dmm.snapshot()})

Phases: *declaring* (constructor, `add_instrument`, `add_readings` / `add_waveforms` /
`add_spectra` / `add_arrays` / `add_stream`), then `start()` switches SWMR on, then
*streaming* (`stream.append*`, `flush`, `maybe_flush`), then `close()`. Everything written
at the end (end_time, status, reason, end settings) is reserved at declaration as
fixed-length strings, because SWMR readers break when objects are created after the switch.

The file is NeXus as NeXus tools read it: `/entry/<stream>` NXdata groups, of which
`default_stream=` (else the first declared) is the entry's `@default`, and
`/entry/instrument_<name>` NXinstrument groups; written with the library-version bounds
("v110", "v114") so that HDF5 1.10-1.14 readers open it (decision 0204).

Appends are buffered; buffers go to HDF5 in large slices when full. `flush()` writes every
buffer and flushes the file (and fsyncs it with `fsync=True`); appends and `maybe_flush()`
flush by themselves every `flush_interval` seconds. A process killed at any moment leaves a
file that opens with `h5py.File(path, "r", swmr=True)` and holds every row up to the last
flush. Leaving a `with` block through an exception closes the run as "aborted" with the
exception as the reason, then re-raises. The room HDF5 needs next is claimed on the disk
before every write (_room.py), so a full disk raises OSError(ENOSPC) while the file can
still be closed as "aborted" with every flushed row.

Thread-safety: none. A writer and its streams belong to one thread (the pipeline's writer
thread or the lab script); hand data to that thread through a queue.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar

import h5py
import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from instrumentkit._axis_array import AxisArray
from instrumentkit.data import Reading, Spectrum, Waveform

from . import _layout as layout
from ._axis_arrays import AxisArrayStream
from ._entry import declare_entry, declare_instrument, write_settings_end
from ._exclusive import create_locked
from ._failed import close_after_failure, end_field_offsets
from ._readings import ReadingStream
from ._records import ArrayStream, SpectrumStream, WaveformStream
from ._room import DiskRoom
from ._streams import Stream
from ._sweep_grid import SweepPoint
from ._sweep_stream import SweepStream

StreamT = TypeVar("StreamT", bound=Stream)


class RunWriter:
    """Write one run file; see the module docstring for the phases and guarantees."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        flush_interval: float | None = 1.0,
        fsync: bool = False,
        compression: layout.Compression = None,
        config_text: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        min_free_bytes: int = layout.MIN_FREE_BYTES,
        default_stream: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.default_stream = None if default_stream is None else layout.safe_name(default_stream)
        self.flush_interval = flush_interval
        self.fsync = fsync
        self.min_free_bytes = min_free_bytes
        self._filters = layout.filters_for(compression)
        layout.check_output(self.path, overwrite)
        self._room = DiskRoom(self.path, min_free_bytes, compressed=bool(self._filters))
        self._room.before_create()
        try:
            self._file, self._lock = create_locked(self.path, layout.libver_bounds())
        except OSError as error:
            raise OSError(error.errno, f"cannot create run file {self.path}: {error}") from error
        self._room.attach(self._file.id.get_vfd_handle())
        self._failure: OSError | None = None  # an HDF5 write failed: nothing more is written
        self._end_refused: list[str] = []  # end snapshots that were not snapshots
        self._end_fields: dict[str, tuple[int, int]] = {}
        self._row_datasets = 0
        self.entry_identifier = str(uuid.uuid4())
        self.status: layout.Status = "created"
        self._streams: dict[str, Stream] = {}
        self._instruments: dict[str, h5py.Group] = {}
        self._status_meanings: dict[str, dict[int, str]] = {}
        self._next_flush = float("inf")
        try:
            self._entry = declare_entry(
                self._file, self.entry_identifier, config_text or "", metadata or {}
            )
        except BaseException:
            self._file.close()
            self._lock.release()
            raise

    # -- declaration ----------------------------------------------------------------------
    def _require_declaring(self, what: str) -> None:
        if self.status != "created":
            raise RuntimeError(
                f"{self.path}: cannot {what} after start(); HDF5 SWMR readers break when "
                "objects are created while streaming, so declare everything first"
            )

    def add_instrument(
        self,
        name: str,
        *,
        idn: str,
        driver: str,
        settings: Mapping[str, Any],
        resource: str | None = None,
        settings_capacity: int | None = None,
        status_meanings: Mapping[int, str] | None = None,
    ) -> None:
        """Record an instrument: IDN, driver, resource and its settings snapshot at start.

        Room for the end snapshot is reserved now (`settings_capacity` bytes, default the
        larger of 64 KiB and four times the start snapshot). `status_meanings` ({code:
        meaning} of the status codes its readings carry) goes on the status dataset of its
        readings streams.
        """
        self._require_declaring("add an instrument")
        key = layout.safe_name(name)
        if key in self._instruments:
            raise ValueError(f"{self.path}: instrument {name!r} is already declared")
        group = declare_instrument(
            self._entry.create_group(self._free_name(layout.instrument_group_name(key), name)),
            name, idn=idn, driver=driver, resource=resource or "", settings=settings,
            settings_capacity=settings_capacity,
        )  # fmt: skip
        self._instruments[key] = group
        self._status_meanings[name] = dict(status_meanings or {})

    def _free_name(self, key: str, name: str) -> str:
        """`key` if nothing under /entry has that name yet (streams and instruments share it)."""
        if key in self._entry or key in layout.ENTRY_FIELDS:
            raise ValueError(
                f"{self.path}: {name!r} would be /{layout.ENTRY}/{key}, which the run file "
                "already uses; choose another name"
            )
        return key

    def _new_stream(
        self, name: str, instrument: str | None, build: Callable[[h5py.Group], StreamT]
    ) -> StreamT:
        """Create the stream's group, let `build` declare its datasets, register it."""
        self._require_declaring("add a stream")
        key = layout.safe_name(name)
        if key in self._streams:
            raise ValueError(f"{self.path}: stream {name!r} is already declared")
        group = self._entry.create_group(self._free_name(key, name))
        group.attrs["instrument"] = instrument or ""
        group.attrs["long_name"] = name
        try:
            stream = build(group)
        except BaseException:
            del self._entry[key]  # before SWMR a half-declared group can still go
            raise
        group.attrs["kind"] = stream.kind
        if key == self.default_stream or "default" not in self._entry.attrs:
            self._entry.attrs["default"] = key  # what NeXus tools plot when the file opens
        # Every write claims its room first: HDF5 must never be the one to find the disk
        # full, since it cannot finish a flush or close a file after a failed write.
        stream.before_write = self._before_write
        stream.on_write_error = self._failed_write
        self._streams[key] = stream
        return stream

    def add_readings(
        self,
        name: str,
        channels: str | Sequence[str],
        units: str | Sequence[str],
        *,
        status: bool = False,
        dtype: DTypeLike = np.float64,
        monotonic: bool = False,
        instrument: str | None = None,
        status_meanings: Mapping[int, str] | None = None,
    ) -> ReadingStream:
        """Declare a stream of scalar readings: one dataset per channel, one row per sample.

        `units` is one unit for all channels or one per channel; `status=True` keeps the
        readings' status codes, with what each means (`status_meanings`, by default the
        instrument's, as given to `add_instrument`) as CF `flag_values`/`flag_meanings`.
        """
        names = (channels,) if isinstance(channels, str) else tuple(channels)
        unit_list = (units,) * len(names) if isinstance(units, str) else tuple(units)
        if status_meanings is None:
            status_meanings = self._status_meanings.get(instrument or "")
        return self._new_stream(name, instrument, lambda group: ReadingStream(
            group, names, unit_list, status=status, dtype=dtype, monotonic=monotonic,
            filters=self._filters, on_append=self._tick, status_meanings=status_meanings,
        ))  # fmt: skip

    def add_waveforms(
        self,
        name: str,
        record_length: int,
        *,
        units: str = "V",
        x_units: str = "s",
        channel: str = "",
        dtype: DTypeLike = np.float64,
        raw_dtype: DTypeLike | None = None,
        monotonic: bool = False,
        instrument: str | None = None,
    ) -> WaveformStream:
        """Declare a stream of fixed-length waveforms (with raw codes if `raw_dtype` given)."""
        return self._new_stream(name, instrument, lambda group: WaveformStream(
            group, record_length, units=units, x_units=x_units, channel=channel, dtype=dtype,
            raw_dtype=raw_dtype, monotonic=monotonic, filters=self._filters,
            on_append=self._tick,
        ))  # fmt: skip

    def add_spectra(
        self,
        name: str,
        wavelengths: ArrayLike,
        *,
        units: str = "counts",
        wavelength_units: str = "nm",
        dtype: DTypeLike = np.float64,
        monotonic: bool = False,
        instrument: str | None = None,
    ) -> SpectrumStream:
        """Declare a stream of spectra on one wavelength axis (stored as a dimension scale)."""
        return self._new_stream(name, instrument, lambda group: SpectrumStream(
            group, wavelengths, units=units, wavelength_units=wavelength_units, dtype=dtype,
            monotonic=monotonic, filters=self._filters, on_append=self._tick,
        ))  # fmt: skip

    def add_arrays(
        self,
        name: str,
        shape: tuple[int, ...],
        dtype: DTypeLike = np.float64,
        *,
        units: str = "",
        long_name: str | None = None,
        monotonic: bool = False,
        instrument: str | None = None,
    ) -> ArrayStream:
        """Declare a stream of fixed-shape arrays of any dtype (structured dtypes included)."""
        return self._new_stream(name, instrument, lambda group: ArrayStream(
            group, shape, dtype, units=units, long_name=long_name or name,
            monotonic=monotonic, filters=self._filters, on_append=self._tick,
        ))  # fmt: skip

    def add_axis_arrays(
        self,
        name: str,
        like: AxisArray,
        *,
        monotonic: bool = False,
        instrument: str | None = None,
    ) -> AxisArrayStream:
        """Declare a stream of AxisArrays shaped like `like`, on its axes (fixed from now)."""
        return self._new_stream(name, instrument, lambda group: AxisArrayStream(
            group, like, monotonic=monotonic, filters=self._filters, on_append=self._tick,
        ))  # fmt: skip

    def add_sweep(
        self,
        name: str,
        like: SweepPoint,
        *,
        monotonic: bool = False,
        instrument: str | None = None,
    ) -> SweepStream:
        """Declare a sweep shaped like the grid of `like`: every reader's data over the
        sweep's axes, NaN until each point is taken (docs/run-file.md, "Sweeps")."""
        return self._new_stream(name, instrument, lambda group: SweepStream(  # type: ignore[arg-type, return-value]
            group, like, monotonic=monotonic, filters=self._filters, on_append=self._tick,
        ))  # fmt: skip

    def add_stream(
        self,
        name: str,
        like: Reading | Waveform | Spectrum | AxisArray | np.ndarray,
        *,
        monotonic: bool = False,
        instrument: str | None = None,
    ) -> Any:
        """Declare a stream shaped like `like`, usually the first record of a source.

        Returns a ReadingStream, WaveformStream, SpectrumStream, AxisArrayStream or
        ArrayStream.
        """
        common: dict[str, Any] = {"monotonic": monotonic, "instrument": instrument}
        if isinstance(like, Reading):
            info = like.describe()
            return self.add_readings(
                name,
                like.channels,
                like.units,
                status=like.status is not None,
                dtype=info["values"].dtype,
                **common,
            )
        if isinstance(like, Waveform):
            return self.add_waveforms(
                name,
                len(like),
                units=like.units,
                x_units=like.x_units,
                channel=like.channel,
                dtype=like.describe()["y"].dtype,  # not like.y: volts may not exist yet
                raw_dtype=None if like.raw is None else like.raw.dtype,
                **common,
            )
        if isinstance(like, Spectrum):
            return self.add_spectra(
                name,
                like.wavelengths,
                units=like.units,
                wavelength_units=like.wavelength_units,
                dtype=like.intensities.dtype,
                **common,
            )
        if isinstance(like, AxisArray):
            return self.add_axis_arrays(name, like, **common)
        if isinstance(like, SweepPoint):
            return self.add_sweep(name, like, **common)
        if isinstance(like, np.ndarray):
            return self.add_arrays(name, like.shape, like.dtype, **common)
        raise TypeError(f"cannot declare stream {name!r} from a {type(like).__name__}")

    # -- streaming ------------------------------------------------------------------------
    @property
    def streams(self) -> dict[str, Stream]:
        """Declared streams by name."""
        return dict(self._streams)

    def start(self, start_ns: int | None = None) -> None:
        """Write the start time and switch SWMR on; from now on nothing new can be declared.

        `start_ns` (ns since 1970, default now) is when the run began: no later than its
        first rows, which may have been taken before the streams could be declared.
        """
        self._require_declaring("start twice")
        self._entry["start_time"][()] = layout.iso_now(start_ns).encode()
        self._entry["status"][()] = b"running"
        self.status = "running"
        self._file.swmr_mode = True
        self._end_fields = end_field_offsets(self._entry)  # allocated: written above
        self._row_datasets = sum(len(stream.datasets) for stream in self._streams.values())
        self._room.started(self._row_datasets)
        self._flush_file()
        self._room.started(self._row_datasets)  # the flush gave back what was claimed
        for stream in self._streams.values():
            stream.open()

    def _tick(self) -> None:
        if time.monotonic() >= self._next_flush:
            self.flush()

    def maybe_flush(self) -> bool:
        """Flush if `flush_interval` has passed since the last flush; True if it flushed."""
        if time.monotonic() >= self._next_flush:
            self.flush()
            return True
        return False

    def flush(self) -> None:
        """Write every buffered row and flush the file (fsync too when asked)."""
        if self.status != "running":
            raise RuntimeError(f"{self.path}: flush() needs a started, open run ({self.status})")
        if self._failure is not None:
            raise self._failure
        for stream in self._streams.values():
            stream.write_buffer()
        self._flush_file()
        self._room.flushed(self._row_datasets)

    def _before_write(self, nbytes: int) -> None:
        self._room.before_write(nbytes, self._row_datasets)

    def _failed_write(self, error: OSError) -> None:
        """An HDF5 write failed: HDF5 cannot be trusted with this file any more."""
        self._failure = self._failure or error
        for stream in self._streams.values():
            stream.stop(f"writing the run file failed: {self._failure}")

    def _flush_file(self) -> None:
        try:
            self._file.flush()
        except (OSError, RuntimeError) as error:
            failed = layout.write_failed(self.path, error)
            self._failed_write(failed)
            raise failed from error
        if self.fsync:
            os.fsync(self._file.id.get_vfd_handle())
        if self.flush_interval is not None:
            self._next_flush = time.monotonic() + self.flush_interval

    # -- the end --------------------------------------------------------------------------
    def record_settings_end(self, instrument: str, settings: Mapping[str, Any]) -> None:
        """Store an instrument's settings snapshot at the end of the run."""
        key = layout.safe_name(instrument)
        if key not in self._instruments:
            raise KeyError(f"{self.path}: no instrument {instrument!r} was declared")
        refused = write_settings_end(self._instruments[key]["settings_end"], settings)
        if refused is not None:
            raise TypeError(f"{self.path}: settings_end of {instrument!r} is {refused}")

    def close(
        self,
        status: Literal["completed", "aborted"] = "completed",
        reason: str | None = None,
        *,
        settings_end: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """Write what is buffered, the end snapshots, end time, status and reason; close."""
        if self.status in ("completed", "aborted"):
            return
        if status not in ("completed", "aborted"):
            raise ValueError(f"status must be 'completed' or 'aborted', not {status!r}")
        failure: BaseException | None = None
        try:
            if self._failure is None:
                failure = self._finish(status, reason, settings_end)
        except (OSError, RuntimeError) as error:  # HDF5 failed while finishing the file
            if self._failure is None:
                self._failed_write(layout.write_failed(self.path, error))
        except BaseException as error:  # interrupted (Ctrl-C) while finishing: still close
            with contextlib.suppress(Exception):  # said in the file, as far as it gets
                why = f"closing was interrupted ({type(error).__name__})"
                self._mark_end("aborted", f"{reason}; {why}" if reason else why)
            with contextlib.suppress(OSError, RuntimeError):
                self._file.close()
            self.status = "aborted"
            self._let_go()
            raise
        if self._failure is not None:
            self._close_failed(reason)  # raises
        if failure is not None:
            raise OSError(
                f"run file {self.path}: rows buffered since the last flush were lost "
                f"({failure}); the file is marked aborted"
            ) from failure
        if self._end_refused:
            raise TypeError(
                f"{self.path}: " + "; ".join(self._end_refused) + f" (the run is closed, "
                f"{self.status}, with an error object in its place)"
            )

    def _finish(
        self,
        status: Literal["completed", "aborted"],
        reason: str | None,
        settings_end: Mapping[str, Mapping[str, Any]] | None,
    ) -> OSError | None:
        """The end of a healthy run; returns the refusal that lost buffered rows, if any."""
        failure: OSError | None = None
        if self.status == "created":  # closed before start: a valid, empty run
            self._entry["start_time"][()] = layout.iso_now().encode()
        for stream in self._streams.values():
            try:
                stream.close()
            except OSError as error:  # e.g. disk full: still mark the run as aborted
                failure = failure or error
        if self._failure is not None:  # HDF5 itself failed: close() takes over
            return None
        refused = []  # a bad snapshot is stored as an error object; the run still closes
        for name, settings in (settings_end or {}).items():
            key = layout.safe_name(name)
            if key in self._instruments:  # not when its start timed out
                problem = write_settings_end(self._instruments[key]["settings_end"], settings)
                if problem is not None:
                    refused.append(f"settings_end of {name!r} is {problem}")
        if failure is not None:
            lost = f"writing the last buffered rows failed: {failure}"
            reason = f"{reason}; {lost}" if status == "aborted" and reason else lost
            if status == "completed":
                status = "aborted"
            else:
                failure = None  # already aborting: the reason records it
        self._mark_end(status, reason)
        if self.fsync:
            os.fsync(self._file.id.get_vfd_handle())
        self._file.close()
        self.status = status
        self._let_go()
        self._end_refused = refused
        return failure

    def _let_go(self) -> None:
        """After the file is closed: the claimed disk room, then the writer's lock."""
        self._room.release()
        self._lock.release()

    def _mark_end(self, status: str, reason: str | None) -> None:
        self._entry["end_time"][()] = layout.iso_now().encode()
        self._entry["reason"][()] = layout.fit_utf8(reason or "", layout.REASON_BYTES)
        self._entry["status"][()] = status.encode()
        self._file.flush()

    def _close_failed(self, reason: str | None) -> None:
        """Close after an HDF5 write failed (see _failed.py) and raise an OSError saying so."""
        failure = self._failure
        why = f"{reason}; {failure}" if reason else str(failure)
        self.status = "aborted"
        values = {"end_time": layout.iso_now(), "reason": why, "status": "aborted"}
        problem = close_after_failure(self._file, self._end_fields, values)
        self._let_go()
        raise OSError(
            errno.EIO,
            f"run file {self.path}: closed after a failed write ({failure}); "
            + (problem or "it is marked aborted, with rows up to the last complete flush"),
        ) from failure

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if error is None:
            self.close("completed")
            return
        try:
            self.close("aborted", f"{type(error).__name__}: {error}")
        except Exception as secondary:  # never hide the error that ended the run
            warnings.warn(
                f"run file {self.path} could not be closed cleanly: {secondary}",
                RuntimeWarning,
                stacklevel=2,
            )

    def __repr__(self) -> str:
        return f"<RunWriter {str(self.path)!r} {self.status}, streams {list(self._streams)}>"
