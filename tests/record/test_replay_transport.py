"""What ReplayTransport answers, byte by byte, for each way a driver reads."""

from __future__ import annotations

import pytest

from instrumentkit import ConfigError
from instrumentkit.record import ReplayMismatch, ReplayTransport, _replay
from instrumentkit.record._format import Exchange, Recording, entry_text, header_text
from instrumentkit.record._replay import open_replay, parse_replay_url


def recording(*exchanges: Exchange) -> Recording:
    return Recording(path="mem.rec.yaml", header={"name": "fake"}, exchanges=list(exchanges))


GREETING = Exchange(None, b"READY\n")
LIST = Exchange(b"LIST?\n", b"1,2\n3\n", took=0.5)
SRQ = Exchange(None, b"\x13")  # the instrument speaks up after LIST?
BLOCK = Exchange(b"DATA?\n", b"#14\x00\x80\xff\n\n", took=0.25)


def test_replies_come_out_in_order_with_unasked_bytes_where_they_were_recorded():
    replay = ReplayTransport(recording(GREETING, LIST, SRQ, BLOCK))
    assert replay.pending == b"READY\n"  # before the program wrote anything
    assert replay.read_until(b"\n") == b"READY"
    replay.write(bytearray(b"LIST?\n"))
    assert replay.pending == b"1,2\n3\n\x13"
    assert replay.read_until(b",") == b"1"
    assert replay.read_until(b"\n") == b"2"
    assert replay.read_until(b"\n") == b"3"
    buffer = bytearray(4)
    assert replay.read_some_into(memoryview(buffer)) == 1
    assert buffer == b"\x13\x00\x00\x00"
    replay.write(b"DATA?\n")
    assert replay.read_some_into(memoryview(buffer)) == 4  # no more than the buffer holds
    assert buffer == b"#14\x00"
    rest = bytearray(4)
    replay.read_into(memoryview(rest))
    assert rest == b"\x80\xff\n\n"
    assert replay.pending == b""
    replay.check_done()


@pytest.mark.parametrize(
    ("read", "wanted"),
    [
        (lambda r: r.read_until(b"\r"), r"up to b'\\r'"),
        (lambda r: r.read_into(memoryview(bytearray(8))), "8 bytes"),
        (lambda r: r.read_some_into(memoryview(bytearray(7))), "a byte"),
    ],
)
def test_reading_more_than_was_recorded_times_out_saying_how_much_is_left(read, wanted):
    replay = ReplayTransport(recording(Exchange(b"A?\n", b"123456\n"), Exchange(b"B?\n", b"")))
    replay.write(b"A?\n")
    if wanted == "a byte":
        replay.read_into(memoryview(bytearray(7)))
    with pytest.raises(TimeoutError) as caught:
        read(replay)
    left = 0 if wanted == "a byte" else 7
    assert str(caught.value) == (
        f"the program read {wanted.replace(chr(92) * 2, chr(92))}, but the recording "
        f"mem.rec.yaml has only {left} more reply bytes after exchange 1"
    )


def test_a_read_of_exactly_what_is_left_is_answered():
    replay = ReplayTransport(recording(Exchange(b"A?\n", b"12\n")))
    replay.write(b"A?\n")
    buffer = bytearray(3)
    replay.read_into(memoryview(buffer))
    assert buffer == b"12\n"
    replay.check_done()


def test_input_dropped_by_the_driver_is_dropped_from_the_reply():
    replay = ReplayTransport(recording(Exchange(b"A?\n", b"123\n"), Exchange(b"B?\n", b"45\n")))
    replay.write(b"A?\n")
    assert replay.drain(0.1, 1.0) == 4
    replay.write(b"B?\n")
    replay.reset_input()
    assert replay.pending == b""
    replay.check_done()


def test_check_done_names_the_unused_exchanges_and_the_unread_bytes():
    replay = ReplayTransport(recording(Exchange(b"A?\n", b"123\n"), Exchange(b"B?\n", b"")))
    with pytest.raises(AssertionError) as caught:
        replay.check_done()
    assert str(caught.value) == (
        "replay of mem.rec.yaml: recorded exchanges never used (2): 1 b'A?\\n', 2 b'B?\\n'"
    )
    replay.write(b"A?\n")
    with pytest.raises(AssertionError) as caught:
        replay.check_done()
    assert str(caught.value) == (
        "replay of mem.rec.yaml: recorded exchanges never used (1): 2 b'B?\\n'; "
        "4 reply bytes were never read"
    )
    replay.write(b"B?\n")
    with pytest.raises(AssertionError, match=r"^replay of mem.rec.yaml: 4 reply bytes were never"):
        replay.check_done()


def test_a_closed_replay_refuses_every_read_and_write():
    replay = ReplayTransport(recording(GREETING, LIST))
    replay.close()
    assert replay.closed
    for call in (
        lambda: replay.write(b"LIST?\n"),
        lambda: replay.read_until(b"\n"),
        lambda: replay.read_into(memoryview(bytearray(1))),
        lambda: replay.read_some_into(memoryview(bytearray(1))),
    ):
        with pytest.raises(ConnectionError, match=r"^the replay was closed$"):
            call()


class FakeTime:
    """`time` for _replay: a monotonic clock that only moves when told or slept."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.mark.parametrize("timing", ["keep", "drop"])
def test_kept_timing_makes_each_reply_wait_what_it_took(monkeypatch, timing):
    clock = FakeTime()
    monkeypatch.setattr(_replay, "time", clock)
    replay = ReplayTransport(recording(LIST, BLOCK, LIST), timing=timing)
    replay.write(b"LIST?\n")  # took 0.5 s
    clock.now += 0.125
    replay.read_until(b"\n")
    replay.read_until(b"\n")  # the reply is there by now: no second wait
    replay.write(b"DATA?\n")  # took 0.25 s
    replay.read_some_into(memoryview(bytearray(2)))
    replay.read_into(memoryview(bytearray(6)))
    replay.write(b"LIST?\n")
    clock.now += 0.5  # as long as it took: no wait
    replay.read_until(b"\n")
    assert clock.slept == ([0.375, 0.25] if timing == "keep" else [])


def test_with_kept_timing_a_greeting_before_any_write_is_there_at_once(monkeypatch):
    clock = FakeTime()
    monkeypatch.setattr(_replay, "time", clock)
    replay = ReplayTransport(recording(GREETING, LIST), timing="keep")
    assert replay.read_until(b"\n") == b"READY"
    assert clock.slept == []


def test_a_recording_file_is_loaded_and_named_in_the_resource(tmp_path):
    path = tmp_path / "x.rec.yaml"
    path.write_text(header_text({"name": "x"}) + entry_text(b"A?\n", b"1\n", 0.0, 0.0))
    replay = ReplayTransport(str(path))
    assert (replay.resource, replay.timeout) == (f"replay://{path}", 5.0)
    replay.write(b"A?\n")
    assert replay.read_until(b"\n") == b"1"
    with pytest.raises(ValueError, match="replay timing must be 'drop' or 'keep', not 'fast'"):
        ReplayTransport(str(path), timing="fast")  # type: ignore[arg-type]
    opened = open_replay(f"replay://{path}?timing=keep", timeout="2.5", baudrate=9600)
    assert (opened.resource, opened.timeout) == (f"replay://{path}?timing=keep", 2.5)
    assert (opened.keep_timing, opened.script.mode) == (True, "strict")
    lenient = open_replay(f"replay://{path}?mode=lenient")
    assert (lenient.keep_timing, lenient.script.mode, lenient.timeout) == (False, "lenient", 5.0)


def test_lenient_replay_answers_from_the_furthest_point_then_from_the_start():
    replay = ReplayTransport(
        recording(
            Exchange(b"A?\n", b"a1\n"),
            Exchange(b"B?\n", b"b1\n"),
            Exchange(b"A?\n", b"a2\n"),
            Exchange(b"C?\n", b"c1\n"),
        ),
        mode="lenient",
    )
    answers = []
    for command in (b"B?\n", b"A?\n", b"A?\n", b"C?\n", b"A?\n", b"B?\n"):
        replay.write(command)
        answers.append(replay.read_until(b"\n"))
    # after B? (exchange 2) the next A? is exchange 3, then exchange 1 from the start;
    # once every A? was used, the last one recorded answers again
    assert answers == [b"b1", b"a2", b"a1", b"c1", b"a2", b"b1"]
    with pytest.raises(ReplayMismatch, match=r"^fake: command 'D\?': b'D\?\\n' was never sent in"):
        replay.write(b"D?\n")


def test_replay_urls_take_the_last_of_a_repeated_option_and_decode_the_path():
    assert parse_replay_url("replay://my%20dir/x.rec.yaml?mode=strict&mode=lenient") == (
        "my dir/x.rec.yaml",
        "lenient",
        "drop",
    )
    assert parse_replay_url("replay://x.rec.yaml?timing=drop") == ("x.rec.yaml", "strict", "drop")


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        ("x.rec.yaml", "^'x.rec.yaml' is not a replay:// resource$"),
        (
            "replay://x.rec.yaml?speed=2",
            r"^'replay://x.rec.yaml\?speed=2': a replay resource takes mode=strict\|lenient "
            r"and timing=drop\|keep, got 'speed=2'$",
        ),
        ("replay://x.rec.yaml?timing=slow", r"timing=drop\|keep, got 'timing=slow'$"),
        (
            "replay://?mode=strict",
            r"^'replay://\?mode=strict' names no recording file \(replay://path/to/x.rec.yaml\)$",
        ),
    ],
)
def test_a_bad_replay_url_is_a_config_error_saying_what_it_takes(resource, message):
    with pytest.raises(ConfigError, match=message):
        parse_replay_url(resource)


def test_an_empty_line_is_answered_as_the_empty_message():
    replay = ReplayTransport(recording(Exchange(b"A?\n", b"\n\n")))
    replay.write(b"A?\n")
    assert [replay.read_until(b"\n"), replay.read_until(b"\n")] == [b"", b""]
    replay.check_done()
