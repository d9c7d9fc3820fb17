"""Simulated devices under test: what a wired lab's sources drive and its meters see.

Physics only, vectorized with NumPy; no protocol. A lab file lists DUTs under `duts:`
by the names in `DUT_MODELS` and connects them with `wiring:` (see `instrumentkit.sim`
and docs/simulation.md, "Wire a lab"). Each DUT is one of two kinds:

- a **load** (`Resistor`, `Diode`, `ThermalStage`): a source output drives it, and the
  source's model asks `current(voltage)` / `voltage(current)` to solve its terminals
  (with its own compliance). Scalars or arrays in, the same shape out.
- a **filter** (`RCLowPass`): a signal (a function of device-clock time) goes in and its
  response comes out, again a function of time.

A DUT with something to route further (the stage's temperature, the filter's output)
gives it as `output()`; a DUT that reads a quantity (the diode's temperature) takes it
through `inputs()`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from instrumentkit.sim._signal import Signal

__all__ = [
    "DUT_MODELS",
    "Diode",
    "Dut",
    "RCLowPass",
    "Resistor",
    "ThermalStage",
    "register_dut",
]

Floats = NDArray[np.float64]
BOLTZMANN_OVER_CHARGE = 8.617333262e-5
"""k/q in V/K: the thermal voltage kT/q is 25.85 mV at 300 K."""
MAX_FILTER_SAMPLES = 2_000_000
"""Most samples one filter response computes (its warm-up included); beyond, coarser."""


class Dut:
    """Base of the DUT models: the kind, and the hooks the wiring layer calls."""

    kind: ClassVar[Literal["load", "filter"]] = "load"
    units: ClassVar[str] = "V"
    """Units of `output()`."""

    @property
    def input_impedance(self) -> float:
        """Ohms a signal source sees (a generator's amplitude depends on it)."""
        return math.inf

    def use_clock(self, now: Callable[[], float]) -> None:
        """The lab's clock, for DUTs that read a wired input at "now"."""
        self.now = now

    def connect(self, drive: Signal) -> None:
        """The signal this DUT receives: the source's terminal voltage, or a filter's input."""
        self.drive = drive

    def advance(self, now: float) -> None:
        """Bring time-dependent state up to clock time `now` (called before a source changes)."""

    def output(self) -> Signal | None:
        """What this DUT passes on (for `then:` in a wire), or None."""
        return None

    def inputs(self) -> dict[str, Callable[[Signal], None]]:
        """Named inputs other wires may feed (`diode.temperature`)."""
        return {}


def _floats(value: ArrayLike) -> Floats:
    return np.asarray(value, dtype=np.float64)


def _shaped(result: Floats, like: ArrayLike) -> Any:
    """A float for a scalar argument (source models compare and format floats), else the array."""
    return float(result) if np.ndim(like) == 0 else result


@dataclass
class Resistor(Dut):
    """An ohmic load of `ohms` (math.inf: an open circuit)."""

    ohms: float = 1e3

    def current(self, voltage: ArrayLike) -> Any:
        return _shaped(_floats(voltage) / self.ohms, voltage)

    def voltage(self, current: ArrayLike) -> Any:
        if math.isinf(self.ohms):
            return _shaped(np.where(_floats(current) == 0, 0.0, math.inf), current)
        return _shaped(_floats(current) * self.ohms, current)


@dataclass
class Diode(Dut):
    """A junction diode, anode on the source: the Shockley equation behind a series resistance.

    `I = Is(T) (exp((V - I Rs) / (n Vt)) - 1)` with `Vt = k T / q`, solved for I by
    Newton's method on the junction voltage (`_junction`), bounded so it always
    converges. `Is(T)` follows the SPICE temperature law
    `Is (T/Tnom)^(xti/n) exp((T/Tnom - 1) Eg / (n Vt))`. Defaults are the common
    1N4148 SPICE parameters. `temperature` is a number, or a wired input
    (`diode.temperature`) read at the time of each solve on `clock`.
    """

    saturation_current: float = 2.52e-9
    ideality: float = 1.752
    series_resistance: float = 0.568
    temperature: float = 300.0
    nominal_temperature: float = 300.0
    band_gap: float = 1.11
    xti: float = 3.0
    now: Callable[[], float] | None = field(default=None, repr=False)
    """The clock a wired temperature is read on (the lab gives its clock's `now`)."""
    _temperature_signal: Signal | None = field(default=None, init=False, repr=False)

    def inputs(self) -> dict[str, Callable[[Signal], None]]:
        return {"temperature": self._set_temperature_signal}

    def _set_temperature_signal(self, signal: Signal) -> None:
        self._temperature_signal = signal

    def kelvin(self) -> float:
        """The junction temperature now: the wired input's value, or `temperature`."""
        signal = self._temperature_signal
        if signal is None:
            return self.temperature
        now = self.now() if self.now is not None else 0.0
        return float(signal.at(np.array([now]))[0])

    def thermal_voltage(self, kelvin: float | None = None) -> float:
        """n k T / q at `kelvin` (default: now)."""
        t = self.kelvin() if kelvin is None else kelvin
        return self.ideality * BOLTZMANN_OVER_CHARGE * t

    def saturation(self, kelvin: float | None = None) -> float:
        """Is at `kelvin` (default: now)."""
        t = self.kelvin() if kelvin is None else kelvin
        ratio = t / self.nominal_temperature
        exponent = (ratio - 1) * self.band_gap / self.thermal_voltage(t)
        return self.saturation_current * ratio ** (self.xti / self.ideality) * math.exp(exponent)

    def current(self, voltage: ArrayLike, kelvin: float | None = None) -> Any:
        v = _floats(voltage)
        t = self.kelvin() if kelvin is None else kelvin
        nvt, i_s, r_s = self.thermal_voltage(t), self.saturation(t), self.series_resistance
        if r_s <= 0:
            return _shaped(i_s * np.expm1(np.minimum(v / nvt, 700.0)), voltage)
        return _shaped(i_s * np.expm1(_junction(v, nvt, i_s, r_s)), voltage)

    def voltage(self, current: ArrayLike, kelvin: float | None = None) -> Any:
        """The voltage that drives `current`; a reverse current beyond Is needs -inf."""
        i = _floats(current)
        t = self.kelvin() if kelvin is None else kelvin
        i_s = self.saturation(t)
        with np.errstate(divide="ignore", invalid="ignore"):
            junction = self.thermal_voltage(t) * np.log1p(i / i_s)
        junction = np.where(i <= -i_s, -math.inf, junction)
        return _shaped(junction + i * self.series_resistance, current)


def _junction(v: Floats, nvt: float, i_s: float, r_s: float) -> Floats:
    """u = V_junction / (n Vt) solving `h(u) = nVt u + Rs Is (e^u - 1) - V = 0`.

    h is convex and increasing, so Newton's method started at or above the root comes
    down to it monotonically: the start is 0 for V < 0 (h(0) = -V > 0) and, for V >= 0,
    the smaller of V / nVt and log(1 + V / (Rs Is)), both bounds from above.
    """
    upper = np.minimum(v / nvt, np.log1p(np.maximum(v, 0.0) / (r_s * i_s)))
    u = np.where(v < 0, 0.0, upper)
    for _ in range(100):
        grown = np.exp(u)
        step = (nvt * u + r_s * i_s * (grown - 1) - v) / (nvt + r_s * i_s * grown)
        u = u - step
        if np.all(np.abs(step) <= 1e-13 * np.maximum(1.0, np.abs(u))):
            break
    return u


def first_order(x: Floats, a: float, y0: float) -> Floats:
    """`y[n] = a y[n-1] + x[n]` with `y[-1] = y0`, in NumPy blocks (no per-sample loop).

    Inside a block `y[k] = a^k (a y_prev + sum_j<=k a^-j x[j])`; blocks are short enough
    that a^-k stays below e^5, so the cumulative sum loses no precision.
    """
    if a < 1e-12:
        return x.copy()
    block = max(1, min(len(x), int(5.0 / max(-math.log(a), 1e-300))))
    powers = a ** np.arange(block, dtype=np.float64)
    inverse = 1 / powers
    out = np.empty_like(x)
    previous = y0
    for start in range(0, len(x), block):
        piece = x[start : start + block]
        m = len(piece)
        out[start : start + m] = powers[:m] * (a * previous + np.cumsum(piece * inverse[:m]))
        previous = float(out[start + m - 1])
    return out


@dataclass
class RCLowPass(Dut):
    """A first-order RC low-pass: R in series, C to ground, output across C.

    For a sine of frequency f: gain `1 / sqrt(1 + (2 pi f R C)^2)`, phase
    `-atan(2 pi f R C)`. `output()` is the time-domain response to whatever is wired in,
    computed on a uniform grid that starts `settle` time constants before the first time
    asked (so the start-up transient has died away) and solved exactly for an input
    linear between grid points.
    """

    kind: ClassVar[Literal["load", "filter"]] = "filter"
    resistance: float = 1.59e3
    capacitance: float = 100e-9
    settle: float = 12.0
    samples_per_period: int = 64

    def __post_init__(self) -> None:
        if self.resistance <= 0 or self.capacitance <= 0:
            raise ValueError("resistance and capacitance must be positive")
        self.drive: Signal | None = None

    @property
    def input_impedance(self) -> float:
        return self.resistance

    @property
    def tau(self) -> float:
        return self.resistance * self.capacitance

    @property
    def cutoff(self) -> float:
        """The -3 dB frequency 1 / (2 pi R C), Hz."""
        return 1 / (2 * math.pi * self.tau)

    def transfer(self, frequency: ArrayLike) -> NDArray[np.complex128]:
        """H(f) = 1 / (1 + j 2 pi f R C)."""
        return 1 / (1 + 2j * np.pi * _floats(frequency) * self.tau)

    def response(self, signal: Signal, times: ArrayLike) -> Floats:
        """The output at clock `times` for `signal` at the input."""
        t = np.atleast_1d(_floats(times))
        step = self.tau / 200  # an input's edges land within 0.5 % of tau
        if t.size > 1:
            step = min(step, float(np.min(np.diff(np.sort(t)))) or step)
        frequency = signal.frequency()
        if frequency > 0:
            step = min(step, 1 / (frequency * self.samples_per_period))
        begin, end = float(t.min()) - self.settle * self.tau, float(t.max())
        count = math.ceil((end - begin) / step) + 1
        if count > MAX_FILTER_SAMPLES:
            count = MAX_FILTER_SAMPLES
            step = (end - begin) / (count - 1)
        grid = end - step * np.arange(count - 1, -1, -1)
        u = signal.at(grid)
        a = math.exp(-step / self.tau)
        k = self.tau * (1 - a) / step
        # Exact for u linear between samples: y1 = a y0 + (k - a) u0 + (1 - k) u1,
        # starting settled on the first input value.
        drive = (1 - k) * u + (k - a) * np.concatenate(([u[0]], u[:-1]))
        y = first_order(drive, a, float(u[0]))
        return np.interp(t, grid, y)

    def output(self) -> Signal | None:
        return Signal(self._output_at, frequency=self._input_frequency)

    def _output_at(self, times: Floats) -> Floats:
        if self.drive is None:
            return np.zeros(np.shape(times))
        return self.response(self.drive, times)

    def _input_frequency(self) -> float:
        return self.drive.frequency() if self.drive is not None else 0.0


@dataclass
class ThermalStage(Dut):
    """A sample stage warmed by a heater resistor that a supply drives.

    First order: `C dT/dt = P(t) - G (T - ambient)` with `P = V^2 / heater_resistance`,
    so the stage settles to `ambient + P / G` with time constant `C / G`. Integrated on
    the device clock in steps of at most 1/200 of the time constant (the heater
    voltage sampled mid-step, exact for a constant one), whenever the stage is read or
    its supply receives a command. `output()` is the temperature in kelvin.
    """

    units: ClassVar[str] = "K"
    heat_capacity: float = 2.0
    conductance: float = 0.05
    ambient: float = 295.0
    heater_resistance: float = 25.0
    max_steps: int = 20_000

    def __post_init__(self) -> None:
        if min(self.heat_capacity, self.conductance, self.heater_resistance) <= 0:
            raise ValueError("heat capacity, conductance and heater resistance must be positive")
        self.kelvin = self.ambient
        self.drive: Signal | None = None
        self._time: float | None = None
        self._lock = threading.Lock()  # read by a thermometer, advanced by its supply's thread

    @property
    def time_constant(self) -> float:
        return self.heat_capacity / self.conductance

    def current(self, voltage: ArrayLike) -> Any:
        return _shaped(_floats(voltage) / self.heater_resistance, voltage)

    def voltage(self, current: ArrayLike) -> Any:
        return _shaped(_floats(current) * self.heater_resistance, current)

    def power(self, times: ArrayLike) -> Floats:
        """Heater watts at clock `times` (zero with nothing wired)."""
        t = _floats(times)
        if self.drive is None:
            return np.zeros(t.shape)
        return self.drive.at(t) ** 2 / self.heater_resistance

    def advance(self, now: float) -> None:
        with self._lock:
            self._advance(now)

    def _advance(self, now: float) -> None:
        if self._time is None or now <= self._time:
            self._time = now if self._time is None else self._time
            return
        span = now - self._time
        steps = min(self.max_steps, max(1, math.ceil(span * 200 / self.time_constant)))
        h = span / steps
        middle = self._time + h * (np.arange(steps) + 0.5)
        target = self.ambient + self.power(middle) / self.conductance
        a = math.exp(-h / self.time_constant)
        # T_n = a^n T_0 + (1 - a) sum_k a^(n-1-k) target_k: the exact step, n times at once.
        weights = (1 - a) * a ** np.arange(steps - 1, -1, -1, dtype=np.float64)
        self.kelvin = float(a**steps * self.kelvin + weights @ target)
        self._time = now

    def temperature(self, times: ArrayLike) -> Floats:
        """Kelvin at increasing clock `times` (times before the last step read its value)."""
        t = np.atleast_1d(_floats(times))
        values = np.empty(t.shape)
        with self._lock:
            for index, moment in enumerate(t):  # a reader asks one or a few times, not a record
                self._advance(float(moment))
                values[index] = self.kelvin
        return values

    def output(self) -> Signal | None:
        return Signal(self.temperature, units="K")


DUT_MODELS: dict[str, type[Dut]] = {
    "resistor": Resistor,
    "diode": Diode,
    "rc-lowpass": RCLowPass,
    "thermal-stage": ThermalStage,
}
"""DUT model name (as a lab file's `duts[].model`) -> class."""


def register_dut(name: str, model: type[Dut]) -> None:
    """Add a DUT model in-process (a lab file may then name it)."""
    if not (isinstance(model, type) and issubclass(model, Dut)):
        raise TypeError(f"{model!r} is not a Dut subclass")
    DUT_MODELS[name] = model
