"""The AQ6370 sims answer in the manual's number format: `+1.55000000E-006`.

Bytes on the wire from both tiers: the lab model through the `iksim://` serial URL, the
pyvisa-sim YAML through plain pyvisa on a copy of the file (fresh pyvisa-sim state).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
import serial

from instrumentkit.drivers.yokogawa import YokogawaAQ6370D
from instrumentkit.drivers.yokogawa.aq6370 import _metres_to_nm
from instrumentkit.drivers.yokogawa.aq6370_sim import AQ6370DModel
from instrumentkit.sim import ManualClock, attach, detach

NR3 = re.compile(r"[+-]\d\.\d{8}E[+-]\d{3}")  # the manual's real numbers

Ask = Callable[[str], str]


def asker(write: Callable[[str], None], read: Callable[[], str]) -> Ask:
    """Send a message; a query's reply, or "" after checking a command left no error."""

    def ask(message: str) -> str:
        write(message)
        if message.endswith("?") or "? " in message:
            return read()
        write(":SYSTem:ERRor?")
        error = read()
        assert error == '0,"No error"', (message, error)
        return ""

    return ask


@pytest.fixture
def lab_model() -> Iterator[Ask]:
    attach("aq6370-formats", AQ6370DModel(clock=ManualClock(), seed=3))
    port = serial.serial_for_url("iksim://aq6370-formats", timeout=5)

    def read() -> str:
        line = port.readline()
        assert line.endswith(b"\n"), line
        return line[:-1].decode()

    yield asker(lambda message: port.write(message.encode() + b"\n"), read)
    port.close()
    detach("aq6370-formats")


@pytest.fixture
def yaml_sim(plain_sim) -> Ask:
    osa = plain_sim(YokogawaAQ6370D)
    return asker(osa.write, osa.read)


@pytest.fixture(params=["lab_model", "yaml_sim"])
def osa(request: pytest.FixtureRequest) -> Ask:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def test_defaults_have_three_exponent_digits(osa: Ask) -> None:
    assert osa(":SENSe:WAVelength:CENTer?") == "+1.55000000E-006"
    assert osa(":SENSe:WAVelength:STARt?") == "+1.54500000E-006"
    assert osa(":SENSe:WAVelength:STOP?") == "+1.55500000E-006"
    assert osa(":SENSe:WAVelength:SPAN?") == "+1.00000000E-008"
    assert osa(":SENSe:BANDwidth:RESolution?") == "+1.00000000E-010"
    assert _metres_to_nm(osa(":SENSe:WAVelength:CENTer?")) == 1550.0  # the driver reads it


def test_set_values_come_back_with_three_exponent_digits(osa: Ask) -> None:
    osa(":SENSe:WAVelength:STARt 9.800000E-07")  # as the driver writes it
    assert osa(":SENSe:WAVelength:STARt?") == "+9.80000000E-007"
    osa(":SENSe:BANDwidth:RESolution 2.000000E-11")
    assert osa(":SENSe:BANDwidth:RESolution?") == "+2.00000000E-011"
    osa(":SENSe:WAVelength:STOP 1.050000E-06")  # the fraction's leading zero kept
    assert osa(":SENSe:WAVelength:STOP?") == "+1.05000000E-006"


def test_bwidth_is_the_manuals_alias_of_bandwidth(osa: Ask) -> None:
    osa(":SENSe:BWIDth:RESolution 5.000000E-10")
    assert osa(":SENSe:BWIDth:RESolution?") == "+5.00000000E-010"


def test_lab_model_shares_one_resolution_between_the_aliases(lab_model: Ask) -> None:
    lab_model(":SENS:BWID 2.000000E-09")  # short form, [:RESolution] left out
    assert lab_model(":SENSe:BANDwidth:RESolution?") == "+2.00000000E-009"
    lab_model(":SENSe:BANDwidth:RESolution 2.000000E-11")
    assert lab_model(":SENSe:BWIDth?") == "+2.00000000E-011"


def test_ascii_traces_have_three_exponent_digits(osa: Ask) -> None:
    osa(":FORMat:DATA ASCii")
    osa(":INITiate")
    assert osa("*OPC?") == "1"
    for query in (":TRACe:X? TRA", ":TRACe:Y? TRA"):
        values = osa(query).split(",")
        assert len(values) >= 101
        assert all(NR3.fullmatch(v) for v in values), values[:3]


def test_lab_model_takes_the_manuals_optional_nodes(lab_model: Ask) -> None:
    """`[:SENSe]` and `[:RESolution]` may be left out, as the manual writes the headers."""
    lab_model(":WAV:CENT 1.310000E-06")
    assert lab_model(":SENSe:WAVelength:CENTer?") == "+1.31000000E-006"
    lab_model(":BWID 5.000000E-11")
    assert lab_model(":SENS:BAND:RES?") == "+5.00000000E-011"
    lab_model(":SWE:POIN 2001")
    assert lab_model(":SENSe:SWEep:POINts?") == "2001"
