"""Stages on records: run the array stages of `stages.py` on Readings, Waveforms and Spectra,
and keep what the arrays alone cannot say right: timestamps, axes, units, record type.

- Readings: the stages see `values` (samples, channels). Stream-wise stages (running and
  block averages, decimation along the stream) change the number of rows; the timestamps
  follow through a twin of the stage run on the stamps (the mean stamp of an averaged
  group, the stamp of a kept row), and status codes are dropped.
- Waveforms and spectra: the stages see one record as a (1, points) block. Stream-wise
  stages combine records (average every 4 traces); record-wise stages transform each.
  Decimation within a record multiplies `dx` (or thins the wavelength axis); an FFT or a
  PSD turns a waveform into a Spectrum on a frequency axis in Hz; peak finding turns a
  record into a fixed-size peak table (a structured array stream).
- `Units("mV")` sets the units of what comes out (after a Scale or Polynomial).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from instrumentkit.data import Reading, Spectrum, Waveform

from .stages import PSD, BlockAverage, Decimate, FFTMagnitude, FindPeaks, RunningAverage

__all__ = ["Deferred", "RecordStages", "Units"]


@dataclass(frozen=True, slots=True)
class Units:
    """A stage that changes no value, only the units of the records that pass."""

    units: str

    def __call__(self, block: Any, /) -> Any:
        return block


@dataclass(frozen=True, slots=True)
class Deferred:
    """A stage built from the first record it sees (a PSD needs the waveform's sample rate)."""

    build: Callable[[Any], Any]
    name: str


def _stream_wise(stage: Any) -> bool:
    if isinstance(stage, Decimate):
        return stage.axis == 0
    return isinstance(stage, (RunningAverage, BlockAverage))


def _twin(stage: Any) -> Any:
    """A fresh copy of a stream-wise stage to carry the timestamps along."""
    if isinstance(stage, Decimate):
        return Decimate(stage.factor)  # the kept rows; a filter would smear the stamps
    twin = copy.deepcopy(stage)
    twin.reset()
    return twin


class RecordStages:
    """A chain of array stages applied to the records of one stream (see module doc)."""

    def __init__(self, stages: Sequence[Any]) -> None:
        self.stages = list(stages)
        self._twins: list[Any] | None = None
        self._origin: int | None = None
        self.name = "+".join(_name(s) for s in self.stages)

    def __call__(self, record: Any) -> list[Any]:
        if self._twins is None:
            self._start(record)
        if isinstance(record, Reading):
            return self._readings(record)
        if isinstance(record, (Waveform, Spectrum)):
            return self._records(record)
        raise TypeError(f"stages apply to Readings, Waveforms and Spectra, not {type(record)}")

    def _start(self, first: Any) -> None:
        self.stages = [s.build(first) if isinstance(s, Deferred) else s for s in self.stages]
        if isinstance(first, Reading):
            for stage in self.stages:
                if not _stream_wise(stage) and isinstance(
                    stage, (FFTMagnitude, PSD, FindPeaks, Decimate)
                ):
                    raise TypeError(
                        f"{_name(stage)} works within records (waveforms, spectra); readings "
                        "take averages, decimation along the stream, scale and polynomial"
                    )
        self._twins = [_twin(s) if _stream_wise(s) else None for s in self.stages]

    def _stamps(self, index: int, stamps: np.ndarray) -> np.ndarray:
        """Run the timestamps through the twin of stream-wise stage `index`."""
        assert self._twins is not None
        if self._origin is None:
            self._origin = int(stamps[0]) if stamps.size else 0
        # Offsets from the first stamp are exact in float64 for 104 days of run.
        offsets = (stamps - self._origin).astype(np.float64)[:, np.newaxis]
        out = self._twins[index](offsets)[:, 0]
        return np.rint(out).astype(np.int64) + self._origin

    def _readings(self, reading: Reading) -> list[Any]:
        values, stamps = reading.values, reading.timestamps_ns
        status, units = reading.status, reading.units
        for index, stage in enumerate(self.stages):
            if isinstance(stage, Units):
                units = (stage.units,) * len(reading.channels)
                continue
            values = np.asarray(stage(values), dtype=np.float64)
            if _stream_wise(stage):
                stamps, status = self._stamps(index, stamps), None
        if values.shape[0] == 0:
            return []
        return [Reading(values, stamps, reading.channels, units, status)]

    def _records(self, record: Waveform | Spectrum) -> list[Any]:
        is_wave = isinstance(record, Waveform)
        data = (record.y if is_wave else record.intensities)[np.newaxis]
        stamps = np.array([record.timestamp_ns], dtype=np.int64)
        form: dict[str, Any] = {"kind": "waveform" if is_wave else "spectrum"}
        if is_wave:
            form.update(x0=record.x0, dx=record.dx, units=record.units)
        else:
            form.update(axis=record.wavelengths, axis_units=record.wavelength_units)
            form.update(units=record.units)
        for index, stage in enumerate(self.stages):
            if isinstance(stage, Units):
                form["units"] = stage.units
                continue
            points = data.shape[-1]
            data = stage(data)
            if _stream_wise(stage):
                stamps = self._stamps(index, stamps)
            else:
                _reshape_axis(form, stage, points)
        return [
            _rebuild(record, form, row, int(stamp)) for row, stamp in zip(data, stamps, strict=True)
        ]


def _reshape_axis(form: dict[str, Any], stage: Any, points: int) -> None:
    """Update the record's axis after a record-wise stage."""
    if isinstance(stage, Decimate):
        if form["kind"] == "waveform":
            form["dx"] *= stage.factor
        elif form["kind"] == "spectrum":
            form["axis"] = form["axis"][:: stage.factor]
    elif isinstance(stage, (FFTMagnitude, PSD)):
        dx = form.get("dx")
        if isinstance(stage, FFTMagnitude):
            if dx is None:
                raise TypeError("an FFT needs waveforms (a time axis), not spectra")
            form["axis"] = FFTMagnitude.frequencies(points, dx)
        else:
            form["axis"] = stage.frequencies(points)
            squared = f"{form['units']}**2"
            form["units"] = f"{squared}/Hz" if stage.scaling == "density" else squared
        form.update(kind="spectrum", axis_units="Hz")
    elif isinstance(stage, FindPeaks):
        form["kind"] = "peaks"


def _rebuild(original: Any, form: dict[str, Any], row: np.ndarray, stamp: int) -> Any:
    kind = form["kind"]
    if kind == "peaks":
        return row
    if kind == "waveform":  # new values without codes: replace() drops the old codes
        return original.replace(y=row, x0=form["x0"], dx=form["dx"], units=form["units"],
                                timestamp_ns=stamp)  # fmt: skip
    if isinstance(original, Spectrum):
        return replace(original, intensities=row, wavelengths=form["axis"], units=form["units"],
                       wavelength_units=form["axis_units"], timestamp_ns=stamp)  # fmt: skip
    return Spectrum(form["axis"], row, units=form["units"], wavelength_units=form["axis_units"],
                    timestamp_ns=stamp, meta=dict(original.meta))  # fmt: skip


def _name(stage: Any) -> str:
    return getattr(stage, "name", None) or type(stage).__name__
