"""What `instrumentkit acquire` shows while it runs and when it ends.

On a terminal: a live panel (rich) redrawn a few times a second. Anywhere else (a log
file, CI): one plain line per second, so the output stays readable when captured.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from instrumentkit.acquisition import Progress, RunResult

_STATUS_STYLE = {
    "running": "green",
    "starting": "yellow",
    "finished": "cyan",
    "stopped": "cyan",
    "failed": "bold red",
}


def size_text(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


class ProgressDisplay:
    """Receives Progress snapshots from the pipeline and shows them."""

    def __init__(self, console: Console, path: str, duration: float | None) -> None:
        self.console = console
        self.path = path
        self.duration = duration
        self.live: Live | None = None
        self._last_line = 0.0
        self._latest: Progress | None = None

    def __enter__(self) -> ProgressDisplay:
        if self.console.is_terminal:
            self.live = Live(console=self.console, refresh_per_second=4, transient=False)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.live is not None:
            if self._latest is not None:
                self.live.update(self._render(self._latest))
            self.live.__exit__(*exc)

    def __call__(self, progress: Progress, *, final: bool = False) -> None:
        self._latest = progress
        if self.live is not None:
            self.live.update(self._render(progress))
            return
        now = time.monotonic()
        if now - self._last_line >= 1.0 and not final:
            self._last_line = now
            self.console.print(self._line(progress), highlight=False)

    def _headline(self, progress: Progress) -> str:
        of = f" / {self.duration:g} s" if self.duration else ""
        return (
            f"{progress.elapsed:6.1f} s{of}  {progress.total_rows:,} readings  "
            f"{progress.rate:,.0f}/s  {size_text(progress.file_size)}"
        )

    def _line(self, progress: Progress) -> str:
        states = ", ".join(
            f"{name} {state.status}" + (f" ({state.errors} errors)" if state.errors else "")
            for name, state in progress.sources.items()
        )
        return f"[{self._headline(progress)}] {states}"

    def _render(self, progress: Progress) -> Group:
        title = Text.assemble(("Recording ", "bold"), (self.path, "bold cyan"), "  ")
        title.append(self._headline(progress))
        table = Table(box=None, pad_edge=False, show_edge=False)
        for column in ("instrument", "status", "polls", "errors", "last error"):
            table.add_column(column, no_wrap=column != "last error")
        for name, state in progress.sources.items():
            style = _STATUS_STYLE.get(state.status, "")
            table.add_row(
                name,
                Text(state.status, style=style),
                f"{state.polls:,}",
                str(state.errors) if state.errors else "",
                state.last_error[:80],
            )
        streams = "  ".join(f"{name} {rows:,}" for name, rows in progress.rows.items())
        return Group(title, table, Text(f"rows: {streams}", style="dim"))


def print_summary(console: Console, result: RunResult, file_size: int) -> None:
    """The end of a run, for a reader who has never seen instrumentkit."""
    from instrumentkit.acquisition import open_run

    word = {"completed": "[bold green]completed[/]", "aborted": "[bold red]aborted[/]"}
    console.print()
    console.print(f"Run {word.get(result.status, result.status)}: {result.reason}")
    console.print(f"  file     {result.path} ({size_text(file_size)})")
    console.print(f"  elapsed  {result.elapsed:.1f} s")
    table = Table("stream", "kind", "rows", "shape per row", "units", box=None, pad_edge=False)
    with open_run(result.path, lazy=True) as run:
        status = run.status
        for name in run.streams:
            if name == "errors":
                continue
            stream = run[name]
            signal = stream.fields[stream.signal]
            shape = tuple(signal.shape[1:])
            units = stream.units.get(stream.signal, "")
            if stream.kind == "readings":
                shape = (len(stream.signals),)
                units = ", ".join(
                    f"{s} [{stream.units.get(s, '')}]" for s in stream.signals if s != "status"
                )
            rows = f"{len(stream):,}"
            if stream.kind == "sweep":  # a grid: points taken of the grid's shape
                rows, shape = f"{stream.points_taken:,} points", tuple(signal.shape)
            table.add_row(name, stream.kind, rows, str(shape), Text(units))
    console.print(table)
    if result.errors:
        console.print(f"  [red]{len(result.errors)} instrument error(s)[/], logged in the file:")
        for event in result.errors[:5]:
            console.print(
                f"    {event.instrument}: {event.error}: {event.message} ({event.action})"
            )
    if status != result.status:  # never expected: say so rather than hide it
        console.print(f"  [red]the file says status {status!r}[/]")
    first = next((n for n in result.rows if n != "errors"), None)
    console.print()
    console.print(f"Look inside:  instrumentkit inspect {result.path}")
    if first:
        console.print(f"Plot:         instrumentkit plot {result.path} {first} -o {first}.png")
