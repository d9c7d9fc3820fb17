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
        (b":MEAS:VOLT? 10, 0.001", 1, True),  # the header is the first word, not the last
        (b":SYST:DATE 2026, 12, 6?", 0, False),  # a parameter ending in '?' is no query
        (b"'*IDN?'", 0, False),  # a quoted string from the first byte on
        (b":A 'x' ;*IDN?", 1, False),  # after a closed string, units go on
        (b":A 'x;y?' ;*IDN?", 1, False),
        (b":A '';*IDN?", 1, False),  # an empty string
        (b":A 'it''s?';*RST", 0, False),  # a doubled quote inside a string
        (b":A 'never closed;*IDN?", 0, False),  # an open string runs to the end
        (b":DATA #9000000002;?;*IDN?", 1, False),  # nine length digits
        (b":DATA #13;?;;*IDN?", 1, False),  # one length digit: '1'
        (b":DATA #0;*IDN?\n", 0, False),  # indefinite block: data to the message's end
        (b":DATA #H1F;*IDN?", 1, False),  # '#H' is a hex number, not a block
        (b":DATA #:;*IDN?", 1, False),  # '#' and a non-digit
        (b"*IDN?;:DATA #", 1, False),  # '#' as the last byte
        (b"*IDN?;:DATA #1", 1, False),  # a block header cut short
        (b"*IDN?;:DATA #3a1;x?", 2, False),  # length digits that are not digits
        (b"\t*IDN?\r\n", 1, True),
        (b"\x0b*IDN?\x00", 1, True),  # IEEE 488.2 white space: every control byte but LF
        (b"*RST;\x0b", 0, False),  # a unit of white space alone is no unit
        (b"*RST;\x00", 0, False),
        (b":A 'x';*IDN?;:B 'y'", 1, False),  # each string ends at its own closing quote
        (b"*RST;'x; *IDN?", 0, False),  # an open string right after a separator
        (b"#13;?; *IDN?", 0, False),  # a block at the very start
        (b":A #:0000000002;?;*IDN?", 2, False),  # '#:' is no block, whatever follows
        (b"*RST;:A #;*IDN?", 1, False),  # the byte after a lone '#' is read as usual
        (b":A #1;*IDN?", 1, False),  # a block header cut short by a separator
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


def test_long_messages_are_counted_without_the_cache() -> None:
    long_command = b":DISP:TEXT '" + b"x" * 200 + b"'"
    assert query_units(long_command + b";*IDN?;*OPC?") == 2
    assert query_units(long_command) == 0
    assert is_query(long_command + b";*IDN?") is False


@pytest.mark.parametrize(
    "reply",
    [
        b"5#\n",  # '#' as the last byte of a text reply
        b"#:\n",  # '#' and a non-digit
        b"#0\n",
        b"#13abc\n",  # a block held whole by the first chunk: the terminator is the reply's
        b"#12a\n\n",  # a block whose last byte is the terminator: nothing more to read
        b"#9000000003a\nb\n",  # nine length digits
        b"#12ab#13a\nb\n",  # a whole block, then an open one in the same chunk
        b"#15a#b\nc\n",  # a '#' inside an open block's data is data
        b"x#1,#13\n\n\n\n",  # a cut block header, then a block
        b"#:0000000002\n",  # '#:' is no block
        b"##13a\nb\n",  # a lone '#' right before a block
    ],
)
def test_reply_ends_where_its_blocks_and_terminator_say(reply: bytes) -> None:
    replay = Replay(reply + b"next\n")
    assert read_reply(replay, b"\n") == reply
    assert replay.position == len(reply)  # the next reply is left alone
