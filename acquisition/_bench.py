"""Open what a plan says (the simulated lab, the instruments, their settings), build the
pipeline, run it, close everything: `run_pipeline("run.yaml")`.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable
from types import TracebackType
from typing import Any

import numpy as np

from instrumentkit.adapters import open_foreign
from instrumentkit.errors import ConfigError, ValidationError
from instrumentkit.instrument import Instrument
from instrumentkit.interfaces import Oscilloscope, Sensor, Spectrometer
from instrumentkit.registry import open as open_instrument

from ._config import InstrumentConfig, RunConfig, StreamConfig
from ._pipeline import Pipeline, Progress, RunResult, Stop
from ._plan import Plan, apply_settings, check_settings, plan_run, values_of
from ._runner import ErrorPolicy
from ._safety import apply_safe_limits
from ._sources import ScopeSource, SensorSource, Source, SpectrumSource
from ._stage_config import build_stages
from ._sweep import SweepSource
from ._sweep_axes import check_axis_values, resolve_axis
from ._sweep_grid import SweepAxis
from ._sweep_read import ReadSpecError, provides, readers_for
from ._writer import RunWriter

__all__ = ["Bench", "build_pipeline", "provides", "run_pipeline"]

_KIND_OF = {Sensor: "readings", Oscilloscope: "waveforms", Spectrometer: "spectra"}


# -- the bench ----------------------------------------------------------------------------
class Bench:
    """The lab (if any) and the opened, set-up instruments of a plan; closes them all."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.lab: Any = None
        self.instruments: dict[str, Any] = {}

    def open(self) -> Bench:
        try:
            if self.plan.lab_spec is not None:
                from instrumentkit.sim import Lab

                self.lab = Lab(self.plan.lab_spec).start()
            for name, config in self.plan.config.instruments.items():
                self.instruments[name] = self._open_one(name, config)
            for name, config in self.plan.config.instruments.items():
                instrument = self.instruments[name]
                if name in self.plan.foreign:  # its own validators, then the writes
                    instrument.apply_settings(config.settings, field=f"instruments.{name}.settings")
                    continue
                if self.plan.drivers[name] is None and isinstance(instrument, Instrument):
                    check_settings(self.plan, name, type(instrument), config.settings)
                try:
                    apply_safe_limits(name, instrument, config.safe_limits)
                except ValidationError as error:
                    raise self.plan.error(f"instruments.{name}.safe_limits", error.detail) from None
                apply_settings(name, instrument, config.settings)
        except BaseException:
            self.close()
            raise
        return self

    def _open_one(self, name: str, config: InstrumentConfig) -> Any:
        resource = config.resource
        if config.device is not None:
            resource = self.lab.resource(config.device)
        assert resource is not None
        cls = self.plan.drivers[name]
        options: dict[str, Any] = dict(config.options)
        if name in self.plan.foreign:
            return open_foreign(
                self.plan.foreign[name], resource, name=name, timeout=options.get("timeout"),
                channels=config.channels or (), units=config.units,
            )  # fmt: skip
        if cls is not None:
            return cls.open(resource, name=name, **options)
        return open_instrument(resource, name=name, **options)

    def close(self) -> None:
        for instrument in reversed(list(self.instruments.values())):
            with contextlib.suppress(Exception):  # best effort: the run file is closed
                instrument.close()
        self.instruments.clear()
        if self.lab is not None:
            self.lab.close()
            self.lab = None

    def __enter__(self) -> Bench:
        return self.open()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def build_pipeline(plan: Plan, bench: Bench, *, duration: float | None = None) -> Pipeline:
    """Sources, stages and policies for an open bench, writing to a new run file."""
    cfg = plan.config
    sources: list[Source] = []
    stages: dict[str, list[Any]] = {}
    for name, stream in plan.streams.items():
        source = _source(plan, bench, name, stream)
        sources.append(source)
        if stream.stages:
            for output in source.streams:
                stages[output] = build_stages(stream.stages)
    policies = {
        name: ErrorPolicy(i.on_error.action, i.on_error.max_errors, i.on_error.check_interval)
        for name, i in cfg.instruments.items()
    }
    for source in sources:
        if isinstance(source, SweepSource) and source.instrument not in cfg.instruments:
            policies[source.instrument] = _sweep_policy(plan, plan.streams[source.streams[0]])
    stop = Stop(duration=duration or cfg.stop.duration, max_readings=cfg.stop.max_readings)
    writer = RunWriter(
        plan.output,
        overwrite=True,  # checked (with the config's or the caller's choice) in plan_run
        flush_interval=cfg.output.flush_interval,
        fsync=cfg.output.fsync,
        compression=cfg.output.compression,
        config_text=plan.text,
        metadata={"description": cfg.description, **cfg.metadata},
    )
    return Pipeline(
        sources, writer, stop=stop, instruments=bench.instruments, stages=stages,
        on_error=policies, monotonic=cfg.output.monotonic_clock,
        first_record_timeout=cfg.stop.first_record_timeout,
    )  # fmt: skip


def _source(plan: Plan, bench: Bench, name: str, stream: StreamConfig) -> Source:
    if stream.kind == "sweep":
        return _sweep_source(plan, bench, name, stream)
    assert stream.instrument is not None
    instrument = bench.instruments[stream.instrument]
    kind = stream.kind or _kind_of(instrument)
    field = f"streams.{name}"
    common: dict[str, Any] = {"rate": stream.rate, "instrument": stream.instrument}
    required = {"readings": Sensor, "waveforms": Oscilloscope, "spectra": Spectrometer}[kind]
    if not provides(instrument, required):
        raise plan.error(
            f"{field}.instrument", f"{stream.instrument!r} is not a {required.__name__}"
        )
    if kind == "readings":
        return SensorSource(
            instrument, stream=name, batch=stream.batch, count=stream.count, **common
        )
    if kind == "waveforms":
        return ScopeSource(instrument, stream.channels or [1], stream=name, count=stream.count,
                           timeout=stream.timeout, **common)  # fmt: skip
    return SpectrumSource(instrument, stream=name, count=stream.count, **common)


def _kind_of(instrument: Any) -> str:
    for interface, kind in _KIND_OF.items():
        if provides(instrument, interface):
            return kind
    raise ConfigError(
        f"{type(instrument).__name__} is not a Sensor, Oscilloscope or Spectrometer; "
        "give the stream a kind (a sweep?)",
        field="streams",
    )


def _sweep_policy(plan: Plan, stream: StreamConfig) -> ErrorPolicy:
    """A sweep touches several instruments: it skips a failed point only if every one
    of them says skip (the fewest errors allowed counts), else an error stops the run."""
    names = [a.parameter.split(".")[0] for a in stream.sweep_axes()]
    names += [r.partition(":")[0] for r in stream.read]
    configs = [plan.config.instruments[n].on_error for n in dict.fromkeys(names)]
    intervals = [c.check_interval for c in configs if c.check_interval is not None]
    interval = min(intervals) if intervals else None
    if all(c.action == "skip" for c in configs):
        return ErrorPolicy("skip", min(c.max_errors for c in configs), interval)
    return ErrorPolicy("stop", 0, interval)


def _sweep_source(plan: Plan, bench: Bench, name: str, stream: StreamConfig) -> SweepSource:
    """The sweep of a config stream on the open bench; every level checked against its
    output's safe limits and range before anything is set."""
    field = f"streams.{name}"
    axes = []
    for index, axis_config in enumerate(stream.sweep_axes()):
        where = f"{field}.axes[{index}]" if stream.axes is not None else field
        instrument, _, key = axis_config.parameter.partition(".")
        if instrument in plan.foreign:  # a PyMeasure/QCoDeS property: its own validators
            axes.append(_foreign_axis(bench.instruments[instrument], key, axis_config, where))
            continue
        try:
            axis = resolve_axis(
                bench.instruments, axis_config.parameter, values_of(axis_config.values),
                name=axis_config.name, units=axis_config.units, settle=axis_config.settle,
            )  # fmt: skip
        except ValueError as error:
            raise plan.error(f"{where}.parameter" if stream.axes else f"{field}.parameter",
                             str(error)) from None  # fmt: skip
        try:
            check_axis_values(axis)
        except ValidationError as error:
            raise plan.error(f"{where}.values", error.detail) from None
        axes.append(axis)
    try:
        readers = readers_for(stream.read, bench.instruments)
    except ReadSpecError as error:
        raise plan.error(f"{field}.read[{error.index}]", str(error)) from None
    return SweepSource(
        axes=axes, readers=readers, settle=stream.settle, snake=stream.snake,
        on_compliance=stream.on_compliance, stream=name, rate=stream.rate,
        instrument=stream.instrument or name,
    )  # fmt: skip


def _foreign_axis(instrument: Any, key: str, config: Any, where: str) -> SweepAxis:
    """An axis stepping a foreign driver's property: every value checked by the driver's
    own validator before anything is set (ConfigError naming the field)."""
    values = np.asarray(values_of(config.values), dtype=np.float64)
    for value in np.unique(values):
        instrument.check(key, float(value), field=f"{where}.values")
    return SweepAxis(
        config.name or config.parameter, values, functools.partial(instrument.set, key),
        config.units or "", config.parameter, config.settle, None, instrument,
    )  # fmt: skip


def run_pipeline(
    config: RunConfig | str | os.PathLike[str],
    *,
    output: str | os.PathLike[str] | None = None,
    duration: float | None = None,
    overwrite: bool | None = None,
    progress: Callable[[Progress], None] | None = None,
    progress_interval: float = 0.5,
    raise_on_interrupt: bool = True,
    on_start: Callable[[Pipeline, Bench], None] | None = None,
) -> RunResult:
    """Run a config (a RunConfig or a YAML path) from start to a closed run file.

    `output`, `duration` and `overwrite` override the config's. `on_start` is called with
    the pipeline and the open bench just before the run starts (tests inject faults there).
    """
    plan = plan_run(config, output=output, overwrite=overwrite)
    with Bench(plan) as bench:
        pipeline = build_pipeline(plan, bench, duration=duration)
        if on_start is not None:
            on_start(pipeline, bench)
        return pipeline.run(
            progress, progress_interval=progress_interval, raise_on_interrupt=raise_on_interrupt
        )
