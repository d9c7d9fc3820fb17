"""A dropped connection is opened again by the next exchange (issue 10's "back in step for
the next exchange"): the failed exchange raises ConnectionFailed naming the instrument and
the command, the next one reconnects and is answered, on raw sockets, serial ports (by
pyserial URL) and VISA resources (pyvisa-py)."""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading
from collections.abc import Callable

import pytest

from instrumentkit.errors import ConnectionFailed, Timeout
from instrumentkit.serial_transport import SerialTransport
from instrumentkit.session import Session
from instrumentkit.socket_transport import SocketTransport
from instrumentkit.transport import Transport
from instrumentkit.visa_transport import VisaTransport


class DropsFirstConnection:
    """A loopback instrument that hangs up on its first client after reading one line, then
    answers `*IDN?` on the next connection. Records each connection's bytes. With `reset`
    it hangs up with a TCP reset (what a rebooting instrument's stack sends), which is how
    pyvisa-py tells a lost link: after a plain close its socket reads time out."""

    def __init__(self, reset: bool = False) -> None:
        self.reset = reset
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.received: list[bytes] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        with self.listener:
            first, _ = self.listener.accept()
            with first:
                self.received.append(self._line(first))
                if self.reset:
                    first.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            second, _ = self.listener.accept()
            with second:
                received = b""
                while line := self._line(second):
                    received += line
                    self.received[1:] = [received]
                    if line.strip() == b"*IDN?":
                        second.sendall(b"Acme,REBOOTED,1,1.0\n")

    @staticmethod
    def _line(peer: socket.socket) -> bytes:
        data = b""
        while not data.endswith(b"\n") and (chunk := peer.recv(1)):
            data += chunk
        return data

    def join(self) -> None:
        self._thread.join(10)


OPENERS: dict[str, Callable[[int], Transport]] = {
    "socket": lambda port: SocketTransport("127.0.0.1", port, timeout=2.0),
    "serial": lambda port: SerialTransport(f"socket://127.0.0.1:{port}", timeout=2.0),
    "visa": lambda port: VisaTransport(
        f"TCPIP::127.0.0.1::{port}::SOCKET", backend="@py", timeout=2.0
    ),
}


@pytest.mark.parametrize(
    ("kind", "reset"),
    # pyvisa-py reads a plainly closed socket as a timeout, not as a lost link: VISA is
    # tried with the reset a rebooting instrument's stack sends.
    [("socket", False), ("socket", True), ("serial", False), ("serial", True), ("visa", True)],
)
def test_the_exchange_after_a_dropped_connection_reconnects(
    kind: str, reset: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="instrumentkit.io")
    instrument = DropsFirstConnection(reset=reset)
    session = Session(OPENERS[kind](instrument.port), name="meter")
    try:
        with pytest.raises(ConnectionFailed) as caught:
            session.query("MEAS?")
        assert caught.value.instrument == "meter"
        assert caught.value.command == "MEAS?"
        assert session.link_lost
        assert session.query("*IDN?") == "Acme,REBOOTED,1,1.0"
        assert not session.link_lost
        assert session.in_step
        assert "meter: connection opened again" in caplog.messages
    finally:
        session.close()
        instrument.join()
    assert instrument.received == [b"MEAS?\n", b"*IDN?\n"]  # nothing else on the new link


def reconnect_refused(session: Session, match: str) -> ConnectionFailed:
    """The link drops on one query; the next one's reconnect fails saying `match`."""
    with pytest.raises(ConnectionFailed):
        session.query("MEAS?")
    with pytest.raises(ConnectionFailed, match=match) as caught:
        session.query("*IDN?")
    assert caught.value.command == "(reconnect)"
    return caught.value


@pytest.mark.parametrize("kind", ["socket", "serial"])
def test_an_instrument_still_down_fails_the_reconnect_by_name(kind: str) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]))
    thread.start()
    session = Session(OPENERS[kind](port), name="meter")
    thread.join(10)
    accepted[0].close()  # the instrument goes away and does not come back
    listener.close()
    says = {"socket": f"cannot connect to 127.0.0.1:{port}",
            "serial": f"cannot open socket://127.0.0.1:{port} again"}  # fmt: skip
    try:
        assert reconnect_refused(session, says[kind]).instrument == "meter"
        assert session.link_lost  # the next exchange tries again
        assert not session.in_step
    finally:
        session.close()


def test_a_visa_resource_opened_by_its_caller_is_not_reopened_behind_its_back() -> None:
    import pyvisa

    instrument = DropsFirstConnection(reset=True)
    manager = pyvisa.ResourceManager("@py")
    resource = manager.open_resource(f"TCPIP::127.0.0.1::{instrument.port}::SOCKET")
    session = Session(VisaTransport(resource, timeout=2.0), name="meter")  # type: ignore[arg-type]
    try:
        refused = reconnect_refused(session, "opened by its caller")
        assert refused.detail.endswith(
            "the VISA resource was opened by its caller: reopen it there"
        )
    finally:
        resource.close()
        manager.close()
        socket.create_connection(("127.0.0.1", instrument.port)).close()  # free its server
        instrument.join()


def test_a_timeout_resyncs_on_the_same_connection() -> None:
    """Only a lost link is reopened: after a timeout the instrument is still there, and the
    resync drains and syncs on the connection it has."""
    listener = socket.create_server(("127.0.0.1", 0))
    connections: list[bytes] = []

    def serve() -> None:
        with listener:
            peer, _ = listener.accept()
            with peer:
                received = b""
                while chunk := peer.recv(64):
                    received += chunk
                    if received.endswith(b"*IDN?\n"):
                        peer.sendall(b"Acme,SAME,1,1.0\n")
                connections.append(received)
            listener.settimeout(0.5)
            with contextlib.suppress(TimeoutError):
                connections.append(listener.accept()[0].recv(64))  # a second one: wrong

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    session = Session(
        SocketTransport("127.0.0.1", listener.getsockname()[1], timeout=0.3), name="meter"
    )
    try:
        with pytest.raises(Timeout):
            session.query("MEAS?")  # never answered
        assert not session.link_lost
        assert session.query("*IDN?") == "Acme,SAME,1,1.0"
    finally:
        session.close()
        thread.join(10)
    assert connections == [b"MEAS?\n*IDN?\n"]


@pytest.mark.timeout(30)  # a socket left without its timeout would block here for good
def test_a_reopened_socket_keeps_the_timeout_for_writes() -> None:
    """After a reconnect a write the instrument does not take in still times out (the new
    socket carries the transport's timeout, not none)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        transport = SocketTransport("127.0.0.1", listener.getsockname()[1], timeout=0.5)
        listener.accept()[0].close()
        transport.reopen()
        peer, _ = listener.accept()  # never reads
        try:
            data = bytes(32 << 20)  # more than the kernel buffers of both ends
            with pytest.raises(TimeoutError, match=rf"^write of {len(data)} bytes"):
                transport.write(data)
        finally:
            peer.close()
            transport.close()
