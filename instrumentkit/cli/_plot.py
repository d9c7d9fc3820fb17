"""`instrumentkit plot FILE STREAM`: one stream of a run file into an image.

Readings whose instrument flagged them (status code not 0) are shown as such: a mark at
the bottom of the panel at each flagged time and a note with the codes' meanings, so a
panel left empty by NaN readings says why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np

from instrumentkit.acquisition import open_run
from instrumentkit.cli._status import describe_code, status_meanings

__all__ = ["plot_command"]


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
    target = _image_path(output or Path(f"{stream}.png"))
    try:
        run = open_run(path)
    except ValueError as error:  # not a run file
        raise click.ClickException(str(error)) from None
    with run:
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
            title = _draw(panes, data, record, _meanings(run, data))
        except (TypeError, IndexError) as error:
            plt.close(figure)
            raise click.ClickException(str(error)) from None
        panes[0].set_title(f"{path.name}: {title}")
        for pane in panes:
            pane.grid(alpha=0.3)
        figure.savefig(target, dpi=120)
        plt.close(figure)
    click.echo(f"wrote {target}")


def _image_path(target: Path) -> Path:
    """`target`, refused before any work if matplotlib cannot write its format; without a
    suffix matplotlib writes PNG and adds `.png`, so say that name."""
    from matplotlib.backend_bases import FigureCanvasBase

    if not target.suffix:
        return target.with_name(target.name + ".png")
    formats = FigureCanvasBase.get_supported_filetypes()
    if target.suffix[1:].lower() not in formats:
        raise click.ClickException(
            f"cannot write {target}: matplotlib writes images as "
            f"{', '.join('.' + f for f in sorted(formats))}; give -o one of those"
        )
    return target


def _label(name: str, units: str) -> str:
    return f"{name} ({units})" if units else name


def _meanings(run: Any, data: Any) -> tuple[dict[int, str], bool]:
    """The stream's status meanings: from the file's flag attributes, else known ones."""
    if "status" not in data.fields:
        return {}, False
    record = run.instruments.get(str(data.attrs.get("instrument", "")))
    with open_run(run.path, lazy=True) as lazy:  # h5py datasets: their attributes
        attrs = dict(lazy[data.name].fields["status"].attrs)
    return status_meanings(attrs, record.driver if record else "")


def _mark_flagged(
    pane: Any, seconds: Any, values: Any, codes: Any, meanings: tuple[dict[int, str], bool]
) -> None:
    """Marks along the bottom at every reading the instrument flagged, and a note saying
    what the codes mean (in the middle of the panel when no reading is valid)."""
    flagged = codes != 0
    if not flagged.any():
        return
    from matplotlib.transforms import blended_transform_factory

    along_bottom = blended_transform_factory(pane.transData, pane.transAxes)
    pane.plot(
        seconds[flagged], np.full(int(flagged.sum()), 0.04), transform=along_bottom,
        linestyle="none", marker="|", markersize=14, markeredgewidth=1.5, color="tab:red",
        label="flagged by the instrument",
    )  # fmt: skip
    found, counts = np.unique(codes[flagged], return_counts=True)
    notes = [
        f"{count:,} of {len(codes):,} readings flagged: {describe_code(int(code), *meanings)}"
        for code, count in zip(found, counts, strict=True)
    ]
    nothing_valid = not np.isfinite(values[~flagged]).any()
    if nothing_valid:
        notes.insert(0, "no valid reading to plot")
        pane.set_yticks([])  # an empty scale would only suggest values
    pane.text(
        0.5, 0.5 if nothing_valid else 0.96, "\n".join(notes), transform=pane.transAxes,
        ha="center", va="center" if nothing_valid else "top", color="tab:red",
        fontsize=10 if nothing_valid else 8,
        bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "tab:red", "alpha": 0.9},
    )  # fmt: skip


def _draw(panes: list[Any], data: Any, record: int, meanings: tuple[dict[int, str], bool]) -> str:
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
            if "status" in data.fields:
                codes = np.asarray(data.fields["status"])[:, index]
                _mark_flagged(pane, seconds, values, codes, meanings)
            if len(panes) > 1 or len(channels) == 1:
                pane.set_ylabel(_label(channel, data.units[channel]))
            finite = values[np.isfinite(values)]
            if finite.size and finite.min() > 0 and finite.max() / finite.min() > 100:
                pane.set_yscale("log")  # pressures, resistances: decades apart
        panes[-1].set_xlabel("time since the first reading (s)")
        if len(channels) > 1 and len(panes) == 1:
            axes.legend()
        return f"{data.name}, {rows:,} readings"
    if kind == "sweep":
        return _draw_sweep(axes, data)
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
    if kind == "axis_arrays":
        return _draw_axis_array(axes, data, index, rows)
    values = np.asarray(data.data[index])
    if values.dtype.names is not None or values.ndim != 1:
        raise TypeError(f"stream {data.name!r} holds {values.dtype} rows of shape {values.shape}; "
                        "only 1-D numeric rows can be plotted")  # fmt: skip
    axes.plot(values)
    axes.set_xlabel("index")
    axes.set_ylabel(_label(data.name, data.units.get("data", "")))
    return f"{data.name}, row {index % rows} of {rows}"


def _draw_axis_array(pane: Any, data: Any, index: int, rows: int) -> str:
    """An AxisArray record against its own axes: a curve (1-D) or a colour map (2-D)."""
    names = [str(name) for name in data.attrs.get("axes", ())][1:]
    values = np.asarray(data.data[index])
    value_label = _label(data.long_names.get("data") or data.name, data.units.get("data", ""))
    if len(names) == 1:
        pane.plot(np.asarray(data.axes[names[0]]), values)
        pane.set_ylabel(value_label)
    elif len(names) == 2:
        mesh = pane.pcolormesh(np.asarray(data.axes[names[1]]), np.asarray(data.axes[names[0]]),
                               values, shading="auto")  # fmt: skip
        pane.figure.colorbar(mesh, ax=pane, label=value_label)
        pane.set_ylabel(_label(names[0], data.units.get(names[0], "")))
    else:
        raise TypeError(f"stream {data.name!r} has {len(names)} axes; only 1 or 2 can be plotted")
    pane.set_xlabel(_label(names[-1], data.units.get(names[-1], "")))
    return f"{data.name}, record {index % rows} of {rows}"


def _draw_sweep(pane: Any, data: Any) -> str:
    """A sweep's signal over its axes: a curve (1-D) or a colour map (2-D), gaps where no
    point was taken."""
    names = [str(name) for name in data.attrs.get("sweep_axes", ())]
    values = np.asarray(data.fields[data.signal], dtype=np.float64)
    value_label = _label(data.signal, data.units.get(data.signal, ""))
    taken = data.points_taken
    if values.ndim != len(names) or len(names) > 2:
        raise TypeError(f"stream {data.name!r}: {data.signal} is {values.ndim}-D over "
                        f"{len(names)} sweep axes; only 1-D or 2-D grids of numbers can be "
                        "plotted (use open_run(...).to_xarray() for the rest)")  # fmt: skip
    if len(names) == 1:
        pane.plot(np.asarray(data.axes[names[0]]), values, marker=".")
        pane.set_ylabel(value_label)
    else:
        mesh = pane.pcolormesh(np.asarray(data.axes[names[1]]), np.asarray(data.axes[names[0]]),
                               values, shading="auto")  # fmt: skip
        pane.figure.colorbar(mesh, ax=pane, label=value_label)
        pane.set_ylabel(_label(names[0], data.units.get(names[0], "")))
    pane.set_xlabel(_label(names[-1], data.units.get(names[-1], "")))
    return f"{data.name}, {taken:,} of {values.size:,} points"
