"""Run: the run file of a lab script, as a context manager you append to.

    import instrumentkit as ik

    with ik.Run("iv.h5", instruments={"dmm": dmm, "psu": psu}) as run:
        for volts in np.linspace(0, 1, 11):
            psu.voltage = volts
            run.append("dmm", dmm.read())                  # a Reading (any number of samples)
            run.append("psu", {"voltage": volts}, units="V")   # numbers, by channel name
            run.append("scope", scope.fetch(1))            # a Waveform; Spectra too
            run.append("image", camera_frame)              # any fixed-shape array

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

from instrumentkit.data import Reading, Spectrum, Waveform, now_ns

from . import _layout as layout
from ._runner import Block
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
        self._blocks = BlockWriter(self._writer)
        self._lock = threading.RLock()
        self._held: list[Block] = []
        self._held_bytes = 0
        self._first: dict[str, Block] = {}
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

        `record` is a Reading, Waveform, Spectrum, a NumPy array (or list) of fixed shape,
        a number, or a mapping of channel name to number. `units` applies to numbers and
        mappings; `timestamp_ns` to numbers, mappings and arrays (default: now).
        """
        item = _normalise(stream, record, units, timestamp_ns)
        monotonic, wall = time.monotonic(), now_ns()
        if timestamp_ns is not None and isinstance(item, np.ndarray):
            # Arrays are stamped with the block's clock pair: move the pair to the given time.
            monotonic, wall = monotonic + (timestamp_ns - wall) * 1e-9, timestamp_ns
        block = Block(stream, item, monotonic, wall, self._instrument_of(stream))
        with self._lock:
            if self._writer.status in ("completed", "aborted"):
                raise RuntimeError(f"run {self.path} is closed; open a new Run to write more")
            if self._live_at is None:
                self._hold(block)
                return
            if stream not in self._first:
                raise self._late(stream)
            problem = self._blocks.write(block)
        if problem is not None:
            raise problem

    def declare(self, stream: str, like: Any, *, units: Any = None) -> None:
        """Declare `stream` shaped like `like` without writing it (before the run is live)."""
        item = _normalise(stream, like, units, None)
        with self._lock:
            if self._live_at is not None:
                raise self._late(stream)
            if stream not in self._first:
                self._first[stream] = Block(stream, item, 0.0, 0, self._instrument_of(stream))

    def _instrument_of(self, stream: str) -> str:
        return stream if stream in self.instruments else ""

    def _hold(self, block: Block) -> None:
        now = time.monotonic()
        if self._first_append is None:
            self._first_append = now
        self._first.setdefault(block.stream, block)
        self._held.append(block)
        self._held_bytes += _nbytes(block.record)
        if now - self._first_append >= self.declare_for or self._held_bytes > _HOLD_BYTES:
            self._go_live()

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
        # The run began with its first record, held until now: start_time says so.
        stamps = [first_stamp_ns(block) for block in self._held]
        self._writer.start(min(stamps, default=None))
        self._live_at = time.monotonic()
        held, self._held, self._held_bytes = self._held, [], 0
        for block in held:
            problem = self._blocks.write(block)
            if problem is not None:
                raise problem

    def flush(self) -> None:
        """Write everything appended so far to the file (going live first if needed)."""
        with self._lock:
            if self._live_at is None:
                self._go_live()
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
            except Exception as error:
                status, reason = "aborted", f"writing the held records failed: {error}"
            timeout = 10.0 if status == "completed" else 2.0
            settings_end = settings_end_snapshots(self.instruments, timeout=timeout)
            final, why = self._blocks.close(status, reason or "", settings_end)
            if final != status and status == "completed":
                raise OSError(f"run {self.path} could not be completed: {why}")

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
    if isinstance(record, (Reading, Waveform, Spectrum)):
        return record
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
        "Waveform, Spectrum, NumPy array, number or mapping of numbers"
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
    return int(np.asarray(record).nbytes)
