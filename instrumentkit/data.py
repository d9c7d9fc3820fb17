"""Measured data: immutable types holding NumPy arrays.

These are what drivers return and what the acquisition writer stores: each knows its
units and timestamps and can `describe()` its arrays, so a writer can create datasets
before the first block arrives.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["ArrayInfo", "Reading", "Spectrum", "Waveform", "now_ns", "scale_codes"]


def now_ns() -> int:
    """Wall-clock time in ns since the Unix epoch (the timestamp unit everywhere)."""
    return time.time_ns()


@dataclass(frozen=True, slots=True)
class ArrayInfo:
    """What a writer needs to know to create a dataset for one array of a record."""

    dtype: str
    shape: tuple[int, ...]
    units: str


def _info(array: NDArray[Any], units: str) -> ArrayInfo:
    return ArrayInfo(dtype=array.dtype.str, shape=tuple(array.shape), units=units)


@dataclass(frozen=True, slots=True)
class Reading:
    """One or more samples of one or more sensor channels.

    `values` has shape (samples, channels) and `timestamps_ns` shape (samples,), so a
    single read and an instrument's buffered read have the same form. `status` holds
    instrument status codes per value (0 = valid) when the instrument reports them.
    """

    values: NDArray[np.float64]
    timestamps_ns: NDArray[np.int64]
    channels: tuple[str, ...]
    units: tuple[str, ...]
    status: NDArray[np.int16] | None = None

    def __post_init__(self) -> None:
        if self.values.ndim != 2:
            raise ValueError(
                f"Reading.values must be 2-D (samples, channels), got {self.values.shape}"
            )
        samples, n_channels = self.values.shape
        if self.timestamps_ns.shape != (samples,):
            raise ValueError("Reading.timestamps_ns must have one entry per sample")
        if len(self.channels) != n_channels or len(self.units) != n_channels:
            raise ValueError("Reading needs one channel name and one unit per column")
        if self.status is not None and self.status.shape != self.values.shape:
            raise ValueError("Reading.status must have the shape of values")

    @classmethod
    def single(
        cls,
        values: float | list[float] | NDArray[np.float64],
        channels: tuple[str, ...] | str,
        units: tuple[str, ...] | str,
        *,
        timestamp_ns: int | None = None,
        status: list[int] | NDArray[np.int16] | None = None,
    ) -> Reading:
        """Build a one-sample reading from a value per channel."""
        row = np.atleast_1d(np.asarray(values, dtype=np.float64)).reshape(1, -1)
        channels = (channels,) if isinstance(channels, str) else tuple(channels)
        units = (units,) * row.shape[1] if isinstance(units, str) else tuple(units)
        stamp = np.array([now_ns() if timestamp_ns is None else timestamp_ns], dtype=np.int64)
        codes = None if status is None else np.asarray(status, dtype=np.int16).reshape(1, -1)
        return cls(row, stamp, channels, units, codes)

    @property
    def value(self) -> float:
        """The value of a one-sample, one-channel reading."""
        if self.values.shape != (1, 1):
            raise ValueError(f"value needs one sample of one channel, this has {self.values.shape}")
        return float(self.values[0, 0])

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def describe(self) -> dict[str, ArrayInfo]:
        """Dtype, per-sample shape and units of each array (for the writer)."""
        info = {
            "timestamps_ns": ArrayInfo("<i8", (), "ns"),
            "values": ArrayInfo(
                self.values.dtype.str, (self.values.shape[1],), ",".join(self.units)
            ),
        }
        if self.status is not None:
            info["status"] = ArrayInfo(self.status.dtype.str, (self.status.shape[1],), "")
        return info


PARALLEL_POINTS = 1 << 19
"""Records this long are scaled by two threads (NumPy releases the GIL): the fresh float64
pages fault in, and fill, on two cores (10 M points: ~22 ms -> ~14 ms on the 2-core CI VM)."""


def scale_codes(codes: NDArray[Any], gain: float, bias: float = 0.0) -> NDArray[np.float64]:
    """`codes * gain + bias` as a new float64 array, whatever the codes' width or byte order.

    One cast-and-copy, then in-place multiply (and add unless `bias` is 0): faster than one
    mixed-type `np.multiply`, which casts through small buffers. Long records are split
    between this thread and one helper thread.
    """
    values = np.empty(codes.shape, dtype=np.float64)
    points = codes.shape[0] if codes.ndim else 1
    if points < PARALLEL_POINTS:
        _scale_into(codes, gain, bias, values)
        return values
    half = points // 2
    helper = threading.Thread(target=_scale_into, args=(codes[half:], gain, bias, values[half:]))
    helper.start()
    try:
        _scale_into(codes[:half], gain, bias, values[:half])
    finally:
        helper.join()
    return values


def _scale_into(codes: NDArray[Any], gain: float, bias: float, out: NDArray[np.float64]) -> None:
    np.copyto(out, codes)
    out *= gain
    if bias:  # often 0 (no offset, no position): skip a pass over the record
        out += bias


class Waveform:
    """One oscilloscope trace: `y` in `units` on a uniform time axis `x0 + i * dx`.

    Built from values, `Waveform(y, x0, dx, channel)`, or from what a digitizer sends,
    `Waveform.from_codes(raw, gain, bias, x0, dx, channel)`: then `y = raw * gain + bias`
    is computed (vectorized) the first time it is read, and kept. A fetch costs the
    transfer alone, and whoever stores only the codes never pays for volts. Immutable.
    """

    __slots__ = (
        "_y",
        "bias",
        "channel",
        "dx",
        "gain",
        "meta",
        "raw",
        "timestamp_ns",
        "units",
        "x0",
        "x_units",
    )  # fmt: skip

    x0: float
    dx: float
    channel: str
    timestamp_ns: int
    units: str
    x_units: str
    raw: NDArray[np.integer[Any]] | None
    """The digitizer codes as received (no copy), when the driver kept them."""
    gain: float | None
    """Volts (or `units`) per code: `y = raw * gain + bias`. None when built from values."""
    bias: float
    meta: dict[str, Any]

    def __init__(
        self,
        y: NDArray[np.float64] | None,
        x0: float,
        dx: float,
        channel: str,
        timestamp_ns: int | None = None,
        units: str = "V",
        x_units: str = "s",
        raw: NDArray[np.integer[Any]] | None = None,
        meta: dict[str, Any] | None = None,
        *,
        gain: float | None = None,
        bias: float = 0.0,
    ) -> None:
        if y is None and (raw is None or gain is None):
            raise ValueError("a Waveform needs y, or raw codes with the gain that scales them")
        if raw is not None and raw.ndim != 1:
            raise ValueError(f"Waveform.raw must be 1-D, got shape {raw.shape}")
        if y is not None and raw is not None and y.shape != raw.shape:
            raise ValueError(f"Waveform has {y.shape} values but {raw.shape} raw codes")
        # Through the slots' own setters (what the immutable __setattr__ leaves open):
        # cheaper than object.__setattr__ by name, on a path every fetch takes.
        slot = _WAVEFORM_SLOTS
        slot["_y"](self, y)
        slot["x0"](self, x0)
        slot["dx"](self, dx)
        slot["channel"](self, channel)
        slot["timestamp_ns"](self, now_ns() if timestamp_ns is None else timestamp_ns)
        slot["units"](self, units)
        slot["x_units"](self, x_units)
        slot["raw"](self, raw)
        slot["gain"](self, gain)
        slot["bias"](self, bias)
        slot["meta"](self, {} if meta is None else meta)

    @classmethod
    def from_codes(
        cls,
        raw: NDArray[np.integer[Any]],
        gain: float,
        bias: float,
        x0: float,
        dx: float,
        channel: str,
        *,
        timestamp_ns: int | None = None,
        units: str = "V",
        meta: dict[str, Any] | None = None,
    ) -> Waveform:
        """A waveform whose values are `raw * gain + bias`, computed when first read."""
        return cls(None, x0, dx, channel, timestamp_ns, units, "s", raw, meta, gain=gain, bias=bias)

    @property
    def y(self) -> NDArray[np.float64]:
        """The values in `units` (from the codes on first access, then kept)."""
        y = self._y
        if y is None:
            # Two threads reading at once may both compute it: same values, no harm.
            y = scale_codes(self.raw, self.gain, self.bias)  # type: ignore[arg-type]
            _WAVEFORM_SLOTS["_y"](self, y)
        return y

    @property
    def t(self) -> NDArray[np.float64]:
        """The time axis, computed on demand (one vectorized expression)."""
        return self.x0 + self.dx * np.arange(len(self), dtype=np.float64)

    def __len__(self) -> int:
        data = self._y if self._y is not None else self.raw
        return int(data.shape[0])  # type: ignore[union-attr]

    def describe(self) -> dict[str, ArrayInfo]:
        info = {
            "y": ArrayInfo(
                "<f8" if self._y is None else self._y.dtype.str, (len(self),), self.units
            )
        }
        if self.raw is not None:
            info["raw"] = _info(self.raw, "counts")
        return info

    def replace(self, **changes: Any) -> Waveform:
        """A copy with `changes`. New `y` without new `raw` drops the codes (they no longer
        match); new `raw`, `gain` or `bias` without new `y` recomputes the values."""
        fields = {name: getattr(self, name) for name in _WAVEFORM_FIELDS}
        fields["y"] = self._y
        if "y" in changes and "raw" not in changes:
            fields.update(raw=None, gain=None, bias=0.0)
        elif changes.keys() & {"raw", "gain", "bias"} and "y" not in changes:
            fields["y"] = None
        fields.update(changes)
        return Waveform(**fields)

    __replace__ = replace  # copy.replace() (Python 3.13)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Waveform is immutable: cannot set {name!r} (use replace())")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Waveform is immutable: cannot delete {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        fields = {name: getattr(self, name) for name in _WAVEFORM_FIELDS}
        return (_waveform_from_fields, (self._y, fields))

    def __repr__(self) -> str:
        state = "codes" if self._y is None else "values"
        return (
            f"Waveform(channel={self.channel!r}, points={len(self)}, x0={self.x0!r}, "
            f"dx={self.dx!r}, units={self.units!r}, from {state})"
        )


_WAVEFORM_FIELDS = (
    "x0", "dx", "channel", "timestamp_ns", "units", "x_units", "raw", "meta", "gain", "bias",
)  # fmt: skip


_WAVEFORM_SLOTS = {name: Waveform.__dict__[name].__set__ for name in Waveform.__slots__}


def _waveform_from_fields(y: NDArray[np.float64] | None, fields: dict[str, Any]) -> Waveform:
    return Waveform(y, **fields)


@dataclass(frozen=True, slots=True, init=False)
class Spectrum:
    """One spectrum: `intensities` against `wavelengths`."""

    wavelengths: NDArray[np.float64]
    intensities: NDArray[np.float64]
    units: str = "counts"
    wavelength_units: str = "nm"
    timestamp_ns: int = field(default_factory=now_ns)
    integration_time: float | None = None
    saturated: bool = False
    dark_corrected: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    # Written out rather than generated, setting the slots through their descriptors
    # (`_SPECTRUM_SLOTS`) instead of object.__setattr__ by name: ~1 us less per spectrum
    # than the dataclass __init__ plus __post_init__ (2.5 -> 1.5 us), which a driver
    # returning tens of thousands a second feels.
    def __init__(
        self,
        wavelengths: NDArray[np.float64],
        intensities: NDArray[np.float64],
        units: str = "counts",
        wavelength_units: str = "nm",
        timestamp_ns: int | None = None,
        integration_time: float | None = None,
        saturated: bool = False,
        dark_corrected: bool = False,
        meta: dict[str, Any] | None = None,
    ) -> None:
        if wavelengths.shape != intensities.shape[-1:]:
            raise ValueError(
                f"Spectrum axis has {wavelengths.shape} points, intensities {intensities.shape}"
            )
        slot = _SPECTRUM_SLOTS
        slot[0](self, wavelengths)
        slot[1](self, intensities)
        slot[2](self, units)
        slot[3](self, wavelength_units)
        slot[4](self, now_ns() if timestamp_ns is None else timestamp_ns)
        slot[5](self, integration_time)
        slot[6](self, saturated)
        slot[7](self, dark_corrected)
        slot[8](self, {} if meta is None else meta)

    def __len__(self) -> int:
        return int(self.wavelengths.shape[0])

    def describe(self) -> dict[str, ArrayInfo]:
        return {
            "intensities": _info(self.intensities, self.units),
            "wavelengths": _info(self.wavelengths, self.wavelength_units),
        }


_SPECTRUM_SLOTS = tuple(Spectrum.__dict__[f.name].__set__ for f in fields(Spectrum))
"""Setters of Spectrum's slots in field order (what frozen __setattr__ leaves open)."""
