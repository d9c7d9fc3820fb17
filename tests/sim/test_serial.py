"""The `iksim://` pyserial URL handler: settings, timeouts, buffers, models by URL, pyvisa ASRL."""

from __future__ import annotations

import time

import pytest
import serial

from instrumentkit.connect import open_transport
from instrumentkit.errors import ConnectionFailed
from instrumentkit.serial_transport import SerialTransport
from instrumentkit.session import Session
from instrumentkit.sim import ManualClock, attach, create, detach


@pytest.fixture
def gauge():
    device = create("test-gauge")
    attach("gauge", device)
    yield device
    detach("gauge")


def test_importing_the_kit_registers_the_scheme_once():
    import importlib

    import instrumentkit.sim

    importlib.reload(instrumentkit.sim)
    assert serial.protocol_handler_packages.count("instrumentkit.sim") == 1


def test_port_settings_are_visible_to_host_and_device(gauge):
    transport = SerialTransport(
        "iksim://gauge", baudrate=19200, bytesize=7, parity="E", stopbits=2, timeout=1.0
    )
    try:
        expected = {"baudrate": 19200, "bytesize": 7, "parity": "E", "stopbits": 2}
        assert expected.items() <= transport.settings.items()
        assert expected.items() <= gauge.line_settings.items()
        transport.port.baudrate = 9600
        assert gauge.line_settings["baudrate"] == 9600
    finally:
        transport.close()


def test_non_scpi_single_byte_protocol(gauge):
    port = serial.serial_for_url("iksim://gauge", timeout=1.0)
    try:
        port.write(b"\x05")
        assert port.read(1) == b"\x06"
        port.write(b"P?")
        assert port.read_until(b"\r") == b"1.23E-05\r"
        assert port.read(1) == b"\x15"  # '?' is not a command: NAK
    finally:
        port.close()


def test_in_waiting_and_reset_input_buffer(gauge):
    port = serial.serial_for_url("iksim://gauge", timeout=1.0)
    try:
        port.write(b"\x05\x05\x05")
        deadline = time.monotonic() + 1.0
        while port.in_waiting < 3 and time.monotonic() < deadline:
            time.sleep(0.001)
        assert port.in_waiting == 3
        port.reset_input_buffer()
        assert port.in_waiting == 0
    finally:
        port.close()


def test_read_returns_short_at_the_port_timeout(gauge):
    port = serial.serial_for_url("iksim://gauge", timeout=0.05)
    try:
        port.write(b"\x05")
        assert port.read(10) == b"\x06"
        port.timeout = 0
        assert port.read(1) == b""
    finally:
        port.close()


def test_a_port_is_exclusive_like_real_hardware(gauge):
    first = serial.serial_for_url("iksim://gauge")
    try:
        with pytest.raises(serial.SerialException, match="busy"):
            serial.serial_for_url("iksim://gauge")
    finally:
        first.close()
    serial.serial_for_url("iksim://gauge").close()  # free again


def test_unknown_device_is_connection_failed_naming_it():
    with pytest.raises(ConnectionFailed, match="nothing-here"):
        open_transport("iksim://nothing-here")


def test_model_url_makes_a_fresh_seeded_instance():
    readings = []
    for _ in range(2):
        transport = open_transport("iksim://model/test-meter?seed=5&latency=0&clock=manual")
        session = Session(transport)
        assert isinstance(transport.port.device.clock, ManualClock)  # type: ignore[attr-defined]
        readings.append(session.query("READ?"))
        session.close()
    assert readings[0] == readings[1]


def test_model_url_values_are_read_like_user_yaml():
    url = "iksim://model/test-meter?latency=5e-4&seed=1&clock=manual"
    transport = open_transport(url)
    try:
        device = transport.port.device  # type: ignore[attr-defined]
        assert device.latency == 5e-4  # a string "5e-4" under YAML 1.1
    finally:
        transport.close()


def test_unknown_model_names_the_known_ones():
    with pytest.raises(ConnectionFailed, match="test-meter"):
        open_transport("iksim://model/no-such-model")


def test_byte_time_spends_the_transmission_time_at_the_baud_rate():
    url = "iksim://model/test-meter?byte_time=1&clock=manual"
    transport = open_transport(url, baudrate=1200)
    try:
        session = Session(transport)
        clock = transport.port.device.clock  # type: ignore[attr-defined]
        reply = session.query("*IDN?")
        assert clock.now() == pytest.approx((len(reply) + 1) * 10 / 1200)  # 8N1: 10 bits a byte
        transport.port.bytesize, transport.port.parity = 7, "E"  # type: ignore[attr-defined]
        session.query("*IDN?")
        assert clock.now() == pytest.approx((len(reply) + 1) * 20 / 1200)  # 7E1 is 10 bits too
    finally:
        transport.close()


def test_pyvisa_opens_the_url_as_an_asrl_resource(gauge):
    import pyvisa

    manager = pyvisa.ResourceManager("@py")
    device = create("test-meter")
    attach("asrl-meter", device)
    try:
        resource = manager.open_resource(
            "ASRLiksim://asrl-meter::INSTR", read_termination="\n", write_termination="\n"
        )
        assert resource.query("*IDN?") == "Acme,METER1,0001,1.0"
        resource.close()
    finally:
        detach("asrl-meter")
        manager.close()
