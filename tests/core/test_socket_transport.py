"""SocketTransport against a loopback peer the test drives byte by byte.

The peer is the accepted end of the transport's own connection, in the test's thread: what
it sends, and when, is exact, so most tests need no thread and no sleep. Errors are checked
as the user sees them, through a Session (the project's errors, naming the instrument).
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from instrumentkit import ConnectionFailed, Session, Timeout
from instrumentkit.socket_transport import SocketTransport

Connect = Callable[..., tuple[SocketTransport, socket.socket]]
HINT = "; check the command is a query, the read terminator ('\\n') and the instrument's"


@pytest.fixture
def connect(accepted_peer: Any) -> Connect:
    """A SocketTransport and the peer socket at its other end."""
    return lambda timeout=1.0: accepted_peer(
        lambda port: SocketTransport("127.0.0.1", port, timeout=timeout)
    )


def reset(peer: socket.socket) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a crashed instrument's stack does."""
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    peer.close()


def test_the_resource_names_host_and_port_unless_one_is_given(connect: Connect) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        with SocketTransport("127.0.0.1", port) as plain:
            assert (plain.resource, plain.timeout) == (f"TCPIP::127.0.0.1::{port}::SOCKET", 5.0)
            assert plain._sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        with SocketTransport("127.0.0.1", port, resource="TCPIP0::lab-dmm::5025::SOCKET") as named:
            assert named.resource == "TCPIP0::lab-dmm::5025::SOCKET"


def test_a_refused_connection_names_host_and_port() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
    with pytest.raises(
        ConnectionError, match=rf"^cannot connect to 127\.0\.0\.1:{port}: .*refused"
    ):
        SocketTransport("127.0.0.1", port, timeout=1)


def test_a_connection_nobody_accepts_times_out_within_the_timeout(unanswered_port: int) -> None:
    with pytest.raises(TimeoutError) as caught:
        SocketTransport("127.0.0.1", unanswered_port, timeout=0.3)
    assert str(caught.value) == f"cannot connect to 127.0.0.1:{unanswered_port} within 0.3 s"


def test_an_empty_reply_is_a_message(connect: Connect) -> None:
    transport, peer = connect()
    peer.sendall(b"\n")
    assert transport.read_until(b"\n") == b""


def test_an_empty_reply_already_buffered_is_taken_without_waiting(connect: Connect) -> None:
    transport, peer = connect(timeout=2.0)
    peer.sendall(b"A\n\n")  # one segment: "A", then an empty reply, nothing after
    assert transport.read_until(b"\n") == b"A"
    assert transport.read_until(b"\n") == b""  # from the buffer: no wait for more bytes


def test_a_two_byte_terminator_split_across_reads(connect: Connect) -> None:
    transport, peer = connect()
    peer.sendall(b"x\r\nab\r")  # one segment: "ab\r" waits in the buffer
    assert transport.read_until(b"\r\n") == b"x"
    peer.sendall(b"\n")
    assert transport.read_until(b"\r\n") == b"ab"


def test_replies_already_buffered_are_taken_one_at_a_time(connect: Connect) -> None:
    transport, peer = connect()
    peer.sendall(b"1\n2\n3\n")  # one segment: three replies in one receive
    assert [transport.read_until(b"\n") for _ in range(3)] == [b"1", b"2", b"3"]


def test_with_a_zero_timeout_a_read_takes_only_what_has_arrived(connect: Connect) -> None:
    transport, peer = connect()
    peer.sendall(b"ok\nabc")
    assert transport.read_until(b"\n") == b"ok"  # "abc" stays buffered
    transport.timeout = 0.0
    with pytest.raises(TimeoutError, match=r"^3 of 10 bytes arrived$"):
        transport.read_into(memoryview(bytearray(10)))
    with pytest.raises(TimeoutError, match=r"^3 of 200000 bytes arrived$"):
        transport.read_into(memoryview(bytearray(200_000)))


def test_a_write_the_instrument_does_not_take_in_times_out(connect: Connect) -> None:
    transport, _ = connect(timeout=0.5)
    assert transport.drain(0.05, 1.0) == 0  # leaves the socket's timeout as it found it
    data = bytes(32 << 20)  # more than the kernel buffers of both ends; the peer never reads
    with pytest.raises(TimeoutError, match=rf"^write of {len(data)} bytes did not complete$"):
        transport.write(data)


def test_a_small_read_takes_exactly_its_bytes_and_leaves_the_rest(connect: Connect) -> None:
    transport, peer = connect()
    peer.sendall(b"0123456789")
    buffer = bytearray(10)
    transport.read_into(memoryview(buffer))
    assert buffer == b"0123456789"
    peer.sendall(b"#15abcdeOK\n")
    assert transport.read_exact(2) == b"#1"
    assert transport.read_exact(6) == b"5abcde"
    assert transport.read_until(b"\n") == b"OK"


def test_a_read_timeout_is_the_sessions_timeout_naming_instrument_and_progress(
    connect: Connect,
) -> None:
    transport, peer = connect(timeout=0.3)
    session = Session(transport, name="dmm")
    with pytest.raises(Timeout) as caught:
        session.query("MEAS?")
    assert str(caught.value).startswith(
        f"dmm: command 'MEAS?': no complete reply within 0.3 s{HINT}"
    )  # no "(...)": a reply has no progress to report
    assert peer.recv(64) == b"MEAS?\n"
    peer.sendall(b"+1.5E+00\r")  # a reply with another terminator: shown as it came
    with pytest.raises(Timeout) as caught:
        session.read(command="MEAS?")
    assert str(caught.value).startswith(
        "dmm: command 'MEAS?': no complete reply within 0.3 s (9 bytes arrived without the "
        "terminator b'\\n': b'+1.5E+00\\r'); check"
    )
    transport.read_exact(9)  # what the session left pending
    peer.sendall(b"#210abc")
    with pytest.raises(Timeout, match=r"within 0\.3 s \(3 of 10 bytes arrived\)"):
        session.read_block(command="CURV?")


def test_a_large_read_that_stops_coming_says_how_far_it_got(connect: Connect) -> None:
    transport, peer = connect(timeout=0.5)
    peer.sendall(bytes(100_000))
    buffer = bytearray(200_000)
    with pytest.raises(TimeoutError) as caught:
        transport.read_into(memoryview(buffer))
    assert str(caught.value) == "100000 of 200000 bytes arrived"


@pytest.mark.parametrize("size", [10, 200_000])
def test_a_peer_that_hangs_up_mid_reply_is_connection_lost(connect: Connect, size: int) -> None:
    transport, peer = connect()
    session = Session(transport, name="scope")
    peer.sendall(b"\x01")
    peer.close()
    with pytest.raises(ConnectionFailed) as caught:
        session.read_bytes(size, command="WAV:DATA?")
    where = f" after 1 of {size} bytes" if size >= 1 << 16 else ""
    assert str(caught.value) == (
        f"scope: command 'WAV:DATA?': connection lost: connection closed by the instrument{where}"
    )


@pytest.mark.parametrize(
    ("size", "where"), [(10, ""), (200_000, " after 0 of 200000 bytes arrived")]
)
def test_a_reset_connection_says_the_read_failed(connect: Connect, size: int, where: str) -> None:
    transport, peer = connect()
    reset(peer)
    with pytest.raises(ConnectionError, match=rf"^read failed{where}: .*reset by peer"):
        transport.read_into(memoryview(bytearray(size)))


def test_a_write_to_a_reset_connection_says_the_write_failed(connect: Connect) -> None:
    transport, peer = connect()
    reset(peer)

    def write_until_refused() -> None:
        for _ in range(100):  # a send may still be buffered before the reset is seen
            transport.write(b"*IDN?\n")

    with pytest.raises(ConnectionError, match=r"^write failed: "):
        write_until_refused()


def test_drain_counts_what_was_buffered_and_what_arrived(connect: Connect) -> None:
    transport, peer = connect()
    peer.sendall(b"ok\n" + b"x" * 50)
    assert transport.read_until(b"\n") == b"ok"  # 50 bytes stay buffered
    peer.sendall(b"y" * 30)
    assert transport.drain(0.2, 5.0) == 80
    peer.sendall(b"+1\n")
    assert transport.read_until(b"\n") == b"+1"
    assert transport._sock.gettimeout() == 1.0


def test_drain_gives_up_on_a_peer_that_never_goes_quiet(connect: Connect, chattering: Any) -> None:
    transport, peer = connect()
    with chattering(peer.sendall):
        assert transport.drain(2.0, 0.3) == -1


@pytest.mark.parametrize("ending", ["close", "reset"])
def test_drain_reports_a_lost_connection(connect: Connect, ending: str) -> None:
    transport, peer = connect()
    if ending == "close":
        peer.close()
        message = r"^connection closed by the instrument$"
    else:
        reset(peer)
        message = r"^read failed: .*reset by peer"
    with pytest.raises(ConnectionError, match=message):
        transport.drain(1.0, 5.0)


def test_a_reply_that_trickles_in_ends_at_the_deadline_and_the_next_read_waits_again(
    connect: Connect,
) -> None:
    transport, peer = connect(timeout=1.0)
    finished = threading.Event()
    stop = threading.Event()

    def trickle() -> None:  # a byte every 50 ms, never a terminator, for up to 20 s
        for _ in range(400):
            if stop.wait(0.05):
                return
            peer.sendall(b".")
        finished.set()

    dripping = threading.Thread(target=trickle)
    dripping.start()
    try:
        with pytest.raises(TimeoutError):
            transport.read_until(b"\n")
        assert not finished.is_set(), "the read went on past its deadline while bytes came"
    finally:
        stop.set()
        dripping.join()
    # The trickle shortened the socket's timeout for the read's last waits: the next read
    # waits its whole timeout again (a lower bound, which load cannot break).
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        transport.read_until(b"\n")
    assert time.monotonic() - started >= 0.8


def test_abort_wakes_a_blocked_read_and_may_follow_close(connect: Connect) -> None:
    transport, _ = connect(timeout=30)
    errors: list[BaseException] = []

    def read() -> None:
        try:
            transport.read_until(b"\n")
        except OSError as error:
            errors.append(error)

    reader = threading.Thread(target=read)
    reader.start()
    transport.abort()
    reader.join(10)
    assert not reader.is_alive()
    assert isinstance(errors[0], ConnectionError)
    transport.close()
    transport.abort()  # on a closed socket: nothing to shut down, no error
