"""A wired lab: which source output drives which DUT, and which signal reaches which input.

    duts:
      - {name: diode, model: diode}
      - {name: rc_filter, model: rc-lowpass, params: {resistance: 1.59e3, capacitance: 1.0e-7}}
    wiring:
      - {from: smu, to: diode}                      # the SMU's load is the diode
      - {from: fgen.1, to: scope.3}                 # generator channel 1 on scope channel 3
      - {from: lockin.ref, to: rc_filter, then: lockin.input}
      - {from: psu.1, to: stage, then: temperature.C, slew: 0.5}

An end is `<device or DUT>[.<port>]`; a device's ports are its model's `ports()`. Wires
are pulled, not pushed: each input holds a `Signal` (a function of clock time) that goes
back through any filter to the source's present state, so a reading is computed at the
moment it is taken. A drive output also calls `advance(now)` on its DUT before each
command it receives, so a level changes what a thermal DUT integrates at the clock time
the command arrived; `slew` (units per second) limits how fast that level moves.
Decision 0120.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from instrumentkit.errors import ConfigError
from instrumentkit.sim._clock import Clock
from instrumentkit.sim._device import Device
from instrumentkit.sim._signal import DriveOut, Floats, Signal, SignalIn, SignalOut
from instrumentkit.sim.dut import DUT_MODELS, Dut
from instrumentkit.sim.physics import Source

__all__ = ["DutSpec", "Slewed", "WireSpec", "WiredSource", "check_names", "create_dut", "wire"]

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"


class DutSpec(BaseModel):
    """One simulated device under test: a model from `instrumentkit.sim.dut.DUT_MODELS`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_NAME, max_length=64)
    model: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)


class WireSpec(BaseModel):
    """One wire: `from` an output, `to` an input or a DUT, `then` from that DUT onwards."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    source: str = Field(alias="from", min_length=1)
    to: str = Field(min_length=1)
    then: str | None = Field(default=None, min_length=1)
    slew: float | None = Field(default=None, gt=0.0)
    """Most the driven level moves per second (a drive output's units: V/s)."""

    def label(self) -> str:
        path = [self.source, self.to] + ([self.then] if self.then else [])
        text = " -> ".join(path)
        return f"{text} (slew {self.slew:g}/s)" if self.slew else text


@dataclass(frozen=True)
class _End:
    name: str
    port: str
    dut: bool

    def __str__(self) -> str:
        return f"{self.name}.{self.port}" if self.port else self.name


def _end(text: str, devices: Sequence[str], duts: Sequence[str], field: str) -> _End:
    """`name` or `name.port`; a name may itself hold dots, so the whole text is tried first."""
    for name, port in ((text, ""), text.rpartition(".")[::2]):
        if name in devices or name in duts:
            return _End(name, port, name in duts)
    known = ", ".join([*devices, *duts]) or "none"
    raise ConfigError(f"no device or DUT named {text!r}; known: {known}", field=field)


def check_names(
    wires: Sequence[WireSpec], devices: Sequence[str], duts: Sequence[str], source: str
) -> None:
    """Every end names a device or DUT of the lab (ports are checked when models exist)."""
    for index, spec in enumerate(wires):
        for key, text in (("from", spec.source), ("to", spec.to), ("then", spec.then)):
            if text is not None:
                try:
                    _end(text, devices, duts, f"wiring[{index}].{key}")
                except ConfigError as error:
                    raise ConfigError(error.detail, field=error.field, source=source) from None
        if spec.then is not None and not _end(spec.to, devices, duts, "").dut:
            raise ConfigError(
                f"'then' continues from a DUT, but {spec.to!r} is a device input",
                field=f"wiring[{index}].then",
                source=source,
            )


def create_dut(spec: DutSpec, index: int) -> Dut:
    model = DUT_MODELS.get(spec.model)
    if model is None:
        known = ", ".join(sorted(DUT_MODELS))
        raise ConfigError(
            f"no DUT model named {spec.model!r}; known: {known}", field=f"duts[{index}].model"
        )
    try:
        return model(**spec.params)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"DUT {spec.model!r}: {error}", field=f"duts[{index}].params") from None


class Slewed:
    """A drive output's terminal voltage as the DUT sees it: at most `rate` per second
    towards the level the output is set to (`rate` None: at once)."""

    def __init__(self, target: Callable[[], float], rate: float | None, now: float) -> None:
        self.target = target
        self.rate = rate
        self.mark_time = now
        self.mark_level = target()

    def at(self, times: Floats) -> Floats:
        t = np.asarray(times, dtype=np.float64)
        goal = self.target()
        if self.rate is None:
            return np.full(t.shape, goal)
        reach = self.rate * np.clip(t - self.mark_time, 0.0, None)
        delta = goal - self.mark_level
        return self.mark_level + math.copysign(1.0, delta) * np.minimum(abs(delta), reach)

    def mark(self, now: float) -> None:
        """Note the level reached by `now`, before the output's setting may change."""
        if self.rate is None:
            return  # the level is the target at every moment: nothing to remember
        self.mark_level = float(self.at(np.array([now]))[0])
        self.mark_time = now


@dataclass
class WiredSource(Source):
    """A wired signal where a scope model expects a `physics.Source` (plus input noise)."""

    signal: Signal | None = None

    @classmethod
    def of_signal(cls, signal: Signal, noise: float = 0.0) -> WiredSource:
        frequency = signal.frequency()
        shape = "sine" if frequency > 0 else "dc"
        return cls(shape=shape, frequency=frequency, noise=noise, signal=signal)

    def clean(self, t: Floats) -> Floats:
        assert self.signal is not None
        return self.signal.at(t)


class _Wiring:
    """Resolves and connects the wires of one lab, refusing what cannot be connected."""

    def __init__(self, devices: Mapping[str, Device], duts: Mapping[str, Dut], clock: Clock):
        self.devices = devices
        self.duts = duts
        self.clock = clock
        self.taken: dict[str, str] = {}
        """Inputs and drive outputs already wired -> the wire that took them."""

    def _take(self, end: _End, by: str, field: str) -> None:
        key = str(end)
        if key in self.taken:
            raise ConfigError(f"{key} is already wired ({self.taken[key]})", field=field)
        self.taken[key] = by

    def port(self, end: _End, field: str) -> Any:
        device = self.devices[end.name]
        ports = device.ports()
        if end.port not in ports:
            names = ", ".join(repr(p) for p in ports) or "none"
            hint = f"'{end.name}.<port>'" if "" not in ports else f"'{end.name}'"
            raise ConfigError(
                f"device {end.name!r} has no port {end.port!r}; its ports: {names} (write {hint})",
                field=field,
            )
        return ports[end.port]

    def source(self, end: _End, field: str) -> SignalOut | DriveOut | Dut:
        """What `from` names: a device output, or a DUT whose output is passed on."""
        if end.dut:
            dut = self.duts[end.name]
            if end.port or dut.output() is None:
                raise ConfigError(f"DUT {str(end)!r} has no output to wire from", field=field)
            return dut
        port = self.port(end, field)
        if isinstance(port, SignalIn):
            raise ConfigError(f"{end} is an input; 'from' needs an output", field=field)
        return port

    def signal(
        self, source: SignalOut | DriveOut | Dut, begin: _End, impedance: float, slew: float | None
    ) -> Signal:
        """What `source` puts on an input of `impedance` ohms."""
        if isinstance(source, SignalOut):
            return source.signal(impedance)
        if isinstance(source, DriveOut):
            return Signal(self.slewed(source, begin, slew).at)
        output = source.output()
        assert output is not None
        return output

    def slewed(
        self, drive: DriveOut, begin: _End, rate: float | None, dut: Dut | None = None
    ) -> Slewed:
        """The drive's level as it moves; before each command to the source device, `dut`
        (if any) is brought up to now with the old level, then the level reached is noted."""
        slewed = Slewed(drive.voltage, rate, self.clock.now())
        self.devices[begin.name].before_host_write.append(_before(dut, slewed, self.clock))
        return slewed

    def connect(self, spec: WireSpec, index: int, names: tuple[list[str], list[str]]) -> None:
        field = f"wiring[{index}]"
        begin = _end(spec.source, *names, f"{field}.from")
        to = _end(spec.to, *names, f"{field}.to")
        source = self.source(begin, f"{field}.from")
        self._connect(source, begin, to, spec, f"{field}.to")
        if spec.then is not None:
            after = _end(spec.then, *names, f"{field}.then")
            dut = self.duts[to.name]
            if dut.output() is None:
                raise ConfigError(
                    f"DUT {to.name!r} has no output to continue from", field=f"{field}.then"
                )
            self._connect(dut, to, after, spec, f"{field}.then")

    def _connect(
        self,
        source: SignalOut | DriveOut | Dut,
        begin: _End,
        to: _End,
        spec: WireSpec,
        field: str,
    ) -> None:
        label = spec.label()
        if not to.dut:
            port = self.port(to, field)
            if not isinstance(port, SignalIn):
                raise ConfigError(f"{to} is an output; 'to' needs an input or a DUT", field=field)
            signal = self.signal(source, begin, port.impedance, spec.slew)
            if signal.units != port.units:
                raise ConfigError(
                    f"{to} measures {port.units}, but {begin} gives {signal.units}", field=field
                )
            self._take(to, label, field)
            port.connect(signal)
            return
        dut = self.duts[to.name]
        if to.port:
            inputs = dut.inputs()
            if to.port not in inputs:
                names = ", ".join(repr(p) for p in inputs) or "none"
                raise ConfigError(
                    f"DUT {to.name!r} has no input {to.port!r}; inputs: {names}", field=field
                )
            self._take(to, label, field)
            inputs[to.port](self.signal(source, begin, math.inf, spec.slew))
            return
        self._take(to, label, field)
        if dut.kind == "filter":
            dut.connect(self.signal(source, begin, dut.input_impedance, spec.slew))
            return
        if not isinstance(source, DriveOut):
            raise ConfigError(
                f"DUT {to.name!r} is a load: wire it from a source output (an SMU, a supply "
                f"channel), not from {begin}",
                field=field,
            )
        self._take(begin, label, field.rsplit(".", 1)[0] + ".from")
        source.attach(dut)
        dut.connect(Signal(self.slewed(source, begin, spec.slew, dut).at))
        dut.advance(self.clock.now())


def _before(dut: Dut | None, slewed: Slewed, clock: Clock) -> Callable[[], None]:
    def bring_up_to_now() -> None:
        now = clock.now()
        if dut is not None:
            dut.advance(now)
        slewed.mark(now)

    return bring_up_to_now


def wire(
    wires: Sequence[WireSpec],
    devices: Mapping[str, Device],
    duts: Mapping[str, Dut],
    clock: Clock,
) -> None:
    """Connect `wires` between running `devices` and `duts`; ConfigError names the field."""
    for dut in duts.values():
        dut.use_clock(clock.now)
    names = (list(devices), list(duts))
    wiring = _Wiring(devices, duts, clock)
    for index, spec in enumerate(wires):
        wiring.connect(spec, index, names)
