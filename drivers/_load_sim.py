"""Loads for source models (what is connected to an output), and SMU compliance.

`load` is what the terminals see: any object with `current(voltage)` and
`voltage(current)` (a `Resistor`, a `Diode`). It is deliberately one small replaceable
attribute so that lab wiring can later put a DUT model there (issue 12, section 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar, Protocol

from instrumentkit.sim import DriveOut, ScpiDevice, ScpiError, numeric_parameter

__all__ = ["Diode", "Load", "Resistor", "SupplyModel", "SupplyOutput", "measured", "solve"]

BOLTZMANN_OVER_CHARGE = 8.617333262e-5  # V/K


class Load(Protocol):
    def current(self, voltage: float) -> float: ...
    def voltage(self, current: float) -> float: ...


@dataclass
class Resistor:
    """An ohmic load; `math.inf` is an open circuit."""

    ohms: float = 1e3

    def current(self, voltage: float) -> float:
        return voltage / self.ohms

    def voltage(self, current: float) -> float:
        return current * self.ohms if current else 0.0


@dataclass
class Diode:
    """A Shockley diode, anode on the output: I = Is (exp(V / n Vt) - 1)."""

    saturation_current: float = 1e-12
    ideality: float = 1.8
    temperature: float = 300.0

    @property
    def thermal_voltage(self) -> float:
        return self.ideality * BOLTZMANN_OVER_CHARGE * self.temperature

    def current(self, voltage: float) -> float:
        exponent = min(voltage / self.thermal_voltage, 700.0)
        return self.saturation_current * math.expm1(exponent)

    def voltage(self, current: float) -> float:
        if current <= -self.saturation_current:
            return -math.inf  # a reverse current beyond Is needs breakdown: never reached
        return self.thermal_voltage * math.log1p(current / self.saturation_current)


def solve(load: Load, function: str, level: float, limit: float) -> tuple[float, float, bool]:
    """(voltage, current, in compliance) at the terminals when sourcing `function`
    ("VOLT" or "CURR") at `level` with compliance `limit` on the other quantity."""
    if function == "VOLT":
        current = load.current(level)
        if abs(current) <= limit:
            return level, current, False
        current = math.copysign(limit, current)
        return load.voltage(current), current, True
    voltage = load.voltage(level)
    if abs(voltage) <= limit:
        return voltage, level, False
    voltage = math.copysign(limit, voltage)
    return voltage, load.current(voltage), True


def measured(
    load: Load,
    function: str,
    level: float,
    limit: float,
    on: bool,
    noise: tuple[float, float],
) -> tuple[float, float, bool]:
    """What the meter reads: the solved terminals plus noise (`noise` are the two
    standard deviations, V and A); an output that is off reads zeros."""
    if not on:
        return noise[0], noise[1], False
    voltage, current, tripped = solve(load, function, level, limit)
    return voltage + noise[0], current + noise[1], tripped


@dataclass
class SupplyOutput:
    """One output of a simulated DC supply: constant voltage until the load draws the
    current limit, then constant current. `load` is replaceable like an SMU's."""

    rating: tuple[float, float]
    voltage: float = 0.0
    current_limit: float = 0.0
    on: bool = False
    load: Load = field(default_factory=lambda: Resistor(1e3))

    def terminals(self) -> tuple[float, float, str]:
        """(voltage, current, mode) at the terminals; mode is "CV", "CC" or "OFF"."""
        if not self.on:
            return 0.0, 0.0, "OFF"
        current = self.load.current(self.voltage)
        if current <= self.current_limit:
            return self.voltage, max(current, 0.0), "CV"
        return self.load.voltage(self.current_limit), self.current_limit, "CC"


class SupplyModel(ScpiDevice):
    """A multi-output supply model: `outputs[n]` per `ratings`, each driving its load.

    Loads survive `*RST` (they are the bench, not the instrument's state).
    """

    ratings: ClassVar[dict[int, tuple[float, float]]] = {}

    def __init__(self, *, resistance: float = 1e3, **options: Any) -> None:
        self.resistance = resistance
        """Ohms of the resistor every output drives until its `load` is replaced."""
        super().__init__(**options)

    def reset(self) -> None:
        super().reset()
        loads = {n: out.load for n, out in getattr(self, "outputs", {}).items()}
        self.outputs = {
            n: SupplyOutput(rating, 0.0, rating[1], load=loads.get(n, Resistor(self.resistance)))
            for n, rating in self.ratings.items()
        }

    def ports(self) -> dict[str, DriveOut]:
        """Each output ("1", ...) drives a wired lab's load DUT in place of its `load`."""
        return {
            str(n): DriveOut(partial(self._wire_load, n), partial(self._wired_voltage, n))
            for n in self.ratings
        }

    def _wire_load(self, output: int, load: Load) -> None:
        self.outputs[output].load = load

    def _wired_voltage(self, output: int) -> float:
        return self.outputs[output].terminals()[0]

    @staticmethod
    def number(text: str, top: float) -> float:
        """A level the host sent, within [0, top] (MIN/MAX allowed), or ScpiError."""
        value = numeric_parameter(text, 0.0, top)
        if not 0.0 <= value <= top:
            raise ScpiError(-222)
        return value
