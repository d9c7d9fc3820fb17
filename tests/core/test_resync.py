"""Getting back in step after a failed exchange (decision 0009): the session drains what is
pending or late, clears the device where the bus can, and the instrument syncs with `*OPC?`
answered exactly `1`, before the next exchange. Over real loopback sockets and pyvisa-py.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from instrumentkit import ConnectionFailed, ProtocolError, Session, Timeout
from instrumentkit.scpi import SCPIInstrument
from instrumentkit.socket_transport import SocketTransport
from instrumentkit.transport import TransportBase

GARBLED_BLOCK = bytes(b ^ 0x80 for b in b"#3100" + bytes(range(100))) + b"\n"


def scpi_over(server, timeout: float = 0.3) -> SCPIInstrument:
    return SCPIInstrument(SocketTransport("127.0.0.1", server.port, timeout=timeout), name="dev")


def test_a_late_reply_is_dropped_and_the_next_query_gets_its_own(line_server):
    def respond(line: bytes) -> bytes:
        if line == b"SLOW?":
            time.sleep(0.5)  # past the 0.3 s timeout: its reply arrives during the next query
            return b"late\n"
        return {b"*OPC?": b"1\n", b"MEAS?": b"+2.5\n"}[line]

    server = line_server(respond)
    dev = scpi_over(server)
    with pytest.raises(Timeout):
        dev.session.query("SLOW?")
    assert not dev.session.in_step
    assert dev.session.query("MEAS?") == "+2.5"  # not "late", not "1"
    assert server.received == [b"SLOW?", b"*OPC?", b"MEAS?"]
    assert dev.session.in_step


def test_a_garbled_block_does_not_shift_the_replies_that_follow(line_server):
    replies = {b"CURV?": GARBLED_BLOCK, b"*OPC?": b"1\n", b"MEAS?": b"+2.5\n"}
    server = line_server(lambda line: replies[line])
    dev = scpi_over(server)
    with pytest.raises(ProtocolError, match="starting with '#'"):
        dev.session.query_block("CURV?")
    assert dev.session.query("MEAS?") == "+2.5"
    assert server.received == [b"CURV?", b"*OPC?", b"MEAS?"]


def test_a_truncated_block_is_drained_and_the_scope_synced(line_server):
    replies = {b"CURV?": b"#220" + bytes(10), b"*OPC?": b"1\n", b"MEAS?": b"+2.5\n"}
    server = line_server(lambda line: replies[line])
    dev = scpi_over(server)
    with pytest.raises(Timeout, match="10 of 20 bytes arrived"):
        dev.session.query_block("CURV?")
    values = dev.session.query_values("MEAS?")
    np.testing.assert_array_equal(values, [2.5])
    assert server.received == [b"CURV?", b"*OPC?", b"MEAS?"]


def test_a_sync_that_never_sees_1_fails_and_tries_again_next_time(line_server):
    replies = {b"*OPC?": b"0\n", b"MEAS?": b"+2.5\n"}
    server = line_server(lambda line: replies.get(line))
    dev = scpi_over(server, timeout=0.2)
    dev.session.in_step = False
    with pytest.raises(Timeout):  # "0", then nothing: the sync gives up
        dev.session.query("MEAS?")
    assert not dev.session.in_step
    assert server.received == [b"*OPC?"]  # MEAS? never sent while out of step
    replies[b"*OPC?"] = b"+1\n"
    assert dev.session.query("MEAS?") == "+2.5"
    assert server.received == [b"*OPC?", b"*OPC?", b"MEAS?"]


def test_wrong_sync_replies_are_a_protocol_error_naming_what_came(line_server):
    server = line_server(lambda line: b"0\n0\n0\n0\n" if line == b"*OPC?" else None)
    dev = scpi_over(server)
    with pytest.raises(ProtocolError, match=r"not back in step: expected '1'") as caught:
        dev.resync()
    assert caught.value.command == "*OPC?"
    assert "'0'" in str(caught.value)


class Recording(TransportBase):
    """Records the order of drain, clear and writes; answers every query with `1`."""

    def __init__(self) -> None:
        self.resource = "recording"
        self.timeout = 1.0
        self.calls: list[str] = []

    def drain(self, quiet: float, limit: float) -> int:
        self.calls.append("drain")
        return 3

    def clear(self) -> None:
        self.calls.append("clear")

    def write(self, data: bytes) -> None:
        self.calls.append(data.decode())

    def read_until(self, terminator: bytes) -> bytes:
        return b"1"


def test_resync_drains_then_clears_the_device_then_syncs() -> None:
    transport = Recording()
    dev = SCPIInstrument(transport, name="dev")
    dev.session.in_step = False
    dev.session.write("MEAS?")
    assert transport.calls == ["drain", "clear", "*OPC?\n", "MEAS?\n"]


def test_an_instrument_still_sending_after_the_drain_limit_is_a_protocol_error() -> None:
    class Streaming(Recording):
        def drain(self, quiet: float, limit: float) -> int:
            return -1

    with pytest.raises(ProtocolError, match="still sending"):
        Session(Streaming(), name="dev").resync()


def test_a_transport_without_drain_is_drained_by_short_reads() -> None:
    class Pending(TransportBase):
        resource = "pending"
        timeout = 1.0

        def __init__(self) -> None:
            self.pending = bytearray(b"stale reply\n")

        def read_into(self, buffer: memoryview) -> None:
            if not self.pending:
                raise TimeoutError
            buffer[0] = self.pending.pop(0)

    transport = Pending()
    assert Session(transport).drain() == len(b"stale reply\n")
    assert transport.timeout == 1.0  # restored after the short reads


def test_abort_ends_a_read_blocked_in_another_thread(line_server):
    server = line_server(lambda line: None)  # never answers
    session = Session(SocketTransport("127.0.0.1", server.port, timeout=20.0), name="dev")
    errors: list[BaseException] = []

    def blocked_query() -> None:
        try:
            session.query("MEAS?")
        except BaseException as error:
            errors.append(error)

    reader = threading.Thread(target=blocked_query)
    reader.start()
    time.sleep(0.3)
    started = time.monotonic()
    session.abort()
    reader.join(10)
    assert not reader.is_alive()
    assert time.monotonic() - started < 5.0  # the read's timeout is 20 s
    [error] = errors
    assert isinstance(error, ConnectionFailed)
    assert "closed to stop the run" in str(error)


def test_pyvisa_py_socket_drains_and_clears(line_server):
    from instrumentkit.visa_transport import VisaTransport

    def respond(line: bytes) -> bytes:
        if line == b"SLOW?":
            time.sleep(0.4)
            return b"late\n"
        return {b"*OPC?": b"1\n", b"MEAS?": b"+2.5\n"}[line]

    server = line_server(respond)
    transport = VisaTransport(server.resource, backend="@py", timeout=0.2)
    dev = SCPIInstrument(transport, name="dev")
    try:
        with pytest.raises(Timeout):
            dev.session.query("SLOW?")
        assert dev.session.query("MEAS?") == "+2.5"
        assert server.received[-2:] == [b"*OPC?", b"MEAS?"]
    finally:
        dev.close()
