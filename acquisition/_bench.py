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

from instrumentkit.adapters import open_foreign
from instrumentkit.errors import ConfigError
from instrumentkit.instrument import Instrument
from instrumentkit.interfaces import Oscilloscope, Sensor, Spectrometer
from instrumentkit.registry import open as open_instrument

from ._config import InstrumentConfig, RunConfig, StreamConfig
from ._pipeline import Pipeline, Progress, RunResult, Stop
from ._plan import Plan, apply_settings, channel_id, check_settings, plan_run, sweep_values
from ._runner import ErrorPolicy
from ._sources import ScopeSource, SensorSource, Source, SpectrumSource, SweepSource
from ._stage_config import build_stages
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
    instrument = bench.instruments[stream.instrument]
    kind = stream.kind or _kind_of(instrument)
    field = f"streams.{name}"
    common: dict[str, Any] = {"rate": stream.rate, "instrument": stream.instrument}
    if kind == "sweep":
        assert stream.parameter is not None
        readers = {r: bench.instruments[r] for r in stream.read}
        for reader, sensor in readers.items():
            if not provides(sensor, Sensor):
                raise plan.error(f"{field}.read", f"{reader!r} is not a Sensor")
        if stream.instrument in plan.foreign:  # every value checked by the driver, no I/O
            for value in sweep_values(stream):
                instrument.check(stream.parameter, float(value), field=f"{field}.values")
            setter: Callable[[Any], None] = functools.partial(instrument.set, stream.parameter)
            units = stream.units
        else:
            target, attribute = _sweep_target(instrument, stream.parameter)
            setting = getattr(type(target), attribute, None)
            units = stream.units or (getattr(setting, "units", None) or "")
            setter = functools.partial(setattr, target, attribute)
        return SweepSource(
            stream.parameter, sweep_values(stream), set=setter, readers=readers,
            settle=stream.settle, stream=name, units=units, **common,
        )  # fmt: skip
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


_METHODS = {
    Sensor: ("read", "read_many"),
    Oscilloscope: ("single", "wait_for_acquisition", "fetch_all"),
    Spectrometer: ("acquire", "wavelengths"),
}


def provides(instrument: Any, interface: type) -> bool:
    """Whether `instrument` serves `interface`, without touching it.

    `isinstance` with a runtime-checkable protocol reads every member, and on a driver a
    property like `units` is a query: so trust the driver's declared `interfaces`, else
    look for the methods on the class.
    """
    declared = getattr(type(instrument), "interfaces", None)
    if declared:
        return interface in declared
    return all(callable(getattr(type(instrument), m, None)) for m in _METHODS[interface])


def _kind_of(instrument: Any) -> str:
    for interface, kind in _KIND_OF.items():
        if provides(instrument, interface):
            return kind
    raise ConfigError(
        f"{type(instrument).__name__} is not a Sensor, Oscilloscope or Spectrometer; "
        "give the stream a kind (a sweep?)",
        field="streams",
    )


def _sweep_target(instrument: Any, path: str) -> tuple[Any, str]:
    parts = path.split(".")
    if len(parts) == 3:
        channels = getattr(instrument, parts[0])
        return channels[channel_id(tuple(channels), parts[1])], parts[2]
    return instrument, parts[0]


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
