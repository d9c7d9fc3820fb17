"""Opening connections: every failure is an instrumentkit error naming the resource, in time."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest

import instrumentkit as ik
from instrumentkit.connect import parse_resource

# pyvisa-py gives up on a silent VXI-11 port mapper after ~5 s whatever the timeout asked
# for; an open that honours a 1 s timeout ends well before that, even on a loaded machine.
PYVISA_PY_OWN_WAIT = 5.0


@contextlib.contextmanager
def silent_listener(port: int) -> Iterator[list[socket.socket]]:
    """Accept connections on 127.0.0.1:`port` and never answer."""
    listener = socket.create_server(("127.0.0.1", port), backlog=8)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield held
    finally:
        listener.close()
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        thread.join(2)
        for connection in held:
            connection.close()


def _port_111_usable() -> str | None:
    if os.geteuid() != 0:
        return "listening on port 111 (the VXI-11 port mapper) needs root"
    probe = socket.socket()
    try:
        probe.bind(("127.0.0.1", 111))
    except OSError as error:
        return f"127.0.0.1:111 is taken ({error}); a real port mapper may be running"
    finally:
        probe.close()
    return None


@pytest.mark.skipif(_port_111_usable() is not None, reason=str(_port_111_usable()))
def test_silent_vxi11_port_mapper_times_out_naming_the_resource():
    with silent_listener(111) as held:
        started = time.monotonic()
        with pytest.raises(ik.Timeout) as caught:
            ik.open("TCPIP::127.0.0.1::INSTR", timeout=1.0)
        waited = time.monotonic() - started
        assert held, "pyvisa-py never reached the port mapper"
    assert isinstance(caught.value, ik.InstrumentError)
    assert caught.value.instrument == "TCPIP::127.0.0.1::INSTR"
    assert "TCPIP::127.0.0.1::INSTR" in str(caught.value)
    assert caught.value.timeout == 1.0
    assert waited < PYVISA_PY_OWN_WAIT - 1.0


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A port whose accept queue is full: further connects hang until their timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    queued = []
    for _ in range(3):
        client = socket.socket()
        client.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            client.connect(("127.0.0.1", port))
        queued.append(client)
    yield port
    for client in queued:
        client.close()
    listener.close()


@pytest.mark.parametrize("backend", [None, "@py"])
def test_a_connect_that_hangs_is_a_timeout_within_the_timeout(full_backlog, backend):
    resource = f"TCPIP::127.0.0.1::{full_backlog}::SOCKET"
    options = {"backend": backend} if backend else {}
    started = time.monotonic()
    with pytest.raises(ik.Timeout, match=r"within 0\.5 s") as caught:
        ik.open(resource, timeout=0.5, **options)
    assert caught.value.instrument == resource
    assert time.monotonic() - started < PYVISA_PY_OWN_WAIT - 1.0


def test_a_refused_connection_names_the_resource():
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    resource = f"TCPIP::127.0.0.1::{port}::SOCKET"
    with pytest.raises(ik.ConnectionFailed, match="refused") as caught:
        ik.open(resource, timeout=1.0)
    assert caught.value.instrument == resource


@pytest.mark.parametrize(
    "resource", ["COM99", "/dev/ttyIK-does-not-exist", "nosuchscheme://x", "GARBAGE::1"]
)
def test_unopenable_resources_are_connection_failed(resource):
    with pytest.raises(ik.ConnectionFailed) as caught:
        ik.open(resource, timeout=0.5)
    assert caught.value.instrument == resource


@pytest.mark.parametrize(
    ("resource", "transport", "serial_line"),
    [
        ("TCPIP::10.0.0.5::5025::SOCKET", "socket", False),
        ("TCPIP0::lab-dmm::INSTR", "visa", False),
        ("TCPIP::10.0.0.5::hislip0::INSTR", "hislip", False),
        ("TCPIP0::pi.local::hislip_dmm,4881::INSTR", "hislip", False),
        ("tcpip::pi.local::HISLIP0::instr", "hislip", False),
        ("TCPIP::pi.local::inst0::INSTR", "visa", False),
        ("USB0::0x2A8D::0x1301::MY57800001::INSTR", "visa", False),
        ("GPIB0::12::INSTR", "visa", False),
        ("ASRL1::INSTR", "visa", True),
        ("ASRLsocket://127.0.0.1:5000::INSTR", "visa", False),
        ("COM3", "serial", True),
        ("/dev/ttyUSB0", "serial", True),
        ("socket://127.0.0.1:5000", "serial", False),
        ("rfc2217://127.0.0.1:5000", "serial", True),
        ("iksim://model/lakeshore-336", "serial", True),
    ],
)
def test_parse_resource_names_the_transport_without_opening(resource, transport, serial_line):
    parsed = parse_resource(resource)
    assert (parsed.transport, parsed.serial_line) == (transport, serial_line)


def test_parse_resource_with_a_backend_is_always_visa():
    assert parse_resource("TCPIP::127.0.0.1::5025::SOCKET", backend="@py").transport == "visa"


@pytest.mark.parametrize(
    ("resource", "why"),
    [
        ("", "non-empty"),
        ("TCPIP::::INSTR", "host_address"),
        ("dmm on the bench", "not a resource"),
        ("nosuchscheme://x", "no URL handler"),
    ],
)
def test_parse_resource_refuses_what_cannot_be_opened(resource, why):
    with pytest.raises(ik.ConfigError, match=why):
        parse_resource(resource)


class LateManager:
    """A resource manager whose open finishes only when the test says so."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.closed = threading.Event()

    def open_resource(self, resource: str, **options: object) -> LateManager:
        self.release.wait(10)
        return self

    def close(self) -> None:
        self.closed.set()


def test_an_open_that_finishes_after_the_caller_gave_up_is_closed():
    from instrumentkit.visa_transport import _open_within

    manager = LateManager()
    with pytest.raises(TimeoutError, match=r"no answer while opening within 0\.5 s"):
        _open_within(manager, "TCPIP::127.0.0.1::INSTR", 0.1, {})  # type: ignore[arg-type]
    assert not manager.closed.is_set()
    manager.release.set()
    assert manager.closed.wait(10), "the late resource was left open"
