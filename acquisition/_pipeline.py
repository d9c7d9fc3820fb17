"""Pipeline: source threads -> one bounded queue -> the writer, in the caller's thread.

    writer = RunWriter("run.h5", config_text=text)
    pipeline = Pipeline(
        [SensorSource(dmm, rate=10), ScopeSource(scope, channels=[1, 2])],
        writer,
        stop=Stop(duration=60),
        instruments={"dmm": dmm, "scope": scope},   # IDN, driver, settings at start and end
        on_error={"scope": ErrorPolicy("skip", max_errors=5)},
        stages={"scope_ch1": [BlockAverage(4)]},    # array stages from .stages, per stream
    )
    result = pipeline.run()                         # blocks; Ctrl-C stops it cleanly
    print(result.status, result.rows)

The run: each source thread makes its first poll; the writer declares every stream from
its first record (HDF5 SWMR needs every dataset before streaming starts), switches the
file live and then writes blocks as they arrive, flushing every `flush_interval`. It ends
at the stop condition, when every source is done, on Ctrl-C (SIGINT), on an instrument
error its policy does not skip, or when the file cannot be written; in every case every
Source among `instruments` is then made safe (decision 0621) and the file is closed with
status "completed" or "aborted" and the reason.

Every row gets its wall-clock stamp (ns since the epoch, from the instrument's record) and,
unless `monotonic=False`, a monotonic-clock stamp (s) derived from it with the clock pair
read right after the poll, so intervals survive wall-clock steps. Instrument errors go to
the `errors` stream of the file (instrument, error type, action taken, message).
"""

from __future__ import annotations

import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from types import FrameType
from typing import Any

from instrumentkit.data import now_ns

from ._outcome import Progress, RunResult, Stop
from ._record_stages import RecordStages
from ._runner import Block, Done, ErrorEvent, ErrorPolicy, SourceRunner
from ._safety import make_sources_safe, not_safe_reason, source_instruments
from ._sources import Source
from ._writer import RunWriter
from ._writing import (
    ERRORS_STREAM,
    BlockWriter,
    first_stamp_ns,
    instrument_records,
    settings_end_snapshots,
)

__all__ = ["Pipeline", "Progress", "RunResult", "Stop"]

_TICK = 0.05  # the writer's longest wait for a block, so stop conditions are checked often
_INTERRUPT_GRACE = 0.5  # seconds sources get to end their poll after Ctrl-C or SIGTERM
_CANCEL_WAIT = 1.0  # seconds for a source to end once its links are closed
_DEFAULT_GRACE = 10.0  # without instrument timeouts to go by

_STOP_SIGNALS = {
    signal.SIGINT: "interrupted by the user (Ctrl-C)",
    signal.SIGTERM: "terminated (SIGTERM)",
}


class Pipeline:
    """Runs sources into one run file; see the module docstring."""

    def __init__(
        self,
        sources: Sequence[Source],
        writer: RunWriter | str | os.PathLike[str],
        *,
        stop: Stop | None = None,
        instruments: Mapping[str, Any] | None = None,
        stages: Mapping[str, Sequence[Any]] | None = None,
        on_error: ErrorPolicy | Mapping[str, ErrorPolicy] | None = None,
        queue_size: int = 64,
        first_record_timeout: float = 30.0,
        shutdown_timeout: float | None = None,
        snapshot_timeout: float = 30.0,
        monotonic: bool = True,
        safe_timeout: float = 30.0,
    ) -> None:
        if not sources:
            raise ValueError("a pipeline needs at least one source")
        self._check_names(sources, stages or {})
        self.writer = writer if isinstance(writer, RunWriter) else RunWriter(writer)
        self.sources = list(sources)
        self.stop_condition = stop or Stop()
        self.instruments = dict(instruments or {})
        self.first_record_timeout = first_record_timeout
        self.shutdown_timeout = shutdown_timeout
        self.snapshot_timeout = snapshot_timeout
        self.safe_timeout = safe_timeout
        """Seconds every Source gets to ramp to its safe level and turn off at the end."""
        self._queue: queue.Queue[Block | ErrorEvent | Done] = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._started = threading.Event()
        self._abandoned = threading.Event()
        self._lock = threading.Lock()
        self._status = "completed"
        self._reason = ""
        self._interrupted = False
        self._phase = "starting"
        self._t0 = 0.0
        self._started_ns = 0
        self._waiting_for_sources = False
        policies = on_error if isinstance(on_error, Mapping) else {}
        default = on_error if isinstance(on_error, ErrorPolicy) else ErrorPolicy()
        self._runners = [
            SourceRunner(
                source,
                output=self._queue,
                stop=self._stop,
                started=self._started,
                abandoned=self._abandoned,
                policy=policies.get(source.instrument, default),
                stages={
                    name: RecordStages(chain)
                    for name, chain in (stages or {}).items()
                    if name in source.streams and chain
                },
                on_fatal=self._fatal,
            )
            for source in self.sources
        ]
        self._by_instrument = {r.source.instrument: r for r in self._runners}
        self._blocks = BlockWriter(
            self.writer, max_rows=self.stop_condition.max_readings, monotonic=monotonic
        )
        self.result: RunResult | None = None

    @staticmethod
    def _check_names(sources: Sequence[Source], stages: Mapping[str, Sequence[Any]]) -> None:
        seen: dict[str, str] = {}
        for source in sources:
            for stream in source.streams:
                if stream == ERRORS_STREAM:
                    raise ValueError(f"stream name {stream!r} is reserved for the error log")
                if stream in seen:
                    raise ValueError(
                        f"stream {stream!r} is fed by both {seen[stream]!r} and "
                        f"{source.instrument!r}; give one of them another stream name"
                    )
                seen[stream] = source.instrument
        instruments = [s.instrument for s in sources]
        if len(set(instruments)) != len(instruments):
            raise ValueError(f"two sources share an instrument name: {instruments}")
        unknown = set(stages) - set(seen)
        if unknown:
            raise ValueError(f"stages given for unknown streams {sorted(unknown)}")

    # -- control (any thread) -------------------------------------------------------------
    def request_stop(self, reason: str = "stopped on request", *, aborted: bool = False) -> None:
        """Ask the run to end; the first reason given is the one recorded."""
        with self._lock:
            if not self._stop.is_set():
                self._status = "aborted" if aborted else "completed"
                self._reason = reason
                self._stop.set()

    def _fatal(self, instrument: str, reason: str) -> None:
        """A stream stopped on an error: the run is aborted with that error as the reason,
        even when it was already ending by itself (a duration reached while the failing
        read waited): it did not complete."""
        with self._lock:
            if not self._stop.is_set() or self._status == "completed":
                self._status = "aborted"
                self._reason = reason
                self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def live(self) -> bool:
        """Whether the run file went live (its streams declared, records written)."""
        return self._started.is_set()

    # -- the run --------------------------------------------------------------------------
    def run(
        self,
        progress: Callable[[Progress], None] | None = None,
        *,
        progress_interval: float = 0.5,
        raise_on_interrupt: bool = True,
    ) -> RunResult:
        """Run to the end and close the file; returns how it went (also in `.result`).

        Ctrl-C (SIGINT) stops the run cleanly; a second Ctrl-C gives up waiting for the
        instruments. After the file is closed, an interrupted run raises
        KeyboardInterrupt unless `raise_on_interrupt=False`.
        """
        if self._t0:
            raise RuntimeError("a pipeline runs once; build a new one for the next run")
        self._t0 = time.monotonic()
        restore = self._catch_stop_signals()
        try:
            try:
                self._declare_instruments()
                self._started_ns = now_ns()  # start_time: before any source reads
                for runner in self._runners:
                    runner.start()
                self._prime()
                self._stream(progress, progress_interval)
            except KeyboardInterrupt:
                self._interrupt()
            except BaseException as error:
                self.request_stop(f"{type(error).__name__}: {error}", aborted=True)
                raise
            finally:
                self._shutdown()
        finally:
            restore()
        assert self.result is not None
        if self.result.interrupted and raise_on_interrupt:
            raise KeyboardInterrupt
        return self.result

    def _catch_stop_signals(self) -> Callable[[], None]:
        """Ctrl-C (SIGINT) and SIGTERM (a service manager, `kill`) both stop cleanly."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = {number: signal.getsignal(number) for number in _STOP_SIGNALS}

        def on_signal(signum: int, frame: FrameType | None) -> None:
            if not self._interrupted:
                self._interrupt(_STOP_SIGNALS[signum])
            elif self._waiting_for_sources:
                # A second signal gives up waiting for the instruments; never while the
                # file is being closed, which must finish for the file to be valid.
                raise KeyboardInterrupt

        for number in _STOP_SIGNALS:
            signal.signal(number, on_signal)

        def restore() -> None:
            for number, handler in previous.items():
                signal.signal(number, handler)

        return restore

    def _interrupt(self, how: str = "interrupted by the user (Ctrl-C)") -> None:
        self._interrupted = True
        self.request_stop(how, aborted=True)

    def _declare_instruments(self) -> None:
        records = instrument_records(self.instruments, timeout=self.snapshot_timeout)
        for name in self.instruments:
            self.writer.add_instrument(name, **records[name])

    def _prime(self) -> None:
        """Collect each stream's first record, declare the streams, go live."""
        missing = {s for r in self._runners for s in r.source.streams}
        held: list[Block | ErrorEvent | Done] = []
        firsts: dict[str, Block] = {}
        deadline = time.monotonic() + self.first_record_timeout
        while missing and not self._stop.is_set():
            if time.monotonic() > deadline:
                late = ", ".join(sorted(missing))
                self.request_stop(
                    f"no first record from {late} within {self.first_record_timeout:g} s "
                    "(first_record_timeout)",
                    aborted=True,
                )
                break
            try:
                item = self._queue.get(timeout=_TICK)
            except queue.Empty:
                # Sources that ended without data will never deliver.
                for runner in self._runners:
                    if not runner.is_alive() and runner.state.polls == 0:
                        missing -= set(runner.source.streams)
                continue
            held.append(item)
            if isinstance(item, Block) and item.stream not in firsts:
                firsts[item.stream] = item
                missing.discard(item.stream)
        for runner in self._runners:
            for stream in runner.source.streams:
                if stream in firsts:
                    self._blocks.declare(stream, firsts[stream].record, runner.source.instrument)
        self._blocks.declare_error_log()
        stamps = [first_stamp_ns(block) for block in firsts.values()]
        self.writer.start(min([self._started_ns, *stamps]))
        self._started.set()
        self._t0 = time.monotonic()
        self._phase = "running"
        for item in held:
            self._handle(item)

    def _stream(self, progress: Callable[[Progress], None] | None, interval: float) -> None:
        duration = self.stop_condition.duration
        next_report = time.monotonic()
        rows_then, time_then = 0, time.monotonic()
        get, burst = self._queue.get, self._queue.maxsize or 64
        while not self._stop.is_set():
            try:
                self._handle(get(timeout=_TICK))
                for _ in range(burst):  # what has arrived, before looking at the clock again
                    self._handle(get(block=False))
            except queue.Empty:
                self._writer_idle()
            now = time.monotonic()
            if duration is not None and now - self._t0 >= duration:
                self.request_stop(f"duration of {duration:g} s reached")
            elif self._blocks.full:
                self.request_stop(f"max_readings of {self.stop_condition.max_readings} reached")
            elif not any(r.is_alive() for r in self._runners) and self._queue.empty():
                self.request_stop("every source finished")
            if progress is not None and now >= next_report:
                rate = (self._blocks.total - rows_then) / max(now - time_then, 1e-9)
                rows_then, time_then = self._blocks.total, now
                progress(self.progress(rate))
                next_report = now + interval

    def _writer_idle(self) -> None:
        try:
            if self._blocks.healthy:
                self.writer.maybe_flush()
        except OSError as error:
            self._blocks.failed(error)
            self.request_stop(str(error), aborted=True)

    def _handle(self, item: Block | ErrorEvent | Done) -> None:
        if isinstance(item, ErrorEvent):
            self._blocks.log(item)
            return
        if isinstance(item, Done):
            self._by_instrument[item.instrument].join(_TICK)  # so is_alive() tells the truth
            return
        problem = self._blocks.write(item)
        if problem is None:
            return
        if isinstance(problem, OSError):
            self.request_stop(str(problem), aborted=True)
            return
        runner = self._by_instrument.get(item.instrument)
        if runner is not None:  # the file refused the record: the instrument's policy decides
            event, _ = runner.judge(problem, where=f"stream {item.stream}")
            self._blocks.log(event)

    def progress(self, rate: float = 0.0) -> Progress:
        """The pipeline's state now (safe to call from the progress callback)."""
        try:
            size = os.path.getsize(self.writer.path)
        except OSError:
            size = 0
        rows = self._blocks.rows
        return Progress(
            elapsed=time.monotonic() - self._t0 if self._t0 else 0.0,
            rows=dict(rows),
            total_rows=self._blocks.total,
            rate=rate,
            file_size=size,
            sources={r.source.instrument: r.state for r in self._runners},
            phase=self._phase if not self._stop.is_set() else "stopping",
        )

    # -- the end --------------------------------------------------------------------------
    def _stop_grace(self) -> float:
        """How long sources may take to finish their poll once the run is stopping.

        Interrupted: half a second. Otherwise `shutdown_timeout` or, by default, the longest
        timeout of the instruments plus one second: so a duration is overrun by at most
        one timeout. Sources still busy then have their links closed (`SourceRunner.cancel`).
        """
        if self._interrupted:
            return _INTERRUPT_GRACE
        if self.shutdown_timeout is not None:
            return self.shutdown_timeout
        timeouts = [
            getattr(getattr(device, "session", None), "timeout", None)
            for runner in self._runners
            for device in runner.source.devices()
        ]
        known = [t for t in timeouts if isinstance(t, (int, float))]
        return max(known) + 1.0 if known else _DEFAULT_GRACE

    def _shutdown(self) -> None:
        self._stop.set()
        self._phase = "stopping"
        started = time.monotonic()
        grace = self._stop_grace()
        cancel_at = started + grace
        deadline: float | None = None
        self._waiting_for_sources = True
        try:
            while any(r.is_alive() for r in self._runners) or not self._queue.empty():
                now = time.monotonic()
                if deadline is None and (now > cancel_at or self._interrupted):
                    if self._interrupted:  # a signal came while waiting: shorten the wait
                        cancel_at = min(cancel_at, started + _INTERRUPT_GRACE)
                    if now > cancel_at:
                        for runner in self._runners:
                            if runner.is_alive():
                                runner.cancel()
                        deadline = now + _CANCEL_WAIT
                if deadline is not None and now > deadline:
                    break
                try:
                    item = self._queue.get(timeout=_TICK)
                except queue.Empty:
                    continue
                if self._started.is_set():
                    self._handle(item)
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting for the instruments
            self._interrupted = True
        finally:
            self._waiting_for_sources = False
        self._abandoned.set()
        hung = [r.source.instrument for r in self._runners if r.is_alive()]
        closed = [r.source.instrument for r in self._runners if r.cancelled and not r.is_alive()]
        reason = self._reason or "stopped"
        if not self._interrupted:
            if hung:
                reason += f"; {', '.join(hung)} did not stop within {grace:g} s"
            if closed:
                reason += f"; {', '.join(closed)} still busy after {grace:g} s: link closed"
        hung += closed
        safe, reason = self._make_sources_safe(reason)
        trusted = [
            n for n in self.instruments if (n not in hung and not self._failed(n)) or n in safe
        ]
        settings_end = settings_end_snapshots(
            {n: self.instruments[n] for n in trusted},
            timeout=_INTERRUPT_GRACE if self._interrupted else (self.shutdown_timeout or 10.0),
        )
        status, reason = self._blocks.close(self._status, reason, settings_end)
        self.result = RunResult(
            path=self.writer.path,
            status=status,
            reason=reason,
            rows=dict(self._blocks.rows),
            errors=tuple(self._blocks.events),
            elapsed=time.monotonic() - self._t0,
            interrupted=self._interrupted,
        )

    def _make_sources_safe(self, reason: str) -> tuple[set[str], str]:
        """Every Source of the run to its safe state, whatever ended the run (decision
        0621); one that cannot be made safe aborts the run, loudly, in its reason and the
        error log. Returns the sources now safe and the reason."""
        sources = source_instruments(self.instruments)
        unsafe = make_sources_safe(sources, timeout=self.safe_timeout)
        for name, problems in unsafe.items():
            self._blocks.log(ErrorEvent(now_ns(), name, "NotMadeSafe", "; ".join(problems),
                                        "output may still be on"))  # fmt: skip
        if unsafe:
            self._status = "aborted"
            reason = f"{reason}; {not_safe_reason(unsafe)}"
        return set(sources) - set(unsafe), reason

    def _failed(self, instrument: str) -> bool:
        runner = self._by_instrument.get(instrument)
        return runner is not None and runner.state.status == "failed"
