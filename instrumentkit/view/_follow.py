"""Follow one run file through SWMR: the run's state and each stream's rows, for the page.

The file is opened with `open_run(lazy=True)` (SWMR read, every access refreshed), so the
follower is a reader like any other: it never writes and never opens another path. A file
still being created (not yet in SWMR mode) cannot be opened: the follower says `waiting`
and tries again on the next poll.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from instrumentkit.acquisition import RunFile, StreamData, open_run
from instrumentkit.acquisition._layout import TIME
from instrumentkit.view._heatmap import Region
from instrumentkit.view._streams import Columns, plot_payload
from instrumentkit.view._sweeps import Plane, grid_progress, is_grid

__all__ = ["FINAL", "RunFollower"]

FINAL = frozenset(("completed", "aborted", "failed"))
"""States after which the file no longer changes: the page stops following."""
RATE_ROWS = 50
"""Rows over which a stream's rate is measured (the newest ones)."""


@dataclass
class _StreamState:
    data: StreamData
    kind: str
    instrument: str
    rows: int = 0
    last_time: float | None = None
    rate: float | None = None
    columns: Columns = field(default_factory=Columns)
    payload_key: tuple[Any, ...] | None = None
    payload: dict[str, Any] | None = None
    driver: str | None = None


class RunFollower:
    """Thread-safe view of one run file as it grows; `snapshot()` and `stream()` for the page."""

    def __init__(self, path: str | Path, *, stale_after: float | None = None) -> None:
        self.path = Path(path)
        self._stale_after = stale_after
        self._lock = threading.Lock()
        self._run: RunFile | None = None
        self._config: dict[str, Any] = {}
        self._streams: dict[str, _StreamState] = {}
        self._open_error = ""
        self._description_text = ""
        self._ended: tuple[str, str, datetime | None, datetime | None] = ("", "", None, None)
        self.listeners = 0
        """Pages following the run's events now (they leave once the run has ended)."""
        self.last_request = 0.0
        """When a page last asked for a stream's plot (time.monotonic)."""

    # -- file ------------------------------------------------------------------------------
    def _open(self) -> RunFile | None:
        if self._run is not None:
            return self._run
        try:
            self._run = open_run(self.path, lazy=True)
        except (OSError, ValueError) as error:
            # Created but not yet in SWMR mode (the writer holds it), or not there yet.
            self._open_error = str(error)
            return None
        try:
            loaded = yaml.safe_load(self._run.config_text or "") or {}
        except yaml.YAMLError:
            loaded = {}
        self._config = loaded if isinstance(loaded, dict) else {}
        return self._run

    @property
    def flush_interval(self) -> float:
        output = self._config.get("output")
        value = output.get("flush_interval") if isinstance(output, dict) else None
        return float(value) if isinstance(value, (int, float)) and value > 0 else 1.0

    def _stream_kind(self, name: str, data: StreamData) -> str:
        """The file's kind, or `sweep` for a readings stream the run config declared a sweep."""
        streams = self._config.get("streams")
        declared = streams.get(name) if isinstance(streams, dict) else None
        if isinstance(declared, dict) and declared.get("kind") == "sweep":
            return "sweep"
        return data.kind

    # -- run state -------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """Status, reason, elapsed time, description and per-stream rows/rates (JSON-ready)."""
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> dict[str, Any]:
        now = time.time()
        run = self._open()
        if run is None:
            return {
                "file": self.path.name, "status": "waiting", "state": "waiting",
                "reason": f"the run file cannot be opened yet: {self._open_error}",
                "final": False, "elapsed": None, "description": "", "streams": {},
                "flush_interval": None, "now": now,
            }  # fmt: skip
        status = run.status
        if status != self._ended[0]:  # the rest changes only with the status
            self._ended = (status, run.reason, run.start_time, run.end_time)
        _, reason, start, end = self._ended
        streams: dict[str, Any] = {}
        newest: float | None = None
        if not self._streams:  # declared before SWMR started: read once, then only rows
            for name in run.streams:
                data = run[name]
                self._streams[name] = _StreamState(
                    data=data, kind=self._stream_kind(name, data),
                    instrument=str(data.attrs.get("instrument", "")),
                )  # fmt: skip
            self._description_text = self._description(run)
        for name, state in self._streams.items():
            self._refresh(state)
            newest = max(newest or 0.0, state.last_time or 0.0) or None
            streams[name] = {
                "kind": state.kind,
                "rows": state.rows,
                "last_time": state.last_time,
                "rate": state.rate,
                "instrument": state.instrument,
            }
        started = start.timestamp() if start else None
        state_name, final = status, status in FINAL
        if status == "running":
            quiet = now - (newest or started or now)
            if quiet > self.stale_after:
                state_name = "stopped"
                reason = (
                    f"nothing written for {quiet:.0f} s and the file was not closed: the "
                    "writer was killed or died (or its instruments are very slow)"
                )
        if end is not None and started is not None:
            elapsed = end.timestamp() - started
        elif state_name == "stopped" and started is not None:
            elapsed = (newest or started) - started
        else:
            elapsed = None if started is None else now - started
        return {
            "file": self.path.name,
            "status": status,
            "state": state_name,
            "reason": reason,
            "final": final,
            "start_time": start.isoformat() if start else None,
            "end_time": end.isoformat() if end else None,
            "elapsed": elapsed,
            "description": self._description_text,
            "flush_interval": self.flush_interval,
            "streams": streams,
            "now": now,
        }

    @property
    def stale_after(self) -> float:
        """Seconds without a new row after which a `running` file is shown as stopped."""
        if self._stale_after is not None:
            return self._stale_after
        return max(5.0, 3 * self.flush_interval)

    def _description(self, run: RunFile) -> str:
        try:
            text = run.metadata.get("description", "")
        except (json.JSONDecodeError, AttributeError):
            text = ""
        return str(text or self._config.get("description", "") or "")

    def _refresh(self, state: _StreamState) -> None:
        """Re-read the stream's extents (a SWMR refresh per row dataset: microseconds)."""
        if is_grid(state.data):  # a grid's extents never change: count the points taken
            state.rows, state.last_time, state.rate = grid_progress(state.data)
            return
        fields = state.data.fields
        fields[TIME].refresh()
        if int(fields[TIME].shape[0]) == state.rows:
            return  # every field already had these rows: nothing new (the common case)
        for dataset in fields.values():
            dataset.refresh()
        rows = min((int(ds.shape[0]) for ds in fields.values()), default=0)
        if rows != state.rows:
            state.rows = rows
            times = np.asarray(fields[TIME][max(0, rows - RATE_ROWS) : rows], dtype=np.float64)
            times /= 1e9
            state.last_time = float(times[-1]) if times.size else None
            span = float(times[-1] - times[0]) if times.size > 1 else 0.0
            state.rate = (times.size - 1) / span if span > 0 else None

    # -- plots -----------------------------------------------------------------------------
    def streams(self) -> tuple[str, ...]:
        with self._lock:
            run = self._open()
            return () if run is None else run.streams

    def stream(
        self,
        name: str,
        width: int,
        lo: float | None = None,
        hi: float | None = None,
        region: Region | None = None,
        field: str | None = None,
        plane: Plane | None = None,
    ) -> dict[str, Any]:
        """What the page draws for one stream, decimated to `width` pixel columns.

        Raises KeyError for a stream the file does not hold, ValidationError for a range,
        region, field or plane the stream cannot show.
        """
        self.last_request = time.monotonic()
        with self._lock:
            if not self._streams:
                self._snapshot()
            run, state = self._run, self._streams.get(name)
            if run is None or state is None:
                raise KeyError(name)
            self._refresh(state)
            key = (state.rows, width, lo, hi, region, field, plane)
            if state.payload_key == key and state.payload is not None:
                return state.payload
            # The handles opened once, refreshed above: a second handle on a dataset while
            # one is refreshed reads stale chunks (HDF5 1.14 SWMR), so never open another.
            data = state.data
            kind = state.kind
            if state.driver is None:
                record = run.instruments.get(state.instrument)
                state.driver = record.driver if record else ""
            payload = plot_payload(
                data,
                kind,
                state.columns,
                state.rows,
                width,
                lo,
                hi,
                state.driver,
                region,
                field,
                plane,
            )
            payload.update(name=name, kind=kind, rows=state.rows, last_time=state.last_time)
            state.payload_key, state.payload = key, payload
            return payload

    def close(self) -> None:
        with self._lock:
            if self._run is not None:
                self._run.close()
                self._run = None
