"""What the simulated oscilloscopes share: signals on the inputs, run/stop state, the record.

Each vendor model (`drivers/<vendor>/*_sim.py`) speaks its own dialect and decides how
volts become codes; this base keeps the physics in one place: which signals sit on the
inputs (`sources`, plain data in lab files), when a record is taken, and a cache of the
last encoded blocks so a stopped scope serves the same record again at socket speed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping
from functools import partial
from typing import Any

import numpy as np

from instrumentkit.sim import ScpiDevice, Signal, SignalIn, WiredSource
from instrumentkit.sim.physics import Acquisition, Source, acquire

__all__ = ["DEFAULT_SOURCES", "ScopeModel"]

DEFAULT_SOURCES: dict[int, dict[str, Any]] = {
    1: {"shape": "sine", "amplitude": 1.0, "frequency": 1e3, "noise": 0.005},
    2: {"shape": "square", "amplitude": 0.5, "frequency": 2.5e3, "offset": 0.5},
    3: {"shape": "triangle", "amplitude": 2.0, "frequency": 500.0},
    4: {"shape": "dc", "amplitude": 0.0, "offset": -0.3, "noise": 0.002},
}
"""What sits on the inputs unless a lab file says otherwise: 1 kHz sine on channel 1, ..."""

_FOREVER = math.inf


class ScopeModel(ScpiDevice):
    """Base of the scope models: `sources` maps channel -> `physics.Source` (or its dict).

    Subclasses provide `record_points()`, `sample_interval()`, `trigger_settings()` and
    `enabled_channels()`; they call `arm_single()`, `start_running()`, `halt()` from
    their run-control commands and `record()` when the host asks for data.
    """

    analog_channels = 4
    input_impedance = 1e6
    wired_noise = 0.002
    """Volts rms the front end adds to a wired input."""

    def __init__(self, *, sources: Mapping[Any, Any] | None = None, **options: Any) -> None:
        given = DEFAULT_SOURCES if sources is None else sources
        self.sources = {int(ch): Source.of(spec) for ch, spec in given.items()}
        self.wired: dict[int, Signal] = {}
        """Channels a lab's wiring connected: they show that signal, on the device clock."""
        super().__init__(**options)
        self._clear_acquisition()

    def reset(self) -> None:
        super().reset()
        self._clear_acquisition()

    def _clear_acquisition(self) -> None:
        self.running = True
        self.armed = False
        self.last: Acquisition | None = None
        self._blocks: dict[Hashable, bytes] = {}

    def ports(self) -> dict[str, SignalIn]:
        """Each analog input, "1" to "4", takes a wired signal (1 Mohm)."""
        return {
            str(ch): SignalIn(partial(self.wired.__setitem__, ch), impedance=self.input_impedance)
            for ch in range(1, self.analog_channels + 1)
        }

    # -- what the vendor model knows
    def record_points(self) -> int:
        raise NotImplementedError

    def sample_interval(self) -> float:
        raise NotImplementedError

    def trigger_settings(self) -> dict[str, Any]:
        """`trigger_source` (channel or None), `trigger_level`, `trigger_slope`
        ("rise"/"fall"), `trigger_position` (0..1 of the record), `wait_for_trigger`."""
        raise NotImplementedError

    def enabled_channels(self) -> list[int]:
        raise NotImplementedError

    # -- acquisitions
    def take_record(self) -> Acquisition:
        """One record of every enabled input, trigger-aligned; drops cached blocks."""
        trigger = self.trigger_settings()
        wanted = set(self.enabled_channels()) | {trigger["trigger_source"]}
        zero = Source(shape="dc", amplitude=0.0)
        sources = {ch: self.sources.get(ch, zero) for ch in wanted if ch is not None}
        for ch in sources.keys() & self.wired.keys():
            sources[ch] = WiredSource.of_signal(self.wired[ch], noise=self.wired_noise)
        self.last = acquire(
            sources,
            points=self.record_points(),
            sample_interval=self.sample_interval(),
            rng=self.rng,
            trigger_source=trigger["trigger_source"],
            trigger_level=trigger["trigger_level"],
            trigger_slope=trigger["trigger_slope"],
            trigger_position=trigger["trigger_position"],
            # Wired inputs are sampled at clock times; unwired ones start at a random phase.
            start_time=self.clock.now() if self.wired else None,
        )
        self._blocks.clear()
        return self.last

    def arm_single(self) -> float:
        """Take one record now; it completes after its duration, or never if a normal-mode
        trigger finds no edge. Returns the clock time it completes (inf: never)."""
        record = self.take_record()
        self.running = False
        self.armed = True
        if not record.triggered and self.trigger_settings()["wait_for_trigger"]:
            self.busy_until = _FOREVER
            return _FOREVER
        return self.start_operation(record.sample_interval * len(record.times))

    def start_running(self) -> None:
        self.running, self.armed = True, False
        self.busy_until = -math.inf

    def halt(self) -> None:
        self.running, self.armed = False, False
        self.busy_until = -math.inf

    @property
    def acquiring(self) -> bool:
        """Running, or a single acquisition not yet complete."""
        return self.running or (self.armed and not self.operation_complete)

    def record(self) -> Acquisition:
        """The record a data query reads: fresh while running, the last one once stopped."""
        if self.running or self.last is None:
            return self.take_record()
        return self.last

    def volts(self, channel: int) -> np.ndarray:
        """The present record's trace of `channel` (zeros for an input nobody drives)."""
        record = self.record()
        trace = record.volts.get(channel)
        return np.zeros(record.times.shape) if trace is None else trace

    def cached(self, key: Hashable, build: Callable[[], bytes]) -> bytes:
        """`build()` once per stopped record and `key` (format, range, ...); fresh if running."""
        if self.running:
            return build()
        block = self._blocks.get(key)
        if block is None:
            block = self._blocks[key] = build()
        return block
