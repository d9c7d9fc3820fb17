"""The recording file and the replay script, byte by byte, on in-memory transports."""

from __future__ import annotations

import gc
import os
import time

import pytest

from instrumentkit import ConfigError, Session, Timeout
from instrumentkit.drivers.keysight import Keysight34461A
from instrumentkit.record import RecordingTransport, ReplayMismatch, ReplayTransport, load_recording
from instrumentkit.record._format import entry_text, header_text
from instrumentkit.record._replay import parse_replay_url
from instrumentkit.record._script import side_by_side
from instrumentkit.testing import ProtocolTransport

BLOCK = b"#15" + bytes([0, 0x80, 0xFF, 10, 13]) + b"\n"


def record(tmp_path, pairs, exchange):
    """Run `exchange(session)` on a recorder over `pairs`; the loaded recording."""
    path = tmp_path / "x.rec.yaml"
    recorder = RecordingTransport(ProtocolTransport(pairs), str(path), {"name": "fake"})
    exchange(Session(recorder))
    recorder.close()
    return path, load_recording(str(path))


def test_text_control_characters_binary_and_unasked_bytes_round_trip(tmp_path):
    def session_work(session):
        assert session.read() == "HELLO"
        assert session.query("*IDN?") == "ACME,1"
        session.write("VOLT 1")
        session.write_raw(b"\x05")
        assert session.read() == "\x06"
        session.write("DATA?")
        assert session.read_bytes(len(BLOCK)) == BLOCK

    pairs = [(None, "HELLO"), ("*IDN?", "ACME,1"), ("VOLT 1", None), (b"\x05", "\x06"),
             ("DATA?", BLOCK)]  # fmt: skip
    path, recording = record(tmp_path, pairs, session_work)
    text = path.read_text()
    assert "- unasked: true\n  at: " in text
    assert '- write: "\\u0005"\n' in text
    assert '  reply: "\\u0006\\n"\n' in text
    assert "  reply_base64:  # 9 bytes\n" in text
    got = [(e.write, e.reply) for e in recording.exchanges]
    assert got == [
        (None, b"HELLO\n"),
        (b"*IDN?\n", b"ACME,1\n"),
        (b"VOLT 1\n", b""),
        (b"\x05", b"\x06\n"),
        (b"DATA?\n", BLOCK),
    ]
    assert [e.line for e in recording.exchanges] == [
        number for number, line in enumerate(text.splitlines(), 1) if line.startswith("- ")
    ]
    # Replayed, the same session sees the same bytes, the unasked greeting first.
    replay = ReplayTransport(recording)
    session_work(Session(replay))
    replay.check_done()


def test_long_values_are_split_into_short_lines_and_joined_on_load(tmp_path):
    long_reply = ",".join(f"{v:+.8E}" for v in range(40))
    binary = bytes(range(256)) * 3
    text = header_text({"name": "x"}) + entry_text(b"R?\n", long_reply.encode() + b"\n", 0, 0)
    text += entry_text(b"B?\n", binary, 0.5, 1e-05)
    assert max(len(line) for line in text.splitlines()) <= 80
    path = tmp_path / "long.rec.yaml"
    path.write_text(text)
    first, second = load_recording(str(path)).exchanges
    assert first.reply == long_reply.encode() + b"\n"
    assert (second.reply, second.at, second.took) == (binary, 0.5, 1e-05)


def test_header_numbers_stay_numbers_for_yaml_1_1_readers(tmp_path):
    path = tmp_path / "h.rec.yaml"
    path.write_text(header_text({"connection": {"timeout": 1e-05, "baudrate": 9600, "x": None}}))
    connection = load_recording(str(path)).connection
    assert connection == {"timeout": 1e-05, "baudrate": 9600, "x": None}


def test_reading_past_the_recorded_reply_times_out_like_the_silent_instrument(tmp_path):
    _, recording = record(tmp_path, [("*IDN?", "ACME,1")], lambda s: s.query("*IDN?"))
    session = Session(ReplayTransport(recording), name="fake")
    assert session.query("*IDN?") == "ACME,1"
    with pytest.raises(Timeout, match=r"recording .* has only 0 more reply bytes after exchange 1"):
        session.read()


def test_unread_reply_bytes_and_unused_exchanges_are_reported(tmp_path):
    pairs = [("A?", "1"), ("B?", "2")]
    _, recording = record(tmp_path, pairs, lambda s: (s.query("A?"), s.query("B?")))
    replay = ReplayTransport(recording)
    replay.write(b"A?\n")
    with pytest.raises(
        AssertionError, match=r"never used \(1\): 2 \(line \d+\) b'B\?\\n'"
    ) as caught:
        replay.check_done()
    assert "2 reply bytes were never read" in str(caught.value)


def test_strict_replay_refuses_writes_past_the_end_and_lenient_reuses_the_last_reply(tmp_path):
    pairs = [("A?", "1"), ("A?", "2")]
    _, recording = record(tmp_path, pairs, lambda s: (s.query("A?"), s.query("A?")))
    strict = Session(ReplayTransport(recording))
    assert [strict.query("A?"), strict.query("A?")] == ["1", "2"]
    with pytest.raises(ReplayMismatch, match="ends after 2 exchanges, but the program wrote"):
        strict.query("A?")
    lenient = Session(ReplayTransport(recording, mode="lenient"))
    assert [lenient.query("A?") for _ in range(3)] == ["1", "2", "2"]


def test_side_by_side_points_at_the_first_differing_byte_far_into_a_message():
    expected = b"X" * 100 + b"abc\n"
    actual = b"X" * 100 + b"abd\n"
    lines = side_by_side(expected, actual).splitlines()
    assert lines[0].startswith("  expected (recording): ...b'")
    assert lines[2].index("^") == lines[1].index("d\\n")
    assert lines[2].endswith("first difference at byte 102")


def test_replay_urls_name_a_file_a_mode_and_a_timing():
    assert parse_replay_url("replay:///a/b.rec.yaml") == ("/a/b.rec.yaml", "strict", "drop")
    assert parse_replay_url("replay://b.rec.yaml?mode=lenient&timing=keep") == (
        "b.rec.yaml",
        "lenient",
        "keep",
    )
    with pytest.raises(ConfigError, match="mode=strict"):
        parse_replay_url("replay://b.rec.yaml?mode=loose")


def test_exchanges_reach_the_disk_while_the_session_runs(tmp_path):
    path = tmp_path / "live.rec.yaml"
    inner = ProtocolTransport([("A?", "1"), ("B?", "2"), ("C?", "3")])
    recorder = RecordingTransport(inner, str(path), {"name": "live"}, flush_interval=0.05)
    session = Session(recorder)
    session.query("A?")
    session.query("B?")
    time.sleep(0.1)
    session.query("C?")  # this write completes B? and the interval has passed
    on_disk = load_recording(str(path)).exchanges  # the file is valid YAML mid-session
    assert [e.write for e in on_disk] == [b"A?\n", b"B?\n"]
    recorder.close()
    assert [e.reply for e in load_recording(str(path)).exchanges] == [b"1\n", b"2\n", b"3\n"]


def test_nothing_is_recorded_twice_or_re_recorded_from_a_replay(tmp_path, monkeypatch):
    monkeypatch.setenv("INSTRUMENTKIT_RECORD", str(tmp_path / "all"))
    given = tmp_path / "given.rec.yaml"
    inner = ProtocolTransport([("*IDN?", "Keysight Technologies,34461A,1,2"), ("FUNC?", '"VOLT"')])
    with Keysight34461A.open(inner, record=given) as dmm:  # type: ignore[arg-type]
        dmm.function  # noqa: B018
    assert not (tmp_path / "all").exists()  # record= wins over the directory, once
    with Keysight34461A.open(f"replay://{given}", record=tmp_path / "again.rec.yaml") as dmm:
        assert dmm.function.name == "DC_VOLTAGE"
    assert os.listdir(tmp_path) == ["given.rec.yaml"]
    assert [e.write for e in load_recording(str(given)).exchanges] == [b"FUNC?\n"]


def test_an_instrument_dropped_without_close_still_gets_its_exchanges_written(tmp_path):
    path = tmp_path / "dropped.rec.yaml"
    inner = ProtocolTransport([("A?", "1")])
    session = Session(RecordingTransport(inner, str(path), {"name": "dropped"}))
    session.query("A?")
    del session
    gc.collect()
    assert [e.reply for e in load_recording(str(path)).exchanges] == [b"1\n"]


class _InterruptOnce:
    """A render function that raises KeyboardInterrupt the first time: Ctrl-C landing
    inside a flush, which runs on the query path."""

    def __init__(self, render):
        self.render = render
        self.armed = True

    def __call__(self, data):
        if self.armed:
            self.armed = False
            raise KeyboardInterrupt
        return self.render(data)


@pytest.mark.parametrize("where", ["write_lines", "reply_lines"])
def test_ctrl_c_inside_a_flush_loses_no_exchange_and_writes_none_twice(
    tmp_path, monkeypatch, where
):
    from instrumentkit.record import _recorder

    path = tmp_path / "interrupted.rec.yaml"
    pairs = [(f"Q{i}?", str(i)) for i in range(5)]
    recorder = RecordingTransport(ProtocolTransport(pairs), str(path), {"name": "fake"})
    session = Session(recorder)
    for i in range(3):
        session.query(f"Q{i}?")
    recorder.flush_interval = 0.0
    recorder._flush_at = 0.0  # the next write flushes Q0..Q2
    monkeypatch.setattr(_recorder, where, _InterruptOnce(getattr(_recorder, where)))
    with pytest.raises(KeyboardInterrupt):
        session.query("Q3?")  # interrupted in the flush, before its bytes went out
    assert session.query("Q3?") == "3"  # the session goes on, as a script's finally would
    assert session.query("Q4?") == "4"
    recorder.close()
    exchanges = load_recording(str(path)).exchanges
    assert [(e.write, e.reply) for e in exchanges] == [
        (f"Q{i}?\n".encode(), f"{i}\n".encode()) for i in range(5)
    ]


def test_ctrl_c_while_closing_then_the_exit_hook_writes_each_exchange_once(tmp_path, monkeypatch):
    from instrumentkit.record import _recorder

    path = tmp_path / "a.rec.yaml"
    recorder = RecordingTransport(ProtocolTransport([("A?", "1"), ("B?", "2")]), str(path), {})
    session = Session(recorder)
    session.query("A?")
    session.query("B?")  # in progress until close() keeps it
    monkeypatch.setattr(_recorder, "write_lines", _InterruptOnce(_recorder.write_lines))
    with pytest.raises(KeyboardInterrupt):
        recorder.close()
    _recorder._finish_all()
    exchanges = load_recording(str(path)).exchanges
    assert [(e.write, e.reply) for e in exchanges] == [(b"A?\n", b"1\n"), (b"B?\n", b"2\n")]


@pytest.mark.parametrize(
    ("share", "cleanup_error"),
    [(0.5, None), (0.0, OSError("disk gone")), (0.0, ValueError("closed file"))],
    ids=["half-written", "seek-fails", "file-closed"],
)
def test_a_write_that_fails_half_way_is_taken_back_and_written_whole_later(
    tmp_path, share, cleanup_error
):
    """Taking back fails too when the disk or the file is gone (nothing was written
    then): the error that stopped the write is the one raised."""
    path = tmp_path / "half.rec.yaml"
    pairs = [("A?", "1"), ("B?", "2"), ("C?", "3")]
    recorder = RecordingTransport(ProtocolTransport(pairs), str(path), {"name": "fake"})
    session = Session(recorder)
    session.query("A?")
    session.query("B?")
    real_file = recorder._file

    class HalfWrite:
        """Writes the first half of the text, then fails (an interrupt or a full disk)."""

        def __getattr__(self, name):
            return getattr(real_file, name)

        def write(self, text):
            real_file.write(text[: int(len(text) * share)])
            raise KeyboardInterrupt

        def seek(self, position):
            if cleanup_error is not None:
                raise cleanup_error
            return real_file.seek(position)

    recorder._file = HalfWrite()
    recorder._flush_at = 0.0
    with pytest.raises(KeyboardInterrupt):
        session.query("C?")  # interrupted in the flush, before its bytes went out
    recorder._file = real_file
    assert session.query("C?") == "3"
    recorder.close()
    exchanges = load_recording(str(path)).exchanges
    assert [(e.write, e.reply) for e in exchanges] == [
        (b"A?\n", b"1\n"),
        (b"B?\n", b"2\n"),
        (b"C?\n", b"3\n"),
    ]
