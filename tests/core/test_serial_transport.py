"""SerialTransport on pyserial's loop:// port: what is written comes back, so the test
decides exactly which bytes are waiting when each read starts (most tests need no thread)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from instrumentkit import ConnectionFailed, Session, Timeout
from instrumentkit.serial_transport import SerialTransport


@pytest.fixture
def loop() -> Iterator[SerialTransport]:
    with SerialTransport("loop://", timeout=0.3) as port:
        yield port


def test_defaults_are_9600_8n1_without_flow_control() -> None:
    with SerialTransport("loop://") as port:
        assert port.resource == "loop://"
        assert port.timeout == 5.0
        settings = port.settings
        assert (settings["baudrate"], settings["bytesize"], settings["parity"]) == (9600, 8, "N")
        assert settings["stopbits"] == 1
        assert (settings["xonxoff"], settings["rtscts"], settings["dsrdtr"]) == (False,) * 3
        # each port read waits at most 50 ms (the overall deadline is the transport's);
        # a write may take the whole timeout
        assert (port.port.timeout, port.port.write_timeout) == (0.05, 5.0)


def test_framing_flow_control_and_a_short_timeout_reach_the_port() -> None:
    with SerialTransport(
        "loop://", stopbits=2, xonxoff=True, rtscts=True, dsrdtr=True, timeout=0.02
    ) as port:
        settings = port.settings
        assert settings["stopbits"] == 2
        assert (settings["xonxoff"], settings["rtscts"], settings["dsrdtr"]) == (True,) * 3
        assert (port.port.timeout, port.port.write_timeout) == (0.02, 0.02)
    with SerialTransport("loop://", rtscts=True, dsrdtr=False) as port:  # not tied together
        assert (port.settings["rtscts"], port.settings["dsrdtr"]) == (True, False)


def test_a_port_that_cannot_be_opened_is_named() -> None:
    with pytest.raises(ConnectionError) as caught:
        SerialTransport("/dev/does-not-exist")
    assert str(caught.value).startswith("cannot open /dev/does-not-exist: [Errno 2] could not")


def test_an_empty_reply_is_a_message_also_when_already_buffered(loop: SerialTransport) -> None:
    loop.write(b"a\n\n")  # all three bytes come in the first read
    assert loop.read_until(b"\n") == b"a"
    assert loop.read_until(b"\n") == b""  # from the buffer
    loop.write(b"\r\n")
    assert loop.read_until(b"\r\n") == b""  # from the port


def test_a_two_byte_terminator_split_across_reads(loop: SerialTransport) -> None:
    loop.write(b"x\r\nab\r")
    assert loop.read_until(b"\r\n") == b"x"  # "ab\r" stays buffered
    loop.write(b"\n")
    assert loop.read_until(b"\r\n") == b"ab"


def test_read_into_takes_the_buffer_then_exactly_what_is_missing(loop: SerialTransport) -> None:
    loop.write(b"ab\nxyz")
    assert loop.read_until(b"\n") == b"ab"  # "xyz" stays buffered
    loop.write(b"0123456TAIL\n")
    buffer = bytearray(10)
    loop.read_into(memoryview(buffer))
    assert buffer == b"xyz0123456"
    assert loop.read_until(b"\n") == b"TAIL"


def test_timeouts_are_the_sessions_naming_instrument_and_progress(loop: SerialTransport) -> None:
    session = Session(loop, name="tc")
    loop.write(b"abc")
    with pytest.raises(
        Timeout, match=r"^tc: command 'CURV\?': .* 0\.3 s \(3 of 10 bytes arrived\)"
    ):
        session.read_bytes(10, command="CURV?")
    loop.write(b"12")
    with pytest.raises(Timeout) as caught:
        session.read_raw_until(b"\n", command="KRDG?")
    assert str(caught.value).startswith(  # what came without its terminator is shown
        "tc: command 'KRDG?': no complete reply within 0.3 s (2 bytes arrived without the "
        "terminator b'\\n': b'12'); check the command is a query"
    )


def test_a_write_slower_than_the_timeout_is_a_timeout() -> None:
    # loop:// charges 10 bit times per byte: 100 bytes at 9600 baud take 0.1 s
    port = SerialTransport("loop://", timeout=0.01)
    with port, pytest.raises(TimeoutError, match=r"^write of 100 bytes did not complete$"):
        port.write(bytes(100))


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda port: port.write(b"*IDN?\n"), "write failed: "),
        (lambda port: port.read_until(b"\n"), "port lost: "),
        (lambda port: port.read_into(memoryview(bytearray(4))), "read failed: "),
        (lambda port: port.read_some_into(memoryview(bytearray(4))), "read failed: "),
    ],
)
def test_a_port_gone_says_which_operation_failed(action, message: str) -> None:
    port = SerialTransport("loop://", timeout=0.3)
    port.port.close()  # as when a USB adapter is unplugged
    with pytest.raises(ConnectionError) as caught:
        action(port)
    assert str(caught.value) == f"{message}Attempting to use a port that is not open"


def test_a_lost_port_reaches_the_user_as_connection_failed() -> None:
    port = SerialTransport("loop://", timeout=0.3)
    session = Session(port, name="tc")
    port.port.close()
    with pytest.raises(ConnectionFailed, match=r"^tc: command 'KRDG\?': connection lost: "):
        session.query("KRDG?")


def test_read_some_into_gives_what_one_read_brings(loop: SerialTransport) -> None:
    buffer = bytearray(8)
    loop.write(b"\x02abc")
    assert loop.read_some_into(memoryview(buffer)) == 4
    assert buffer[:4] == b"\x02abc"
    loop.write(b"ok\nrest-of-it")
    assert loop.read_until(b"\n") == b"ok"
    assert loop.read_some_into(memoryview(buffer)) == 8  # from the buffer only
    assert buffer == b"rest-of-"
    assert loop.read_some_into(memoryview(buffer)) == 2
    assert buffer[:2] == b"it"
    assert loop.read_some_into(memoryview(bytearray(0))) == 0
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"^0 of 8 bytes arrived$"):
        loop.read_some_into(memoryview(buffer))
    assert time.monotonic() - started >= 0.25  # the whole timeout (0.3 s), not one port read


def test_reset_input_drops_the_buffer_and_the_port(loop: SerialTransport) -> None:
    loop.write(b"a\nstale")
    assert loop.read_until(b"\n") == b"a"
    loop.write(b"late reply\n")
    loop.reset_input()
    loop.write(b"+1\n")
    assert loop.read_until(b"\n") == b"+1"


def test_drain_counts_what_was_buffered_and_what_arrived(loop: SerialTransport) -> None:
    assert loop.drain(0.1, 5.0) == 0  # a quiet line
    loop.write(b"ok\nxx")
    assert loop.read_until(b"\n") == b"ok"
    loop.write(b"yyy")
    assert loop.drain(0.1, 5.0) == 5
    loop.write(b"+1\n")
    assert loop.read_until(b"\n") == b"+1"


def test_drain_waits_for_a_quiet_spell_longer_than_a_gap(loop: SerialTransport) -> None:
    # a late part of a reply 0.1 s after the drain started, well within its 1.5 s of quiet
    threading.Timer(0.1, loop.write, [b"late"]).start()
    assert loop.drain(1.5, 10.0) == 4
    loop.write(b"+1\n")
    assert loop.read_until(b"\n") == b"+1"


def test_drain_gives_up_on_a_line_that_never_goes_quiet(
    loop: SerialTransport, chattering: Any
) -> None:
    with chattering(loop.write):
        assert loop.drain(2.0, 0.3) == -1
