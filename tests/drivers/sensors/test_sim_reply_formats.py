"""Sensor sims answer in their manuals' number formats, as bytes on a real socket.

Lake Shore readings are `+nnnnnn` (no exponent) in the lab model and the pyvisa-sim
YAML; Keysight 344xx readings are `+1.23456789E+00`.
"""

from __future__ import annotations

import re
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import pyvisa

from instrumentkit.drivers.keysight.dmm344xx_sim import Keysight34461AModel
from instrumentkit.drivers.lakeshore import LakeShore335, LakeShore336
from instrumentkit.drivers.lakeshore.model33x_sim import LakeShore336Model
from instrumentkit.sim import Device, ManualClock, serve
from instrumentkit.simfiles import sim_path

LAKESHORE_READING = re.compile(r"[+-](?=[\d.]{7}$)\d+\.\d+")  # six digits, point floating
KEYSIGHT_READING = re.compile(r"[+-]\d\.\d{8}E[+-]\d{2}")


@pytest.fixture
def wire() -> Iterator[object]:
    """ask(model, message, end) -> the reply's bytes, terminator included."""
    servers = []

    def ask(model: Device, message: str, end: bytes) -> bytes:
        server = serve({"device": model})
        servers.append(server)
        port = int(server.resource("device").split("::")[2])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as link:
            link.sendall(message.encode() + end)
            reply = b""
            while not reply.endswith(end):
                chunk = link.recv(65536)
                assert chunk, reply
                reply += chunk
        return reply

    yield ask
    for server in servers:
        server.close()


def test_lakeshore_lab_readings_are_six_digit_fixed_point(wire) -> None:
    model = LakeShore336Model(clock=ManualClock(), seed=1)
    reply = wire(model, "KRDG? 0", b"\r\n")
    assert reply.endswith(b"\r\n")
    readings = reply[:-2].decode().split(",")
    assert len(readings) == 4
    assert all(LAKESHORE_READING.fullmatch(r) for r in readings), readings
    assert readings[0].startswith("+4.")  # 4.2 K: +4.nnnnn
    assert readings[2].startswith("+29")  # room temperature: +29n.nnn
    for query in ("KRDG? A", "CRDG? A", "SRDG? A"):
        text = wire(model, query, b"\r\n")[:-2].decode()
        assert LAKESHORE_READING.fullmatch(text), (query, text)


@pytest.mark.parametrize("driver", [LakeShore335, LakeShore336])
def test_lakeshore_yaml_readings_are_six_digit_fixed_point(driver, tmp_path: Path) -> None:
    path = tmp_path / "lakeshore.yaml"
    shutil.copyfile(sim_path(driver), path)
    rm = pyvisa.ResourceManager(f"{path}@sim")
    try:
        controller = rm.open_resource(
            driver.sim_resource, read_termination="\r\n", write_termination="\r\n"
        )
        readings = [controller.query("KRDG? A"), controller.query("SRDG? A")]
        readings += controller.query("KRDG? 0").split(",")
        assert all(LAKESHORE_READING.fullmatch(r) for r in readings), readings
    finally:
        rm.close()


def test_keysight_lab_readings_have_nine_significant_digits(wire) -> None:
    model = Keysight34461AModel(clock=ManualClock(), seed=1)
    reply = wire(model, "READ?", b"\n").decode()
    assert KEYSIGHT_READING.fullmatch(reply[:-1]), reply
