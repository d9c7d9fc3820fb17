"""SourceRunner driven directly: what one source's thread puts on the queue, and when it ends.

The runner is run in the test's own thread (`runner.run()`, not `start()`), with a scripted
source that polls as fast as it is asked (no rate), so nothing here waits on a clock.
test_pipeline.py and test_faults.py prove the same through whole runs.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import pytest

from instrumentkit.acquisition import _runner
from instrumentkit.acquisition._runner import (
    Block,
    Done,
    ErrorEvent,
    ErrorPolicy,
    SourceRunner,
    Stage,
)
from instrumentkit.acquisition._sources import Record, Source
from instrumentkit.data import Reading
from instrumentkit.errors import ProtocolError, Timeout

Poll = Callable[[int], list[tuple[str, Record]]]


def reading(n: int) -> Reading:
    return Reading.single(float(n), "v", "V", timestamp_ns=1_000 + n)


class Scripted(Source):
    """Polls `poll(n)` for n = 0, 1, ...; records what the runner asked of it."""

    def __init__(
        self,
        poll: Poll,
        *,
        count: int | None = 3,
        streams: tuple[str, ...] = ("dmm",),
        reported: Iterator[Any] | None = None,
        prepare: Exception | None = None,
        finish: Exception | None = None,
    ) -> None:
        super().__init__(instrument="dmm", streams=streams, count=count)
        self._script, self._n = poll, 0
        self._reported = reported or iter(())
        self._prepare_error, self._finish_error = prepare, finish
        self.calls: list[str] = []

    def prepare(self) -> None:
        self.calls.append("prepare")
        if self._prepare_error is not None:
            raise self._prepare_error

    def poll(self) -> list[tuple[str, Record]]:
        n, self._n = self._n, self._n + 1
        self.calls.append(f"poll {n}")
        return self._script(n)

    def resync(self) -> None:
        self.calls.append("resync")

    def reported_errors(self) -> list[tuple[int, str]]:
        self.calls.append("errors")
        found = next(self._reported, [])
        if isinstance(found, Exception):
            raise found
        return found

    def abort(self) -> None:
        self.calls.append("abort")

    def finish(self) -> None:
        self.calls.append("finish")
        if self._finish_error is not None:
            raise self._finish_error


class Run:
    """One runner on a fresh queue, the run already live; what it put, in order."""

    def __init__(self, source: Source, *, policy: ErrorPolicy | None = None,
                 stages: Mapping[str, Stage] | None = None, live: bool = True,
                 block_bytes: int = 256 * 1024, maxsize: int = 0,
                 max_latency: float | None = None) -> None:  # fmt: skip
        self.queue: queue.Queue[Any] = queue.Queue(maxsize)
        self.stop, self.live, self.abandoned = (
            threading.Event(),
            threading.Event(),
            threading.Event(),
        )
        if live:
            self.live.set()
        self.fatal: list[tuple[str, str]] = []
        self.runner = SourceRunner(
            source, output=self.queue, stop=self.stop, started=self.live,
            abandoned=self.abandoned, policy=policy or ErrorPolicy(check_interval=None),
            stages=stages or {}, on_fatal=lambda *fatal: self.fatal.append(fatal),
            block_bytes=block_bytes,
            **({} if max_latency is None else {"max_latency": max_latency}),
        )  # fmt: skip

    def __call__(self) -> list[Any]:
        self.runner.run()
        items = []
        while not self.queue.empty():
            items.append(self.queue.get_nowait())
        assert items[-1] == Done("dmm")  # always the last thing put
        return items[:-1]


def events(items: list[Any]) -> list[tuple[str, str, str, int]]:
    found = [e for e in items if isinstance(e, ErrorEvent)]
    for event in found:  # stamped with the wall clock when it happened, by its instrument
        assert STARTED_NS <= event.time_ns <= time.time_ns()
        assert event.instrument == "dmm"
    return [(e.error, e.message, e.action, e.code) for e in found]


STARTED_NS = time.time_ns()


def values(items: list[Any]) -> list[float]:
    readings = [b.record for b in items if isinstance(b, Block) and isinstance(b.record, Reading)]
    return [v for r in readings for v in r.values[:, 0].tolist()]


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"action": "retry"}, "on_error action must be 'stop' or 'skip', not 'retry'"),
        ({"max_errors": -1}, "max_errors must be >= 0, got -1"),
        ({"check_interval": 0}, "check_interval must be > 0 s, got 0"),
        ({"check_interval": float("nan")}, "check_interval must be > 0 s, got nan"),
    ],
)
def test_a_bad_error_policy_is_refused(policy: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="must be") as caught:
        ErrorPolicy(**policy)
    assert str(caught.value) == message
    assert ErrorPolicy(max_errors=0).max_errors == 0  # the bounds themselves are fine


def test_count_polls_are_gathered_into_one_block_stamped_with_the_poll_clock() -> None:
    source = Scripted(lambda n: [("dmm", reading(n))], count=4)
    run = Run(source)
    items = run()
    assert source.calls == [
        "prepare", "errors", "poll 0", "poll 1", "poll 2", "poll 3", "errors", "finish"
    ]  # fmt: skip
    (block,) = items
    assert (block.stream, block.instrument) == ("dmm", "dmm")
    assert block.record.values[:, 0].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert block.record.timestamps_ns.tolist() == [1000, 1001, 1002, 1003]
    assert block.monotonic == run.runner._polled_at > 0
    state = run.runner.state
    assert (state.status, state.polls, state.blocks, state.errors) == ("finished", 4, 1, 0)
    assert run.fatal == []


def test_full_batches_leave_at_once_and_other_records_pass_whole() -> None:
    trace = np.arange(4.0)
    source = Scripted(lambda n: [("dmm", reading(n)), ("raw", trace + n)], count=40,
                      streams=("dmm", "raw"))  # fmt: skip
    items = Run(source, block_bytes=16 * 16)()  # 16-byte rows: 16 readings a block
    sizes = [len(b.record) for b in items if b.stream == "dmm"]
    assert sizes == [16, 16, 8]
    assert values(items) == list(range(40))
    raws = [b.record for b in items if b.stream == "raw"]
    assert len(raws) == 40
    np.testing.assert_array_equal(raws[7], trace + 7)


class ManualClock:
    """Stands in for the runner's `time`: the clocks move only when a test moves them."""

    WALL_AT_ZERO = 1_700_000_000_000_000_000

    def __init__(self) -> None:
        self.t = 1000.0

    def monotonic(self) -> float:
        return self.t

    def time_ns(self) -> int:
        return self.WALL_AT_ZERO + round(self.t * 1e9)


class Sleeping(threading.Event):
    """The run's stop event whose waits move the manual clock instead of sleeping; the
    run is stopped during wait number `stop_in` (1 = the first), if given."""

    def __init__(self, clock: ManualClock, stop_in: int | None = None) -> None:
        super().__init__()
        self.clock = clock
        self.waits: list[float] = []
        self.stop_in = stop_in

    def wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None
        self.waits.append(timeout)
        self.clock.t += timeout
        if len(self.waits) == self.stop_in:
            self.set()
        return self.is_set()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    manual = ManualClock()
    monkeypatch.setattr(_runner, "time", manual)
    return manual


@pytest.mark.parametrize(("latency", "sizes"), [(0.0, [1, 1, 1]), (60.0, [3])])
def test_a_paced_source_waits_its_period_and_sends_readings_within_max_latency(
    clock: ManualClock, latency: float, sizes: list[int]
) -> None:
    source = Scripted(lambda n: [("dmm", reading(n))], count=3)
    source.rate = 50.0  # polls 20 ms apart
    run = Run(source, max_latency=latency)
    run.stop = run.runner._halt = Sleeping(clock)
    items = run()
    assert run.stop.waits == pytest.approx([0.02, 0.02])  # none before the first poll
    assert [len(b.record) for b in items] == sizes
    assert values(items) == [0.0, 1.0, 2.0]


def test_a_stop_during_the_wait_between_polls_ends_the_source_at_once(
    clock: ManualClock,
) -> None:
    source = Scripted(lambda n: [("dmm", reading(n))], count=None)
    source.rate = 10.0
    run = Run(source)
    run.stop = run.runner._halt = Sleeping(clock, stop_in=2)
    items = run()
    assert values(items) == [0.0, 1.0]  # no poll after the stop
    assert run.runner.state.status == "stopped"
    assert source.calls[-3:] == ["poll 1", "errors", "finish"]  # the queue read once more


def test_after_a_slow_poll_missed_slots_are_made_up_once_not_all(clock: ManualClock) -> None:
    def poll(n: int) -> list[tuple[str, Record]]:
        clock.t += 0.2 if n == 1 else 0.001  # poll 1 takes ten periods, the others 1 ms
        return [("dmm", reading(n))]

    source = Scripted(poll, count=6)
    source.rate = 50.0
    run = Run(source)
    run.stop = run.runner._halt = Sleeping(clock)
    run()
    # Poll 0 ends at 1 ms and waits 19 ms for its slot at 20 ms. The slow poll 1 ends at
    # 220 ms, nine slots late: the schedule moves up to one period behind (200 ms), so
    # polls 2 to 4 follow at once (slots 40, 200 and 220 ms), not ten of them; poll 5
    # waits 17 ms for its slot at 240 ms.
    assert run.stop.waits == pytest.approx([0.019, 0.017])


def test_by_default_gathered_readings_leave_a_quarter_second_after_the_first(
    clock: ManualClock,
) -> None:
    def poll(n: int) -> list[tuple[str, Record]]:
        clock.t += 0.1  # each poll takes 100 ms
        return [("dmm", reading(n))]

    items = Run(Scripted(poll, count=6))()
    # polls end at 100, 200, 300, 400 ms: at 400 ms the first has waited > 250 ms
    assert [len(b.record) for b in items] == [4, 2]


def test_a_block_carries_the_clocks_as_they_were_right_after_its_poll(clock: ManualClock) -> None:
    def slow_stage(record: np.ndarray) -> list[np.ndarray]:
        clock.t += 5.0  # a stage working for 5 s: the stamps are still of the poll
        return [record]

    source = Scripted(lambda n: [("dmm", np.array([n]))], count=2)
    items = Run(source, stages={"dmm": slow_stage})()
    assert [b.monotonic for b in items] == [1000.0, 1005.0]
    wall = ManualClock.WALL_AT_ZERO
    assert [b.wall_ns for b in items] == [wall + 1000 * 10**9, wall + 1005 * 10**9]


def test_each_source_runs_in_a_named_daemon_thread_and_waits_on_the_run_stop() -> None:
    source = Scripted(lambda n: [("dmm", reading(n))], count=1)
    run = Run(source)
    assert run.runner.name == "ik-source-dmm"
    assert run.runner.daemon  # a hung instrument never keeps the process alive
    run.stop.set()
    assert source.wait(30.0) is True  # the source's own waits end with the run


def test_a_stop_ends_the_loop_with_the_gathered_readings_delivered() -> None:
    def poll(n: int) -> list[tuple[str, Record]]:
        if n == 2:
            run.stop.set()
        return [("dmm", reading(n))]

    run = Run(Scripted(poll, count=None))
    items = run()
    assert values(items) == [0.0, 1.0, 2.0]
    assert run.runner.state.status == "stopped"


def test_before_the_file_is_live_a_source_polls_until_every_stream_delivered() -> None:
    # A stage that holds back the first two records: the runner polls on until a record
    # of the stream gets through, then waits for the file to be live.
    def hold_two(record: Reading) -> list[Reading]:
        if record.values[0, 0] < 2:
            return []
        run.live.set()  # the writer makes the file live once a first record came through
        return [record]

    def poll(n: int) -> list[tuple[str, Record]]:
        assert not run.live.is_set()
        return [("dmm", reading(n))]

    run = Run(Scripted(poll, count=3), live=False, stages={"dmm": hold_two})
    items = run()
    assert values(items) == [2.0]  # polls 0 and 1 went one by one into the stage
    assert run.runner.state.polls == 3


def test_once_every_stream_delivered_the_source_waits_for_the_file_to_be_live() -> None:
    class GoesLive(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            source.calls.append(f"wait {timeout}")
            self.set()  # the writer declared the streams meanwhile
            return True

    source = Scripted(lambda n: [("dmm", np.array([n]))], count=3)
    run = Run(source, live=False)
    run.live = run.runner._live = GoesLive()
    run()
    assert source.calls[2:5] == ["poll 0", "wait 0.1", "poll 1"]
    assert source.calls.count("wait 0.1") == 1


def test_a_source_stopped_before_the_file_is_live_gives_up_waiting() -> None:
    def poll(n: int) -> list[tuple[str, Record]]:
        run.stop.set()
        return [("dmm", reading(n))]

    run = Run(Scripted(poll, count=None), live=False)
    items = run()
    assert values(items) == [0.0]
    assert (run.runner.state.polls, run.runner.state.status) == (1, "stopped")


def test_stages_transform_records_and_a_failing_stage_counts_as_an_error() -> None:
    def doubled(record: np.ndarray) -> list[np.ndarray]:
        if record[0] < 0:
            raise ValueError("no negative volts")
        return [record * 2, record * 2 + 1]

    doubled.name = "x2"  # type: ignore[attr-defined]
    source = Scripted(lambda n: [("dmm", np.array([-1.0 if n == 1 else n]))], count=3)
    run = Run(source, policy=ErrorPolicy("skip", check_interval=None), stages={"dmm": doubled})
    items = run()
    arrays = [b.record.tolist() for b in items if isinstance(b, Block)]
    assert arrays == [[0.0], [1.0], [4.0], [5.0]]
    assert events(items) == [("ValueError", "stages x2 of dmm: no negative volts",
                              "skipped", 0)]  # fmt: skip
    state = run.runner.state
    assert (state.errors, state.blocks, state.polls) == (1, 4, 3)


def test_a_stage_without_a_name_is_named_by_its_function_or_its_class() -> None:
    def calibrate(record: np.ndarray) -> list[np.ndarray]:
        raise ValueError("no table")

    class Offset:
        def __call__(self, record: np.ndarray) -> list[np.ndarray]:
            raise ValueError("no offset")

    for stage, name in [(calibrate, "calibrate"), (Offset(), "Offset")]:
        source = Scripted(lambda n: [("dmm", np.array([n]))], count=1)
        items = Run(source, policy=ErrorPolicy("skip", check_interval=None),
                    stages={"dmm": stage})()  # fmt: skip
        assert events(items)[0][1].startswith(f"stages {name} of dmm: no ")


def test_once_live_readings_leave_within_max_latency_after_each_poll() -> None:
    def let_through(record: Reading) -> list[Reading]:
        run.live.set()  # the writer goes live on the first record
        return [record]

    source = Scripted(lambda n: [("dmm", reading(n))], count=3)
    run = Run(source, live=False, stages={"dmm": let_through}, max_latency=0.0)
    items = run()
    assert [len(b.record) for b in items] == [1, 1, 1]  # due at once: no batching
    # Live from the start: the first poll only finds that out, its reading leaves next time.
    live = Run(Scripted(lambda n: [("dmm", reading(n))], count=3), max_latency=0.0)
    assert [len(b.record) for b in live()] == [2, 1]


def test_the_writer_judges_the_records_the_file_refuses() -> None:
    run = Run(Scripted(lambda n: [], count=1), policy=ErrorPolicy("skip", max_errors=1))
    event, goes_on = run.runner.judge(ValueError("record of the wrong shape"))
    assert goes_on
    assert (event.error, event.message, event.action) == (
        "ValueError", "record of the wrong shape", "skipped")  # fmt: skip
    event, goes_on = run.runner.judge(ValueError("again"), "writing scope")
    assert not goes_on
    assert event.message == "writing scope: again"
    assert run.fatal == [("dmm", "dmm: more than 1 errors (on_error max_errors); last: "
                                 "ValueError: writing scope: again")]  # fmt: skip


@pytest.mark.parametrize("error", [ProtocolError("garbled reply"), Timeout("no reply")])
def test_a_failed_poll_is_skipped_after_a_resync_and_an_error_queue_read(error: Exception) -> None:
    def poll(n: int) -> list[tuple[str, Record]]:
        if n == 1:
            raise error
        return [("dmm", reading(n))]

    source = Scripted(poll, count=3)
    run = Run(source, policy=ErrorPolicy("skip", check_interval=None))
    items = run()
    assert source.calls[3:7] == ["poll 1", "resync", "errors", "poll 2"]
    assert values(items) == [0.0, 2.0, 3.0]  # a failed poll is not counted against `count`
    assert events(items) == [(type(error).__name__, str(error), "skipped", 0)]
    state = run.runner.state
    assert (state.errors, state.last_error, state.status) == (1, str(error), "finished")


def test_an_error_that_is_not_a_protocol_slip_is_not_resynced() -> None:
    source = Scripted(lambda n: [("dmm", reading(n))] if n else _raise(KeyError("k")), count=1)
    Run(source, policy=ErrorPolicy("skip", check_interval=None))()
    assert "resync" not in source.calls


def _raise(error: Exception) -> list[tuple[str, Record]]:
    raise error


def test_with_stop_the_first_failed_poll_ends_the_source_and_asks_to_stop_the_run() -> None:
    source = Scripted(lambda n: _raise(Timeout("no reply")) if n == 1 else [("dmm", reading(n))])
    run = Run(source)
    items = run()
    assert events(items) == [("Timeout", "no reply", "stopped the run", 0)]
    assert values(items) == [0.0]  # gathered before the error: still delivered
    assert run.fatal == [("dmm", "dmm: Timeout: no reply")]
    assert run.runner.state.status == "failed"
    assert source.calls[-2:] == ["poll 1", "finish"]  # no resync: the source is done


def test_with_skip_the_source_ends_past_max_errors() -> None:
    source = Scripted(lambda n: _raise(Timeout(f"no reply {n}")), count=None)
    run = Run(source, policy=ErrorPolicy("skip", max_errors=2, check_interval=None))
    items = run()
    assert [e[2] for e in events(items)] == ["skipped", "skipped", "stopped the run"]
    assert run.fatal == [("dmm", "dmm: more than 2 errors (on_error max_errors); "
                                 "last: Timeout: no reply 2")]  # fmt: skip
    assert run.runner.state.errors == 3


def test_an_error_that_stops_the_run_does_so_whatever_the_policy() -> None:
    class ComplianceStop(RuntimeError):
        stops_run = True
        code = "not an int"

    source = Scripted(lambda n: _raise(ComplianceStop("at compliance")), count=None)
    run = Run(source, policy=ErrorPolicy("skip", check_interval=None))
    items = run()
    assert events(items) == [("ComplianceStop", "at compliance", "stopped the run", 0)]
    assert run.fatal == [("dmm", "dmm: more than 10 errors (on_error max_errors); "
                                 "last: ComplianceStop: at compliance")]  # fmt: skip


def test_errors_queued_before_the_run_are_logged_and_later_ones_judged() -> None:
    reported = iter([[(-113, "Undefined header")], [], [(-222, "Data out of range")]])
    source = Scripted(lambda n: [("dmm", reading(n))], count=None, reported=reported)
    run = Run(source, policy=ErrorPolicy("stop", check_interval=1e-9))
    items = run()
    assert events(items) == [
        ("InstrumentReportedError", "reported -113, 'Undefined header'", "queued before the run",
         -113),
        ("InstrumentReportedError", "dmm: reported -222, 'Data out of range'", "stopped the run",
         -222),
    ]  # fmt: skip
    assert values(items) == [0.0, 1.0]
    assert source.calls[:5] == ["prepare", "errors", "poll 0", "errors", "poll 1"]
    assert run.fatal[0][1].startswith("dmm: InstrumentReportedError: dmm: reported -222")


def test_without_a_check_interval_the_queue_is_read_only_at_the_ends_and_after_failures() -> None:
    source = Scripted(lambda n: [("dmm", reading(n))], count=5)
    Run(source, policy=ErrorPolicy(check_interval=None))()
    assert source.calls.count("errors") == 2
    source = Scripted(lambda n: [("dmm", reading(n))], count=5)
    Run(source, policy=ErrorPolicy(check_interval=3600))()
    assert source.calls.count("errors") == 2  # not due again within the hour: before and after


def test_an_error_reported_after_the_last_check_is_judged_when_the_source_ends() -> None:
    """A refusal queued by the last polls (a level a sweep set) is read once the count is
    reached, before finish(): under "stop" it ends the run as failed, not finished."""
    reported = iter([[], [(-222, "Data out of range")]])
    source = Scripted(lambda n: [("dmm", reading(n))], count=3, reported=reported)
    run = Run(source, policy=ErrorPolicy("stop", check_interval=3600))
    items = run()
    assert events(items) == [
        ("InstrumentReportedError", "dmm: reported -222, 'Data out of range'", "stopped the run",
         -222),
    ]  # fmt: skip
    assert values(items) == [0.0, 1.0, 2.0]
    assert source.calls[-3:] == ["poll 2", "errors", "finish"]
    assert run.runner.state.status == "failed"
    assert run.fatal[0][1].startswith("dmm: InstrumentReportedError: dmm: reported -222")


def test_after_a_failed_poll_the_queue_is_next_read_an_interval_later() -> None:
    def poll(n: int) -> list[tuple[str, Record]]:
        if n == 1:
            raise Timeout("no reply")
        return [("dmm", reading(n))]

    source = Scripted(poll, count=4)
    Run(source, policy=ErrorPolicy("skip", check_interval=3600))()
    assert source.calls.count("errors") == 3  # before the run, after the failed poll, at the end


def test_a_source_cancelled_while_reading_its_error_queue_ends_quietly() -> None:
    def poll(n: int) -> list[tuple[str, Record]]:
        if n == 1:
            raise Timeout("no reply")
        return [("dmm", reading(n))]

    class Cancelled(Scripted):
        def reported_errors(self) -> list[tuple[int, str]]:
            if self._n < 2:  # before the run, nothing; after the failed poll, cancelled
                return []
            run.runner.cancel()
            raise OSError("link closed")

    source = Cancelled(poll, count=None)
    run = Run(source, policy=ErrorPolicy("skip", check_interval=None))
    items = run()
    assert [e[1] for e in events(items)] == ["no reply"]  # not the closed link
    assert source.calls[-2:] == ["abort", "finish"]  # no poll after the cancel


def test_an_error_queue_that_cannot_be_read_counts_as_an_error() -> None:
    reported = iter([Timeout("queue silent"), Timeout("queue silent again")])
    source = Scripted(lambda n: [("dmm", reading(n))], count=2, reported=reported)
    run = Run(source, policy=ErrorPolicy("stop", check_interval=1e-9))
    items = run()
    # before the run it is left for the first regular check, which judges it
    assert events(items) == [("Timeout", "reading the error queue: queue silent again",
                              "stopped the run", 0)]  # fmt: skip
    assert values(items) == [0.0]


def test_a_source_that_cannot_prepare_fails_without_polling() -> None:
    source = Scripted(lambda n: [("dmm", reading(n))], prepare=OSError("port busy"))
    run = Run(source, policy=ErrorPolicy("skip"))
    items = run()
    assert source.calls == ["prepare"]
    assert events(items) == [("OSError", "preparing: port busy", "stopped the run", 0)]
    assert run.fatal == [("dmm", "dmm: OSError: preparing: port busy")]
    state = run.runner.state
    assert (state.status, state.errors, state.last_error) == ("failed", 1, "preparing: port busy")


def test_an_error_while_finishing_is_noted_and_the_data_kept() -> None:
    source = Scripted(lambda n: [("dmm", reading(n))], count=2, finish=OSError("stuck relay"))
    run = Run(source)
    items = run()
    assert values(items) == [0.0, 1.0]
    assert events(items) == [("OSError", "finishing: stuck relay", "ignored", 0)]
    assert run.fatal == []


def test_a_cancelled_source_ends_without_counting_the_error() -> None:
    def poll(n: int) -> list[tuple[str, Record]]:
        run.runner.cancel()
        raise OSError("link closed")

    source = Scripted(poll, count=None)
    run = Run(source)
    items = run()
    assert run.runner.cancelled
    assert "abort" in source.calls
    assert events(items) == []  # the pipeline closed the link: not the instrument's fault
    assert run.fatal == []
    assert run.runner.state.errors == 0


def test_a_full_queue_of_an_abandoned_run_is_given_up() -> None:
    run = Run(Scripted(lambda n: [("dmm", reading(n))], count=2), maxsize=1, block_bytes=0)
    run.abandoned.set()
    run.runner.run()  # would block forever on the full queue otherwise
    assert isinstance(run.queue.get_nowait(), Block)
    assert run.queue.empty()


def test_an_error_is_told_by_the_instrument_of_the_source_that_reported_it() -> None:
    """A sweep drains the queues of several instruments under its stream's name: each
    error names the instrument it came from, not the stream."""
    reported = iter([[(-113, "Undefined header", "psu")], [(-222, "Data out of range", "psu")]])
    source = Scripted(lambda n: [("dmm", reading(n))], count=2, reported=reported)
    run = Run(source, policy=ErrorPolicy("stop", check_interval=3600))
    items = run()
    assert events(items) == [
        ("InstrumentReportedError", "psu: reported -113, 'Undefined header'",
         "queued before the run", -113),
        ("InstrumentReportedError", "psu: reported -222, 'Data out of range'", "stopped the run",
         -222),
    ]  # fmt: skip
    assert run.fatal == [("dmm", "dmm: InstrumentReportedError: psu: reported -222, "
                                 "'Data out of range'")]  # fmt: skip
