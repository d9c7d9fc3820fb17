"""What RecordingTransport writes, byte for byte, and when: on a clock that steps 1/8 s at
each reading, so every `at` and `took` in the file is known exactly."""

from __future__ import annotations

import gc
import sys

import pytest

from instrumentkit import Session
from instrumentkit.record import RecordingTransport, _recorder, load_recording
from instrumentkit.testing import ProtocolTransport

BLOCK = b"#15" + bytes([0, 0x80, 0xFF, 10, 13]) + b"\n"  # base64: IzE1AID/Cg0K

HEADER = {"name": "fake", "connection": {"read_termination": "\n", "timeout": 2.5}}

EXPECTED = """\
# instrumentkit recording (docs/recording.md): one exchange per entry, in order.
# Replay: ik.open('replay://<file>'); pyvisa-sim: instrumentkit record to-sim
format: instrumentkit-recording/1
name: "fake"
connection:
  read_termination: "\\n"
  timeout: 2.5
exchanges:
- unasked: true
  at: 0.125000
  reply: "HELLO\\n"
  took: 0.125000
- write: "*IDN?\\n"
  at: 0.375000
  reply: "ACME,1\\n"
  took: 0.125000
- write: "VOLT 1\\n"
  at: 0.625000
- write: "\\u0005"
  at: 0.750000
  reply: "\\u0006\\n"
  took: 0.125000
- write: "DATA?\\n"
  at: 1.000000
  reply_base64:  # 9 bytes
  - "IzE1AID/Cg0K"
  took: 0.125000
- write: "*IDN?\\n"
  at: 1.250000
  reply: "ACME,1\\n"
  took: 0.125000
"""


class SteppingClock:
    """`perf_counter` that moves on by 1/8 s each time it is read (exact in binary); it
    starts at 42 s, as perf_counter starts anywhere."""

    def __init__(self) -> None:
        self.now = 41.875

    def perf_counter(self) -> float:
        self.now += 0.125
        return self.now


@pytest.fixture
def clock(monkeypatch) -> SteppingClock:
    clock = SteppingClock()
    monkeypatch.setattr(_recorder, "time", clock)
    return clock


def session_work(session: Session) -> None:
    assert session.read() == "HELLO"
    assert session.query("*IDN?") == "ACME,1"
    session.write("VOLT 1")
    session.write_raw(bytearray(b"\x05"))  # a bytearray is recorded as its bytes
    assert session.read() == "\x06"
    session.write("DATA?")
    assert session.read_bytes(len(BLOCK)) == BLOCK
    assert session.query("*IDN?") == "ACME,1"  # a message seen before: the same lines


PAIRS = [(None, "HELLO"), ("*IDN?", "ACME,1"), ("VOLT 1", None), (b"\x05", "\x06"),
         ("DATA?", BLOCK), ("*IDN?", "ACME,1")]  # fmt: skip


@pytest.mark.parametrize("interval", [0.0, 0.3, 100.0], ids=["each", "batches", "at-close"])
def test_the_file_holds_every_exchange_byte_for_byte_however_it_is_batched(
    tmp_path, clock, interval
):
    path = tmp_path / "x.rec.yaml"
    recorder = RecordingTransport(
        ProtocolTransport(PAIRS), str(path), HEADER, flush_interval=interval
    )
    session_work(Session(recorder))
    recorder.close()
    assert path.read_text(encoding="utf-8") == EXPECTED
    assert recorder.inner.closed


def test_exchanges_wait_for_the_interval_then_go_to_disk_together(tmp_path, clock):
    path = tmp_path / "x.rec.yaml"
    pairs = [(f"Q{i}?", str(i)) for i in range(6)]
    recorder = RecordingTransport(ProtocolTransport(pairs), str(path), {}, flush_interval=1.0)
    session = Session(recorder)

    def on_disk() -> list[bytes | None]:
        return [e.write for e in load_recording(str(path)).exchanges]

    # start 42 s, as 0 here; Q0 at 0.125 (read 0.25), Q1 at 0.375, Q2 at 0.625, Q3 at 0.875
    for i in range(4):
        session.query(f"Q{i}?")
    assert on_disk() == []  # Q0..Q2 complete, but the interval has not passed
    session.query("Q4?")  # written at 1.125: Q0..Q3 go out; the next flush is due at 2.125
    assert on_disk() == [b"Q0?\n", b"Q1?\n", b"Q2?\n", b"Q3?\n"]
    session.query("Q5?")  # at 1.375: not due yet
    assert len(on_disk()) == 4
    recorder.close()
    assert on_disk() == [f"Q{i}?\n".encode() for i in range(6)]


def test_by_default_an_exchange_reaches_the_disk_a_tenth_of_a_second_later(tmp_path, clock):
    path = tmp_path / "x.rec.yaml"
    pairs = [("A?", "1"), ("B?", "2")]
    recorder = RecordingTransport(ProtocolTransport(pairs), str(path), {})
    session = Session(recorder)
    session.query("A?")  # at 0.125, read at 0.25
    session.query("B?")  # at 0.375: more than 0.1 s since the start, A? goes out
    assert [e.write for e in load_recording(str(path)).exchanges] == [b"A?\n"]
    recorder.close()


def test_a_flush_is_due_exactly_one_interval_after_the_last(tmp_path, clock):
    path = tmp_path / "x.rec.yaml"
    pairs = [("A", None), ("B", None), ("C", None)]
    recorder = RecordingTransport(ProtocolTransport(pairs), str(path), {}, flush_interval=0.25)
    session = Session(recorder)
    session.write("A")  # at 0.125
    assert load_recording(str(path)).exchanges == []
    session.write("B")  # at 0.25, the start plus the interval: A goes out
    assert [e.write for e in load_recording(str(path)).exchanges] == [b"A\n"]
    recorder.finish()
    assert [e.write for e in load_recording(str(path)).exchanges] == [b"A\n", b"B\n"]


class BlockTransport(ProtocolTransport):
    """A serial-like peer: also reads what is there, drains, clears and has settings."""

    settings = {"baudrate": 9600}

    def __init__(self, pairs) -> None:
        super().__init__(pairs)
        self.calls: list[str] = []

    def read_some_into(self, buffer: memoryview) -> int:
        count = min(len(buffer), len(self._output), 3)  # at most 3 bytes a read
        buffer[:count] = self._output[:count]
        del self._output[:count]
        return count

    def drain(self, quiet: float, limit: float) -> int:
        self.calls.append("drain")
        dropped = len(self._output)
        self._output.clear()
        return dropped

    def clear(self) -> None:
        self.calls.append("clear")

    def reset_input(self) -> None:
        self.calls.append("reset_input")
        self._output.clear()

    def abort(self) -> None:
        self.calls.append("abort")


def test_a_large_block_read_in_pieces_is_one_reply_and_the_next_reply_starts_afresh(tmp_path):
    path = tmp_path / "x.rec.yaml"
    data = bytes(range(256)) + bytes(range(44))  # 300 bytes: over the cached size
    block = b"#3300" + data + b"\n"
    pairs = [("WAV?", block), ("FRAME?", b"\x02\x81\x82\x83\x84\x03"), ("*OPC?", "1")]
    recorder = RecordingTransport(BlockTransport(pairs), str(path), {})
    session = Session(recorder)
    session.write("WAV?")
    assert session.read_bytes(5) == b"#3300"
    assert session.read_bytes(300) == data
    assert session.read_bytes(1) == b"\n"
    session.write("FRAME?")
    buffer = bytearray(16)
    pieces = []
    while len(b"".join(pieces)) < 6:
        count = recorder.read_some_into(memoryview(buffer))
        pieces.append(bytes(buffer[:count]))
    assert pieces == [b"\x02\x81\x82", b"\x83\x84\x03"]
    assert session.query("*OPC?") == "1"
    recorder.close()
    got = [(e.write, e.reply) for e in load_recording(str(path)).exchanges]
    assert got == [
        (b"WAV?\n", block),
        (b"FRAME?\n", b"\x02\x81\x82\x83\x84\x03"),
        (b"*OPC?\n", b"1\n"),
    ]


def test_bytes_read_before_any_write_by_read_some_into_are_unasked(tmp_path):
    path = tmp_path / "x.rec.yaml"
    recorder = RecordingTransport(BlockTransport([(None, b"\x15\x16")]), str(path), {})
    buffer = bytearray(8)
    assert recorder.read_some_into(memoryview(buffer)) == 2
    recorder.close()
    (exchange,) = load_recording(str(path)).exchanges
    assert (exchange.write, exchange.reply) == (None, b"\x15\x16")


def test_bytes_read_into_before_any_write_are_unasked(tmp_path):
    path = tmp_path / "x.rec.yaml"
    recorder = RecordingTransport(ProtocolTransport([(None, b"\x15\x16")]), str(path), {})
    assert recorder.read_exact(2) == b"\x15\x16"
    recorder.close()
    (exchange,) = load_recording(str(path)).exchanges
    assert (exchange.write, exchange.reply) == (None, b"\x15\x16")


def test_the_recorder_has_the_inner_transports_capabilities_and_only_those(tmp_path):
    plain = RecordingTransport(ProtocolTransport([]), str(tmp_path / "a.rec.yaml"), {})
    for name in ("drain", "clear", "reset_input", "read_some_into", "settings"):
        assert not hasattr(plain, name), name
    plain.close()
    inner = BlockTransport([("A?", "12345")])
    recorder = RecordingTransport(inner, str(tmp_path / "b.rec.yaml"), {})
    assert recorder.settings == {"baudrate": 9600}
    recorder.clear()
    recorder.write(b"A?\n")
    assert recorder.drain(0.01, 0.1) == 6  # dropped unread: not in the recording
    recorder.reset_input()
    assert inner.calls == ["clear", "drain", "reset_input"]
    recorder.close()
    (exchange,) = load_recording(str(tmp_path / "b.rec.yaml")).exchanges
    assert (exchange.write, exchange.reply) == (b"A?\n", b"")


def test_the_timeout_is_the_inner_transports(tmp_path):
    inner = ProtocolTransport([])
    recorder = RecordingTransport(inner, str(tmp_path / "a.rec.yaml"), {})
    assert recorder.timeout == 1.0
    recorder.timeout = 7.5
    assert (inner.timeout, recorder.timeout) == (7.5, 7.5)
    assert recorder.resource == "expected-protocol"
    assert repr(recorder) == (
        f"RecordingTransport(ProtocolTransport('expected-protocol') -> "
        f"{str(tmp_path / 'a.rec.yaml')!r})"
    )
    recorder.close()


@pytest.mark.parametrize("has_abort", [True, False])
def test_abort_ends_the_connection_and_writes_the_exchange_in_progress(tmp_path, has_abort):
    inner = BlockTransport([("A?", "1")]) if has_abort else ProtocolTransport([("A?", "1")])
    path = tmp_path / "a.rec.yaml"
    recorder = RecordingTransport(inner, str(path), {})
    assert Session(recorder).query("A?") == "1"
    recorder.abort()
    if has_abort:
        assert (inner.calls, inner.closed) == (["abort"], False)
    else:
        assert inner.closed
    assert [(e.write, e.reply) for e in load_recording(str(path)).exchanges] == [(b"A?\n", b"1\n")]
    assert recorder not in _recorder._OPEN


def test_at_exit_every_open_recorder_writes_its_exchanges_once(tmp_path):
    paths = [tmp_path / "a.rec.yaml", tmp_path / "b.rec.yaml"]
    recorders = [
        RecordingTransport(ProtocolTransport([("A?", "1"), ("B", None)]), str(p), {}) for p in paths
    ]
    for recorder in recorders:
        session = Session(recorder)
        session.query("A?")
        session.write("B")  # in progress: no next write has completed it
        assert recorder in _recorder._OPEN
    _recorder._finish_all()  # what the interpreter runs at exit, after Ctrl-C too
    _recorder._finish_all()
    for recorder, path in zip(recorders, paths, strict=True):
        assert recorder not in _recorder._OPEN
        assert not recorder.inner.closed  # the connection is the driver's to close
        recorder.flush_interval = recorder._flush_at = 0.0
        recorder.inner._pairs.append(("C?", "3"))
        assert Session(recorder).query("C?") == "3"  # a thread still querying: not recorded
        recorder.abort()
        assert [(e.write, e.reply) for e in load_recording(str(path)).exchanges] == [
            (b"A?\n", b"1\n"),
            (b"B\n", b""),
        ]


def test_a_reply_read_as_several_messages_is_one_exchange(tmp_path):
    path = tmp_path / "x.rec.yaml"
    pairs = [("LIST?", b"1\n2\n3\n"), ("*OPC?", "1")]
    recorder = RecordingTransport(ProtocolTransport(pairs), str(path), {})
    session = Session(recorder)
    session.write("LIST?")
    assert [session.read() for _ in range(3)] == ["1", "2", "3"]
    assert session.query("*OPC?") == "1"
    recorder.close()
    got = [(e.write, e.reply) for e in load_recording(str(path)).exchanges]
    assert got == [(b"LIST?\n", b"1\n2\n3\n"), (b"*OPC?\n", b"1\n")]


def test_a_file_that_cannot_be_opened_leaves_no_recorder_behind(tmp_path, monkeypatch):
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    with pytest.raises(FileNotFoundError):
        RecordingTransport(ProtocolTransport([]), str(tmp_path / "no" / "x.rec.yaml"), {})
    gc.collect()
    assert unraisable == []  # __del__ of the half-made recorder has nothing to write


def test_abort_then_close_writes_the_exchanges_once(tmp_path):
    path = tmp_path / "a.rec.yaml"
    recorder = RecordingTransport(ProtocolTransport([("A?", "1")]), str(path), {})
    Session(recorder).query("A?")
    recorder.abort()
    recorder.close()
    assert [e.write for e in load_recording(str(path)).exchanges] == [b"A?\n"]


class BareTransport:
    """A third-party transport: the four calls a session needs, no `abort`, no base class."""

    resource = "bare"
    timeout = 1.0

    def __init__(self) -> None:
        self.closed = False

    def write(self, data: bytes) -> None:
        pass

    def read_until(self, terminator: bytes) -> bytes:
        return b"1"

    def read_into(self, buffer: memoryview) -> None:
        buffer[:] = b"\x00" * len(buffer)

    def close(self) -> None:
        self.closed = True


def test_abort_closes_an_inner_transport_that_has_no_abort(tmp_path):
    path = tmp_path / "a.rec.yaml"
    inner = BareTransport()
    recorder = RecordingTransport(inner, str(path), {})  # type: ignore[arg-type]
    assert Session(recorder).query("A?") == "1"
    recorder.abort()
    assert inner.closed
    assert [(e.write, e.reply) for e in load_recording(str(path)).exchanges] == [(b"A?\n", b"1\n")]


class CountingRender:
    """Counts how often each message is formatted (decision 0901: texts are cached)."""

    def __init__(self, render) -> None:
        self.render = render
        self.calls: dict[bytes, int] = {}

    def __call__(self, data: bytes) -> str:
        self.calls[data] = self.calls.get(data, 0) + 1
        return self.render(data)


def test_messages_up_to_256_bytes_are_formatted_once_and_longer_ones_each_time(
    tmp_path, monkeypatch
):
    writes = CountingRender(_recorder.write_lines)
    replies = CountingRender(_recorder.reply_lines)
    monkeypatch.setattr(_recorder, "write_lines", writes)
    monkeypatch.setattr(_recorder, "reply_lines", replies)
    at_limit, over = b"S" * 255 + b"\n", b"X" * 256 + b"\n"  # 256 and 257 bytes
    path = tmp_path / "a.rec.yaml"
    recorder = RecordingTransport(BareTransport(), str(path), {})  # type: ignore[arg-type]
    for _ in range(3):
        for message in (at_limit, over):
            recorder.write(message)
            recorder.read_until(b"\n")
    recorder.close()
    assert writes.calls == {at_limit: 1, over: 3}
    assert replies.calls == {b"1\n": 1}
    assert len(load_recording(str(path)).exchanges) == 6


def test_the_text_cache_stops_growing_at_4096_messages(tmp_path, monkeypatch):
    writes = CountingRender(_recorder.write_lines)
    monkeypatch.setattr(_recorder, "write_lines", writes)
    path = str(tmp_path / "a.rec.yaml")
    recorder = RecordingTransport(BareTransport(), path, {})  # type: ignore[arg-type]
    messages = [b"M%d\n" % i for i in range(4097)] * 2
    for message in messages:
        recorder.write(message)
    recorder.close()
    assert writes.calls[b"M4095\n"] == 1  # the 4096th kept
    assert writes.calls[b"M4096\n"] == 2  # the 4097th formatted each time
