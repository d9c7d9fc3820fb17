"""`instrumentkit inspect FILE` and `instrumentkit plot FILE STREAM`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click
import numpy as np

from instrumentkit.acquisition import open_run
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
                "rows": len(stream),
                "instrument": str(stream.attrs.get("instrument", "")),
                "signal": stream.signal,
                "datasets": datasets,
            }
        errors = []
        if "errors" in run.streams and streams["errors"]["rows"]:
            log = run["errors"]
            table = np.asarray(log.data[:])
            for row in table:
                errors.append({f: row[f].decode("utf-8", "replace") for f in table.dtype.names})
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
        }


def _iso(moment: Any) -> str | None:
    return None if moment is None else moment.isoformat()


@click.command("inspect")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a tree.")
def inspect_command(path: Path, as_json: bool) -> None:
    """Show what a run file holds: status, instruments, streams, shapes and units."""
    info = describe_run(path)
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    status = info["status"] + (f" ({info['reason']})" if info["reason"] else "")
    lines = [
        f"{path}  {size_text(info['size_bytes'])}",
        f"  status   {status}",
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
        lines.append(f"  {name}: {stream['kind']}, {stream['rows']:,} rows")
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


@click.command("plot")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("stream")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Image file to write (.png, .pdf, .svg; default: <stream>.png).",
)  # fmt: skip
@click.option(
    "--record", type=int, default=-1, show_default=True,
    help="Which waveform or spectrum to plot (0 = first, -1 = last).",
)  # fmt: skip
def plot_command(path: Path, stream: str, output: Path | None, record: int) -> None:
    """Plot STREAM of a run file into an image (no display needed)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise click.ClickException(
            "plot needs matplotlib: pip install 'instrumentkit[plot]'"
        ) from None
    target = output or Path(f"{stream}.png")
    with open_run(path) as run:
        if stream not in run.streams:
            names = ", ".join(s for s in run.streams if s != "errors") or "none"
            raise click.ClickException(f"{path} has no stream {stream!r}; streams: {names}")
        data = run[stream]
        channels = [c for c in data.signals if c != "status"] if data.kind == "readings" else []
        panels = len(channels) if 1 < len(channels) <= 8 else 1
        figure, grid = plt.subplots(
            panels, 1, figsize=(9, 3 + 1.6 * panels), layout="constrained", sharex=True,
            squeeze=False,
        )  # fmt: skip
        panes = list(grid[:, 0])
        try:
            title = _draw(panes, data, record)
        except (TypeError, IndexError) as error:
            plt.close(figure)
            raise click.ClickException(str(error)) from None
        panes[0].set_title(f"{path.name}: {title}")
        for pane in panes:
            pane.grid(alpha=0.3)
        figure.savefig(target, dpi=120)
        plt.close(figure)
    click.echo(f"wrote {target}")


def _label(name: str, units: str) -> str:
    return f"{name} ({units})" if units else name


def _draw(panes: list[Any], data: Any, record: int) -> str:
    kind = data.kind
    rows = len(data)
    if rows == 0:
        raise TypeError(f"stream {data.name!r} has no rows yet")
    axes = panes[0]
    if kind == "readings":
        seconds = (data.time - data.time[0]) * 1e-9
        channels = [s for s in data.signals if s != "status"]
        for index, channel in enumerate(channels):
            pane = panes[index] if len(panes) > 1 else axes
            values = np.asarray(data.fields[channel], dtype=np.float64)
            pane.plot(seconds, values, label=_label(channel, data.units[channel]))
            if len(panes) > 1 or len(channels) == 1:
                pane.set_ylabel(_label(channel, data.units[channel]))
            finite = values[np.isfinite(values)]
            if finite.size and finite.min() > 0 and finite.max() / finite.min() > 100:
                pane.set_yscale("log")  # pressures, resistances: decades apart
        panes[-1].set_xlabel("time since the first reading (s)")
        if len(channels) > 1 and len(panes) == 1:
            axes.legend()
        return f"{data.name}, {rows:,} readings"
    index = record if -rows <= record < rows else None
    if index is None:
        raise IndexError(f"stream {data.name!r} has {rows} records; --record {record} is outside")
    if kind == "waveforms":
        axes.plot(data.sample_times()[index], data.fields["y"][index])
        axes.set_xlabel(_label("time", data.units.get("x0", "s")))
        axes.set_ylabel(_label(data.name, data.units.get("y", "")))
        return f"{data.name}, waveform {index % rows} of {rows}"
    if kind == "spectra":
        axes.plot(data.axes["wavelength"], data.fields["intensities"][index])
        axes.set_xlabel(_label("wavelength", data.units.get("wavelength", "")))
        axes.set_ylabel(_label("intensity", data.units.get("intensities", "")))
        return f"{data.name}, spectrum {index % rows} of {rows}"
    values = np.asarray(data.data[index])
    if values.dtype.names is not None or values.ndim != 1:
        raise TypeError(f"stream {data.name!r} holds {values.dtype} rows of shape {values.shape}; "
                        "only 1-D numeric rows can be plotted")  # fmt: skip
    axes.plot(values)
    axes.set_xlabel("index")
    axes.set_ylabel(_label(data.name, data.units.get("data", "")))
    return f"{data.name}, row {index % rows} of {rows}"
