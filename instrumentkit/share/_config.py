"""The share file: which instruments to share, how, with whom.

    description: the Pi beside the vacuum rig
    host: 0.0.0.0                 # default 127.0.0.1 (loopback only)
    port: 4880
    allow: [192.168.1.0/24]       # networks that may connect (required off loopback)
    log: usage.sqlite             # the usage record (default: beside this file)
    lab: default                  # a simulated lab, for `device:` entries
    limits: {max_clients: 32, max_message_size: 1048576, idle_timeout: 600}
    instruments:
      dmm:                        # answers at hislip_dmm (the first also at hislip0)
        resource: TCPIP::192.168.1.20::INSTR
        options: {timeout: 5.0}
      gauge:
        resource: /dev/ttyUSB0
        options: {baudrate: 9600}
        protocol: raw             # not SCPI: every message gets the bytes that come back
        operators: [192.168.1.7]  # may write and lock; every other client only queries
      scope:
        device: scope             # a device of the lab above
        read_only: true

Read with the project's user-YAML loader and checked with pydantic before anything is
opened; an error names the field (`instruments.gauge.operators[0]`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from instrumentkit._fields import field_path
from instrumentkit._yaml import load_yaml
from instrumentkit.connect import ConnectionOptions, parse_resource
from instrumentkit.errors import ConfigError
from instrumentkit.share._instrument import InstrumentRules
from instrumentkit.share._limits import Limits
from instrumentkit.share._server import DEFAULT_PORT, parse_networks

__all__ = ["InstrumentSpec", "ShareSpec", "load_share", "parse_share"]

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


def _check_networks(texts: list[str]) -> list[str]:
    for index, text in enumerate(texts):
        try:
            parse_networks([text])
        except ConfigError as error:
            raise ValueError(f"[{index}]: {error.detail}") from None
    return texts


class InstrumentSpec(BaseModel):
    """One shared instrument: a `resource` the library opens, or a lab `device`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    resource: str | None = None
    device: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    protocol: Literal["scpi", "raw"] = "scpi"
    write_termination: str = "\n"
    read_termination: str = "\n"
    timeout: float = Field(default=5.0, gt=0, le=3600)
    quiet_time: float = Field(default=0.05, gt=0, le=10)
    read_only: bool = False
    operators: list[str] | None = None
    max_clients: int = Field(default=8, ge=1, le=1024)

    @model_validator(mode="after")
    def _one_source(self) -> InstrumentSpec:
        if (self.resource is None) == (self.device is None):
            raise ValueError("give either resource: (a VISA resource, port or URL) or device:")
        if self.resource is not None:
            try:
                parse_resource(self.resource, backend=self.options.get("backend"))
            except ConfigError as error:
                raise ValueError(error.detail) from None
        return self

    @field_validator("options")
    @classmethod
    def _known_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(options) - set(ConnectionOptions.__annotations__))
        if unknown:
            known = ", ".join(ConnectionOptions.__annotations__)
            raise ValueError(f"unknown connection options {unknown}; known: {known}")
        return options

    _networks = field_validator("operators")(
        lambda texts: None if texts is None else _check_networks(texts)
    )

    def rules(self) -> InstrumentRules:
        return InstrumentRules(
            protocol=self.protocol,
            write_termination=self.write_termination.encode(),
            read_termination=self.read_termination.encode(),
            timeout=self.timeout,
            quiet_time=self.quiet_time,
            read_only=self.read_only,
            operators=None if self.operators is None else parse_networks(self.operators),
            max_clients=self.max_clients,
        )


class LimitsSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_clients: int = Field(default=32, ge=1, le=4096)
    max_message_size: int = Field(default=1 << 20, ge=1024, le=1 << 30)
    max_program_size: int = Field(default=64 << 20, ge=1024, le=1 << 32)
    idle_timeout: float = Field(default=600.0, gt=0)
    io_timeout: float = Field(default=30.0, gt=0)

    def limits(self) -> Limits:
        return Limits(**self.model_dump())


class ShareSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    host: str = "127.0.0.1"
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535)
    allow: list[str] | None = None
    log: str | None = None
    lab: str | None = None
    limits: LimitsSpec = Field(default_factory=LimitsSpec)
    instruments: dict[str, InstrumentSpec] = Field(min_length=1)

    _networks = field_validator("allow")(
        lambda texts: None if texts is None else _check_networks(texts)
    )

    @field_validator("instruments")
    @classmethod
    def _names(cls, instruments: dict[str, InstrumentSpec]) -> dict[str, InstrumentSpec]:
        import re

        for name in instruments:
            if not re.match(_NAME, name) or len(name) > 64:
                raise ValueError(
                    f"instrument name {name!r}: letters, digits, '_', '.', '-' (it becomes "
                    "the sub-address hislip_<name>)"
                )
        return instruments

    @model_validator(mode="after")
    def _devices_need_a_lab(self) -> ShareSpec:
        for name, spec in self.instruments.items():
            if spec.device is not None and self.lab is None:
                raise ValueError(
                    f"instruments.{name}.device needs a simulated lab: add lab: default "
                    "(or a lab file) to the share file, or give --lab"
                )
        return self


def parse_share(data: Any, *, source: str = "share file") -> ShareSpec:
    """Validate already-loaded share data; ConfigError names the field."""
    try:
        return ShareSpec.model_validate(data)
    except pydantic.ValidationError as error:
        first = error.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(message, field=field_path(first["loc"]), source=source) from None


def load_share(path: str | os.PathLike[str], *, lab: str | None = None) -> ShareSpec:
    """Read and check a share file; `lab` (the CLI's --lab) replaces the file's `lab:`."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read the share file: {error}", source=source) from None
    data = load_yaml(text, source=source)
    data = data if data is not None else {}
    if lab is not None and isinstance(data, dict):
        data = {**data, "lab": lab}
    return parse_share(data, source=source)
