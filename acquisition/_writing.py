"""The writer's side of a pipeline: declare streams from first records, append blocks with
their monotonic stamps, keep the error log, record instruments, close with a status.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from instrumentkit._axis_array import AxisArray
from instrumentkit.data import Reading, Spectrum, Waveform
from instrumentkit.errors import Timeout

from . import _layout as layout
from ._runner import Block, ErrorEvent
from ._sweep_grid import SweepPoint
from ._writer import RunWriter

__all__ = [
    "ERRORS_STREAM",
    "ERROR_DTYPE",
    "BlockWriter",
    "first_stamp_ns",
    "instrument_record",
    "instrument_records",
    "settings_end_snapshots",
]

ERRORS_STREAM = "errors"
"""The stream that logs every instrument error of a run, one row per error."""

ERROR_DTYPE = np.dtype(
    [
        ("instrument", "S64"),
        ("error", "S64"),
        ("code", "<i4"),  # the instrument's own code (SCPI -222 ...), 0 if it gave none
        ("action", "S32"),
        ("message", "S512"),
    ]
)


def _fit(text: str, size: int) -> bytes:
    return layout.fit_utf8(text, size)


def error_row(event: ErrorEvent) -> np.ndarray:
    """One row of the error log (UTF-8, cut to the field sizes)."""
    return np.array(
        (
            _fit(event.instrument, 64),
            _fit(event.error, 64),
            event.code,
            _fit(event.action, 32),
            _fit(event.message, 512),
        ),
        dtype=ERROR_DTYPE,
    )


def first_stamp_ns(block: Block) -> int:
    """Wall-clock time (ns) of the earliest row a block writes."""
    record = block.record
    if isinstance(record, Reading):
        return int(record.timestamps_ns.min()) if len(record) else block.wall_ns
    stamp = getattr(record, "timestamp_ns", None)
    return block.wall_ns if stamp is None else int(stamp)


def rows_of(record: Any) -> int:
    return len(record) if isinstance(record, Reading) else 1


class BlockWriter:
    """Appends blocks to the streams of one RunWriter; used from the writer's thread only."""

    def __init__(
        self, writer: RunWriter, *, max_rows: int | None = None, monotonic: bool = True
    ) -> None:
        self.writer = writer
        self.max_rows = max_rows
        self.monotonic = monotonic
        self.rows: dict[str, int] = {}
        self.total = 0
        self.events: list[ErrorEvent] = []
        self._streams: dict[str, Any] = {}
        self._log: Any = None
        self._failure: OSError | None = None

    # -- declaring ------------------------------------------------------------------------
    def declare(self, stream: str, first: Any, instrument: str) -> None:
        """Declare `stream` shaped like its first record (with a monotonic column)."""
        self._streams[stream] = self.writer.add_stream(
            stream, first, monotonic=self.monotonic, instrument=instrument
        )
        self.rows[stream] = 0

    def declare_error_log(self) -> None:
        self._log = self.writer.add_arrays(
            ERRORS_STREAM,
            (),
            ERROR_DTYPE,
            long_name="instrument errors: instrument, error type, code, action taken, message",
        )

    def stream(self, name: str) -> Any:
        """The writer's stream `name` (declared)."""
        return self._streams[name]

    # -- streaming ------------------------------------------------------------------------
    @property
    def healthy(self) -> bool:
        return self._failure is None

    @property
    def full(self) -> bool:
        return self.max_rows is not None and self.total >= self.max_rows

    def failed(self, error: OSError) -> None:
        self._failure = self._failure or error

    def write(self, block: Block) -> Exception | None:
        """Append a block; returns the error instead of raising (None when written)."""
        stream = self._streams.get(block.stream)
        if stream is None or self._failure is not None:
            return None
        record = block.record
        if self.max_rows is not None:
            room = self.max_rows - self.total
            if room <= 0:
                return None
            if isinstance(record, Reading) and len(record) > room:
                record = _first_rows(record, room)
        try:
            if self.monotonic:
                _append(stream, record, block)
            elif isinstance(record, np.ndarray):
                stream.append(record, timestamp_ns=block.wall_ns)
            else:
                stream.append(record)
        except OSError as error:
            self.failed(error)
            return error
        except (ValueError, TypeError) as error:
            return error
        n = rows_of(record)
        self.rows[block.stream] += n
        self.total += n
        return None

    def log(self, event: ErrorEvent) -> None:
        self.events.append(event)
        if self._log is None or self._failure is not None or self.writer.status != "running":
            return
        try:
            self._log.append(error_row(event), timestamp_ns=event.time_ns)
        except OSError as error:
            self.failed(error)

    # -- the end --------------------------------------------------------------------------
    def close(
        self, status: str, reason: str, settings_end: Mapping[str, Mapping[str, Any]]
    ) -> tuple[str, str]:
        """Close the file; returns the status and reason it records."""
        if self._failure is not None:
            status = "aborted"
            if str(self._failure) not in reason:
                reason = f"{reason}; writing the run file failed: {self._failure}"
        final = "aborted" if status == "aborted" else "completed"
        try:
            self.writer.close(final, reason, settings_end=settings_end)
        except OSError as error:
            final, reason = "aborted", f"{reason}; closing the run file failed: {error}"
        return final, reason


def _append(stream: Any, record: Any, block: Block) -> None:
    # Monotonic stamps from the wall-clock ones, with the clock pair read at the poll
    # (integer ns differences first, so float64 keeps sub-microsecond precision).
    if isinstance(record, Reading):
        monotonic = np.subtract(record.timestamps_ns, block.wall_ns).astype(np.float64)
        monotonic *= 1e-9
        monotonic += block.monotonic
        stream.append(record, monotonic=monotonic)
    elif isinstance(record, (Waveform, Spectrum, AxisArray, SweepPoint)):
        stream.append(
            record, monotonic=block.monotonic + (record.timestamp_ns - block.wall_ns) * 1e-9
        )
    else:
        stream.append(record, timestamp_ns=block.wall_ns, monotonic=block.monotonic)


def _first_rows(reading: Reading, n: int) -> Reading:
    status = None if reading.status is None else reading.status[:n]
    return Reading(
        reading.values[:n], reading.timestamps_ns[:n], reading.channels, reading.units, status
    )


def instrument_record(instrument: Any) -> dict[str, Any]:
    """IDN, driver, resource, settings snapshot and status-code meanings of an instrument
    (its `status_meanings`, if it has one), for `add_instrument`.

    Works with any object: what it cannot tell is left empty, and a failing snapshot is
    recorded as the error rather than ending the run before it starts.
    """
    idn = ""
    if hasattr(type(instrument), "idn") or hasattr(instrument, "idn"):
        try:
            idn = str(instrument.idn)
        except Exception as error:
            idn = f"(*IDN? failed: {error})"
    driver = getattr(instrument, "driver", None)
    if not isinstance(driver, str):
        driver = f"{type(instrument).__module__}.{type(instrument).__qualname__}"
    resource = ""
    session = getattr(instrument, "session", None)
    transport = getattr(session, "transport", None)
    if transport is not None:
        resource = str(getattr(transport, "resource", ""))
    elif isinstance(getattr(instrument, "resource", None), str):  # adapters of foreign drivers
        resource = instrument.resource
    meanings = getattr(instrument, "status_meanings", None)
    return {
        "idn": idn,
        "driver": driver,
        "resource": resource,
        "settings": _snapshot(instrument),
        "status_meanings": dict(meanings) if isinstance(meanings, Mapping) else None,
    }


def _snapshot(instrument: Any) -> dict[str, Any]:
    snapshot = getattr(instrument, "snapshot", None)
    if not callable(snapshot):
        return {}
    try:
        return dict(snapshot())
    except Exception as error:
        return {"error": f"snapshot failed: {type(error).__name__}: {error}"}


def _in_threads(
    instruments: Mapping[str, Any], task: Any, timeout: float
) -> tuple[dict[str, Any], list[str]]:
    """Run `task(instrument)` for each instrument in its own thread; wait `timeout` in all.

    Returns the results that arrived and the names that did not finish: an instrument that
    stopped answering must not hang the start or the end of a run.
    """
    results: dict[str, Any] = {}
    lock = threading.Lock()

    def work(name: str, instrument: Any) -> None:
        result = task(instrument)
        with lock:
            results[name] = result

    threads = [
        threading.Thread(target=work, args=item, name=f"ik-snapshot-{item[0]}", daemon=True)
        for item in instruments.items()
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    with lock:
        done = dict(results)
    return done, [name for name in instruments if name not in done]


def instrument_records(
    instruments: Mapping[str, Any], *, timeout: float
) -> dict[str, dict[str, Any]]:
    """`instrument_record` of every instrument, in parallel; raises if one does not answer."""
    done, late = _in_threads(instruments, instrument_record, timeout)
    if late:
        raise Timeout(
            f"identity and settings snapshot not finished within {timeout:g} s; is it "
            "switched on and answering? (snapshot_timeout)",
            instrument=", ".join(late),
            timeout=timeout,
        )
    return done


def settings_end_snapshots(
    instruments: Mapping[str, Any], *, timeout: float
) -> dict[str, dict[str, Any]]:
    """End snapshots of `instruments`; one that does not finish in time is recorded as such."""
    done, late = _in_threads(instruments, _snapshot, timeout)
    for name in late:
        done[name] = {"error": f"end snapshot not taken within {timeout:g} s"}
    return {name: done[name] for name in instruments}
