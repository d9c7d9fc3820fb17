"""What a sweep reads at each point, from any instrument: sensors `read()` (a lock-in's X
and Y too), scopes arm, wait and fetch, spectrometers `acquire()`.

A reader gives one value per field: the mean of a reading's samples per channel, or a
whole trace or spectrum (stored with its own axis after the grid's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from instrumentkit.interfaces import Oscilloscope, Sensor, Source, Spectrometer

from ._sources import channel_label
from ._sweep_grid import POINT_COMPLIANCE, POINT_OK, FieldSpec

__all__ = [
    "COMPLIANCE_STATUS",
    "ReadSpecError",
    "SweepReader",
    "provides",
    "reader_for",
    "readers_for",
]

COMPLIANCE_STATUS = 1
"""`Reading.status` a source's own readings use for "in compliance" (the Keithley
SourceMeters' STATUS_COMPLIANCE); only readings of an instrument that is a Source count."""

_METHODS = {
    Sensor: ("read", "read_many"),
    Oscilloscope: ("single", "wait_for_acquisition", "fetch_all"),
    Spectrometer: ("acquire", "wavelengths"),
    Source: ("source_outputs", "make_safe"),
}


def provides(instrument: Any, interface: type) -> bool:
    """Whether `instrument` serves `interface`, without touching it.

    `isinstance` with a runtime-checkable protocol reads every member, and on a driver a
    property like `units` is a query: so trust the driver's declared `interfaces`, else
    look for the methods on the class.
    """
    declared = getattr(type(instrument), "interfaces", None)
    if declared:
        return interface in declared
    return all(callable(getattr(type(instrument), m, None)) for m in _METHODS[interface])


class SweepReader:
    """Reads one instrument at a sweep point: `take()` -> (values, status)."""

    def __init__(self, name: str, device: Any) -> None:
        self.name = name
        self.device = device
        self.fields: tuple[FieldSpec, ...] = ()

    def take(self) -> tuple[list[Any], int]:
        raise NotImplementedError


class _SensorReader(SweepReader):
    def __init__(self, name: str, device: Any) -> None:
        super().__init__(name, device)
        self._compliance = provides(device, Source)

    def take(self) -> tuple[list[Any], int]:
        reading = self.device.read()
        if not self.fields:
            self.fields = tuple(
                FieldSpec(f"{self.name}.{channel}", units, f"{self.name} {channel}")
                for channel, units in zip(reading.channels, reading.units, strict=True)
            )
        values = reading.values
        means = values.mean(axis=0) if len(values) else np.full(len(self.fields), np.nan)
        status = POINT_OK
        tripped = reading.status is not None and np.any(reading.status == COMPLIANCE_STATUS)
        if self._compliance and tripped:
            status = POINT_COMPLIANCE
        return [float(v) for v in means], status


class _ScopeReader(SweepReader):
    def __init__(self, name: str, device: Any, channels: Sequence[int | str]) -> None:
        super().__init__(name, device)
        self.channels = list(channels)

    def take(self) -> tuple[list[Any], int]:
        scope = self.device
        scope.single()
        scope.wait_for_acquisition(None)
        waveforms = scope.fetch_all(self.channels)
        if not self.fields:
            specs = []
            for channel, waveform in zip(self.channels, waveforms, strict=True):
                field = f"{self.name}.{channel_label(channel)}"
                times = waveform.x0 + waveform.dx * np.arange(len(waveform))
                specs.append(FieldSpec(field, waveform.units, f"{self.name} channel {channel}",
                                       (f"{field}.time", times, waveform.x_units)))  # fmt: skip
            self.fields = tuple(specs)
        return [np.asarray(w.y, dtype=np.float64) for w in waveforms], POINT_OK


class _SpectrumReader(SweepReader):
    def take(self) -> tuple[list[Any], int]:
        spectrum = self.device.acquire()
        if not self.fields:
            axis = (f"{self.name}.wavelength", np.asarray(spectrum.wavelengths),
                    spectrum.wavelength_units)  # fmt: skip
            self.fields = (FieldSpec(self.name, spectrum.units, f"{self.name} spectrum", axis),)
        return [np.asarray(spectrum.intensities, dtype=np.float64)], POINT_OK


def reader_for(name: str, device: Any, channels: Sequence[int | str] | None = None) -> SweepReader:
    """The reader of `device` by what it is: a Sensor, an Oscilloscope (`channels`,
    default 1) or a Spectrometer; anything else raises TypeError."""
    if isinstance(device, SweepReader):
        return device
    if provides(device, Oscilloscope):
        return _ScopeReader(name, device, channels or [1])
    if channels:
        raise TypeError(f"{name!r} is not an oscilloscope: it has no channels to fetch")
    if provides(device, Sensor):
        return _SensorReader(name, device)
    if provides(device, Spectrometer):
        return _SpectrumReader(name, device)
    raise TypeError(f"{name!r} cannot be read at a sweep point: it is not a Sensor, "
                    "Oscilloscope or Spectrometer")  # fmt: skip


class ReadSpecError(ValueError):
    """A `read:` entry that cannot be read; `index` is its place in the list."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index


def readers_for(specs: Sequence[str], instruments: Mapping[str, Any]) -> dict[str, SweepReader]:
    """`read:` entries ("smu", "scope:1", "scope:3") as one reader per instrument: a
    scope's channels are fetched together after one trigger. Raises ReadSpecError."""
    channels: dict[str, list[str]] = {}
    first: dict[str, int] = {}
    for index, spec in enumerate(specs):
        name, _, channel = spec.partition(":")
        if name not in instruments:
            raise ReadSpecError(index, f"no instrument {name!r}; instruments: "
                                       f"{', '.join(instruments) or 'none'}")  # fmt: skip
        first.setdefault(name, index)
        channels.setdefault(name, [])
        if channel:
            channels[name].append(channel)
    readers = {}
    for name, wanted in channels.items():
        try:
            readers[name] = reader_for(name, instruments[name], wanted or None)
        except TypeError as error:
            raise ReadSpecError(first[name], str(error)) from None
    return readers
