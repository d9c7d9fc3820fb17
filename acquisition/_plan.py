"""From a run config to a checked plan, without touching an instrument.

Everything that can be checked without I/O is checked here (decision 0603): driver names,
simulated devices, setting names and values (through the drivers' own validators), stream
kinds, sweep values, stages and the output path. `_bench.py` then opens what the plan says.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from instrumentkit.adapters import foreign_driver, is_foreign
from instrumentkit.errors import ConfigError, DriverNotFound, ValidationError
from instrumentkit.instrument import Instrument
from instrumentkit.interfaces import Oscilloscope, Sensor, Spectrometer
from instrumentkit.parameters import Setting
from instrumentkit.registry import driver_by_name, registered_drivers

from . import _layout as layout
from ._config import InstrumentConfig, RunConfig, StreamConfig, SweepValues, load_run_config
from ._resource_syntax import resource_problem, serial_options_problem
from ._room import room_left
from ._stage_config import check_stages
from ._stream_checks import channel_id, check_kind_fields, check_written_names
from ._sweep_plan import check_safe_limits, check_sweep

__all__ = ["Plan", "apply_settings", "channel_id", "check_settings", "plan_run", "values_of"]

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
        self.foreign: dict[str, str] = {}
        """Instruments opened through a foreign driver: name -> `framework:module.Class`."""
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
    output_option: str = "output",
) -> Plan:
    """Check a config as far as possible without touching an instrument.

    `output_option` names where an `output` override came from (the CLI passes
    "-o/--output"), so an error about it names that option, not the config's field.
    """
    if isinstance(config, RunConfig):
        plan = Plan(config, text or config.model_dump_json(indent=2), Path.cwd(), "run config")
    else:
        loaded, file_text = load_run_config(config)
        plan = Plan(loaded, file_text, Path(config).resolve().parent, str(config))
    cfg = plan.config
    if cfg.lab is not None:
        _plan_lab(plan)
    for name, instrument in cfg.instruments.items():
        _check_resource(plan, name, instrument)
        plan.drivers[name] = _resolve_driver(plan, name, instrument)
        check_settings(plan, name, plan.drivers[name], instrument.settings)
        check_safe_limits(plan, name, plan.drivers[name], instrument.safe_limits)
    plan.streams = dict(cfg.streams) or _default_streams(plan)
    written: dict[str, str] = {}
    for name, stream in plan.streams.items():
        _check_stream(plan, name, stream, written)
    plan.output = Path(output) if output is not None else Path(cfg.output.path)
    allow = cfg.output.overwrite if overwrite is None else overwrite
    _check_output(plan, allow, field="output.path" if output is None else output_option)
    return plan


def _check_resource(plan: Plan, name: str, config: InstrumentConfig) -> None:
    if config.resource is not None:
        problem = resource_problem(config.resource, backend=config.options.get("backend"))
        if problem:
            raise plan.error(f"instruments.{name}.resource", problem)
        problem = serial_options_problem(config.resource, config.options)
        if problem:
            raise plan.error(f"instruments.{name}.options", problem)


def _check_output(plan: Plan, overwrite: bool, *, field: str) -> None:
    """The run file can be created: not there (or overwriting), its folder writable, room."""
    from_config = field == "output.path"
    try:
        layout.check_output(plan.output, overwrite)
    except FileExistsError as error:
        how = "(--overwrite, or output.overwrite: true)" if from_config else "(--overwrite)"
        problem = f"run file {plan.output} already exists; write another (-o) or replace it {how}"
        if overwrite:  # another run is writing it right now
            problem = str(error)
    except OSError as error:
        problem = str(error)
    else:
        room = room_left(plan.output)
        if room >= layout.MIN_FREE_BYTES:
            return
        problem = (
            f"only {max(room, 0) / 1e6:.1f} MB left for run file {plan.output}; a run stops "
            f"below {layout.MIN_FREE_BYTES / 1e6:.0f} MB (docs/run-file.md): free some room "
            "or write elsewhere"
        )
    if from_config:
        raise plan.error(field, problem)
    error = ConfigError(f"option {field}: {problem}")
    error.field = field
    raise error


def _plan_lab(plan: Plan) -> None:
    from instrumentkit.sim import default_lab_path, load_lab

    lab = plan.config.lab
    assert lab is not None
    path = default_lab_path() if lab == "default" else Path(lab)
    if not path.is_absolute():
        path = plan.base / path
    if not path.is_file():
        raise plan.error(
            "lab",
            f"no lab file {path}; give 'default' (the simulated lab shipped with "
            "instrumentkit) or the path of a lab file, relative to this config",
        )
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
    if is_foreign(config.driver):
        assert config.driver is not None
        try:
            foreign_driver(config.driver)
        except ConfigError as error:
            raise plan.error(f"instruments.{name}.driver", error.detail) from None
        plan.foreign[name] = config.driver
        return None  # a foreign class: its settings are checked by its validators when open
    for field in ("channels", "units"):
        if field in config.model_fields_set:
            raise plan.error(
                f"instruments.{name}.{field}",
                f"{field} apply to foreign drivers (pymeasure:..., qcodes:...); a native "
                "driver's readings are its own",
            )
    if config.driver is not None:
        try:
            return driver_by_name(config.driver)
        except DriverNotFound as error:
            raise plan.error(f"instruments.{name}.driver", error.detail) from None
    if config.device is None:
        return None  # identified by *IDN? when opened
    device = next(d for d in plan.lab_spec.devices if d.name == config.device)
    candidates = [cls for cls in registered_drivers() if cls.sim_model == device.model]
    # A model served both ways (the SR830 on GPIB or RS-232): the driver for the device's
    # link, told by whether the driver opens serial lines by default.
    serial = device.transport == "serial"
    candidates = [
        c for c in candidates if ("baudrate" in c.connection_defaults) == serial
    ] or candidates
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
        # What can stream by itself; a Source alone (a supply) has nothing to read.
        if cls is None or any(i in _KIND_OF for i in _interfaces(cls)):
            streams[name] = StreamConfig(instrument=name)
    if not streams:
        raise plan.error("streams", "no instrument can stream by itself; list streams: explicitly")
    return streams


def _check_stream(plan: Plan, name: str, stream: StreamConfig, written: dict[str, str]) -> None:
    if stream.kind == "sweep":
        check_sweep(plan, name, stream)
        check_kind_fields(plan, name, stream, None, "sweep")
        check_written_names(plan, name, stream, "sweep", written)
        if stream.stages:
            raise plan.error(f"streams.{name}.stages", "a sweep takes no stages")
        return
    assert stream.instrument is not None
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
    kind = stream.kind or (kinds[0] if len(kinds) == 1 else None)
    check_kind_fields(plan, name, stream, cls, kind)
    check_written_names(plan, name, stream, kind, written)
    check_stages(stream.stages, field=f"streams.{name}.stages", source=plan.source, kind=kind)


def values_of(values: list[float] | SweepValues) -> np.ndarray:
    """The values of a sweep axis: a list as given, or from start/stop with num or step."""
    if not isinstance(values, SweepValues):
        return np.asarray(values, dtype=np.float64)
    if values.log:
        assert values.num is not None
        return np.geomspace(values.start, values.stop, values.num)
    if values.num is not None:
        return np.linspace(values.start, values.stop, values.num)
    assert values.step is not None
    span = values.stop - values.start
    count = int(np.floor(abs(span) / values.step + 1e-9)) + 1
    return values.start + np.sign(span or 1.0) * values.step * np.arange(count)


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
        channel = channel_id(group.ids, parts[1])
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


def _validate(plan: Plan, field: str, setting: Setting[Any], stub: Any, value: Any) -> None:
    try:
        setting.encode(stub, value)
    except ValidationError as error:
        raise plan.error(field, error.detail) from None
    except (AttributeError, TypeError):
        pass  # a setting whose encoding needs the live instrument: checked when applied


def check_settings(
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
                target = channels[channel_id(tuple(channels), channel)]
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
