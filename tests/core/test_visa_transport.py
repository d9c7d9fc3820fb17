"""VisaTransport over pyvisa-py (a loopback peer the test drives) and pyvisa-sim.

The peer is the accepted end of the transport's own raw socket (`TCPIP::...::SOCKET`), in
the test's thread: what it sends is exact, so no thread and no sleep is needed.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest
from pyvisa import constants
from pyvisa.errors import VisaIOError

from instrumentkit import Session, Timeout
from instrumentkit.drivers.keysight import Keysight34461A
from instrumentkit.simfiles import sim_backend
from instrumentkit.visa_transport import VisaTransport, _as_builtin, resource_manager

Connect = Callable[..., tuple[VisaTransport, socket.socket]]
Status = constants.StatusCode


@pytest.fixture
def connect(accepted_peer: Any) -> Connect:
    """A VisaTransport on pyvisa-py and the peer socket at its other end."""
    return lambda timeout=1.0: accepted_peer(
        lambda port: VisaTransport(
            f"TCPIP::127.0.0.1::{port}::SOCKET", backend="@py", timeout=timeout
        )
    )


def receive(peer: socket.socket, count: int) -> bytes:
    data = b""
    peer.settimeout(5)  # a missing byte fails the test, not hangs it
    while len(data) < count and (chunk := peer.recv(count - len(data))):
        data += chunk
    return data


def test_bytes_go_out_as_given_and_the_timeout_reaches_visa(connect: Connect) -> None:
    transport, peer = connect(timeout=0.25)
    assert transport.resource == f"TCPIP0::127.0.0.1::{peer.getsockname()[1]}::SOCKET"
    assert transport.visa.timeout == 250
    transport.write(b"*IDN?\n")
    transport.write(b"BIN \x00\n\r")
    assert receive(peer, 13) == b"*IDN?\nBIN \x00\n\r"  # nothing added, nothing dropped
    transport.timeout = 2
    assert (transport.timeout, transport.visa.timeout) == (2, 2000)
    transport.visa.write("RAW")  # the pyvisa resource itself, used directly, adds nothing either
    transport.write(b"END\n")
    assert receive(peer, 7) == b"RAWEND\n"


def test_without_a_backend_the_default_visa_library_is_used(accepted_peer: Any) -> None:
    transport, peer = accepted_peer(
        lambda port: VisaTransport(f"TCPIP::127.0.0.1::{port}::SOCKET", timeout=1)
    )
    transport.write(b"*IDN?\n")
    assert receive(peer, 6) == b"*IDN?\n"


def test_replies_end_at_the_terminator_and_binary_reads_ignore_it(connect: Connect) -> None:
    transport, peer = connect()
    peer.sendall(b"+1.5\n#16a\nb\r\ncOK\n")
    assert transport.read_until(b"\n") == b"+1.5"
    assert transport.read_exact(3) == b"#16"
    assert transport.read_exact(6) == b"a\nb\r\nc"  # the terminator bytes are data here
    assert transport.read_until(b"\n") == b"OK"  # and a terminator again after it


def test_a_two_byte_terminator_is_not_ended_by_its_last_byte_alone(connect: Connect) -> None:
    transport, peer = connect()
    peer.sendall(b"a\nb\r\n")
    assert transport.read_until(b"\r\n") == b"a\nb"
    peer.sendall(b"\r\n")
    assert transport.read_until(b"\r\n") == b""


@pytest.mark.filterwarnings("error")  # a read ending at its count is no warning for the user
def test_replies_longer_than_one_visa_read(connect: Connect) -> None:
    transport, peer = connect(timeout=5)
    text = bytes(range(32, 127)) * 30_000  # 2.85 MB, no terminator inside
    peer.sendall(text + b"\n")
    assert transport.read_until(b"\n") == text
    block = bytes(range(256)) * 10_000  # 2.56 MB, terminators inside
    peer.sendall(block)
    received = bytearray(len(block))
    transport.read_into(memoryview(received))
    assert received == block


def test_timeouts_are_the_sessions_naming_instrument_and_progress(connect: Connect) -> None:
    transport, _ = connect(timeout=0.3)
    session = Session(transport, name="psu")
    with pytest.raises(Timeout) as caught:
        session.query("VOLT?")
    assert str(caught.value).startswith(
        "psu: command 'VOLT?': no complete reply within 0.3 s (read failed); check"
    )
    with pytest.raises(Timeout, match=r"\(read failed after 0 of 10 bytes\)"):
        session.read_bytes(10, command="CURV?")


@pytest.mark.parametrize(
    ("code", "kind", "message"),
    [
        (Status.error_timeout, TimeoutError, "read failed"),
        (Status.error_connection_lost, ConnectionError, "read failed: "),
        (Status.error_invalid_object, ConnectionError, "read failed: "),
        (Status.error_closing_failed, ConnectionError, "read failed: "),
        (Status.error_io, ConnectionError, "read failed: "),
        (Status.error_resource_busy, OSError, "read failed: "),
    ],
)
def test_visa_status_codes_become_builtin_errors(code, kind, message) -> None:
    error = _as_builtin(VisaIOError(code), "read failed")
    assert type(error) is kind
    assert str(error).startswith(message)
    if kind is not TimeoutError:  # VISA's own description of the code follows
        assert str(error) == f"read failed: {VisaIOError(code).description}"


@pytest.mark.parametrize(
    ("resource", "reason"),
    [
        ("NOT A RESOURCE", "Invalid resource reference specified. Parsing error."),
        ("GPIB0::7::INSTR", "Please install linux-gpib"),  # pyvisa-py without a GPIB driver
    ],
)
def test_a_resource_that_cannot_be_opened_is_named(resource: str, reason: str) -> None:
    with pytest.raises(ConnectionError) as caught:
        VisaTransport(resource, backend="@py", timeout=1)
    assert str(caught.value).startswith(f"cannot open {resource}: {reason}")


@pytest.mark.parametrize(("timeout", "waited"), [(0.1, "0.5"), (0.7, "0.7")])
def test_an_open_nobody_answers_gives_up_after_the_timeout_or_half_a_second(
    unanswered_port: int, timeout: float, waited: str
) -> None:
    resource = f"TCPIP::127.0.0.1::{unanswered_port}::SOCKET"
    with pytest.raises(TimeoutError) as caught:
        VisaTransport(resource, backend="@py", timeout=timeout)
    assert str(caught.value) == f"no answer while opening within {waited} s"


@pytest.mark.filterwarnings("error")  # reads ending at their count are no warning either
def test_drain_counts_every_whole_read(connect: Connect) -> None:
    transport, peer = connect()
    sender = threading.Thread(target=peer.sendall, args=(bytes(2 << 20),))
    sender.start()
    assert transport.drain(0.3, 10.0) == 2 << 20  # two reads of 1 MiB, then a quiet one
    sender.join()


def test_drain_gives_up_on_a_stream_that_goes_on_past_its_limit(connect: Connect) -> None:
    transport, peer = connect(timeout=2)
    stop = threading.Event()

    def stream() -> None:  # megabytes as fast as they are read, until told to stop
        peer.settimeout(5)
        with contextlib.suppress(OSError):
            while not stop.is_set():
                peer.sendall(bytes(1 << 20))

    streamer = threading.Thread(target=stream)
    streamer.start()
    try:
        assert transport.drain(1.0, 0.2) == -1
        assert transport.visa.timeout == 2000
    finally:
        stop.set()
        transport.close()  # unblocks the last send
        streamer.join()


def test_one_resource_manager_per_backend_made_again_once_closed(sim_copy: str) -> None:
    assert resource_manager() is resource_manager("")  # the default VISA library
    first = resource_manager(sim_copy)
    assert resource_manager(sim_copy) is first
    assert resource_manager(sim_backend(Keysight34461A)) is not first
    first.close()
    again = resource_manager(sim_copy)
    assert again is not first
    assert Keysight34461A.sim_resource in again.list_resources()


def test_drain_counts_an_unread_reply_and_restores_the_timeout(sim_copy: str) -> None:
    with VisaTransport(Keysight34461A.sim_resource, backend=sim_copy, timeout=2) as transport:
        transport.write(b"*IDN?\n")
        reply = b"Keysight Technologies,34461A,MY57800001,A.03.01-02.40-03.01-00.52-03-01\n"
        assert transport.drain(0.1, 5.0) == len(reply)
        assert transport.visa.timeout == 2000
        transport.clear()  # pyvisa-sim has no device clear: nothing happens
        transport.write(b"*IDN?\n")
        assert transport.read_until(b"\n") == reply[:-1]
        transport.write(b"*IDN?\n")
        assert transport.read_until(b"") == reply  # no terminator: up to the message's end


def test_defaults_and_resource_options_reach_pyvisa(sim_copy: str) -> None:
    with VisaTransport(Keysight34461A.sim_resource, backend=sim_copy) as plain:
        assert (plain.timeout, plain.visa.timeout) == (5.0, 5000)
    resource = Keysight34461A.sim_resource
    with VisaTransport(resource, backend=sim_copy, chunk_size=1234) as tuned:
        assert tuned.visa.chunk_size == 1234


def test_closing_leaves_a_resource_it_was_given_open(sim_copy: str) -> None:
    given = resource_manager(sim_copy).open_resource(Keysight34461A.sim_resource)
    VisaTransport(given).close()
    again = VisaTransport(given)  # still open: usable by the next transport
    again.write(b"*IDN?\n")
    assert again.read_until(b"\n").startswith(b"Keysight Technologies,34461A,")
    owned = VisaTransport(Keysight34461A.sim_resource, backend=sim_copy)
    owned.close()
    with pytest.raises(Exception, match="Invalid session"):
        owned.visa.session  # noqa: B018
