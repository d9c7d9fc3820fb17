"""A lab file: which simulated devices to run, how each is reached, and their parameters.

    description: bench with a DMM and a gauge
    host: 127.0.0.1                   # listen address; another needs allow_remote: true
    devices:
      - name: dmm
        model: keysight-34461a        # a name from instrumentkit.sim.models()
        transport: tcp                # tcp (raw SCPI socket) or serial (iksim://<name>)
        port: 5025                    # tcp only; omitted or 0: an ephemeral port
        seed: 1                       # reproducible noise; omitted: random
        latency: 0.0005               # seconds added to every reply
        params: {source: {shape: dc, offset: 1.234}}   # keyword arguments of the model
    duts:                             # simulated devices under test (instrumentkit.sim.dut)
      - {name: diode, model: diode, params: {series_resistance: 0.5}}
    wiring:                           # what drives what (instrumentkit.sim._wiring)
      - {from: smu, to: diode}

Files are read with the project's safe YAML loader (`instrumentkit._yaml`) and checked with
pydantic; an error names the field (`devices[0].port`). Model names resolve only through the
model registry.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from instrumentkit._fields import field_path
from instrumentkit._yaml import load_yaml, read_user_text
from instrumentkit.errors import ConfigError
from instrumentkit.sim._clock import Clock, SystemClock
from instrumentkit.sim._device import Device
from instrumentkit.sim._registry import attach, create, detach, models
from instrumentkit.sim._server import LabServer, check_listen_address
from instrumentkit.sim._wiring import DutSpec, WireSpec, check_names, create_dut, wire
from instrumentkit.sim.dut import Dut

__all__ = ["DeviceSpec", "Lab", "LabSpec", "default_lab_path", "load_lab", "parse_lab"]


def default_lab_path() -> Path:
    """The lab file shipped with the package (`instrumentkit/sim/default_lab.yaml`)."""
    return Path(__file__).with_name("default_lab.yaml")


class DeviceSpec(BaseModel):
    """One simulated device of a lab."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)
    model: str = Field(min_length=1)
    transport: Literal["tcp", "serial"] = "tcp"
    port: int | None = Field(default=None, ge=0, le=65535)
    seed: int | None = None
    latency: float = Field(default=0.0, ge=0.0, le=60.0)
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _port_only_for_tcp(self) -> DeviceSpec:
        if self.port is not None and self.transport != "tcp":
            raise ValueError("port applies to transport 'tcp' only")
        return self


class LabSpec(BaseModel):
    """A lab: its devices and the address the TCP ones listen on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    host: str = "127.0.0.1"
    allow_remote: bool = False
    """Needed, on purpose, for a `host` other than loopback (it exposes every device)."""
    devices: list[DeviceSpec] = Field(default_factory=list)
    duts: list[DutSpec] = Field(default_factory=list)
    wiring: list[WireSpec] = Field(default_factory=list)
    _source: str | None = PrivateAttr(default=None)
    """The lab file it was read from, named by errors found when the lab starts."""

    @model_validator(mode="after")
    def _unique_names(self) -> LabSpec:
        seen: set[str] = set()
        for item in (*self.devices, *self.duts):
            if item.name in seen:
                raise ValueError(f"device or DUT name {item.name!r} is used twice")
            seen.add(item.name)
        return self


def parse_lab(data: Any, *, source: str = "lab", check_models: bool = True) -> LabSpec:
    """Validate already-loaded lab data (a dict); `check_models` also resolves model names."""
    try:
        spec = LabSpec.model_validate(data)
    except pydantic.ValidationError as error:
        first = error.errors()[0]
        raise ConfigError(first["msg"], field=field_path(first["loc"]), source=source) from error
    check_names(
        spec.wiring, [d.name for d in spec.devices], [d.name for d in spec.duts], source=source
    )
    if check_models:
        known = models()
        for index, device in enumerate(spec.devices):
            if device.model not in known:
                names = ", ".join(sorted(known)) or "none"
                raise ConfigError(
                    f"no simulated model named {device.model!r}; known: {names}",
                    field=f"devices[{index}].model",
                    source=source,
                )
    spec._source = source
    return spec


def load_lab(path: str | os.PathLike[str], *, check_models: bool = True) -> LabSpec:
    """Read and validate a lab file."""
    source = str(path)
    try:
        text = read_user_text(path, what="a lab file")
    except OSError as error:
        raise ConfigError(f"cannot read the lab file: {error}", source=source) from error
    data = load_yaml(text, source=source)
    return parse_lab(data if data is not None else {}, source=source, check_models=check_models)


class Lab:
    """A running lab: TCP devices served, serial devices attached as `iksim://<name>`.

        with Lab(load_lab("lab.yaml")) as lab:
            dmm = ik.open(lab.resource("dmm"))
            lab.device("dmm").faults.inject("no_reply", on="READ?")

    `host` overrides the file's listen address; a non-loopback one needs `allow_remote`
    here or in the file. `base_port` gives the TCP devices the file does not pin ports
    `base_port`, `base_port + 1`, ... in file order, the same on every run. `clock` is
    given to every model. With `serial_over_tcp`, serial devices are also served on a TCP
    port, so another process reaches them as `socket://host:port` (see `remote_resources`).
    """

    def __init__(
        self,
        spec: LabSpec | str | os.PathLike[str],
        *,
        host: str | None = None,
        clock: Clock | None = None,
        serial_over_tcp: bool = False,
        allow_remote: bool = False,
        base_port: int | None = None,
    ) -> None:
        self.spec = spec if isinstance(spec, LabSpec) else load_lab(spec)
        self.host = host or self.spec.host
        self.allow_remote = allow_remote or self.spec.allow_remote
        check_listen_address(self.host, self.allow_remote)
        if base_port is not None and not 0 < base_port < 65536:
            raise ConfigError(f"base port {base_port} is not a TCP port (1-65535)")
        self.base_port = base_port
        self._clock = clock
        self.serial_over_tcp = serial_over_tcp
        self.devices: dict[str, Device] = {}
        self.duts: dict[str, Dut] = {}
        self._server: LabServer | None = None
        self._attached: list[str] = []

    def _create(self, index: int, device: DeviceSpec) -> Device:
        params = dict(device.params)
        if device.seed is not None:
            params["seed"] = device.seed
        if device.latency:
            params["latency"] = device.latency
        if self._clock is not None:
            params["clock"] = self._clock
        try:
            return create(device.model, **params)
        except ConfigError as error:
            raise ConfigError(
                error.detail, field=f"devices[{index}].{error.field}", source=self.spec._source
            ) from error

    def _ports(self, served: dict[str, Device]) -> dict[str, int]:
        """The file's pinned ports, and `base_port + n` for the n-th other served device."""
        ports = {d.name: d.port for d in self.spec.devices if d.port}
        if self.base_port is not None:
            unpinned = [d.name for d in self.spec.devices if d.name in served and not d.port]
            for offset, name in enumerate(unpinned):
                port = self.base_port + offset
                if port > 65535:
                    raise ConfigError(
                        f"base port {self.base_port} leaves no port for device {name!r} "
                        f"({len(unpinned)} devices need consecutive ports)"
                    )
                ports[name] = port
        return ports

    def start(self) -> Lab:
        try:
            self.devices = {d.name: self._create(i, d) for i, d in enumerate(self.spec.devices)}
            self.duts = {d.name: create_dut(d, i) for i, d in enumerate(self.spec.duts)}
            wire(self.spec.wiring, self.devices, self.duts, self._clock or SystemClock())
            tcp = {
                d.name: self.devices[d.name]
                for d in self.spec.devices
                if d.transport == "tcp" or self.serial_over_tcp
            }
            self._server = LabServer(
                tcp, host=self.host, ports=self._ports(tcp), allow_remote=self.allow_remote
            ).start()
            for spec in self.spec.devices:
                if spec.transport == "serial":
                    attach(spec.name, self.devices[spec.name])
                    self._attached.append(spec.name)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for name in self._attached:
            detach(name)
        self._attached.clear()

    def __enter__(self) -> Lab:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def resources(self) -> dict[str, str]:
        """Device name -> resource string, in file order."""
        served = self._server.resources if self._server is not None else {}
        return {
            spec.name: served[spec.name] if spec.transport == "tcp" else f"iksim://{spec.name}"
            for spec in self.spec.devices
            if spec.name in self.devices
        }

    @property
    def remote_resources(self) -> dict[str, str]:
        """How another process reaches each device: TCP resources, `socket://` for serial ones.

        Serial devices appear only when the lab runs with `serial_over_tcp`.
        """
        if self._server is None:
            return {}
        remote = {}
        served = self._server.remote_resources
        for spec in self.spec.devices:
            if spec.transport == "tcp":
                remote[spec.name] = served[spec.name]
            elif spec.name in served:
                server = self._server._servers[spec.name]
                remote[spec.name] = f"socket://{server.remote_host}:{server.port}"
        return remote

    def resource(self, name: str) -> str:
        try:
            return self.resources[name]
        except KeyError:
            raise KeyError(
                f"no device {name!r} in this lab; devices: {sorted(self.devices)}"
            ) from None

    def device(self, name: str) -> Device:
        try:
            return self.devices[name]
        except KeyError:
            raise KeyError(
                f"no device {name!r} in this lab; devices: {sorted(self.devices)}"
            ) from None

    def dut(self, name: str) -> Dut:
        try:
            return self.duts[name]
        except KeyError:
            raise KeyError(f"no DUT {name!r} in this lab; DUTs: {sorted(self.duts)}") from None

    def model(self, name: str) -> str:
        return next(d.model for d in self.spec.devices if d.name == name)
