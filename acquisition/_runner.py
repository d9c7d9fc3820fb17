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

from instrumentkit.data import Reading, now_ns
from instrumentkit.errors import InstrumentReportedError, ProtocolError, Timeout

from ._batcher import ReadingBatcher
from ._sources import Record, Source

__all__ = ["Block", "Done", "ErrorEvent", "ErrorPolicy", "SourceRunner", "SourceState", "Stage"]

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
    check_interval: float | None = 2.0
    """Seconds between reads of the instrument's error queue (None: only after a failed
    poll and when the source ends, as it always is); instruments without one (no
    `drain_errors()`) are never asked."""

    def __post_init__(self) -> None:
        if self.action not in ("stop", "skip"):
            raise ValueError(f"on_error action must be 'stop' or 'skip', not {self.action!r}")
        if self.max_errors < 0:
            raise ValueError(f"max_errors must be >= 0, got {self.max_errors}")
        if self.check_interval is not None and not self.check_interval > 0:
            raise ValueError(f"check_interval must be > 0 s, got {self.check_interval}")


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
    code: int = 0  # the instrument's own error code (SCPI -222 ...), 0 when it gave none


@dataclass(frozen=True, slots=True)
class Done:
    """The last thing a source thread puts on the queue."""

    instrument: str


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


class SourceRunner(threading.Thread):
    """Runs one source until the run stops, its count is reached, or it fails."""

    def __init__(
        self,
        source: Source,
        *,
        output: queue.Queue[Block | ErrorEvent | Done],
        stop: threading.Event,
        started: threading.Event,
        abandoned: threading.Event,
        policy: ErrorPolicy,
        stages: Mapping[str, Stage],
        on_fatal: Callable[[str, str], None],
        block_bytes: int = 256 * 1024,
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
        self._batchers = {name: ReadingBatcher(block_bytes) for name in source.streams}
        self._max_latency = max_latency
        self._polled_at = 0.0  # monotonic clock right after the latest poll
        self._lock = threading.Lock()
        self._delivered: set[str] = set()
        self._pending = False  # some batcher holds readings
        self._flush_due = 0.0  # when they must leave at the latest
        self._cancelled = False  # the pipeline closed the link to stop a blocked read
        self._errors_due = 0.0  # when the instrument's error queue is read next
        source.bind_stop(stop)

    # -- the loop -------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self._run()
        finally:
            self._put(Done(self.source.instrument))  # wakes the writer to look at the end

    def _run(self) -> None:
        source = self.source
        try:
            source.prepare()
        except Exception as error:
            self._fail(error, "preparing")
            return
        self._note_stale_errors()
        try:
            self._loop()
            if self.state.status in ("finished", "stopped") and not self._cancelled:
                # What the instrument refused since the last check (a level a sweep set,
                # a setting) must not end in a run marked completed.
                self._check_errors()
        finally:
            self._flush_batches()
            try:
                source.finish()
            except Exception as error:  # the data is in; note the error and end quietly
                self._put(ErrorEvent(now_ns(), source.instrument, type(error).__name__,
                                     f"finishing: {error}", "ignored"))  # fmt: skip

    def _loop(self) -> None:
        source, state, halt = self.source, self.state, self._halt
        period = None if source.rate is None else 1.0 / source.rate
        count = source.count
        batchers, latency = self._batchers, self._max_latency
        monotonic_clock = time.monotonic
        live = False
        next_poll = monotonic_clock()
        state.status = "running"
        while not halt.is_set():
            if count is not None and state.polls >= count:
                state.status = "finished"
                return
            if period is not None:
                now = monotonic_clock()
                delay = next_poll - now
                if delay > 0:
                    if self._pending and now + delay > self._flush_due:
                        self._flush_batches()  # do not let gathered readings wait too long
                    if halt.wait(delay):
                        break
                next_poll = max(next_poll + period, monotonic_clock() - period)
            try:
                items = source.poll()
            except Exception as error:
                if self._cancelled or not self._failed_poll(error):
                    return
                if isinstance(error, (ProtocolError, Timeout)):
                    source.resync()  # back in step before the error queue and the next poll
                if not self._check_errors():
                    return
                continue
            monotonic = monotonic_clock()
            self._polled_at = monotonic
            state.polls += 1
            for stream, record in items:
                batcher = batchers.get(stream)
                if batcher is not None and type(record) is Reading:
                    blocks = batcher.add(record)
                    if blocks is not None:
                        for block in blocks:
                            self._deliver(stream, block)
                    if batcher.fill and not self._pending:
                        self._pending, self._flush_due = True, monotonic + latency
                else:
                    self._deliver(stream, record)
            if not live:
                live = self._wait_until_live()
            elif self._pending and monotonic >= self._flush_due:
                self._flush_batches()
            if monotonic >= self._errors_due and not self._check_errors():
                return
        if state.status == "running":
            state.status = "stopped"

    def _wait_until_live(self) -> bool:
        """Before the file is live: deliver a first record per stream, then wait for it.

        The writer declares streams from first records; a stage may hold records back, so
        poll on until each stream has let one through. Waiting afterwards keeps records
        from piling up before they can be written.
        """
        if self._live.is_set():
            return True
        self._flush_batches()
        if self._delivered.issuperset(self.source.streams):
            while not self._live.wait(_PUT_POLL):
                if self._halt.is_set():
                    return False
            return True
        return False

    def _check_errors(self) -> bool:
        """Read the instrument's error queue; log each entry under the error policy.

        Off the hot path: every `check_interval` s and after a failed poll. False if the
        source must end.
        """
        interval = self._policy.check_interval
        self._errors_due = time.monotonic() + (interval if interval else float("inf"))
        try:
            reported = self.source.reported_errors()
        except Exception as error:
            if self._cancelled:
                return False
            return self._failed_poll(error, where="reading the error queue")
        for code, message, *who in reported:  # who: which instrument of the source said it
            error = InstrumentReportedError(
                f"reported {code}, {message!r}", code=code,
                instrument=who[0] if who else self.source.instrument,
            )  # fmt: skip
            if not self._failed_poll(error):
                return False
        return True

    def _note_stale_errors(self) -> None:
        """Log what the error queues hold before the first poll, without judging it: a
        stale entry (from before the run, or from its settings) must not end the run."""
        interval = self._policy.check_interval
        self._errors_due = time.monotonic() + (interval if interval else float("inf"))
        try:
            reported = self.source.reported_errors()
        except Exception:  # the first regular check reports it, under the policy
            return
        for code, message, *who in reported:
            said = f"reported {code}, {message!r}"
            if who and who[0] != self.source.instrument:
                said = f"{who[0]}: {said}"
            self._put(ErrorEvent(now_ns(), self.source.instrument, "InstrumentReportedError",
                                 said, "queued before the run", code))  # fmt: skip

    def cancel(self) -> None:
        """Close the source's links from the pipeline's thread: a read blocked on an
        instrument that does not answer ends now, and its error is not counted."""
        self._cancelled = True
        self.source.abort()

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    # -- records --------------------------------------------------------------------------
    def _flush_batches(self) -> None:
        self._pending = False
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
        # The clock pair of the latest poll: monotonic then, wall clock moved by as much.
        monotonic = self._polled_at
        now = time.monotonic()
        wall = time.time_ns() - round((now - monotonic) * 1e9)
        for item in records:
            self._put(Block(stream, item, monotonic, wall, self.source.instrument))
            self.state.blocks += 1
            self._delivered.add(stream)

    def _put(self, item: Block | ErrorEvent | Done) -> bool:
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
            goes_on = goes_on and not getattr(error, "stops_run", False)  # ComplianceStop
            action = "skipped" if goes_on else "stopped the run"
            code = getattr(error, "code", 0)
            event = ErrorEvent(now_ns(), state.instrument, type(error).__name__, message, action,
                               code if isinstance(code, int) else 0)  # fmt: skip
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

    def _fail(self, error: BaseException, where: str) -> None:
        """An error after which the source cannot go on, whatever the policy."""
        with self._lock:
            self.state.errors += 1
            self.state.last_error = f"{where}: {error}"
            self.state.status = "failed"
        message = self.state.last_error
        self._put(ErrorEvent(now_ns(), self.source.instrument, type(error).__name__, message,
                             "stopped the run"))  # fmt: skip
        self._on_fatal(self.source.instrument, f"{self.source.instrument}: "
                       f"{type(error).__name__}: {message}")  # fmt: skip


def _stage_name(stage: Stage) -> str:
    return getattr(stage, "name", None) or getattr(stage, "__name__", type(stage).__name__)
