"""Run: the run file of a lab script, as a context manager you append to.

    import instrumentkit as ik

    with ik.Run("iv.h5", instruments={"dmm": dmm, "psu": psu}) as run:
        for volts in np.linspace(0, 1, 11):
            psu.voltage = volts
            run.append("dmm", dmm.read())                  # a Reading (any number of samples)
            run.append("psu", {"voltage": volts}, units="V")   # numbers, by channel name
            run.append("scope", scope.fetch(1))            # a Waveform; Spectra too
            run.append("image", camera_frame)              # any fixed-shape array
            run.append("psd", ik.AxisArray(power, {"frequency": (freqs, "Hz")}, units="V^2/Hz"))

Each stream is declared by its first record. HDF5 needs every stream declared before the
file goes live (SWMR: crash-safe flushes, readable while written), so a run goes live at
`run.start()`, or by itself `declare_for` seconds (default 5) after the first append, or
when the records held until then pass 64 MB. A stream first appended after that is refused
with an error that says so: append to every stream early, or `run.start()` after the first
records. Leaving the `with` block closes the file: status "completed", or "aborted" with the
reason when an exception (Ctrl-C included) ends the block.

Thread-safe: appends from several threads are serialised by a lock.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import yaml

from instrumentkit._axis_array import AxisArray, is_xarray
from instrumentkit.data import Reading, Spectrum, Waveform, now_ns
from instrumentkit.errors import InstrumentError, ValidationError

from . import _layout as layout
from ._runner import Block
from ._safety import make_sources_safe, not_safe_reason
from ._script_rows import PlainRows
from ._sweep_grid import SweepPoint
from ._writer import RunWriter
from ._writing import BlockWriter, first_stamp_ns, instrument_records, settings_end_snapshots

__all__ = ["Run"]

_HOLD_BYTES = 64 * 1024 * 1024


class Run:
    """A run file to append readings, waveforms, spectra and arrays to; see the module doc."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        instruments: Mapping[str, Any] | None = None,
        *,
        config: str | Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        overwrite: bool = False,
        flush_interval: float | None = 1.0,
        fsync: bool = False,
        compression: layout.Compression = None,
        declare_for: float = 5.0,
        make_safe: bool = True,
    ) -> None:
        text = (
            config
            if isinstance(config, str) or config is None
            else yaml.safe_dump(dict(config), sort_keys=False)
        )
        self._writer = RunWriter(
            path,
            overwrite=overwrite,
            flush_interval=flush_interval,
            fsync=fsync,
            compression=compression,
            config_text=text,
            metadata=metadata,
        )
        self.instruments = dict(instruments or {})
        self.declare_for = declare_for
        self.make_safe = make_safe
        """Make every Source instrument safe when the run closes (decision 0621)."""
        self._blocks = BlockWriter(self._writer)
        self._lock = threading.RLock()
        self._held: list[Block] = []
        self._held_bytes = 0
        self._first: dict[str, Block] = {}
        self._units: dict[str, Any] = {}  # the `units=` each stream was declared with
        self._plain: dict[str, PlainRows] = {}  # the per-row path of append()
        self._plain_open = True
        self._first_append: float | None = None
        self._live_at: float | None = None
        self._t0 = time.monotonic()
        try:
            records = instrument_records(self.instruments, timeout=30.0)
            for name in self.instruments:
                self._writer.add_instrument(name, **records[name])
        except BaseException:
            self._writer.close("aborted", "recording the instruments failed")
            raise

    # -- properties -----------------------------------------------------------------------
    @property
    def path(self) -> Path:
        return self._writer.path

    @property
    def status(self) -> str:
        """'created' (declaring streams), 'running' (live), 'completed' or 'aborted'."""
        return self._writer.status

    @property
    def live(self) -> bool:
        return self._live_at is not None

    @property
    def rows(self) -> dict[str, int]:
        """Rows appended so far per stream (held ones included)."""
        with self._lock:
            counts = dict(self._blocks.rows)
            for block in self._held:
                counts[block.stream] = counts.get(block.stream, 0) + _rows(block.record)
            for name, rows in self._plain.items():
                counts[name] += rows.gathered
            return counts

    # -- appending ------------------------------------------------------------------------
    def append(
        self,
        stream: str,
        record: Any,
        *,
        units: str | Sequence[str] | Mapping[str, str] | None = None,
        timestamp_ns: int | None = None,
    ) -> None:
        """Append one record to `stream` (declared by its first record).

        `record` is a Reading, Waveform, Spectrum, an AxisArray (or xarray.DataArray: an
        array against named axes), a NumPy array (or list) of fixed shape, a number, or a
        mapping of channel name to number. `units` applies to numbers and mappings;
        `timestamp_ns` to numbers, mappings, arrays and AxisArrays (default: now).

        A record of another kind than the stream's first raises ValidationError. Numbers
        and mappings take a per-row path of ~1 us (see _script_rows).
        """
        rows = self._plain.get(stream)
        if rows is not None and timestamp_ns is None and (units is None or units == rows.units):
            # The per-row path of a live stream of plain numbers (see _script_rows): a mapping
            # of the stream's channels in their order, or one number; no Reading, no Block.
            with self._lock:
                try:
                    if self._plain_open and rows.add(record):
                        if self._live_at is None:
                            self._hold_check(len(rows))
                        return
                except OSError as error:
                    self._failed(error)
                    raise
        first = self._first.get(stream)
        if first is not None:
            if units is None:
                units = self._units.get(stream)  # later rows need not repeat the units
            record = _in_channel_order(record, first.record)
        item = _normalise(stream, record, units, timestamp_ns)
        if first is not None:
            _check_same_kind(self.path, stream, first.record, item)
        monotonic, wall = time.monotonic(), now_ns()
        if timestamp_ns is not None and isinstance(item, np.ndarray):
            # Arrays are stamped with the block's clock pair: move the pair to the given time.
            monotonic, wall = monotonic + (timestamp_ns - wall) * 1e-9, timestamp_ns
        block = Block(stream, item, monotonic, wall, self._instrument_of(stream))
        with self._lock:
            if self._writer.status in ("completed", "aborted"):
                raise RuntimeError(f"run {self.path} is closed; open a new Run to write more")
            if self._live_at is None:
                self._units.setdefault(stream, units)
                self._hold_rows(stream)  # rows gathered before this record go first
                self._hold(block)
                return
            if stream not in self._first:
                raise self._late(stream)
            self._drain(stream)  # rows in the order they were appended
            problem = self._blocks.write(block)
        if problem is not None:
            raise problem

    def _drain(self, stream: str | None = None) -> None:
        """Hand gathered plain rows (of `stream`, or of every stream) to the file's streams."""
        for name, rows in list(self._plain.items()):
            if (stream is None or name == stream) and len(rows):
                try:
                    rows.drain()
                except OSError as error:
                    self._failed(error)
                    raise

    def _failed(self, error: OSError) -> None:
        """Writing failed (a full disk): no more per-row path; the run will close aborted."""
        self._blocks.failed(error)
        self._plain_open = False

    def declare(self, stream: str, like: Any, *, units: Any = None) -> None:
        """Declare `stream` shaped like `like` without writing it (before the run is live)."""
        item = _normalise(stream, like, units, None)
        with self._lock:
            if self._live_at is not None:
                raise self._late(stream)
            if stream not in self._first:
                self._first[stream] = Block(stream, item, 0.0, 0, self._instrument_of(stream))
                self._units[stream] = units

    def _instrument_of(self, stream: str) -> str:
        return stream if stream in self.instruments else ""

    def _hold(self, block: Block) -> None:
        if self._first_append is None:
            self._first_append = time.monotonic()
        if block.stream not in self._first:
            self._first[block.stream] = block
            record = block.record
            if isinstance(record, Reading) and record.status is None:
                units = self._units.get(block.stream)
                self._plain[block.stream] = PlainRows(record.channels, units)
        self._held.append(block)
        self._held_bytes += _nbytes(block.record)
        self._hold_check(0)

    def _hold_check(self, gathered: int) -> None:
        """Go live after `declare_for` seconds, or when what is held passes 64 MB (a row
        gathered in lists takes ~200 bytes of Python objects)."""
        since = time.monotonic() - (self._first_append or 0.0)
        if since >= self.declare_for or self._held_bytes + 200 * gathered > _HOLD_BYTES:
            self._go_live()

    def _hold_rows(self, stream: str) -> None:
        """Before the run is live: `stream`'s gathered rows become one held Reading, so a
        record of the general path held after them is written after them."""
        rows = self._plain.get(stream)
        first = self._first.get(stream)
        if rows is None or first is None or not len(rows):
            return
        times, monotonic, values = rows.take()
        reading = Reading(values, times, rows.channels, first.record.units)
        self._held.append(Block(stream, reading, float(monotonic[-1]), int(times[-1]),
                                first.instrument))  # fmt: skip
        self._held_bytes += _nbytes(reading)

    def _late(self, stream: str) -> RuntimeError:
        since = (self._live_at or 0.0) - self._t0
        return RuntimeError(
            f"run {self.path}: stream {stream!r} first appended after the run went live "
            f"({since:.1f} s after it opened); HDF5 streams must all be declared before. "
            "Append to every stream early, raise declare_for=, or call run.declare(name, "
            "like=record) before run.start()"
        )

    def start(self) -> None:
        """Declare every stream seen so far and go live (SWMR on, flushed from now on)."""
        with self._lock:
            if self._live_at is None:
                self._go_live()

    def _go_live(self) -> None:
        for stream, block in self._first.items():
            self._blocks.declare(stream, block.record, block.instrument)
            record = block.record
            if isinstance(record, Reading) and record.status is None:
                rows = self._plain.setdefault(
                    stream, PlainRows(record.channels, self._units.get(stream))
                )
                rows.stream = self._blocks.stream(stream)
        # The run began with its first record, held until now: start_time says so.
        stamps = [first_stamp_ns(block) for block in self._held]
        self._writer.start(min(stamps, default=None))
        self._live_at = time.monotonic()
        held, self._held, self._held_bytes = self._held, [], 0
        for block in held:
            problem = self._blocks.write(block)
            if problem is not None:
                raise problem
        self._drain()  # rows gathered while held come after every held record of theirs

    def flush(self) -> None:
        """Write everything appended so far to the file (going live first if needed)."""
        with self._lock:
            if self._live_at is None:
                self._go_live()
            self._drain()
            self._writer.flush()

    # -- the end --------------------------------------------------------------------------
    def close(self, status: str = "completed", reason: str | None = None) -> None:
        """Write what is held and buffered, the end settings, status and reason; close."""
        with self._lock:
            if self._writer.status in ("completed", "aborted"):
                return
            try:
                if self._live_at is None:
                    self._go_live()
                self._drain()
            except Exception as error:
                status, reason = "aborted", f"writing the held records failed: {error}"
            self._plain_open = False
            timeout = 10.0 if status == "completed" else 2.0
            unsafe: dict[str, list[str]] = {}
            if self.make_safe:
                # Every source output to its safe level and off before the end snapshot,
                # so settings_end shows where they were left; a failure is loud.
                unsafe = make_sources_safe(self.instruments, timeout=10.0)
                if unsafe:
                    status = "aborted"
                    reason = "; ".join(filter(None, [reason, not_safe_reason(unsafe)]))
            settings_end = settings_end_snapshots(self.instruments, timeout=timeout)
            final, why = self._blocks.close(status, reason or "", settings_end)
            if final != status and status == "completed":
                raise OSError(f"run {self.path} could not be completed: {why}")
            if unsafe:
                raise InstrumentError(f"run {self.path}: {not_safe_reason(unsafe)}")

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if error is None:
            self.close("completed")
        elif isinstance(error, KeyboardInterrupt):
            self.close("aborted", "interrupted by the user (Ctrl-C)")
        else:
            self.close("aborted", f"{type(error).__name__}: {error}")

    def __repr__(self) -> str:
        return f"<Run {str(self.path)!r} {self.status}, streams {list(self._first)}>"


def _normalise(
    stream: str,
    record: Any,
    units: str | Sequence[str] | Mapping[str, str] | None,
    timestamp_ns: int | None,
) -> Any:
    if isinstance(record, (Reading, Waveform, Spectrum, SweepPoint)):
        return record
    if isinstance(record, AxisArray):
        if timestamp_ns is None:
            return record
        return AxisArray(record.values, record.axes, record.units,
                         long_name=record.long_name, timestamp_ns=timestamp_ns)  # fmt: skip
    if is_xarray(record):
        return AxisArray.from_xarray(record, timestamp_ns=timestamp_ns)
    if isinstance(record, Mapping):
        channels = tuple(str(k) for k in record)
        values = [float(v) for v in record.values()]
        if isinstance(units, Mapping):
            unit_list: str | tuple[str, ...] = tuple(units.get(c, "") for c in channels)
        elif units is None or isinstance(units, str):
            unit_list = units or ""
        else:
            unit_list = tuple(units)
        return Reading.single(values, channels, unit_list, timestamp_ns=timestamp_ns)
    if isinstance(record, (int, float, np.number)) and not isinstance(record, bool):
        unit = units if isinstance(units, str) else ""
        return Reading.single(float(record), stream, unit, timestamp_ns=timestamp_ns)
    if isinstance(record, (np.ndarray, list, tuple)):
        array = np.asarray(record)
        if array.dtype == object:
            raise TypeError(f"stream {stream!r}: cannot store an array of Python objects")
        return array
    raise TypeError(
        f"stream {stream!r}: cannot append a {type(record).__name__}; append a Reading, "
        "Waveform, Spectrum, AxisArray (or xarray.DataArray), NumPy array, number or "
        "mapping of numbers"
    )


def _in_channel_order(record: Any, first: Any) -> Any:
    """A mapping with the stream's channels in another order, reordered (else unchanged)."""
    if (
        isinstance(record, Mapping)
        and isinstance(first, Reading)
        and tuple(record) != first.channels
        and set(record) == set(first.channels)
    ):
        return {channel: record[channel] for channel in first.channels}
    return record


def _kind(record: Any) -> str:
    if isinstance(record, Reading):
        return f"readings of channels {list(record.channels)}"
    if isinstance(record, Waveform):
        return "waveforms"
    if isinstance(record, Spectrum):
        return "spectra"
    if isinstance(record, AxisArray):
        axes = ", ".join(axis.name for axis in record.axes)
        return f"AxisArrays of shape {record.shape} on the axes ({axes})"
    return f"arrays of shape {np.shape(record)} ({np.asarray(record).dtype})"


def _check_same_kind(path: Path, stream: str, first: Any, record: Any) -> None:
    """A stream holds one kind of record, declared by its first: say so before HDF5 does."""
    if type(first) is type(record):
        return
    raise ValidationError(
        f"run {path}: stream {stream!r} holds {_kind(first)} (declared by its first record), "
        f"so a {type(record).__name__} cannot be appended to it. Append records like the "
        f"first, or give this data a stream of its own (run.append('{stream}_2', ...))"
    )


def _rows(record: Any) -> int:
    return len(record) if isinstance(record, Reading) else 1


def _nbytes(record: Any) -> int:
    if isinstance(record, Reading):
        return int(record.values.nbytes + record.timestamps_ns.nbytes)
    if isinstance(record, Waveform):
        return int(record.y.nbytes)
    if isinstance(record, Spectrum):
        return int(record.intensities.nbytes)
    if isinstance(record, AxisArray):
        return int(record.values.nbytes)
    if isinstance(record, SweepPoint):
        return sum(int(np.size(v)) * 8 for v in record.values)
    return int(np.asarray(record).nbytes)
