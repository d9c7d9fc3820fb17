"""StreamData -> xarray.Dataset (xarray is an optional dependency, imported here only)."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ._layout import MONOTONIC, TIME
from ._reader import StreamData

# Row fields that describe each record rather than measure: coordinates along time.
_RECORD_COORDS = ("x0", "dx")


def stream_to_xarray(stream: StreamData) -> xr.Dataset:
    """Dimensions: time, then the stream's own (sample, wavelength, channel, dim_N); a
    sweep's are its axes (outer to inner), then a trace's or spectrum's own axis."""
    if stream.kind == "sweep":
        return _sweep_to_xarray(stream)
    second_axis = {"waveforms": "sample", "spectra": "wavelength"}.get(stream.kind)
    coords: dict[str, Any] = {
        TIME: (TIME, np.asarray(stream.time[:]).astype("datetime64[ns]"),
               {"long_name": stream.long_names.get(TIME, "")}),
    }  # fmt: skip
    if stream.monotonic is not None:
        coords[MONOTONIC] = (TIME, _array(stream.monotonic), _attrs(stream, MONOTONIC))
    for name in _named_axes(stream):  # an AxisArray stream's own axes, with units
        coords[name] = (name, _array(stream.axes[name]), _attrs(stream, name))
    if second_axis is not None:
        coords[second_axis] = (second_axis, _array(stream.axes[second_axis]),
                               _attrs(stream, second_axis))  # fmt: skip
    variables: dict[str, Any] = {}
    for name, values in stream.fields.items():
        if name in (TIME, MONOTONIC):
            continue
        dims = _dims(stream, name, values.ndim, second_axis)
        entry = (dims, _array(values), _attrs(stream, name))
        if name in _RECORD_COORDS:
            coords[name] = entry
        else:
            variables[name] = entry
    if stream.kind == "readings" and "status" in variables:
        coords["channel"] = ("channel", [str(c) for c in stream.attrs.get("channels", ())])
    attrs = {key: _plain(value) for key, value in stream.attrs.items()}
    return xr.Dataset(variables, coords=coords, attrs={**attrs, "stream": stream.name})


def _dims(stream: StreamData, name: str, ndim: int, second_axis: str | None) -> tuple[str, ...]:
    if ndim == 1:
        return (TIME,)
    if stream.kind == "readings" and name == "status":
        return (TIME, "channel")
    if stream.kind == "axis_arrays" and name == "data":
        return (TIME, *_named_axes(stream))
    if second_axis is not None and ndim == 2:
        return (TIME, second_axis)
    return (TIME, *(f"dim_{i}" for i in range(1, ndim)))


def _named_axes(stream: StreamData) -> list[str]:
    """The axes after time of an AxisArray stream, from its NXdata @axes."""
    if stream.kind != "axis_arrays":
        return []
    return [str(name) for name in stream.attrs.get("axes", ())][1:]


def _array(values: Any) -> Any:
    """Dask arrays stay lazy; h5py datasets are read."""
    return values if hasattr(values, "dask") else np.asarray(values[()])


def _attrs(stream: StreamData, name: str) -> dict[str, str]:
    return {"units": stream.units.get(name, ""), "long_name": stream.long_names.get(name, "")}


def _plain(value: Any) -> Any:
    """Group attributes as plain Python values (xarray dislikes object arrays)."""
    if isinstance(value, np.ndarray):
        return [str(v) if isinstance(v, (bytes, str)) else v for v in value.tolist()]
    return value.item() if isinstance(value, np.generic) else value


def _sweep_to_xarray(stream: StreamData) -> xr.Dataset:
    """A sweep as a grid: every field on the sweep's axes, NaN where no point was taken;
    `time` as datetime64 (NaT there)."""
    coords = {name: (name, _array(values), _attrs(stream, name))
              for name, values in stream.axes.items()}  # fmt: skip
    variables: dict[str, Any] = {}
    for name, values in stream.fields.items():
        array = _array(values)
        if name == TIME:
            array = np.where(array == 0, np.iinfo(np.int64).min, array).astype("datetime64[ns]")
        variables[name] = (stream.dims[name], array, _attrs(stream, name))
    attrs = {key: _plain(value) for key, value in stream.attrs.items()}
    return xr.Dataset(variables, coords=coords, attrs={**attrs, "stream": stream.name})
