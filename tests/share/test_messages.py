"""Telling queries from commands, and reading one reply whole, without an instrument."""

from __future__ import annotations

import pytest

from instrumentkit.share._messages import is_query, query_units, read_reply
from instrumentkit.transport import TransportBase


@pytest.mark.parametrize(
    ("message", "queries", "only_queries"),
    [
        (b"*IDN?", 1, True),
        (b"*IDN?\n", 1, True),
        (b":MEAS:VOLT? 10,0.001", 1, True),  # a query with parameters
        (b"*RST", 0, False),
        (b":LEV 5;:LEV?", 1, False),
        (b"*IDN?;*OPC?", 2, True),
        (b":ECHO? 'a;b?'", 1, True),  # ';' and '?' inside quotes are data
        (b':TEXT "x?;y"', 0, False),
        (b":DATA #15a;b?c", 0, False),  # inside a definite block too
        (b":DATA #15a;b?c;:LEV?", 1, False),
        (b":DATA #9000000003;?", 0, False),  # a block longer than the message: all data
        (b"", 0, False),
        (b" ; ;\n", 0, False),
    ],
)
def test_query_units(message: bytes, queries: int, only_queries: bool) -> None:
    assert query_units(message) == queries
    assert is_query(message) is only_queries


class Replay(TransportBase):
    """Hands out `data` as an instrument would, recording how it was asked."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.position = 0
        self.reads: list[str] = []

    def write(self, data: bytes) -> None:  # pragma: no cover - not used
        raise AssertionError("nothing is written")

    def read_until(self, terminator: bytes) -> bytes:
        end = self.data.index(terminator, self.position)
        chunk = self.data[self.position : end]
        self.position = end + len(terminator)
        self.reads.append("until")
        return chunk

    def read_into(self, buffer: memoryview) -> None:
        end = self.position + len(buffer)
        assert end <= len(self.data), "read past the reply"
        buffer[:] = self.data[self.position : end]
        self.position = end
        self.reads.append(f"exact {len(buffer)}")


def test_a_text_reply_ends_at_its_terminator() -> None:
    replay = Replay(b"1.25\nnext\n")
    assert read_reply(replay, b"\n") == b"1.25\n"
    assert replay.position == 5  # the next reply is left alone


def test_a_block_with_terminators_inside_is_read_by_length() -> None:
    payload = b"ab\ncd\n\nef" * 1000
    reply = b"#" + str(len(str(len(payload)))).encode() + str(len(payload)).encode()
    reply += payload + b"\n"
    replay = Replay(reply + b"next\n")
    assert read_reply(replay, b"\n") == reply
    assert replay.position == len(reply)
    assert any(read.startswith("exact") for read in replay.reads)


def test_fields_around_a_block() -> None:
    reply = b"CH1,#13a\nb,2.5\n"
    replay = Replay(reply + b"x\n")
    assert read_reply(replay, b"\n") == reply


def test_two_blocks_in_one_reply() -> None:
    reply = b"#14\n\n\n\n;#12\n\n\n"
    replay = Replay(reply + b"x\n")
    assert read_reply(replay, b"\n") == reply
