"""`instrumentkit inspect --follow FILE`: a live view of a run file being written.

A reader like any other: it opens the file with SWMR read access and re-reads row counts,
last values, errors and status every `interval` seconds. It ends by itself when the status
leaves `running`, and when nothing in the file has changed for `stale_after` seconds (the
writer was killed or lost power, or is paused far longer than its flush interval): a view
never waits forever on a file nobody writes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from instrumentkit.acquisition import open_run

__all__ = ["FollowResult", "follow"]


@dataclass
class FollowResult:
    """How a followed run ended: its status, or 'stale' when the file stopped changing."""

    status: str
    rows: dict[str, int] = field(default_factory=dict)
    reason: str = ""


@dataclass
class _Stream:
    kind: str
    rows: int
    last: str
    rate: float = 0.0


def follow(
    path: Path,
    *,
    interval: float = 0.5,
    stale_after: float = 10.0,
    console: Console | None = None,
) -> FollowResult:
    """Show the run file at `path` until its run ends or it stops changing."""
    console = console or Console(highlight=False)
    run = _open(path, stale_after, console)
    if run is None:
        return FollowResult("stale", reason=f"{path} could not be opened for {stale_after:g} s")
    with run, Live(console=console, refresh_per_second=4, transient=False) as live:
        result = _watch(run, path, live, interval, stale_after)
    if not console.is_terminal:
        console.line()  # Live leaves its last frame without a line end off a terminal
    return result


def _watch(run: Any, path: Path, live: Live, interval: float, stale_after: float) -> FollowResult:
    before: dict[str, _Stream] = {}
    then = changed = time.monotonic()
    size = -1
    while True:
        status, reason = run.status, run.reason
        streams, errors = _read(run)
        now = time.monotonic()
        for name, stream in streams.items():
            previous = before.get(name)
            if previous is not None and now > then:
                stream.rate = (stream.rows - previous.rows) / (now - then)
        new_size = path.stat().st_size
        if new_size != size or _rows(streams) != _rows(before):
            changed = now
        before, then, size = streams, now, new_size
        quiet = now - changed
        live.update(_render(path, status, reason, streams, errors, quiet))
        if status not in ("running", "created"):
            return FollowResult(status, _rows(streams), reason)
        if quiet >= stale_after:
            return FollowResult("stale", _rows(streams), _stale_text(path, quiet))
        time.sleep(interval)


def _open(path: Path, patience: float, console: Console) -> Any:
    """Open the run file, waiting while its writer is still declaring (not yet SWMR)."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return open_run(path, lazy=True)
        except OSError:
            if time.monotonic() >= deadline:
                return None
            console.print(f"waiting for {path} to go live ...", end="\r")
            time.sleep(0.2)


def _rows(streams: dict[str, _Stream]) -> dict[str, int]:
    return {name: stream.rows for name, stream in streams.items()}


def _read(run: Any) -> tuple[dict[str, _Stream], list[str]]:
    """Rows and last values of every stream, and the last errors, as of now."""
    streams: dict[str, _Stream] = {}
    errors: list[str] = []
    for name in run.streams:
        data = run[name]
        rows = len(data)
        if name == "errors":
            for row in np.asarray(data.data[max(0, rows - 3) : rows]):
                text = [row[f].decode("utf-8", "replace") for f in ("instrument", "message")]
                errors.append(": ".join(text))
            streams[name] = _Stream("errors", rows, f"{rows} errors" if rows else "")
            continue
        if data.kind == "sweep":  # a grid: the points taken, and the latest of them
            streams[name] = _Stream("sweep", data.points_taken, _last_point(data))
            continue
        streams[name] = _Stream(data.kind, rows, _last(data, rows))
    return streams, errors


def _last_point(data: Any) -> str:
    """A sweep's latest point in a few words: where in the grid, and its signal there."""
    order = np.asarray(data.fields["order"][()])
    if order.size == 0 or order.max() < 0:
        return ""
    index = np.unravel_index(int(np.argmax(order)), order.shape)
    axes = [str(a) for a in data.attrs.get("sweep_axes", ())]
    coordinates = zip(axes, index, strict=True)
    where = [f"{a}={float(np.asarray(data.axes[a][()])[i]):.4g}" for a, i in coordinates]
    value = np.asarray(data.fields[data.signal][index])
    units = data.units.get(data.signal, "")
    if value.ndim == 0:
        where.append(f"{data.signal}={float(value):.6g}{' ' + units if units else ''}")
    return ", ".join(where)


def _last(data: Any, rows: int) -> str:
    """The last row in a few words: a reading's values, else when it came."""
    if rows == 0:
        return ""
    if data.kind == "readings":
        channels = [c for c in data.signals if c != "status"][:4]
        parts = []
        for channel in channels:
            value = float(data.fields[channel][rows - 1])
            units = data.units.get(channel, "")
            parts.append(f"{channel}={value:.6g}{' ' + units if units else ''}")
        return ", ".join(parts)
    age = time.time() - int(data.time[rows - 1]) * 1e-9
    return f"last {age:.1f} s ago"


def _render(
    path: Path,
    status: str,
    reason: str,
    streams: dict[str, _Stream],
    errors: list[str],
    quiet: float,
) -> Group:
    table = Table(box=None, pad_edge=False)
    table.add_column("stream")
    table.add_column("kind")
    table.add_column("rows", justify="right")
    table.add_column("rows/s", justify="right")
    table.add_column("last")
    for name, stream in streams.items():
        if name != "errors":
            rate = f"{stream.rate:,.1f}"
            table.add_row(name, stream.kind, f"{stream.rows:,}", rate, stream.last)
    shown = status + (f" ({reason})" if reason else "")
    head = Text(f"{path}\nstatus {shown}  (no change for {quiet:.1f} s)")
    parts: list[Any] = [head, table]
    count = streams["errors"].rows if "errors" in streams else 0
    parts.append(Text(f"errors: {count or 'none'}", style="red" if count else ""))
    parts.extend(Text(f"  {error}", style="red") for error in errors)
    return Group(*parts)


def _stale_text(path: Path, quiet: float) -> str:
    return (
        f"the file has not changed for {quiet:.1f} s while its status says running: its "
        "writer most likely stopped without closing it (killed, crashed or power loss). "
        f"The rows above are in the file; read them with open_run('{path}')"
    )
