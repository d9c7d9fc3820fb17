"""Transports against real peers: pyserial loop://, a TCP server, pyvisa-sim."""

from __future__ import annotations

import numpy as np
import pytest
import serial

from instrumentkit import ConnectionFailed, open_transport
from instrumentkit.serial_transport import SerialTransport
from instrumentkit.socket_transport import SocketTransport
from instrumentkit.visa_transport import VisaTransport


def test_serial_loop_round_trip_and_settings():
    with SerialTransport(
        "loop://", baudrate=57600, bytesize=7, parity="O", stopbits=1, timeout=0.5
    ) as port:
        port.write(b"KRDG? A\r\n")
        assert port.read_until(b"\r\n") == b"KRDG? A"
        settings = port.settings
        assert (settings["baudrate"], settings["bytesize"], settings["parity"]) == (57600, 7, "O")


def test_serial_read_into_across_buffered_bytes():
    with SerialTransport("loop://", timeout=0.5) as port:
        port.write(b"HEAD\n" + bytes(range(200)))
        assert port.read_until(b"\n") == b"HEAD"
        buffer = bytearray(200)
        port.read_into(memoryview(buffer))
        assert bytes(buffer) == bytes(range(200))


def test_serial_timeout_raises_builtin_timeout():
    with SerialTransport("loop://", timeout=0.1) as port, pytest.raises(TimeoutError):
        port.read_until(b"\n")


def test_serial_unknown_port_is_connection_failed():
    with pytest.raises(ConnectionFailed, match="/dev/does-not-exist"):
        open_transport("/dev/does-not-exist")


def test_open_transport_picks_by_resource(line_server):
    server = line_server(lambda line: b"ok\n")
    with open_transport(server.resource) as transport:
        assert isinstance(transport, SocketTransport)
    with open_transport("loop://") as transport:
        assert isinstance(transport, SerialTransport)
    with pytest.raises(TypeError, match="unknown connection options"):
        open_transport("loop://", baud=9600)


def test_socket_transport_large_binary_payload(line_server):
    payload = np.random.default_rng(1).integers(0, 256, 3_000_000, dtype=np.uint8).tobytes()
    server = line_server(lambda line: payload)
    with SocketTransport("127.0.0.1", server.port, timeout=5) as transport:
        transport.write(b"DATA?\n")
        received = bytearray(len(payload))
        transport.read_into(memoryview(received))
        assert bytes(received) == payload


def test_visa_transport_on_pyvisa_sim():
    from instrumentkit.drivers.keysight import Keysight34461A
    from instrumentkit.simfiles import sim_backend

    backend = sim_backend(Keysight34461A)
    transport = open_transport(Keysight34461A.sim_resource, backend=backend, timeout=1)
    assert isinstance(transport, VisaTransport)
    with transport:
        transport.write(b"*IDN?\n")
        assert transport.read_until(b"\n").startswith(b"Keysight Technologies,34461A,")
        transport.write(b"SAMP:COUN?\n")
        assert transport.read_until(b"\n") == b"+1"


def test_visa_transport_wraps_an_open_resource():
    from instrumentkit.drivers.keysight import Keysight34461A
    from instrumentkit.simfiles import sim_backend
    from instrumentkit.visa_transport import resource_manager

    resource = resource_manager(sim_backend(Keysight34461A)).open_resource(
        Keysight34461A.sim_resource
    )
    with Keysight34461A(open_transport(resource)) as dmm:
        assert dmm.idn.model == "34461A"
    assert not isinstance(resource, serial.Serial)
