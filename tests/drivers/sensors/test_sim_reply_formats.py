"""Sensor sims answer in their manuals' number formats, as bytes on a real socket.

Lake Shore readings are `+nnnnnn` (no exponent) in the lab model and the pyvisa-sim
YAML; Keysight 344xx readings are `+1.23456789E+00`.
"""

from __future__ import annotations

import re

import pytest

from instrumentkit.drivers.keysight.dmm344xx_sim import Keysight34461AModel
from instrumentkit.drivers.lakeshore import LakeShore335, LakeShore336
from instrumentkit.drivers.lakeshore.model33x_sim import LakeShore336Model
from instrumentkit.sim import ManualClock

LAKESHORE_READING = re.compile(r"[+-](?=[\d.]{7}$)\d+\.\d+")  # six digits, point floating
KEYSIGHT_READING = re.compile(r"[+-]\d\.\d{8}E[+-]\d{2}")


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
def test_lakeshore_yaml_readings_are_six_digit_fixed_point(driver, plain_sim) -> None:
    controller = plain_sim(driver)
    readings = [controller.query("KRDG? A"), controller.query("SRDG? A")]
    readings += controller.query("KRDG? 0").split(",")
    assert all(LAKESHORE_READING.fullmatch(r) for r in readings), readings


def test_keysight_lab_readings_have_nine_significant_digits(wire) -> None:
    model = Keysight34461AModel(clock=ManualClock(), seed=1)
    reply = wire(model, "READ?", b"\n").decode()
    assert KEYSIGHT_READING.fullmatch(reply[:-1]), reply
