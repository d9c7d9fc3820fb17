"""Measured data as frozen dataclasses holding NumPy arrays.

These are what drivers return and what the acquisition writer stores: each knows its
units and timestamps and can `describe()` its arrays, so a writer can create datasets
before the first block arrives.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["ArrayInfo", "Reading", "Spectrum", "Waveform", "now_ns"]


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


@dataclass(frozen=True, slots=True)
class Waveform:
    """One oscilloscope trace: `y` in `units` on a uniform time axis `x0 + i * dx`."""

    y: NDArray[np.float64]
    x0: float
    dx: float
    channel: str
    timestamp_ns: int = field(default_factory=now_ns)
    units: str = "V"
    x_units: str = "s"
    raw: NDArray[np.integer[Any]] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def t(self) -> NDArray[np.float64]:
        """The time axis, computed on demand (one vectorized expression)."""
        return self.x0 + self.dx * np.arange(self.y.shape[0], dtype=np.float64)

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def describe(self) -> dict[str, ArrayInfo]:
        info = {"y": _info(self.y, self.units)}
        if self.raw is not None:
            info["raw"] = _info(self.raw, "counts")
        return info


@dataclass(frozen=True, slots=True)
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

    def __post_init__(self) -> None:
        if self.wavelengths.shape != self.intensities.shape[-1:]:
            raise ValueError(
                f"Spectrum axis has {self.wavelengths.shape} points, intensities "
                f"{self.intensities.shape}"
            )

    def __len__(self) -> int:
        return int(self.wavelengths.shape[0])

    def describe(self) -> dict[str, ArrayInfo]:
        return {
            "intensities": _info(self.intensities, self.units),
            "wavelengths": _info(self.wavelengths, self.wavelength_units),
        }
