"""Physics for simulated instruments, vectorized with NumPy and driven by a seeded Generator.

Nothing here knows a vendor's dialect: device models call these to get volts, ADC codes,
counts and readings, then format them the way their instrument does. Pass the model's
`self.rng` (`np.random.default_rng(seed)`) so a seeded model is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "ADC",
    "Acquisition",
    "Drift",
    "EmissionLine",
    "Exposure",
    "Multimeter",
    "PowerMeter",
    "Source",
    "Spectrograph",
    "acquire",
    "photodiode_responsivity",
]

Shape = Literal["sine", "square", "triangle", "dc", "noise"]
Floats = NDArray[np.float64]


# -- signals and the oscilloscope front end
@dataclass
class Source:
    """A signal on an input: `offset + amplitude * shape(2 pi f t + phase)` plus white noise.

    `amplitude` is the peak value, `noise` the rms of Gaussian noise added per sample,
    `phase` in radians; `shape="noise"` is noise alone around `offset`.
    """

    shape: Shape = "sine"
    amplitude: float = 1.0
    frequency: float = 1e3
    offset: float = 0.0
    phase: float = 0.0
    noise: float = 0.0

    @classmethod
    def of(cls, spec: Source | Mapping[str, float | str]) -> Source:
        """A Source from itself or from plain data (a lab file's `{shape: sine, ...}`)."""
        return spec if isinstance(spec, Source) else cls(**spec)  # type: ignore[arg-type]

    def clean(self, t: Floats) -> Floats:
        """The noiseless signal at times `t` (seconds)."""
        angle = 2 * np.pi * self.frequency * t + self.phase
        if self.shape == "sine":
            wave = np.sin(angle)
        elif self.shape == "square":
            wave = np.where(np.sin(angle) >= 0, 1.0, -1.0)
        elif self.shape == "triangle":
            wave = (2 / np.pi) * np.arcsin(np.sin(angle))
        else:  # dc and noise
            wave = np.zeros_like(t)
        return self.offset + self.amplitude * wave if self.shape != "noise" else wave + self.offset

    def sample(self, t: Floats, rng: np.random.Generator) -> Floats:
        """The signal at times `t` with its noise (always noise for `shape="noise"`)."""
        values = self.clean(t)
        sigma = self.noise if self.shape != "noise" else max(self.noise, self.amplitude)
        if sigma > 0:
            values = values + rng.normal(0.0, sigma, t.shape)
        return values


@dataclass(frozen=True)
class ADC:
    """An ADC spanning `full_scale` volts centred on `center`, with `bits` of resolution.

    Codes are signed (-2**(bits-1) .. 2**(bits-1)-1) or, with `unsigned`, 0 .. 2**bits-1;
    inputs beyond the span clip to the end codes, as a real front end does.
    """

    bits: int = 8
    full_scale: float = 8.0
    center: float = 0.0
    unsigned: bool = False

    @property
    def levels(self) -> int:
        return 1 << self.bits

    @property
    def lsb(self) -> float:
        """Volts per code."""
        return self.full_scale / self.levels

    @property
    def lowest(self) -> int:
        return 0 if self.unsigned else -(self.levels // 2)

    @property
    def dtype(self) -> np.dtype[np.integer]:
        if self.bits <= 8:
            return np.dtype(np.uint8 if self.unsigned else np.int8)
        if self.bits <= 16:
            return np.dtype(np.uint16 if self.unsigned else np.int16)
        return np.dtype(np.uint32 if self.unsigned else np.int32)

    def encode(self, volts: ArrayLike) -> NDArray[np.integer]:
        """Volts to codes: rounded to the nearest level, clipped at both ends."""
        steps = np.rint((np.asarray(volts, dtype=np.float64) - self.center) / self.lsb)
        codes = steps + (self.levels // 2 if self.unsigned else 0)
        return np.clip(codes, self.lowest, self.lowest + self.levels - 1).astype(self.dtype)

    def decode(self, codes: ArrayLike) -> Floats:
        """Codes back to volts (the centre of each code's level)."""
        steps = np.asarray(codes, dtype=np.float64) - (self.levels // 2 if self.unsigned else 0)
        return self.center + steps * self.lsb

    def clipped(self, codes: NDArray[np.integer]) -> NDArray[np.bool_]:
        """Which codes sit at either end of the range."""
        return (codes == self.lowest) | (codes == self.lowest + self.levels - 1)


@dataclass(frozen=True)
class Acquisition:
    """One triggered record: sample times relative to the trigger, volts per channel."""

    times: Floats
    volts: dict[int, Floats]
    triggered: bool
    trigger_index: int
    sample_interval: float


def acquire(
    sources: Mapping[int, Source],
    *,
    points: int,
    sample_interval: float,
    rng: np.random.Generator,
    trigger_source: int | None = None,
    trigger_level: float = 0.0,
    trigger_slope: Literal["rise", "fall"] = "rise",
    trigger_position: float = 0.5,
    start_time: float | None = None,
) -> Acquisition:
    """Record `points` samples of every source, aligned so the trigger sits at `trigger_position`.

    The trigger is the first crossing of `trigger_level` on the noiseless `trigger_source`
    after the pre-trigger samples (a scope's hysteresis keeps noise from re-arming it).
    With no crossing within a period or so the record is free-running (`triggered=False`),
    like a scope in AUTO mode. Each call starts at a random phase unless `start_time` is given.
    """
    if points < 2 or sample_interval <= 0:
        raise ValueError(
            f"need points >= 2 and sample_interval > 0, got {points}, {sample_interval}"
        )
    pre = min(points - 1, max(0, round(trigger_position * points)))
    source = sources.get(trigger_source) if trigger_source is not None else None
    search = 0
    if source is not None and source.frequency > 0 and source.shape != "dc":
        search = min(math.ceil(1.0 / (source.frequency * sample_interval)) + 2, 16 * points)
    t0 = rng.uniform(0.0, 1.0) if start_time is None else start_time
    start, triggered = 0, False
    if source is not None and search:
        t = t0 + np.arange(points + search) * sample_interval
        above = source.clean(t) >= trigger_level
        edges = ~above[:-1] & above[1:] if trigger_slope == "rise" else above[:-1] & ~above[1:]
        crossings = np.flatnonzero(edges) + 1
        crossings = crossings[crossings >= pre]
        if crossings.size:
            start, triggered = int(crossings[0]) - pre, True
    absolute = t0 + (start + np.arange(points)) * sample_interval
    volts = {ch: src.sample(absolute, rng) for ch, src in sources.items()}
    times = (np.arange(points) - pre) * sample_interval
    return Acquisition(times, volts, triggered, pre, sample_interval)


# -- spectrometer
@dataclass(frozen=True)
class EmissionLine:
    """A Gaussian line: centre and FWHM in nm, peak in counts per second."""

    center: float
    peak: float
    fwhm: float = 1.0


@dataclass(frozen=True)
class Exposure:
    """Counts per pixel and which pixels reached full well (or the ADC's top)."""

    counts: NDArray[np.uint16] | NDArray[np.uint32]
    saturated: NDArray[np.bool_]

    @property
    def any_saturated(self) -> bool:
        return bool(self.saturated.any())


@dataclass
class Spectrograph:
    """A grating spectrometer with a linear detector.

    Wavelength of pixel p: `sum(c[i] * p**i)` for `wavelength_coefficients` c.
    Per exposure of `t` seconds, each pixel collects `(baseline + lines) * t` signal counts
    and `dark_rate * t` dark counts with Poisson (shot) noise, plus Gaussian read noise of
    `read_noise` counts rms on top of `bias`; it saturates at `full_well` counts.
    """

    pixels: int = 2048
    wavelength_coefficients: Sequence[float] = (200.0, 0.4)
    lines: Sequence[EmissionLine] = field(default_factory=tuple)
    baseline: float = 50.0
    dark_rate: float = 200.0
    read_noise: float = 6.0
    bias: float = 0.0
    full_well: float = 65535.0
    bits: int = 16

    def wavelengths(self) -> Floats:
        """The calibration polynomial evaluated at every pixel index, in nm."""
        pixel = np.arange(self.pixels, dtype=np.float64)
        return np.polynomial.polynomial.polyval(pixel, np.asarray(self.wavelength_coefficients))

    def rate(self) -> Floats:
        """Signal counts per second per pixel (no dark, no noise)."""
        wavelength = self.wavelengths()
        rate = np.full(self.pixels, float(self.baseline))
        for line in self.lines:
            sigma = line.fwhm / (2 * math.sqrt(2 * math.log(2)))
            rate += line.peak * np.exp(-0.5 * ((wavelength - line.center) / sigma) ** 2)
        return rate

    def expose(
        self, integration_time: float, rng: np.random.Generator, *, shutter_open: bool = True
    ) -> Exposure:
        """One exposure; with the shutter closed only dark counts, bias and read noise."""
        if integration_time <= 0:
            raise ValueError(f"integration time must be positive, got {integration_time}")
        mean = np.full(self.pixels, self.dark_rate * integration_time)
        if shutter_open:
            mean += self.rate() * integration_time
        electrons = rng.poisson(np.minimum(mean, 4 * self.full_well)).astype(np.float64)
        signal = electrons + self.bias + rng.normal(0.0, self.read_noise, self.pixels)
        top = min(self.full_well, float((1 << self.bits) - 1))
        saturated = signal >= top
        dtype = np.uint16 if self.bits <= 16 else np.uint32
        counts = np.clip(np.rint(signal), 0, top).astype(dtype)
        return Exposure(counts, saturated)


# -- sensors
@dataclass
class Drift:
    """A slowly drifting quantity (a temperature, a pressure): linear drift, wander, noise.

    Value at clock time t: `value + rate * (t - start) + walk(t)` plus white `noise` (rms);
    `walk` is a random walk with `wander` rms per square-root second.
    """

    value: float = 295.0
    rate: float = 0.0
    wander: float = 0.0
    noise: float = 0.0
    start: float | None = None
    _walk: float = 0.0
    _last: float | None = None

    def read(self, now: float, rng: np.random.Generator) -> float:
        return float(self.read_many(np.array([now]), rng)[0])

    def read_many(self, times: ArrayLike, rng: np.random.Generator) -> Floats:
        """Values at increasing clock times (one buffered burst of readings)."""
        t = np.asarray(times, dtype=np.float64)
        if self.start is None:
            self.start = float(t[0])
        if self._last is None:
            self._last = float(t[0])
        steps = np.diff(t, prepend=self._last).clip(min=0.0)
        walk = self._walk + np.cumsum(rng.normal(0.0, 1.0, t.shape) * self.wander * np.sqrt(steps))
        self._walk, self._last = float(walk[-1]), float(t[-1])
        values = self.value + self.rate * (t - self.start) + walk
        if self.noise > 0:
            values = values + rng.normal(0.0, self.noise, t.shape)
        return values


@dataclass
class Multimeter:
    """A DMM input on `source`: noise falls with integration (NPLC), reads overload past range.

    Noise is `noise_ppm` of the range per reading at 1 PLC, scaled by 1/sqrt(nplc);
    a reading beyond `overrange` times the range returns `overload` (9.9E37 on SCPI DMMs).
    """

    source: Source = field(default_factory=lambda: Source(shape="dc", amplitude=0.0, offset=1.0))
    noise_ppm: float = 2.0
    overrange: float = 1.2
    overload: float = 9.9e37

    def measure(
        self, times: ArrayLike, rng: np.random.Generator, *, range_: float, nplc: float = 1.0
    ) -> Floats:
        t = np.atleast_1d(np.asarray(times, dtype=np.float64))
        sigma = range_ * self.noise_ppm * 1e-6 / math.sqrt(max(nplc, 1e-3))
        values = self.source.sample(t, rng) + rng.normal(0.0, sigma, t.shape)
        return np.where(np.abs(values) > self.overrange * range_, self.overload, values)


def photodiode_responsivity(
    wavelength: ArrayLike, *, peak: float = 900.0, width: float = 350.0
) -> Floats:
    """A photodiode's responsivity in A/W: quantum efficiency (a Gaussian around `peak` nm)
    times the photon-energy factor lambda/1240 nm."""
    nm = np.asarray(wavelength, dtype=np.float64)
    efficiency = 0.9 * np.exp(-0.5 * ((nm - peak) / width) ** 2)
    return efficiency * nm / 1239.84


@dataclass
class PowerMeter:
    """An optical power meter with light of `wavelength` nm and `power` W on its detector.

    The meter converts photocurrent to watts with the responsivity at the wavelength it is
    *set* to, so a wrong setting reads wrong by the ratio of responsivities, as on a real
    meter. Each reading has `noise` relative rms (divided by sqrt(averages)) plus `dark` W.
    """

    power: Drift = field(default_factory=lambda: Drift(value=1e-3))
    wavelength: float = 850.0
    noise: float = 1e-3
    dark: float = 1e-9

    def measure(
        self,
        times: ArrayLike,
        rng: np.random.Generator,
        *,
        set_wavelength: float | None = None,
        averages: int = 1,
    ) -> Floats:
        t = np.atleast_1d(np.asarray(times, dtype=np.float64))
        true = self.power.read_many(t, rng)
        gain = 1.0
        if set_wavelength is not None:
            gain = float(
                photodiode_responsivity(self.wavelength) / photodiode_responsivity(set_wavelength)
            )
        relative = rng.normal(0.0, self.noise / math.sqrt(max(averages, 1)), t.shape)
        return true * gain * (1.0 + relative) + self.dark

    @staticmethod
    def to_dbm(watts: ArrayLike) -> Floats:
        return 10.0 * np.log10(np.asarray(watts, dtype=np.float64) / 1e-3)
