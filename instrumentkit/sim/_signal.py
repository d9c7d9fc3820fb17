"""Signals (a quantity as a function of device-clock time) and the ports that carry them."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["DriveOut", "Port", "Signal", "SignalIn", "SignalOut", "phasor"]

Floats = NDArray[np.float64]


def _unknown() -> float:
    return 0.0


@dataclass(frozen=True)
class Signal:
    """Values of a quantity at clock times (seconds), for any array of times.

    `frequency()` is the fundamental in Hz right now, 0 when there is none or it is not
    known: a scope uses it to search for a trigger edge, a filter to choose its step.
    """

    at: Callable[[Floats], Floats]
    frequency: Callable[[], float] = _unknown
    units: str = "V"

    def __call__(self, times: Floats) -> Floats:
        return self.at(np.asarray(times, dtype=np.float64))


# -- the ports a device model offers to a lab's wiring (`Device.ports()`)
@dataclass(frozen=True)
class SignalOut:
    """An output that puts a signal on what it drives (a generator channel, a reference out).

    `signal(load)` is what a load of `load` ohms sees (math.inf: high impedance).
    """

    signal: Callable[[float], Signal]


@dataclass(frozen=True)
class DriveOut:
    """A DC source output (an SMU, a supply channel) that drives a load DUT.

    `attach(dut)` makes the DUT the output's load, so the model solves its terminals
    (compliance, constant current) against it; `voltage()` is the terminal voltage now.
    """

    attach: Callable[[Any], None]
    voltage: Callable[[], float]


@dataclass(frozen=True)
class SignalIn:
    """An input that measures a wired signal (a scope channel, a thermometer input)."""

    connect: Callable[[Signal], None]
    impedance: float = math.inf
    units: str = "V"


Port = SignalOut | DriveOut | SignalIn


def phasor(
    signal: Signal, frequency: float, start: float, *, periods: int = 16, per_period: int = 64
) -> complex:
    """The rms phasor of `signal` at `frequency`, relative to `sin(2 pi f t)` on the clock.

    What a lock-in detects: `A sin(2 pi f t + phi)` gives `A / sqrt(2) * exp(j phi)`.
    Averaged over `periods` whole periods from `start`, so other harmonics cancel.
    """
    if frequency <= 0:
        return 0j
    count = periods * per_period
    t = start + np.arange(count) / (frequency * per_period)
    mixed = signal.at(t) * np.exp(-2j * np.pi * frequency * t)
    return complex(math.sqrt(2) * 1j * np.mean(mixed))
