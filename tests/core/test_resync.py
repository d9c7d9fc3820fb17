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
    timed_out = threading.Event()

    def respond(line: bytes) -> bytes:
        if line == b"SLOW?":
            # Answered only once the query has timed out (a sleep can lose to a client
            # held off the CPU on loaded cores, which then reads the reply in time).
            timed_out.wait(10)
            return b"late\n"
        return {b"*OPC?": b"1\n", b"MEAS?": b"+2.5\n"}[line]

    server = line_server(respond)
    dev = scpi_over(server)
    with pytest.raises(Timeout):
        dev.session.query("SLOW?")
    timed_out.set()
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

    timed_out = threading.Event()

    def respond(line: bytes) -> bytes:
        if line == b"SLOW?":
            timed_out.wait(10)  # late for certain, however loaded the cores
            return b"late\n"
        return {b"*OPC?": b"1\n", b"MEAS?": b"+2.5\n"}[line]

    server = line_server(respond)
    transport = VisaTransport(server.resource, backend="@py", timeout=0.2)
    dev = SCPIInstrument(transport, name="dev")
    try:
        with pytest.raises(Timeout):
            dev.session.query("SLOW?")
        timed_out.set()
        assert dev.session.query("MEAS?") == "+2.5"
        assert server.received[-2:] == [b"*OPC?", b"MEAS?"]
    finally:
        dev.close()


class Plain:
    """A transport by the protocol alone: no drain, clear or abort of its own.

    `read_into` fills the buffer from `pending` and times out when not enough is there.
    """

    resource = "plain"

    def __init__(self, pending: bytes = b"", replies: list[bytes] | None = None) -> None:
        self.timeout = 1.0
        self.pending = bytearray(pending)
        self.replies = list(replies or [])
        self.written: list[bytes] = []
        self.read_timeouts: list[float] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def read_until(self, terminator: bytes) -> bytes:
        if not self.replies:
            raise TimeoutError
        return self.replies.pop(0)

    def read_into(self, buffer: memoryview) -> None:
        self.read_timeouts.append(self.timeout)
        if len(self.pending) < len(buffer):
            raise TimeoutError
        buffer[:] = self.pending[: len(buffer)]
        del self.pending[: len(buffer)]

    def close(self) -> None:
        self.closed = True


def test_short_read_draining_reads_byte_by_byte_with_the_quiet_timeout() -> None:
    transport = Plain(b"stale reply\n")
    assert Session(transport).drain() == 12
    assert transport.pending == b""
    # One read per byte, then the one that found the link quiet; all with the 50 ms timeout.
    assert transport.read_timeouts == [0.05] * 13
    assert transport.timeout == 1.0


def test_a_link_that_never_goes_quiet_is_a_protocol_error_naming_the_drain() -> None:
    class Streaming(Plain):
        def read_into(self, buffer: memoryview) -> None:
            time.sleep(0.01)
            buffer[:] = b"x" * len(buffer)

    session = Session(Streaming(), name="dev")
    with pytest.raises(ProtocolError) as caught:
        session.drain()
    assert str(caught.value) == (
        "dev: command '(drain)': still sending after 1 s of draining; is it streaming data "
        "(a talk-only or continuous mode)?"
    )
    assert session.in_step is False


def test_failures_of_the_drain_and_the_device_clear_name_the_step() -> None:
    class DrainFails(Recording):
        def drain(self, quiet: float, limit: float) -> int:
            raise ConnectionResetError("reset by peer")

    class ClearFails(Recording):
        def clear(self) -> None:
            raise OSError(5, "Input/output error")

    with pytest.raises(ConnectionFailed) as caught:
        Session(DrainFails(), name="dev").resync()
    assert str(caught.value) == "dev: command '(drain)': connection lost: reset by peer"
    session = Session(ClearFails(), name="dev")
    with pytest.raises(ConnectionFailed) as caught:
        session.resync()
    assert str(caught.value) == (
        "dev: command '(device clear)': I/O error: [Errno 5] Input/output error"
    )
    assert session.in_step is False


def test_drained_bytes_are_logged_only_with_log_io(caplog: pytest.LogCaptureFixture) -> None:
    class Quiet(Recording):
        def drain(self, quiet: float, limit: float) -> int:
            return 0

    caplog.set_level("DEBUG", logger="instrumentkit.io")
    assert Session(Recording(), name="dev", log_io=True).drain() == 3
    assert Session(Recording(), name="off").drain() == 3
    assert Session(Quiet(), name="quiet", log_io=True).drain() == 0
    logged = [(r.name, r.getMessage()) for r in caplog.records]
    assert logged == [("instrumentkit.io", "dev: drained 3 bytes")]


def test_sync_replies_that_do_not_decode_are_wrong_replies_not_a_crash() -> None:
    transport = Plain(replies=[b"\xff1", b"\xfe", b"0", b"X1"])
    with pytest.raises(ProtocolError) as caught:
        Session(transport, name="dev").sync("*OPC?", "1")
    assert transport.written == [b"*OPC?\n"]
    assert (caught.value.instrument, caught.value.command) == ("dev", "*OPC?")
    assert str(caught.value).startswith("dev: command '*OPC?': not back in step: expected '1'")
    assert "'0'" in str(caught.value)
    assert "'X1'" in str(caught.value)


def test_a_sync_query_left_unanswered_is_a_timeout_naming_it() -> None:
    session = Session(Plain(replies=[b"0"]), name="dev")
    with pytest.raises(Timeout) as caught:
        session.sync("*OPC?", "1")
    assert (caught.value.instrument, caught.value.command) == ("dev", "*OPC?")
    assert session.in_step is False


def test_abort_closes_a_transport_that_has_no_abort_of_its_own() -> None:
    transport = Plain()
    session = Session(transport, name="dev")
    session.abort()
    assert transport.closed
    assert session.aborted
    with pytest.raises(ConnectionFailed, match="dev: command 'MEAS\\?': the connection was closed"):
        session.query("MEAS?")
