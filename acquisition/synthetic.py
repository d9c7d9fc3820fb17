"""In-process synthetic instruments: the interfaces with no I/O behind them.

They answer at memory speed, so they measure what the pipeline and the writer cost (the
benchmarks) and let tests run a pipeline without a lab. Data is vectorized NumPy from a
seeded generator; each object counts what it produced so tests can check every value
arrived. For realistic instruments over real transports, use the simulated lab
(`instrumentkit.sim`).

    from instrumentkit.acquisition.synthetic import SyntheticSensor
    sensor = SyntheticSensor("dmm", delay=0.001)   # one reading per millisecond
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from instrumentkit.data import Reading, Spectrum, Waveform, now_ns
from instrumentkit.errors import Timeout

__all__ = ["SyntheticScope", "SyntheticSensor", "SyntheticSpectrometer"]


class _Synthetic:
    def __init__(self, name: str, delay: float, seed: int | None) -> None:
        self.name = name
        self.delay = delay
        self.rng = np.random.default_rng(seed)
        self.fail_next = 0
        """Make the next N reads raise `Timeout` (a stand-in for an instrument that hangs)."""
        self._lock = threading.Lock()

    def _pause(self) -> None:
        if self.delay:
            time.sleep(self.delay)
        if self.fail_next:
            with self._lock:
                self.fail_next -= 1
            raise Timeout("synthetic failure", instrument=self.name, command="read")

    def snapshot(self) -> dict[str, Any]:
        return {"delay": {"value": self.delay, "units": "s"}}


class SyntheticSensor(_Synthetic):
    """A `Sensor` whose readings count up from 0 (so every value is checkable), one channel
    per name in `channels`; `read_many(n)` returns n samples in one block.
    """

    def __init__(
        self,
        name: str = "sensor",
        *,
        channels: Sequence[str] = ("value",),
        units: Sequence[str] | None = None,
        delay: float = 0.0,
        seed: int | None = 0,
    ) -> None:
        super().__init__(name, delay, seed)
        self._channels = tuple(channels)
        self._units = tuple(units) if units is not None else ("V",) * len(self._channels)
        self._offsets = np.arange(len(self._channels), dtype=np.float64) * 1e6
        self.count = 0
        self._last_stamp = 0

    @property
    def channel_names(self) -> tuple[str, ...]:
        return self._channels

    @property
    def units(self) -> tuple[str, ...]:
        return self._units

    def read(self) -> Reading:
        self._pause()
        value = float(self.count)
        self.count += 1
        row = (value + self._offsets).reshape(1, -1)
        return Reading(row, np.array([now_ns()], np.int64), self._channels, self._units)

    def read_many(self, n: int) -> Reading:
        self._pause()
        start, self.count = self.count, self.count + n
        values = np.arange(start, start + n, dtype=np.float64)[:, None] + self._offsets
        # One sample per microsecond, ending now, never before the previous block.
        first = max(now_ns() - (n - 1) * 1000, self._last_stamp + 1000)
        stamps = first + np.arange(n, dtype=np.int64) * 1000
        self._last_stamp = int(stamps[-1])
        return Reading(values, stamps, self._channels, self._units)


class SyntheticScope(_Synthetic):
    """An `Oscilloscope` returning `points`-long noisy sines; `y[0]` of trigger k is k."""

    def __init__(
        self,
        name: str = "scope",
        *,
        points: int = 1000,
        dx: float = 1e-6,
        delay: float = 0.0,
        seed: int | None = 0,
    ) -> None:
        super().__init__(name, delay, seed)
        self.points = points
        self.dx = dx
        self.triggers = 0
        self._phase = 2 * np.pi * 1e3 * dx * np.arange(points)

    def run(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def single(self) -> None:
        self.triggers += 1

    def wait_for_acquisition(self, timeout: float | None = None) -> None:
        self._pause()

    def fetch(self, channel: int | str) -> Waveform:
        y = np.sin(self._phase) + 0.01 * self.rng.standard_normal(self.points)
        y[0] = self.triggers - 1
        return Waveform(y, x0=0.0, dx=self.dx, channel=str(channel))

    def fetch_all(self, channels: Sequence[int | str]) -> list[Waveform]:
        return [self.fetch(channel) for channel in channels]


class SyntheticSpectrometer(_Synthetic):
    """A `Spectrometer` with one Gaussian line on a flat baseline; `intensities[0]` counts."""

    def __init__(
        self,
        name: str = "spectrometer",
        *,
        pixels: int = 2048,
        delay: float = 0.0,
        seed: int | None = 0,
    ) -> None:
        super().__init__(name, delay, seed)
        self._wavelengths = np.linspace(200.0, 1100.0, pixels)
        self._line = 1000.0 * np.exp(-0.5 * ((self._wavelengths - 656.3) / 2.0) ** 2)
        self.spectra = 0

    def wavelengths(self) -> NDArray[np.float64]:
        return self._wavelengths

    def acquire(self) -> Spectrum:
        self._pause()
        counts = self._line + 100.0 + self.rng.standard_normal(self._wavelengths.size)
        counts[0] = self.spectra
        self.spectra += 1
        return Spectrum(self._wavelengths, counts, integration_time=0.01)
