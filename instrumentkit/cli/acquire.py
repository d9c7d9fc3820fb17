"""`instrumentkit acquire`, `inspect` and `plot`: run a config into a file, then look at it.

instrumentkit acquire examples/simulated_lab.yaml -o run.h5
instrumentkit inspect run.h5
instrumentkit plot run.h5 scope_ch1 -o scope.png
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sized
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import NoReturn

import click
from rich.console import Console

from instrumentkit.acquisition import Pipeline, RunResult
from instrumentkit.acquisition._bench import Bench, build_pipeline
from instrumentkit.acquisition._plan import Plan, plan_run
from instrumentkit.cli._inspect import inspect_command, plot_command
from instrumentkit.cli._progress import ProgressDisplay, print_summary
from instrumentkit.cli.view import live_view, require_view
from instrumentkit.sim import Lab

__all__ = ["acquire", "inspect", "plot"]

EXIT_ABORTED = 1
EXIT_INTERRUPTED = 130  # the shell's convention for "ended by SIGINT"


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


@click.command("acquire")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Run file to write (default: output.path of the config).",
)  # fmt: skip
@click.option(
    "--duration", type=click.FloatRange(min=0, min_open=True), default=None,
    callback=lambda _ctx, param, value: _finite(param, value),
    help="Stop after this many seconds (overrides stop.duration).",
)  # fmt: skip
@click.option("--overwrite", is_flag=True, help="Replace the output file if it exists.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display, only the summary.")
@click.option(
    "--check", is_flag=True,
    help="Only check the config (exit 0 if it is valid, 2 if not): no instrument, no file.",
)  # fmt: skip
@click.option(
    "--view", is_flag=True, help="Serve the run's live view on 127.0.0.1; print its address."
)
def acquire(
    config: Path,
    output: Path | None,
    duration: float | None,
    overwrite: bool,
    quiet: bool,
    check: bool,
    view: bool,
) -> None:
    """Run the instruments of CONFIG (a run config YAML) into an HDF5 run file.

    The config is checked completely before any instrument is touched. Ctrl-C stops the
    run cleanly: the file is closed, marked aborted, and the exit code is 130.
    """
    console = _console()
    pipeline: Pipeline | None = None
    with _signals_interrupt() as stop_signal:
        try:
            plan = plan_run(
                config, output=output, overwrite=overwrite or None, output_option="-o/--output"
            )
            cfg = plan.config
            if check:
                _report_check(console, plan)
                return
            if view:
                require_view()  # before any instrument is opened
            length = duration or cfg.stop.duration
            if plan.lab_spec is not None:
                where = (
                    "the default simulated lab" if cfg.lab == "default" else f"lab {plan.lab_path}"
                )
                console.print(f"Starting {where} ({len(plan.lab_spec.devices)} simulated devices)")
            with Bench(plan) as bench:
                for name, instrument in bench.instruments.items():
                    resource = plan.config.instruments[name].resource or (
                        _lab_resource(bench.lab, plan.config.instruments[name].device)
                    )
                    console.print(f"  {name:<14} {type(instrument).__name__} on {resource}")
                with _signals_held():  # the file is created here: never half made
                    pipeline = build_pipeline(plan, bench, duration=duration)
                finite = all(s.kind == "sweep" or s.count for s in plan.streams.values())
                stop = f"for {length:g} s" if length else (
                    "until every stream is done" if finite else "until Ctrl-C"
                )  # fmt: skip
                if cfg.stop.max_readings:
                    stop += f" or {cfg.stop.max_readings:,} readings"
                sources = len(pipeline.sources)
                noun = "source" if sources == 1 else "sources"
                console.print(f"Recording {sources} {noun} into {plan.output} {stop}")
                display = ProgressDisplay(
                    console if not quiet else _silent(), str(plan.output), length
                )
                with display, live_view(plan.output, console if view else None):
                    result = pipeline.run(display, raise_on_interrupt=False)
                    display(pipeline.progress(), final=True)
        except KeyboardInterrupt:
            _interrupted(pipeline, stop_signal[0] if stop_signal else signal.SIGINT)
    if result.interrupted and not pipeline.live:
        _interrupted(pipeline, signal.SIGTERM if "SIGTERM" in result.reason else signal.SIGINT)
    _finish(console, result)


def _finite(param: click.Parameter, value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number of seconds", param=param)
    return value


def _report_check(console: Console, plan: Plan) -> None:
    """What a run of this config would open and write; nothing was opened or written."""
    lab = f", lab {plan.config.lab}" if plan.config.lab else ""
    counts = f"{_count(plan.config.instruments, 'instrument')}, {_count(plan.streams, 'stream')}"
    console.print(
        f"{plan.source}: valid ({counts}{lab}; would write {plan.output}). Nothing was opened."
    )
    foreign = list(plan.foreign)
    if foreign:
        console.print(
            f"Settings of {', '.join(foreign)} are checked by their foreign drivers' own "
            "validators when opened, before any is written."
        )
    unknown = [n for n, driver in plan.drivers.items() if driver is None and n not in foreign]
    if unknown:
        console.print(
            f"Settings of {', '.join(unknown)} are checked when opened: with no driver: given, "
            "the driver is known only from *IDN?."
        )


def _count(items: Sized, noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def _lab_resource(lab: Lab | None, device: str | None) -> str:
    """How a lab device is reached from elsewhere (a lab on 0.0.0.0: this host's address)."""
    if lab is None or device is None:
        return ""
    return lab.remote_resources.get(device) or lab.resource(device)


_HOW = {signal.SIGINT: "interrupted (Ctrl-C)", signal.SIGTERM: "terminated (SIGTERM)"}


@contextmanager
def _signals_interrupt() -> Iterator[list[int]]:
    """SIGINT and SIGTERM raise KeyboardInterrupt once (the run's own handling takes
    over while it runs); later ones are ignored so the clean-up is never cut short."""
    seen: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if not seen:
            seen.append(signum)
            raise KeyboardInterrupt

    previous = {number: signal.signal(number, on_signal) for number in _HOW}
    try:
        yield seen
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back (delivered on leaving), where POSIX allows it."""
    mask = getattr(signal, "pthread_sigmask", None)
    if mask is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = mask(signal.SIG_BLOCK, set(_HOW))
    try:
        yield
    finally:
        mask(signal.SIG_SETMASK, previous)


def _interrupted(pipeline: Pipeline | None, signum: int) -> NoReturn:
    """Stopped before any record was written: no file is left, one line says so."""
    how = _HOW.get(signum, "interrupted")
    if pipeline is not None and pipeline.result is not None and pipeline.live:
        click.echo(f"instrumentkit: {how}; {pipeline.writer.path} is closed", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if pipeline is not None:
        if pipeline.result is None:
            pipeline.writer.close("aborted", "interrupted before the start")
        with contextlib.suppress(OSError):
            pipeline.writer.path.unlink()
    click.echo(f"instrumentkit: {how} before the run started; no file written", err=True)
    sys.exit(EXIT_INTERRUPTED)


def _silent() -> Console:
    return Console(file=open(os.devnull, "w"))


def _finish(console: Console, result: RunResult) -> None:
    try:
        size = os.path.getsize(result.path)
    except OSError:
        size = 0
    print_summary(console, result, size)
    if result.interrupted:
        sys.exit(EXIT_INTERRUPTED)
    if result.status != "completed":
        sys.exit(EXIT_ABORTED)


inspect = inspect_command
plot = plot_command
