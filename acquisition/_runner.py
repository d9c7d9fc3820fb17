"""The thread that runs one source: pacing, batching, stages, error policy, hand-off.

Each source gets one thread. It polls its instrument, gathers one-sample readings into
blocks (so the writer and the stages see arrays, not single values), runs the stream's
stages on each block and puts the result on the pipeline's bounded queue. A full queue
blocks the thread: that is the backpressure that keeps memory fixed.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from instrumentkit.data import Reading, now_ns

from ._sources import Record, Source

__all__ = ["Block", "ErrorEvent", "ErrorPolicy", "SourceRunner", "SourceState", "Stage"]

Stage = Callable[[Any], Any]
"""A per-stream transform: record in, a list of records out (empty: nothing to write yet)."""

_PUT_POLL = 0.1  # seconds between checks for an abandoned run while the queue is full


@dataclass(frozen=True, slots=True)
class ErrorPolicy:
    """What a failed poll does: "stop" the run, or "skip" the block and go on.

    With "skip", the run stops anyway once an instrument has failed more than
    `max_errors` times.
    """

    action: Literal["stop", "skip"] = "stop"
    max_errors: int = 10

    def __post_init__(self) -> None:
        if self.action not in ("stop", "skip"):
            raise ValueError(f"on_error action must be 'stop' or 'skip', not {self.action!r}")
        if self.max_errors < 0:
            raise ValueError(f"max_errors must be >= 0, got {self.max_errors}")


@dataclass(frozen=True, slots=True)
class Block:
    """Records of one stream with the clock pair read right after the poll that made them.

    The writer turns each record's wall-clock stamp into a monotonic one with this pair:
    `monotonic + (timestamp_ns - wall_ns) / 1e9`.
    """

    stream: str
    record: Record
    monotonic: float
    wall_ns: int
    instrument: str


@dataclass(frozen=True, slots=True)
class ErrorEvent:
    """One error of one instrument, as recorded in the run file's error log."""

    time_ns: int
    instrument: str
    error: str
    message: str
    action: str  # "skipped", "stopped the run", "ended the source"


@dataclass
class SourceState:
    """What the progress display shows per instrument."""

    instrument: str
    status: str = "starting"  # starting, running, finished, stopped, failed
    polls: int = 0
    errors: int = 0
    last_error: str = ""
    blocks: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class ReadingBatcher:
    """Gathers small Readings of one stream into blocks of up to `capacity` samples."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.fill = 0
        self.oldest = 0.0
        self._key: tuple[Any, ...] | None = None
        self._values: np.ndarray = np.empty((0, 0))
        self._stamps: np.ndarray = np.empty(0, np.int64)
        self._status: np.ndarray | None = None

    def add(self, reading: Reading, now: float) -> list[Reading]:
        """Take in `reading`; return the blocks that are complete."""
        out: list[Reading] = []
        key = (reading.channels, reading.units, reading.status is not None, reading.values.dtype)
        if self.fill and key != self._key:
            out.append(self.take())
        n = len(reading)
        if n * 4 > self.capacity:  # already a block: pass it on whole
            if self.fill:
                out.append(self.take())
            out.append(reading)
            return out
        if self.fill + n > self.capacity:
            out.append(self.take())
        if self.fill == 0:
            self._allocate(reading, key)
            self.oldest = now
        start, stop = self.fill, self.fill + n
        if n == 1:
            self._values[start] = reading.values[0]
            self._stamps[start] = reading.timestamps_ns[0]
        else:
            self._values[start:stop] = reading.values
            self._stamps[start:stop] = reading.timestamps_ns
        if self._status is not None:
            self._status[start:stop] = reading.status
        self.fill = stop
        if stop == self.capacity:
            out.append(self.take())
        return out

    def _allocate(self, reading: Reading, key: tuple[Any, ...]) -> None:
        # Fresh arrays per block: the previous block may still wait in the queue.
        self._key = key
        self._values = np.empty((self.capacity, reading.values.shape[1]), reading.values.dtype)
        self._stamps = np.empty(self.capacity, np.int64)
        self._status = (
            None if reading.status is None else np.empty(self._values.shape, reading.status.dtype)
        )

    def take(self) -> Reading:
        """The gathered samples as one Reading; the batcher is empty afterwards."""
        assert self._key is not None
        n, self.fill = self.fill, 0
        channels, units = self._key[0], self._key[1]
        status = None if self._status is None else self._status[:n]
        return Reading(self._values[:n], self._stamps[:n], channels, units, status)


class SourceRunner(threading.Thread):
    """Runs one source until the run stops, its count is reached, or it fails."""

    def __init__(
        self,
        source: Source,
        *,
        output: queue.Queue[Block | ErrorEvent],
        stop: threading.Event,
        started: threading.Event,
        abandoned: threading.Event,
        policy: ErrorPolicy,
        stages: Mapping[str, Stage],
        on_fatal: Callable[[str, str], None],
        batch_rows: int = 4096,
        max_latency: float = 0.25,
    ) -> None:
        super().__init__(name=f"ik-source-{source.instrument}", daemon=True)
        self.source = source
        self.state = SourceState(source.instrument)
        self._output = output
        self._halt = stop
        self._live = started
        self._abandoned = abandoned
        self._policy = policy
        self._stages = dict(stages)
        self._on_fatal = on_fatal
        self._batchers = {name: ReadingBatcher(batch_rows) for name in source.streams}
        self._max_latency = max_latency
        self._clock = (0.0, 0)  # (monotonic, wall ns) of the latest poll
        self._lock = threading.Lock()
        self._delivered: set[str] = set()
        source.bind_stop(stop)

    # -- the loop -------------------------------------------------------------------------
    def run(self) -> None:
        source = self.source
        try:
            source.prepare()
        except Exception as error:
            self._fail(error, "preparing")
            return
        try:
            self._loop()
        finally:
            self._flush_batches()
            try:
                source.finish()
            except Exception as error:  # the data is in; note the error and end quietly
                self._put(ErrorEvent(now_ns(), source.instrument, type(error).__name__,
                                     f"finishing: {error}", "ignored"))  # fmt: skip

    def _loop(self) -> None:
        source, state = self.source, self.state
        period = None if source.rate is None else 1.0 / source.rate
        next_poll = time.monotonic()
        state.status = "running"
        while not self._halt.is_set():
            if source.count is not None and state.polls >= source.count:
                state.status = "finished"
                return
            if period is not None:
                delay = next_poll - time.monotonic()
                if delay > 0:
                    if self._pending_age() + delay > self._max_latency:
                        self._flush_batches()
                    if self._halt.wait(delay):
                        break
                next_poll = max(next_poll + period, time.monotonic() - period)
            try:
                items = source.poll()
            except Exception as error:
                if not self._failed_poll(error):
                    return
                continue
            self._clock = (time.monotonic(), now_ns())
            state.polls += 1
            for stream, record in items:
                self._emit(stream, record)
            if not self._live.is_set():
                # The writer declares streams from first records: deliver one per stream
                # (a stage may hold records back: poll on until it lets one through), then
                # wait until the file is live so nothing piles up before it can be written.
                self._flush_batches()
                if self._delivered.issuperset(source.streams):
                    while not self._live.wait(_PUT_POLL):
                        if self._halt.is_set():
                            break
            elif self._pending_age() > self._max_latency:
                self._flush_batches()
        if state.status == "running":
            state.status = "stopped"

    def _pending_age(self) -> float:
        now = time.monotonic()
        ages = [now - b.oldest for b in self._batchers.values() if b.fill]
        return max(ages, default=0.0)

    # -- records --------------------------------------------------------------------------
    def _emit(self, stream: str, record: Record) -> None:
        batcher = self._batchers.get(stream)
        if isinstance(record, Reading) and batcher is not None:
            for block in batcher.add(record, self._clock[0]):
                self._deliver(stream, block)
        else:
            self._deliver(stream, record)

    def _flush_batches(self) -> None:
        for stream, batcher in self._batchers.items():
            if batcher.fill:
                self._deliver(stream, batcher.take())

    def _deliver(self, stream: str, record: Any) -> None:
        stage = self._stages.get(stream)
        records = [record]
        if stage is not None:
            try:
                records = stage(record)
            except Exception as error:
                self._failed_poll(error, where=f"stages {_stage_name(stage)} of {stream}")
                return
        monotonic, wall = self._clock
        for item in records:
            self._put(Block(stream, item, monotonic, wall, self.source.instrument))
            self.state.blocks += 1
            self._delivered.add(stream)

    def _put(self, item: Block | ErrorEvent) -> bool:
        while True:
            try:
                self._output.put(item, timeout=_PUT_POLL)
                return True
            except queue.Full:
                if self._abandoned.is_set():
                    return False

    # -- errors ---------------------------------------------------------------------------
    def judge(self, error: BaseException, where: str = "") -> tuple[ErrorEvent, bool]:
        """Count an error against the policy: its log entry, and whether the source goes on.

        Thread-safe: the writer calls it too, for records the run file refuses. A fatal
        verdict has already asked the pipeline to stop.
        """
        with self._lock:
            state, policy = self.state, self._policy
            state.errors += 1
            message = f"{where}: {error}" if where else str(error)
            state.last_error = message
            goes_on = policy.action == "skip" and state.errors <= policy.max_errors
            action = "skipped" if goes_on else "stopped the run"
            event = ErrorEvent(now_ns(), state.instrument, type(error).__name__, message, action)
            if goes_on:
                return event, True
            state.status = "failed"
            if policy.action == "skip":
                reason = (
                    f"{state.instrument}: more than {policy.max_errors} errors (on_error "
                    f"max_errors); last: {type(error).__name__}: {message}"
                )
            else:
                reason = f"{state.instrument}: {type(error).__name__}: {message}"
        self._on_fatal(state.instrument, reason)
        return event, False

    def _failed_poll(self, error: BaseException, *, where: str = "") -> bool:
        """Apply the error policy in the source's thread; True if the source goes on."""
        event, goes_on = self.judge(error, where)
        self._put(event)
        return goes_on

    def _fail(self, error: BaseException, where: str = "") -> None:
        """An error after which the source cannot go on, whatever the policy."""
        with self._lock:
            self.state.errors += 1
            self.state.last_error = f"{where}: {error}" if where else str(error)
            self.state.status = "failed"
        message = self.state.last_error
        self._put(ErrorEvent(now_ns(), self.source.instrument, type(error).__name__, message,
                             "stopped the run"))  # fmt: skip
        self._on_fatal(self.source.instrument, f"{self.source.instrument}: "
                       f"{type(error).__name__}: {message}")  # fmt: skip


def _stage_name(stage: Stage) -> str:
    return getattr(stage, "name", None) or getattr(stage, "__name__", type(stage).__name__)
