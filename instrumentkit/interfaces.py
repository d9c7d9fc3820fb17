"""What every oscilloscope, spectrometer and sensor can do.

Acquisition code is written against these protocols alone, so any driver that
satisfies one plugs in; `isinstance(driver, Oscilloscope)` checks that it does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from instrumentkit.data import Reading, Spectrum, Waveform

__all__ = ["Oscilloscope", "Sensor", "Spectrometer"]


@runtime_checkable
class Oscilloscope(Protocol):
    """A digitising oscilloscope: arm, wait, fetch traces in volts."""

    name: str

    def run(self) -> None: ...
    def stop(self) -> None: ...
    def single(self) -> None: ...
    def wait_for_acquisition(self, timeout: float | None = None) -> None: ...
    def fetch(self, channel: int | str) -> Waveform: ...
    def fetch_all(self, channels: Sequence[int | str]) -> list[Waveform]: ...
    def snapshot(self) -> dict[str, Any]: ...


@runtime_checkable
class Spectrometer(Protocol):
    """An array spectrometer or optical spectrum analyzer."""

    name: str

    def wavelengths(self) -> NDArray[np.float64]: ...
    def acquire(self) -> Spectrum: ...
    def snapshot(self) -> dict[str, Any]: ...


@runtime_checkable
class Sensor(Protocol):
    """Anything that returns scalar readings: DMMs, thermometers, gauges, power meters."""

    name: str

    @property
    def channel_names(self) -> tuple[str, ...]: ...
    @property
    def units(self) -> tuple[str, ...]: ...
    def read(self) -> Reading: ...
    def read_many(self, n: int) -> Reading: ...
    def snapshot(self) -> dict[str, Any]: ...
