"""Vectorized stages: NumPy/SciPy transforms of blocks, NDArray in, NDArray out.

A stage is any callable `stage(block) -> block`; `chain(a, b, c)` composes them. Blocks
hold rows along axis 0 (samples of a reading, records of waveforms or spectra):

- stream-wise stages work along axis 0 and carry state across blocks, so a stream cut
  into blocks anywhere gives the same output as the whole stream at once:
  `RunningAverage`, `BlockAverage`, `Decimate` (axis=0); `reset()` forgets the state.
- record-wise stages work along the last axis of each record, no state: `SubtractDark`,
  `Polynomial`, `Scale`, `FFTMagnitude`, `PSD`, `FindPeaks`, `Decimate(axis=-1)`.

No stage loops over samples in Python; `FindPeaks` loops over records only, because
`scipy.signal.find_peaks` takes one record at a time.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "PEAK_DTYPE",
    "PSD",
    "BlockAverage",
    "Chain",
    "Decimate",
    "FFTMagnitude",
    "FindPeaks",
    "Polynomial",
    "RunningAverage",
    "Scale",
    "Stage",
    "SubtractDark",
    "chain",
]

Array = NDArray[Any]


def _signal() -> Any:
    """scipy.signal, imported on first use: it takes ~1 s, and most runs need no stage."""
    from scipy import signal

    return signal


@runtime_checkable
class Stage(Protocol):
    """A transform of one block; stateful stages also have `reset()`."""

    def __call__(self, block: Array, /) -> Array: ...


class Chain:
    """Stages applied one after the other."""

    def __init__(self, *stages: Stage) -> None:
        self.stages = stages

    def __call__(self, block: Array, /) -> Array:
        for stage in self.stages:
            block = stage(block)
        return block

    def reset(self) -> None:
        for stage in self.stages:
            reset = getattr(stage, "reset", None)
            if reset is not None:
                reset()


def chain(*stages: Stage) -> Chain:
    """Compose stages: `chain(SubtractDark(d), Polynomial(c))(block)`."""
    return Chain(*stages)


# -- stream-wise ----------------------------------------------------------------------------
class RunningAverage:
    """Moving mean over the last `window` rows, continued across block boundaries.

    Emits one row per input row once `window` rows have been seen (NumPy's 'valid'
    convolution of the whole stream), so the first block is `window - 1` rows shorter.
    """

    def __init__(self, window: int) -> None:
        if window < 1:
            raise ValueError(f"RunningAverage window must be >= 1, got {window}")
        self.window = int(window)
        self._tail: Array | None = None

    def reset(self) -> None:
        self._tail = None

    def __call__(self, block: Array, /) -> Array:
        data = np.asarray(block)
        if self._tail is not None:
            data = np.concatenate([self._tail, data])
        keep = self.window - 1
        # max(): a block shorter than the window must keep all of itself, not wrap around.
        self._tail = data[max(0, data.shape[0] - keep) :] if keep else data[:0]
        if data.shape[0] < self.window:
            return np.empty((0, *data.shape[1:]), dtype=np.result_type(data, np.float64))
        # Window sums from one cumulative sum; subtracting the first row keeps precision
        # for data on a large offset.
        origin = data[:1].astype(np.float64)
        sums = np.cumsum(data - origin, axis=0, dtype=np.float64)
        windows = sums[keep:].copy()
        windows[1:] -= sums[: data.shape[0] - self.window]
        return windows / self.window + origin


class BlockAverage:
    """Mean of each group of `size` consecutive rows; leftover rows wait for the next block."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"BlockAverage size must be >= 1, got {size}")
        self.size = int(size)
        self._carry: Array | None = None

    def reset(self) -> None:
        self._carry = None

    def __call__(self, block: Array, /) -> Array:
        data = np.asarray(block)
        if self._carry is not None:
            data = np.concatenate([self._carry, data])
        whole = data.shape[0] // self.size * self.size
        self._carry = data[whole:]
        groups = data[:whole].reshape(-1, self.size, *data.shape[1:])
        return groups.mean(axis=1, dtype=np.float64)


class Decimate:
    """Keep every `factor`-th row (axis=0, across blocks) or sample of each record (axis=-1).

    `antialias=True` low-pass filters first with the FIR filter `scipy.signal.decimate`
    uses (`firwin(20 * factor + 1, 1 / factor, window="hamming")`, causal), carrying the
    filter state across blocks when axis=0.
    """

    def __init__(self, factor: int, *, antialias: bool = False, axis: Literal[0, -1] = 0):
        if factor < 1:
            raise ValueError(f"Decimate factor must be >= 1, got {factor}")
        if axis not in (0, -1):
            raise ValueError("Decimate axis must be 0 (across blocks) or -1 (within records)")
        self.factor = int(factor)
        self.axis = axis
        self.taps = _signal().firwin(20 * factor + 1, 1.0 / factor, window="hamming") if (
            antialias and factor > 1
        ) else None  # fmt: skip
        self._skip = 0  # rows to drop at the start of the next block (axis 0)
        self._state: Array | None = None

    def reset(self) -> None:
        self._skip = 0
        self._state = None

    def __call__(self, block: Array, /) -> Array:
        data = np.asarray(block)
        if self.axis == -1:
            if self.taps is not None:
                data = _signal().lfilter(self.taps, 1.0, data, axis=-1)
            return data[..., :: self.factor]
        if self.taps is not None:
            if self._state is None:
                shape = (self.taps.shape[0] - 1, *data.shape[1:])
                self._state = np.zeros(shape, dtype=np.result_type(data, np.float64))
            data, self._state = _signal().lfilter(self.taps, 1.0, data, axis=0, zi=self._state)
        kept = data[self._skip :: self.factor]
        self._skip = (self._skip - data.shape[0]) % self.factor
        return kept


# -- record-wise ----------------------------------------------------------------------------
class SubtractDark:
    """Subtract a dark reference from every record (a batch of darks is averaged first)."""

    def __init__(self, dark: ArrayLike) -> None:
        self.dark = dark  # type: ignore[assignment]

    @property
    def dark(self) -> NDArray[np.float64]:
        return self._dark

    @dark.setter
    def dark(self, dark: ArrayLike) -> None:
        reference = np.asarray(dark, dtype=np.float64)
        self._dark = reference.mean(axis=0) if reference.ndim > 1 else reference

    def __call__(self, block: Array, /) -> Array:
        data = np.asarray(block)
        if data.shape[-1:] != self._dark.shape:
            raise ValueError(
                f"dark reference has {self._dark.shape[0]} points, records {data.shape[-1:]}"
            )
        return data - self._dark


class Polynomial:
    """Calibration polynomial, coefficients highest power first (as `np.polyval`)."""

    def __init__(self, coefficients: ArrayLike) -> None:
        self.coefficients = np.asarray(coefficients, dtype=np.float64)
        if self.coefficients.ndim != 1 or self.coefficients.size == 0:
            raise ValueError("Polynomial needs a 1-D sequence of coefficients")

    def __call__(self, block: Array, /) -> Array:
        return np.polyval(self.coefficients, np.asarray(block, dtype=np.float64))


class Scale:
    """Unit scaling: `block * factor + offset` (e.g. factor=1e3 for V -> mV)."""

    def __init__(self, factor: float, offset: float = 0.0) -> None:
        self.factor = float(factor)
        self.offset = float(offset)

    def __call__(self, block: Array, /) -> Array:
        return np.asarray(block) * self.factor + self.offset


class FFTMagnitude:
    """One-sided FFT magnitude of each record (last axis), windowed.

    With scaling="amplitude" a sine of amplitude A on a frequency bin gives a peak of A;
    "none" returns |rfft| as it is. `frequencies(n, dx)` gives the matching axis.
    """

    def __init__(
        self, *, window: str | None = "hann", scaling: Literal["amplitude", "none"] = "amplitude"
    ) -> None:
        self.window = window
        self.scaling = scaling

    def __call__(self, block: Array, /) -> Array:
        data = np.asarray(block, dtype=np.float64)
        points = data.shape[-1]
        taper = (
            np.ones(points) if self.window is None else _signal().get_window(self.window, points)
        )
        magnitude = np.abs(np.fft.rfft(data * taper, axis=-1))
        if self.scaling == "amplitude":
            magnitude *= 2.0 / taper.sum()
            magnitude[..., 0] /= 2.0  # DC (and Nyquist) appear once, not twice
            if points % 2 == 0:
                magnitude[..., -1] /= 2.0
        return magnitude

    @staticmethod
    def frequencies(points: int, dx: float) -> NDArray[np.float64]:
        return np.fft.rfftfreq(points, dx)


class PSD:
    """Power spectral density of each record by Welch's method (`scipy.signal.welch`)."""

    def __init__(
        self,
        fs: float,
        *,
        nperseg: int = 256,
        noverlap: int | None = None,
        window: str = "hann",
        scaling: Literal["density", "spectrum"] = "density",
    ) -> None:
        self.fs = float(fs)
        self.nperseg = int(nperseg)
        self.noverlap = noverlap
        self.window = window
        self.scaling = scaling

    def __call__(self, block: Array, /) -> Array:
        data = np.asarray(block, dtype=np.float64)
        _, density = _signal().welch(
            data, fs=self.fs, window=self.window, nperseg=min(self.nperseg, data.shape[-1]),
            noverlap=self.noverlap, scaling=self.scaling, axis=-1,
        )  # fmt: skip
        return density

    def frequencies(self, points: int) -> NDArray[np.float64]:
        """The frequency axis for records of `points` samples."""
        return np.fft.rfftfreq(min(self.nperseg, points), 1.0 / self.fs)


PEAK_DTYPE = np.dtype(
    [("index", np.int64), ("position", np.float64), ("height", np.float64),
     ("prominence", np.float64)]
)  # fmt: skip
"""One peak: sample index, position on the axis (interpolated), height, prominence."""


class FindPeaks:
    """The `max_peaks` highest peaks of each record as a fixed-size structured array.

    Output shape (records, max_peaks) of PEAK_DTYPE (or (max_peaks,) for one record),
    peaks in axis order, unused slots with index -1 and NaN. `x` is the axis (e.g.
    wavelengths; default the sample index); `interpolate` refines positions with a parabola
    through each peak and its two neighbours. Other keywords go to `scipy.signal.find_peaks`.
    """

    def __init__(
        self,
        max_peaks: int,
        *,
        x: ArrayLike | None = None,
        interpolate: bool = True,
        **criteria: Any,
    ) -> None:
        if int(max_peaks) < 1:  # a table of no columns: every record's peaks would be lost
            raise ValueError(f"FindPeaks max_peaks must be >= 1, got {max_peaks}")
        self.max_peaks = int(max_peaks)
        self.x = None if x is None else np.asarray(x, dtype=np.float64)
        self.interpolate = interpolate
        self.criteria = {"prominence": 0, **criteria}  # prominences are always reported

    def __call__(self, block: Array, /) -> Array:
        data = np.asarray(block, dtype=np.float64)
        records = data.reshape(-1, data.shape[-1])
        table = np.empty((records.shape[0], self.max_peaks), dtype=PEAK_DTYPE)
        table["index"] = -1
        for field in ("position", "height", "prominence"):
            table[field] = np.nan
        for row, record in enumerate(records):  # per record, not per sample
            found, properties = _signal().find_peaks(record, **self.criteria)
            if found.size > self.max_peaks:
                highest = np.argsort(record[found], kind="stable")[-self.max_peaks :]
                keep = np.sort(highest)
                found = found[keep]
                properties = {key: value[keep] for key, value in properties.items()}
            count = found.size
            table["index"][row, :count] = found
            table["height"][row, :count] = record[found]
            table["prominence"][row, :count] = properties["prominences"]
            table["position"][row, :count] = self._positions(record, found)
        return table.reshape(*data.shape[:-1], self.max_peaks)

    def _positions(self, record: Array, found: NDArray[np.intp]) -> NDArray[np.float64]:
        where = found.astype(np.float64)
        if self.interpolate and found.size:
            inner = (found > 0) & (found < record.shape[0] - 1)
            left, mid, right = (record[found[inner] + k] for k in (-1, 0, 1))
            curvature = left - 2.0 * mid + right
            with np.errstate(divide="ignore", invalid="ignore"):
                shift = np.where(curvature != 0, 0.5 * (left - right) / curvature, 0.0)
            where[inner] += shift
        if self.x is None:
            return where
        return np.interp(where, np.arange(self.x.shape[0]), self.x)
