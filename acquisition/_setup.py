"""From a run config to a finished run: check it against the drivers, open the bench, build
the sources, run the pipeline, close everything.

Order matters and is the point of this module: everything that can be checked without an
instrument (the file, driver names, setting names and values, sweep values, stage names,
the output path) is checked first, so a bad config fails before any byte is sent.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from types import SimpleNamespace, TracebackType
from typing import Any

import numpy as np

from instrumentkit.errors import ConfigError, DriverNotFound, ValidationError
from instrumentkit.instrument import Instrument
from instrumentkit.interfaces import Oscilloscope, Sensor, Spectrometer
from instrumentkit.parameters import Setting
from instrumentkit.registry import driver_by_name, registered_drivers
from instrumentkit.registry import open as open_instrument

from . import _layout as layout
from ._config import InstrumentConfig, RunConfig, StreamConfig, SweepValues, load_run_config
from ._pipeline import Pipeline, Progress, RunResult, Stop
from ._runner import ErrorPolicy
from ._sources import ScopeSource, SensorSource, Source, SpectrumSource, SweepSource
from ._stage_config import build_stages, check_stages
from ._writer import RunWriter

__all__ = ["Bench", "Plan", "plan_run", "run_pipeline"]

_KIND_OF = {Sensor: "readings", Oscilloscope: "waveforms", Spectrometer: "spectra"}


class Plan:
    """A checked config: drivers resolved, settings validated, output decided."""

    def __init__(self, config: RunConfig, text: str, base: Path, source: str) -> None:
        self.config = config
        self.text = text
        self.base = base
        self.source = source
        self.lab_path: Path | None = None
        self.lab_spec: Any = None
        self.drivers: dict[str, type[Instrument] | None] = {}
        self.streams: dict[str, StreamConfig] = {}
        self.output = Path(config.output.path)

    def error(self, field: str, message: str) -> ConfigError:
        return ConfigError(message, field=field, source=self.source)


def plan_run(
    config: RunConfig | str | os.PathLike[str],
    *,
    text: str | None = None,
    output: str | os.PathLike[str] | None = None,
    overwrite: bool | None = None,
) -> Plan:
    """Check a config as far as possible without touching an instrument."""
    if isinstance(config, RunConfig):
        plan = Plan(config, text or config.model_dump_json(indent=2), Path.cwd(), "run config")
    else:
        loaded, file_text = load_run_config(config)
        plan = Plan(loaded, file_text, Path(config).resolve().parent, str(config))
    cfg = plan.config
    if cfg.lab is not None:
        _plan_lab(plan)
    for name, instrument in cfg.instruments.items():
        plan.drivers[name] = _resolve_driver(plan, name, instrument)
        _check_settings(plan, name, plan.drivers[name], instrument.settings)
    plan.streams = dict(cfg.streams) or _default_streams(plan)
    for name, stream in plan.streams.items():
        _check_stream(plan, name, stream)
    plan.output = Path(output) if output is not None else Path(cfg.output.path)
    allow = cfg.output.overwrite if overwrite is None else overwrite
    try:
        layout.check_output(plan.output, allow)
    except FileExistsError:
        raise ConfigError(
            f"run file {plan.output} already exists; write another (-o) or replace it "
            "(--overwrite, or output.overwrite: true)",
            field="output.path",
            source=plan.source,
        ) from None
    except OSError as error:
        raise ConfigError(str(error), field="output.path", source=plan.source) from None
    return plan


def _plan_lab(plan: Plan) -> None:
    from instrumentkit.sim import default_lab_path, load_lab

    lab = plan.config.lab
    assert lab is not None
    path = default_lab_path() if lab == "default" else Path(lab)
    if not path.is_absolute():
        path = plan.base / path
    try:
        plan.lab_spec = load_lab(path)
    except ConfigError as error:
        raise plan.error("lab", str(error)) from None
    plan.lab_path = path
    devices = {d.name for d in plan.lab_spec.devices}
    for name, instrument in plan.config.instruments.items():
        if instrument.device is not None and instrument.device not in devices:
            raise plan.error(
                f"instruments.{name}.device",
                f"no device {instrument.device!r} in lab {lab!r}; devices: "
                f"{', '.join(sorted(devices)) or 'none'}",
            )


def _resolve_driver(plan: Plan, name: str, config: InstrumentConfig) -> type[Instrument] | None:
    if config.driver is not None:
        try:
            return driver_by_name(config.driver)
        except DriverNotFound as error:
            raise plan.error(f"instruments.{name}.driver", error.detail) from None
    if config.device is None:
        return None  # identified by *IDN? when opened
    model = next(d.model for d in plan.lab_spec.devices if d.name == config.device)
    candidates = [cls for cls in registered_drivers() if cls.sim_model == model]
    # Several drivers may share a model (a family and its members): take the most derived.
    specific = [
        c for c in candidates if not any(o is not c and issubclass(o, c) for o in candidates)
    ]
    return specific[0] if specific else None


def _interfaces(cls: type[Instrument] | None) -> tuple[type, ...]:
    return () if cls is None else tuple(cls.interfaces)


def _default_streams(plan: Plan) -> dict[str, StreamConfig]:
    streams = {}
    for name, cls in plan.drivers.items():
        if _interfaces(cls) or cls is None:
            streams[name] = StreamConfig(instrument=name)
    if not streams:
        raise plan.error("streams", "no instrument can stream by itself; list streams: explicitly")
    return streams


def _check_stream(plan: Plan, name: str, stream: StreamConfig) -> None:
    users = [s for s, c in plan.streams.items() if c.instrument == stream.instrument]
    if users[0] != name:
        raise plan.error(
            f"streams.{name}.instrument",
            f"instrument {stream.instrument!r} already feeds stream {users[0]!r}; "
            "one stream per instrument (a scope's channels share one stream entry)",
        )
    cls = plan.drivers[stream.instrument]
    kinds = [_KIND_OF[i] for i in _interfaces(cls) if i in _KIND_OF]
    if stream.kind not in (None, "sweep") and kinds and stream.kind not in kinds:
        raise plan.error(
            f"streams.{name}.kind",
            f"{cls.__name__ if cls else stream.instrument} gives {', '.join(kinds)}, "
            f"not {stream.kind}",
        )
    if stream.kind == "sweep":
        _check_sweep(plan, name, stream)
    kind = stream.kind or (kinds[0] if len(kinds) == 1 else None)
    field = f"streams.{name}.stages"
    if kind == "sweep" and stream.stages:
        raise plan.error(field, "a sweep takes no stages")
    check_stages(stream.stages, field=field, source=plan.source, kind=kind)


def _check_sweep(plan: Plan, name: str, stream: StreamConfig) -> None:
    cls = plan.drivers[stream.instrument]
    assert stream.parameter is not None
    if cls is not None:
        setting, fields = _find_setting(plan, f"streams.{name}.parameter", cls, stream.parameter)
        stub = SimpleNamespace(name=stream.instrument, fields=fields)
        for value in sweep_values(stream):
            _validate(plan, f"streams.{name}.values", setting, stub, float(value))
    for index, reader in enumerate(stream.read):
        interfaces = _interfaces(plan.drivers[reader])
        if interfaces and Sensor not in interfaces:
            raise plan.error(f"streams.{name}.read[{index}]", f"{reader!r} is not a Sensor")


def sweep_values(stream: StreamConfig) -> np.ndarray:
    values = stream.values
    if isinstance(values, SweepValues):
        return np.linspace(values.start, values.stop, values.num)
    return np.asarray(values, dtype=np.float64)


# -- settings -----------------------------------------------------------------------------
def _find_setting(
    plan: Plan, field: str, cls: type[Instrument], path: str
) -> tuple[Setting[Any], dict[str, Any]]:
    """`setting` or `group.id.setting` (a channel's setting) on a driver class."""
    parts = path.split(".")
    owner: Any = cls
    fields: dict[str, Any] = {}
    if len(parts) == 3:
        group = cls.channel_groups().get(parts[0])
        if group is None:
            raise plan.error(field, f"{cls.__name__} has no channel group {parts[0]!r}")
        channel = _channel_id(group.ids, parts[1])
        if channel is None:
            raise plan.error(field, f"{cls.__name__} has no {parts[0]} {parts[1]!r}; {group.ids}")
        owner, fields = group.channel_class, {"ch": channel}
    elif len(parts) != 1:
        raise plan.error(field, f"{path!r} must be a setting name or group.channel.setting")
    setting = owner.parameters().get(parts[-1])
    if not isinstance(setting, Setting):
        names = sorted(n for n, p in owner.parameters().items() if isinstance(p, Setting))
        raise plan.error(
            field, f"{owner.__name__} has no setting {parts[-1]!r}; settings: {', '.join(names)}"
        )
    return setting, fields


def _channel_id(ids: tuple[int | str, ...], key: Any) -> int | str | None:
    for channel in ids:
        if str(channel).casefold() == str(key).casefold():
            return channel
    return None


def _validate(plan: Plan, field: str, setting: Setting[Any], stub: Any, value: Any) -> None:
    try:
        setting.encode(stub, value)
    except ValidationError as error:
        raise plan.error(field, error.detail) from None
    except (AttributeError, TypeError):
        pass  # a setting whose encoding needs the live instrument: checked when applied


def _check_settings(
    plan: Plan, name: str, cls: type[Instrument] | None, settings: Mapping[str, Any]
) -> None:
    if cls is None:
        return  # known once the instrument has answered *IDN?; checked before any is sent
    where = f"instruments.{name}.settings"
    groups = cls.channel_groups()
    for key, value in settings.items():
        if key in groups:
            if not isinstance(value, Mapping):
                raise plan.error(f"{where}.{key}", "expected channel: {setting: value} entries")
            for channel, channel_settings in value.items():
                if not isinstance(channel_settings, Mapping):
                    raise plan.error(f"{where}.{key}.{channel}", "expected setting: value entries")
                for setting_name, setting_value in channel_settings.items():
                    path = f"{key}.{channel}.{setting_name}"
                    field = f"{where}.{path}"
                    setting, fields = _find_setting(plan, field, cls, path)
                    stub = SimpleNamespace(name=name, fields=fields)
                    _validate(plan, field, setting, stub, setting_value)
            continue
        setting, _ = _find_setting(plan, f"{where}.{key}", cls, str(key))
        _validate(plan, f"{where}.{key}", setting, SimpleNamespace(name=name, fields={}), value)


def apply_settings(name: str, instrument: Any, settings: Mapping[str, Any]) -> None:
    """Set each setting in file order (channel groups as `group: {id: {setting: value}}`)."""
    groups = type(instrument).channel_groups() if isinstance(instrument, Instrument) else {}
    for key, value in settings.items():
        if key in groups:
            channels = getattr(instrument, key)
            for channel, channel_settings in value.items():
                target = channels[_channel_id(tuple(channels), channel)]
                for setting_name, setting_value in channel_settings.items():
                    _set(
                        target, name, f"{key}.{channel}.{setting_name}", setting_name, setting_value
                    )
        else:
            _set(instrument, name, key, key, value)


def _set(target: Any, instrument: str, label: str, attribute: str, value: Any) -> None:
    setting = getattr(type(target), attribute, None)
    if not isinstance(setting, Setting):
        raise ConfigError(f"{type(target).__name__} has no setting {attribute!r}",
                          field=f"instruments.{instrument}.settings.{label}")  # fmt: skip
    setattr(target, attribute, value)


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
                if self.plan.drivers[name] is None and isinstance(instrument, Instrument):
                    _check_settings(self.plan, name, type(instrument), config.settings)
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
        name: ErrorPolicy(i.on_error.action, i.on_error.max_errors)
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
    )  # fmt: skip


def _source(plan: Plan, bench: Bench, name: str, stream: StreamConfig) -> Source:
    instrument = bench.instruments[stream.instrument]
    kind = stream.kind or _kind_of(instrument)
    field = f"streams.{name}"
    common: dict[str, Any] = {"rate": stream.rate, "instrument": stream.instrument}
    if kind == "sweep":
        assert stream.parameter is not None
        target, attribute = _sweep_target(instrument, stream.parameter)
        readers = {r: bench.instruments[r] for r in stream.read}
        for reader, sensor in readers.items():
            if not provides(sensor, Sensor):
                raise plan.error(f"{field}.read", f"{reader!r} is not a Sensor")
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
        return channels[_channel_id(tuple(channels), parts[1])], parts[2]
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
