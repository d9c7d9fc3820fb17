"""What every oscilloscope, spectrometer, sensor and source can do.

Acquisition code is written against these protocols alone, so any driver that
satisfies one plugs in; `isinstance(driver, Oscilloscope)` checks that it does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from instrumentkit.data import Reading, Spectrum, Waveform
from instrumentkit.sourcing import SafeLimits

__all__ = ["Oscilloscope", "Sensor", "Source", "SourceOutput", "Spectrometer"]


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


@runtime_checkable
class SourceOutput(Protocol):
    """One output of a source: the instrument itself, or one of its channels.

    Names follow IviDCPwr/IviFgen: `output` is OutputEnabled, `level` the voltage or
    current (SMU: by source function; function generator: amplitude in Vpp).
    `make_safe` ramps to `safe_limits.safe_level`, turns the output off and returns
    the problems met (empty when safe) instead of raising.
    """

    name: str
    safe_limits: SafeLimits
    if TYPE_CHECKING:
        # Type checkers see these; isinstance() does not test them, because testing a
        # Setting reads it: an isinstance check would query the instrument (Python 3.11).
        output: bool
        level: float

        @property
        def level_units(self) -> str: ...

    def ramp_to(self, level: float, rate: float | None = None) -> None: ...
    def make_safe(self) -> list[str]: ...


@runtime_checkable
class Source(Protocol):
    """An instrument with outputs to set: SMUs, power supplies, function generators.

    `source_outputs()` is {"": self} for a single-output instrument, {"1": ch1, ...}
    otherwise; `make_safe()` makes every output safe and returns every problem met, so
    one unreachable output never leaves the others on.
    """

    name: str

    def source_outputs(self) -> Mapping[str, SourceOutput]: ...
    def make_safe(self) -> list[str]: ...
    def snapshot(self) -> dict[str, Any]: ...
