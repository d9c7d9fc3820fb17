"""AxisArray: an array with named, unit-carrying axes, for what a lab script derives.

An FFT, a power spectral density, a map over two stage positions: none is a Waveform or a
Spectrum, and forcing one into those types stores a "wavelength" axis in Hz and columns
that mean nothing. An AxisArray says what it is:

    import instrumentkit as ik
    psd = ik.AxisArray(power, {"frequency": (freqs, "Hz")}, units="V^2/Hz")
    run.append("psd", psd)               # stored as NXdata: data against time and frequency

An `xarray.DataArray` converts with `AxisArray.from_xarray(array)` (`run.append` does it
by itself): its dimensions become the axes, with their coordinates and `units` attributes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from instrumentkit.data import now_ns
from instrumentkit.errors import ValidationError

__all__ = ["Axis", "AxisArray"]

RESERVED_NAMES = frozenset({"time", "monotonic", "data"})
"""Names the run file gives other datasets of the stream."""


@dataclass(frozen=True)
class Axis:
    """One axis: its name, its coordinate values (1-D, one per index) and their units."""

    name: str
    values: NDArray[Any]
    units: str = ""


AxisSpec = ArrayLike | tuple[ArrayLike, str] | Axis


@dataclass(frozen=True, init=False)
class AxisArray:
    """`values` of any numeric shape with one named axis per dimension; see the module doc."""

    values: NDArray[Any]
    axes: tuple[Axis, ...]
    units: str = ""
    long_name: str = ""
    timestamp_ns: int = field(default_factory=now_ns)

    def __init__(
        self,
        values: ArrayLike,
        axes: Mapping[str, AxisSpec] | tuple[Axis, ...] | list[Axis],
        units: str = "",
        *,
        long_name: str = "",
        timestamp_ns: int | None = None,
    ) -> None:
        array = np.asarray(values)
        if array.dtype.kind not in "biufc":
            raise ValidationError(f"AxisArray values must be numbers, got dtype {array.dtype}")
        items = axes.items() if isinstance(axes, Mapping) else ((a.name, a) for a in axes)
        built = tuple(_axis(str(name), spec) for name, spec in items)
        names = [a.name for a in built]
        if len(names) != array.ndim:
            raise ValidationError(
                f"AxisArray of shape {array.shape} needs {array.ndim} axes (one per "
                f"dimension, in order), got {names}"
            )
        if len(set(names)) != len(names) or RESERVED_NAMES & set(names):
            raise ValidationError(
                f"AxisArray axis names {names} must be distinct and none of "
                f"{sorted(RESERVED_NAMES)}"
            )
        for size, axis in zip(array.shape, built, strict=True):
            if axis.values.shape != (size,):
                raise ValidationError(
                    f"AxisArray axis {axis.name!r} has {axis.values.shape} values for a "
                    f"dimension of {size}: give one coordinate per index"
                )
        object.__setattr__(self, "values", array)
        object.__setattr__(self, "axes", built)
        object.__setattr__(self, "units", units)
        object.__setattr__(self, "long_name", long_name)
        object.__setattr__(self, "timestamp_ns", now_ns() if timestamp_ns is None else timestamp_ns)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.values.shape)

    def same_axes(self, other: AxisArray) -> bool:
        """True when `other` has these axes: names, units and coordinate values."""
        return len(self.axes) == len(other.axes) and all(
            a.name == b.name and a.units == b.units and np.array_equal(a.values, b.values)
            for a, b in zip(self.axes, other.axes, strict=True)
        )

    @classmethod
    def from_xarray(cls, array: Any, *, timestamp_ns: int | None = None) -> AxisArray:
        """An AxisArray from an `xarray.DataArray`: dimensions in order, each with its
        coordinate (or 0..n-1 when it has none) and the coordinate's `units` attribute."""
        axes = []
        for dim, size in zip(array.dims, array.shape, strict=True):
            if dim in array.coords:
                coord = array.coords[dim]
                axes.append(
                    Axis(str(dim), np.asarray(coord.values), str(coord.attrs.get("units", "")))
                )
            else:
                axes.append(Axis(str(dim), np.arange(size)))
        attrs = array.attrs
        name = "" if array.name is None else str(array.name)
        return cls(
            np.asarray(array.values),
            axes,
            str(attrs.get("units", "")),
            long_name=str(attrs.get("long_name", name)),
            timestamp_ns=timestamp_ns,
        )


def _axis(name: str, spec: AxisSpec) -> Axis:
    if isinstance(spec, Axis):
        return Axis(name, np.asarray(spec.values), spec.units)
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], str):
        return Axis(name, np.asarray(spec[0]), spec[1])
    return Axis(name, np.asarray(spec))


def is_xarray(record: Any) -> bool:
    """An xarray.DataArray, told without importing xarray (an optional dependency)."""
    kind = type(record)
    return kind.__name__ == "DataArray" and kind.__module__.startswith("xarray")
