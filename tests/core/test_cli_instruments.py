"""`instrumentkit list` and `drivers` as a user reads them: no artefacts, no noise, no cuts."""

from __future__ import annotations

import json
import warnings

import pytest
from click.testing import CliRunner
from pyvisa import constants
from pyvisa_py.sessions import Session

from instrumentkit import discovery
from instrumentkit.cli import main


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_drivers_piped_into_a_file_is_not_cut():
    result = run("drivers")
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    assert "KeysightInfiniiVisionTwoChannel" in result.output
    assert "instrumentkit.drivers.keysight.infiniivision" in result.output
    assert r"^(KEYSIGHT|AGILENT) TECHNOLOGIES,[DM]SO-?X ?[234]\d\d4[AGT]?," in result.output


class FakeBus:
    """Stands in for a pyvisa-py session class; nothing is sent anywhere."""

    resources: list[str] = []
    warning = ""

    @classmethod
    def list_resources(cls) -> list[str]:
        if cls.warning:
            warnings.warn(cls.warning, UserWarning, stacklevel=1)
        return cls.resources


def bus(resources: list[str], warning: str = "") -> type[FakeBus]:
    return type("Bus", (FakeBus,), {"resources": resources, "warning": warning})


@pytest.fixture
def fake_buses(monkeypatch):
    """pyvisa-py's buses as they look on a PC with a serial port and a GPIB card."""
    classes = {
        (constants.InterfaceType.prlgx_asrl, "INTFC"): bus(["PRLGX-ASRL::/dev/ttyS0::INTFC"]),
        (constants.InterfaceType.gpib, "INSTR"): bus(
            ["GPIB0::12::INSTR", "GPIB0::INTFC"], "GPIB discovery needs psutil"
        ),
        (constants.InterfaceType.tcpip, "INSTR"): bus(
            ["TCPIP::127.0.0.1::INSTR"],
            "TCPIP::hislip resource discovery requires the zeroconf package",
        ),
    }
    monkeypatch.setattr(Session, "iter_valid_session_classes", lambda: classes.items())
    monkeypatch.setattr(discovery, "_serial_ports", list)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), ["GPIB0::12::INSTR"]),
        (("--network",), ["GPIB0::12::INSTR", "TCPIP::127.0.0.1::INSTR"]),
    ],
)
def test_list_shows_instruments_only_and_no_warnings(fake_buses, args, expected):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run("list", "--json", *args)
    assert result.exit_code == 0, result.output
    assert [row["resource"] for row in json.loads(result.output)] == expected
    assert [str(w.message) for w in caught] == []
