"""The run config: a YAML file that says which instruments to open, how to set them up,
what to stream, when to stop and where to write. The reference is docs/run-config.md.

    lab: default                       # the simulated lab shipped with instrumentkit
    instruments:
      scope: {device: scope, settings: {timebase_scale: 1.0e-3}}
      dmm:   {resource: "TCPIP::192.168.1.20::INSTR", on_error: {action: skip}}
    streams:
      scope: {instrument: scope, channels: [1, 2], rate: 5}
      dmm:   {instrument: dmm, rate: 10}
    stop:   {duration: 5}
    output: {path: run.h5, compression: gzip}

Files are read with the project's safe YAML loader (`instrumentkit._yaml`: YAML 1.2 numbers
such as `5e-4`, duplicate keys refused, aliases capped) and validated with pydantic; every
error is a ConfigError naming the field path (`streams.scope.rate`) and the reason. Names in
a config are only ever looked up in registries (drivers, simulated models, stages); nothing
named in a file is imported or executed.
"""

from __future__ import annotations

import math
import os
import re
from typing import Annotated, Any, Literal

import pydantic
from pydantic import (
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from typing_extensions import TypedDict

from instrumentkit._fields import field_path
from instrumentkit._yaml import load_yaml, read_user_text
from instrumentkit.errors import ConfigError

from ._config_base import Strict as _Strict
from ._sweep_config import SweepAxisConfig, SweepValues

__all__ = [
    "ConnectionOptionsConfig",
    "ErrorPolicyConfig",
    "InstrumentConfig",
    "OutputConfig",
    "RunConfig",
    "StopConfig",
    "StreamConfig",
    "SweepAxisConfig",
    "SweepValues",
    "load_run_config",
    "parse_run_config",
]

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
StreamKind = Literal["readings", "waveforms", "spectra", "sweep"]


_Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class ConnectionOptionsConfig(TypedDict, total=False):
    """`options:` of an instrument: the keys of `instrumentkit.connect.ConnectionOptions`,
    each with the values a transport accepts, so a bad one is refused before opening."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    backend: str
    timeout: _Seconds
    baudrate: Annotated[int, Field(gt=0)]
    bytesize: Literal[5, 6, 7, 8]
    parity: Literal["N", "E", "O", "M", "S"]
    stopbits: Literal[1, 1.5, 2]
    xonxoff: bool
    rtscts: bool
    dsrdtr: bool


class ErrorPolicyConfig(_Strict):
    """What an instrument error does to the run."""

    action: Literal["stop", "skip"] = "stop"
    max_errors: int = Field(default=10, ge=0)
    check_interval: float | None = Field(
        default=2.0, gt=0, description="seconds between reads of the error queue; null: off"
    )


class InstrumentConfig(_Strict):
    """One instrument: where it is, which driver, how to connect and how to set it up."""

    resource: str | None = Field(default=None, min_length=1)
    device: str | None = Field(default=None, min_length=1)
    driver: str | None = Field(default=None, min_length=1)
    options: ConnectionOptionsConfig = Field(default_factory=ConnectionOptionsConfig)
    settings: dict[str, Any] = Field(default_factory=dict)
    safe_limits: dict[str, Any] = Field(
        default_factory=dict,
        description="a source's limits, tightened: {max_level, max_slew, safe_level} for "
        "every output, or {output: {...}} per output",
    )
    on_error: ErrorPolicyConfig = Field(default_factory=ErrorPolicyConfig)
    # foreign drivers (`driver: "pymeasure:..."` or `"qcodes:..."`, docs/adapters.md)
    channels: list[str] | None = Field(default=None, min_length=1)
    units: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_address(self) -> InstrumentConfig:
        if (self.resource is None) == (self.device is None):
            raise ValueError(
                "give either resource (a VISA address or serial port) or device "
                "(a simulated-lab device name), not both or neither"
            )
        return self


class StreamConfig(_Strict):
    """One stream of the run file and the source that feeds it."""

    instrument: str | None = None
    kind: StreamKind | None = None
    rate: float | None = Field(default=None, gt=0, description="polls per second")
    count: int | None = Field(default=None, ge=1)
    batch: int | None = Field(default=None, ge=1)
    channels: list[int | str] | None = Field(default=None, min_length=1)
    timeout: float | None = Field(default=None, gt=0)
    stages: list[dict[str, Any]] = Field(default_factory=list)
    # sweeps: `axes` (outer to inner), or the 1-D short form `parameter` + `values`
    axes: list[SweepAxisConfig] | None = Field(default=None, min_length=1, max_length=8)
    parameter: str | None = None
    values: list[float] | SweepValues | None = None
    settle: float = Field(default=0.0, ge=0)
    snake: bool = False
    on_compliance: Literal["continue", "skip", "stop"] = "continue"
    read: list[str] = Field(default_factory=list)
    units: str = ""

    @model_validator(mode="after")
    def _fields_fit_the_kind(self) -> StreamConfig:
        if self.kind == "sweep" or (self.kind is None and self.axes is not None):
            return self._check_sweep()
        if self.instrument is None:
            raise ValueError("a stream needs an instrument (or axes: a sweep)")
        sweep_only = [
            n for n in ("parameter", "values", "axes") if getattr(self, n) is not None
        ] + [n for n in ("snake", "on_compliance") if n in self.model_fields_set]
        if self.read:
            sweep_only.append("read")
        if sweep_only:
            raise ValueError(f"{', '.join(sweep_only)} only apply to kind: sweep")
        if self.batch is not None and self.kind not in (None, "readings"):
            raise ValueError("batch (read_many size) only applies to readings")
        if self.channels is not None and self.kind not in (None, "waveforms"):
            raise ValueError("channels only apply to waveforms")
        return self

    def _check_sweep(self) -> StreamConfig:
        if self.axes is not None:
            short = [n for n in ("parameter", "values") if getattr(self, n) is not None]
            if short:
                raise ValueError(
                    f"{', '.join(short)} is the 1-D short form; with axes, give each axis "
                    "its parameter and values"
                )
        else:
            missing = [n for n in ("instrument", "parameter", "values") if getattr(self, n) is None]
            if missing or not self.read:
                need = ", ".join([*missing, *([] if self.read else ["read"])])
                raise ValueError(
                    f"a sweep needs parameter, values and read (the 1-D form, with "
                    f"instrument), or axes and read; missing {need}"
                )
            if isinstance(self.values, list) and not self.values:
                raise ValueError("a sweep needs at least one value")
        if not self.read:
            raise ValueError("a sweep needs read: the instruments to read at each point")
        object.__setattr__(self, "kind", "sweep")
        return self

    def sweep_axes(self) -> list[SweepAxisConfig]:
        """The axes of a sweep, outer to inner (the short form as one axis)."""
        if self.axes is not None:
            return list(self.axes)
        assert self.instrument is not None
        assert self.parameter is not None
        assert self.values is not None
        return [
            SweepAxisConfig(
                parameter=f"{self.instrument}.{self.parameter}",
                values=self.values,
                name=self.parameter,
                units=self.units or None,
            )
        ]

    @field_validator("stages")
    @classmethod
    def _one_stage_per_item(cls, stages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for index, stage in enumerate(stages):
            if len(stage) != 1:
                raise ValueError(
                    f"stage {index} must be one 'name: parameters' entry, e.g. "
                    f"'- decimate: {{factor: 10}}', got keys {sorted(stage)}"
                )
        return stages


class StopConfig(_Strict):
    """When the run ends by itself (also: every source done, Ctrl-C, an error)."""

    duration: float | None = Field(default=None, gt=0, description="seconds")
    max_readings: int | None = Field(default=None, ge=1)
    first_record_timeout: float = Field(
        default=30.0, gt=0, description="seconds every stream has to deliver its first record"
    )


class OutputConfig(_Strict):
    """The run file."""

    path: str = Field(default="run.h5", min_length=1)
    compression: Literal["gzip", "blosc"] | None = None
    flush_interval: float = Field(default=1.0, gt=0)
    fsync: bool = False
    overwrite: bool = False
    monotonic_clock: bool = True


class RunConfig(_Strict):
    """A whole run config file."""

    description: str = ""
    lab: str | None = Field(default=None, min_length=1)
    instruments: dict[str, InstrumentConfig] = Field(min_length=1)
    streams: dict[str, StreamConfig] = Field(default_factory=dict)
    stop: StopConfig = Field(default_factory=StopConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("instruments", "streams")
    @classmethod
    def _names(cls, named: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        for name in named:
            if not re.match(_NAME, str(name)) or len(str(name)) > 64:
                raise _FieldError(
                    f"{info.field_name}.{name}",
                    f"name {name!r} must start with a letter or digit and hold only letters, "
                    "digits, '_', '.' and '-' (at most 64)",
                )
        return named

    @model_validator(mode="after")
    def _references(self) -> RunConfig:
        for name, instrument in self.instruments.items():
            if instrument.device is not None and self.lab is None:
                raise _FieldError(
                    f"instruments.{name}.device",
                    "a simulated-lab device needs a top-level 'lab:' (default, or a lab file)",
                )
        for section in ("instruments", "streams"):
            if "errors" in getattr(self, section):
                raise _FieldError(
                    f"{section}.errors",
                    "the name 'errors' is reserved for the run's error log; choose another",
                )
        for name, stream in self.streams.items():
            targets = [("instrument", stream.instrument)] if stream.instrument else []
            targets += [(f"read[{i}]", r.split(":")[0]) for i, r in enumerate(stream.read)]
            targets += [
                (f"axes[{i}].parameter", axis.parameter.split(".")[0])
                for i, axis in enumerate(stream.axes or [])
            ]
            for field, target in targets:
                if target not in self.instruments:
                    known = ", ".join(self.instruments)
                    raise _FieldError(
                        f"streams.{name}.{field}", f"no instrument {target!r}; instruments: {known}"
                    )
        return self


class _FieldError(ValueError):
    """A cross-field error that knows its own field path (pydantic reports it at the top)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


def _first_non_finite(
    data: Any, path: tuple[int | str, ...]
) -> tuple[tuple[int | str, ...], float] | None:
    """Where the first .inf or .nan is, anywhere (settings and stage parameters included):
    no number of a run may be infinite, and NaN passes every range check."""
    if isinstance(data, float) and not math.isfinite(data):
        return path, data
    if isinstance(data, dict):
        items: Any = ((str(key), value) for key, value in data.items())  # `channels.1.scale`
    else:
        items = enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        found = _first_non_finite(value, (*path, key))
        if found is not None:
            return found
    return None


def parse_run_config(data: Any, *, source: str = "run config") -> RunConfig:
    """Validate loaded config data; raises ConfigError naming the field and the reason."""
    if not isinstance(data, dict):
        raise ConfigError(
            f"expected a mapping of sections (instruments, streams, ...), got "
            f"{type(data).__name__}",
            source=source,
        )
    where = _first_non_finite(data, ())
    if where is not None:
        path, number = where
        raise ConfigError(f"expected a finite number, got {number}", field=field_path(path),
                          source=source)  # fmt: skip
    try:
        return RunConfig.model_validate(data)
    except pydantic.ValidationError as error:
        # The deepest location names the field best (union members report one each).
        # (between equally deep ones, a value's own error beats "not a list" of a union)
        first = max(error.errors(), key=lambda e: (len(e["loc"]), not e["type"].endswith("_type")))
        cause = first.get("ctx", {}).get("error")
        if isinstance(cause, _FieldError):
            raise ConfigError(str(cause), field=cause.field, source=source) from None
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "extra_forbidden" and first["loc"][-2:-1] == ("options",):
            known = ", ".join(ConnectionOptionsConfig.__annotations__)
            message = f"unknown connection option; options: {known}"
        elif first["type"] == "extra_forbidden":
            message = "unknown field (check its spelling; docs/run-config.md lists every field)"
        elif first["type"] == "finite_number":
            message = f"expected a finite number, got {first['input']!r}"
        raise ConfigError(message, field=field_path(first["loc"]), source=source) from None


def load_run_config(path: str | os.PathLike[str]) -> tuple[RunConfig, str]:
    """Read and validate a run config file; returns the config and its text."""
    source = str(path)
    try:
        text = read_user_text(path, what="a run config")
    except OSError as error:
        raise ConfigError(
            f"cannot read the run config: {error.strerror or error}", source=source
        ) from None
    data = load_yaml(text, source=source)
    return parse_run_config(data if data is not None else {}, source=source), text
