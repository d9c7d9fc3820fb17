"""Sources: what one pipeline thread does with one instrument, written against the interfaces
(N-dimensional sweeps: `SweepSource` in `_sweep.py`).

A source knows its instrument, the streams it feeds, how often to poll (`rate` in polls per
second, None for as fast as the instrument answers) and how many polls it takes (`count`,
None for until the run stops). `poll()` does one acquisition and returns the records, each
with the name of its stream. Sources never touch the file: the pipeline stamps what they
return, runs the stages and hands it to the writer through a bounded queue.

    SensorSource(dmm, rate=10)                  # one read() ten times a second
    SensorSource(dmm, batch=1000)               # read_many(1000), back to back
    ScopeSource(scope, channels=[1, 2])         # single(), wait, fetch_all per trigger
    SpectrumSource(spectrometer, rate=2)        # acquire() twice a second
    CallableSource(lambda: np.random.random(16), stream="noise", rate=100)
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from instrumentkit.data import Reading, Spectrum, Waveform
from instrumentkit.interfaces import Oscilloscope, Sensor, Spectrometer

__all__ = [
    "CallableSource",
    "Record",
    "ScopeSource",
    "SensorSource",
    "Source",
    "SpectrumSource",
    "channel_label",
]

Record = Reading | Waveform | Spectrum | NDArray[Any]
"""What a source returns per stream: a core data type, or a fixed-shape NumPy array."""


def _resource_like(name: str) -> bool:
    """No name, or the resource an instrument opened without a name goes by."""
    return not name or any(mark in name for mark in ("::", "://", "/"))


def _instrument_name(instrument: Any, fallback: str) -> str:
    name = getattr(instrument, "name", None)
    if not name:
        return fallback
    name = str(name)
    # An instrument opened without a name goes by its resource ("TCPIP::...::SOCKET",
    # "iksim://gauge"): a poor stream and group name. The driver's class name reads better.
    if _resource_like(name):
        return type(instrument).__name__.lower()
    return name


def channel_label(channel: int | str) -> str:
    """The stream suffix of a scope channel: 1, "1" and "CH1" -> "ch1"; "MATH" -> "math"."""
    text = str(channel).strip()
    if text.isdigit():
        return f"ch{int(text)}"
    return text.lower()


class Source:
    """Base of every source: names, pacing and a stop-aware wait.

    Subclasses implement `poll()`; `prepare()` and `finish()` run once in the source's
    thread before the first poll and after the last.
    """

    def __init__(
        self,
        *,
        instrument: str,
        streams: Sequence[str],
        rate: float | None = None,
        count: int | None = None,
    ) -> None:
        if rate is not None and not rate > 0:
            raise ValueError(f"{instrument}: rate must be > 0 polls per second, got {rate}")
        if count is not None and count < 1:
            raise ValueError(f"{instrument}: count must be >= 1, got {count}")
        if not streams:
            raise ValueError(f"{instrument}: a source needs at least one stream")
        self.instrument = instrument
        self.streams: tuple[str, ...] = tuple(streams)
        self.rate = rate
        self.count = count
        self._stop: threading.Event = threading.Event()

    def bind_stop(self, stop: threading.Event) -> None:
        """Use the pipeline's stop event, so `wait()` returns early when the run ends."""
        self._stop = stop

    def wait(self, seconds: float) -> bool:
        """Sleep `seconds` unless the run stops first; True if it is stopping."""
        return self._stop.wait(seconds) if seconds > 0 else self._stop.is_set()

    def prepare(self) -> None:
        """Called once in the source's thread before the first poll."""

    def poll(self) -> list[tuple[str, Record]]:
        """One acquisition: a (stream, record) pair per stream that got data."""
        raise NotImplementedError

    def finish(self) -> None:
        """Called once in the source's thread after the last poll (also after errors)."""

    # -- faults (decision 0009)
    def devices(self) -> list[Any]:
        """The instruments this source talks to (for resync, error queues and stopping)."""
        return []

    def resync(self) -> None:
        """Get every instrument back in step after a failed poll; one that cannot stays
        out of step, and its next exchange tries again (and fails the poll if it must)."""
        self._each_device(lambda device: getattr(device, "resync", None))

    def reported_errors(self) -> list[tuple[int, str, str]]:
        """Drain the error queue of every instrument that has one: (code, message, the
        instrument's own name) each, so a sweep's error names the instrument, not the stream."""
        reported: list[tuple[int, str, str]] = []
        for device in self.devices():
            drain = getattr(device, "drain_errors", None)
            if callable(drain):
                name = str(getattr(device, "name", "") or "")
                who = self.instrument if _resource_like(name) else name
                reported += [(code, message, who) for code, message in drain()]
        return reported

    def abort(self) -> None:
        """Close the links of the source's instruments, ending a read blocked on one."""
        self._each_device(lambda device: getattr(getattr(device, "session", None), "abort", None))

    def _each_device(self, method: Callable[[Any], Any]) -> None:
        """Call `method(device)()` where it exists; a failure leaves that device as it is."""
        for device in self.devices():
            call = method(device)
            if callable(call):
                with contextlib.suppress(Exception):
                    call()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.instrument!r} -> {list(self.streams)}>"


class SensorSource(Source):
    """Scalar readings of a `Sensor`: `read()` per poll, or `read_many(batch)` when batched."""

    def __init__(
        self,
        sensor: Sensor,
        *,
        stream: str | None = None,
        rate: float | None = None,
        batch: int | None = None,
        count: int | None = None,
        instrument: str | None = None,
    ) -> None:
        name = instrument or _instrument_name(sensor, stream or "sensor")
        super().__init__(instrument=name, streams=[stream or name], rate=rate, count=count)
        if batch is not None and batch < 1:
            raise ValueError(f"{name}: batch must be >= 1 readings, got {batch}")
        self.sensor = sensor
        self.batch = batch

    def devices(self) -> list[Any]:
        return [self.sensor]

    def poll(self) -> list[tuple[str, Record]]:
        sensor = self.sensor
        reading = sensor.read() if self.batch is None else sensor.read_many(self.batch)
        return [(self.streams[0], reading)]


class ScopeSource(Source):
    """Waveforms of an `Oscilloscope`: per poll, arm one trigger, wait, fetch every channel.

    Each channel feeds its own stream, `<stream>_<channel label>` ("scope_ch1").
    """

    def __init__(
        self,
        scope: Oscilloscope,
        channels: Sequence[int | str],
        *,
        stream: str | None = None,
        rate: float | None = None,
        count: int | None = None,
        timeout: float | None = None,
        instrument: str | None = None,
    ) -> None:
        name = instrument or _instrument_name(scope, stream or "scope")
        if not channels:
            raise ValueError(f"{name}: name at least one channel to fetch")
        prefix = stream or name
        labels = [f"{prefix}_{channel_label(c)}" for c in channels]
        if len(set(labels)) != len(labels):
            raise ValueError(f"{name}: channels {list(channels)} repeat a channel")
        super().__init__(instrument=name, streams=labels, rate=rate, count=count)
        self.scope = scope
        self.channels = list(channels)
        self.timeout = timeout

    def devices(self) -> list[Any]:
        return [self.scope]

    def poll(self) -> list[tuple[str, Record]]:
        self.scope.single()
        self.scope.wait_for_acquisition(self.timeout)
        waveforms = self.scope.fetch_all(self.channels)
        return list(zip(self.streams, waveforms, strict=True))


class SpectrumSource(Source):
    """Spectra of a `Spectrometer`: one `acquire()` per poll."""

    def __init__(
        self,
        spectrometer: Spectrometer,
        *,
        stream: str | None = None,
        rate: float | None = None,
        count: int | None = None,
        instrument: str | None = None,
    ) -> None:
        name = instrument or _instrument_name(spectrometer, stream or "spectrometer")
        super().__init__(instrument=name, streams=[stream or name], rate=rate, count=count)
        self.spectrometer = spectrometer

    def devices(self) -> list[Any]:
        return [self.spectrometer]

    def poll(self) -> list[tuple[str, Record]]:
        return [(self.streams[0], self.spectrometer.acquire())]


class CallableSource(Source):
    """Anything a function returns per poll: a Reading, Waveform, Spectrum, array or number.

    Numbers become one-channel readings named after the stream, in `units`.
    """

    def __init__(
        self,
        function: Callable[[], Any],
        *,
        stream: str,
        rate: float | None = None,
        count: int | None = None,
        units: str = "",
        instrument: str | None = None,
    ) -> None:
        super().__init__(instrument=instrument or stream, streams=[stream], rate=rate, count=count)
        self.function = function
        self.units = units

    def poll(self) -> list[tuple[str, Record]]:
        result = self.function()
        if isinstance(result, (Reading, Waveform, Spectrum, np.ndarray)):
            return [(self.streams[0], result)]
        if isinstance(result, (int, float, np.number)):
            return [(self.streams[0], Reading.single(float(result), self.streams[0], self.units))]
        raise TypeError(
            f"source {self.streams[0]!r}: the function returned a {type(result).__name__}; "
            "return a Reading, Waveform, Spectrum, NumPy array or number"
        )
