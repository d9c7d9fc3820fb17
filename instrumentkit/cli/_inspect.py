"""`instrumentkit inspect FILE` (`plot` lives in _plot.py, re-exported here)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import click
import numpy as np

from instrumentkit.acquisition import open_run
from instrumentkit.cli._plot import plot_command
from instrumentkit.cli._progress import size_text

__all__ = ["describe_run", "inspect_command", "plot_command"]


def _dataset_info(dataset: Any, units: str, long_name: str) -> dict[str, Any]:
    return {
        "shape": list(dataset.shape),
        "dtype": str(dataset.dtype),
        "units": units,
        "long_name": long_name,
    }


def describe_run(path: Path) -> dict[str, Any]:
    """Everything `inspect` shows, as plain data (what --json prints)."""
    with open_run(path, lazy=True) as run:
        streams: dict[str, Any] = {}
        for name in run.streams:
            stream = run[name]
            datasets = {
                key: _dataset_info(ds, stream.units.get(key, ""), stream.long_names.get(key, ""))
                for key, ds in {**stream.fields, **stream.axes}.items()
            }
            streams[name] = {
                "kind": stream.kind,
                "rows": stream.points_taken if stream.kind == "sweep" else len(stream),
                "instrument": str(stream.attrs.get("instrument", "")),
                "signal": stream.signal,
                "datasets": datasets,
            }
        errors = []
        if "errors" in run.streams and streams["errors"]["rows"]:
            log = run["errors"]
            table = np.asarray(log.data[:])
            for row in table:
                errors.append({f: _plain(row[f]) for f in table.dtype.names})
        return {
            "path": str(path),
            "size_bytes": os.path.getsize(path),
            "status": run.status,
            "reason": run.reason,
            "entry_identifier": run.entry_identifier,
            "start_time": _iso(run.start_time),
            "end_time": _iso(run.end_time),
            "program_version": run.program_version,
            "instruments": {
                name: {"idn": r.idn, "driver": r.driver, "resource": r.resource}
                for name, r in run.instruments.items()
            },
            "streams": streams,
            "errors": errors,
            "last_change_s": round(time.time() - os.path.getmtime(path), 3),
        }


def _iso(moment: Any) -> str | None:
    return None if moment is None else moment.isoformat()


STALE_AFTER = 10.0
"""Seconds without a change after which a `running` file is taken for one whose writer died."""


def _running_lines(path: Path, info: dict[str, Any]) -> list[str]:
    """What `status=running` means for this file: being written now, or its writer died."""
    quiet = info["last_change_s"]
    if quiet < STALE_AFTER:
        return [
            f"  status   running: being written now (last change {quiet:.1f} s ago)",
            f"           follow it live: instrumentkit inspect --follow {path}",
        ]
    rows = ", ".join(f"{name} {stream['rows']:,} rows" for name, stream in info["streams"].items())
    return [
        f"  status   running, but the file has not changed for {_age(quiet)}: its writer",
        "           stopped without closing it (killed, crashed or power loss), or is paused",
        f"           the file holds what was flushed before: {rows or 'no streams'}",
        f"           read it with open_run('{path}') or h5py.File('{path}', 'r', swmr=True)",
    ]


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@click.command("inspect")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a tree.")
@click.option(
    "--follow", is_flag=True,
    help="Live view of a file being written (rows, rates, last values, errors); ends with the run.",
)  # fmt: skip
@click.option(
    "--interval", type=click.FloatRange(min=0.05), default=0.5, show_default=True,
    help="Seconds between refreshes with --follow.",
)  # fmt: skip
@click.option(
    "--stale-after", type=click.FloatRange(min=0.1), default=STALE_AFTER, show_default=True,
    help="With --follow: stop when the file has not changed for this long (writer died).",
)  # fmt: skip
def inspect_command(
    path: Path, as_json: bool, follow: bool, interval: float, stale_after: float
) -> None:
    """Show what a run file holds: status, instruments, streams, shapes and units."""
    if follow:
        _follow(path, interval, stale_after)
        return
    try:
        info = describe_run(path)
    except ValueError as error:  # not a run file: say so in one line
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    status = info["status"] + (f" ({info['reason']})" if info["reason"] else "")
    running = info["status"] == "running"
    lines = [
        f"{path}  {size_text(info['size_bytes'])}",
        *(_running_lines(path, info) if running else [f"  status   {status}"]),
        f"  run id   {info['entry_identifier']}",
        f"  started  {info['start_time']}",
        f"  ended    {info['end_time'] or '(not ended: still running, or the writer died)'}",
        f"  written  by instrumentkit {info['program_version']}",
        "instruments",
    ]
    for name, record in info["instruments"].items():
        lines.append(f"  {name}: {record['driver'].rsplit('.', 1)[-1]}  {record['idn']}")
        if record["resource"]:
            lines.append(f"    resource {record['resource']}")
    if not info["instruments"]:
        lines.append("  (none recorded)")
    lines.append("streams (NXdata groups of /entry)")
    for name, stream in info["streams"].items():
        count = "points" if stream["kind"] == "sweep" else "rows"
        lines.append(f"  {name}: {stream['kind']}, {stream['rows']:,} {count}")
        for key, ds in stream["datasets"].items():
            shape = "x".join(str(n) for n in ds["shape"]) or "scalar"
            units = f" [{ds['units']}]" if ds["units"] else ""
            mark = " (signal)" if key == stream["signal"] else ""
            dtype = "compound" if ds["dtype"].startswith("[") else ds["dtype"]
            lines.append(f"    {key:<18} {shape:>14} {dtype:<10}{units}{mark}")
    lines.append(f"errors: {len(info['errors']) or 'none'}")
    for error in info["errors"][:20]:
        lines.append(f"  {error['instrument']}: {error['error']}: {error['message']}")
    click.echo("\n".join(lines))


def _follow(path: Path, interval: float, stale_after: float) -> None:
    from instrumentkit.cli._follow import follow

    try:
        result = follow(path, interval=interval, stale_after=stale_after)
    except ValueError as error:  # not a run file
        raise click.ClickException(str(error)) from None
    if result.status == "stale":
        raise click.ClickException(result.reason)
    ended = result.status + (f" ({result.reason})" if result.reason else "")
    click.echo(f"run ended: {ended}")


def _plain(value: Any) -> Any:
    """A field of the errors table as JSON takes it: text decoded, codes as int."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value.item() if isinstance(value, np.generic) else value
