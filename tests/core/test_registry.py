"""Driver registry and ik.open: entry points, IDN matching, clear failures."""

from __future__ import annotations

import pytest

import instrumentkit as ik
from instrumentkit.drivers.keysight import Keysight34461A, Keysight34465A
from instrumentkit.registry import driver_by_name, match_driver


def test_project_drivers_are_registered_through_entry_points():
    registered = ik.registered_drivers()
    assert Keysight34461A in registered
    assert Keysight34465A in registered


@pytest.mark.parametrize(
    ("idn", "driver"),
    [
        ("Keysight Technologies,34461A,MY1,A.03", Keysight34461A),
        ("Agilent Technologies,34465A,MY1,A.01", Keysight34465A),
        ("ACME,Widget,1,1", None),
    ],
)
def test_match_driver(idn, driver):
    assert match_driver(idn) is driver


def test_unknown_instrument_lists_close_matches(line_server):
    server = line_server(lambda line: b"Keysight Technologies,34470A,MY1,A.01\n")
    with pytest.raises(ik.DriverNotFound, match=r"34470A.*closest: Keysight344"):
        ik.open(server.resource)


def test_silent_instrument_suggests_naming_the_driver(line_server):
    server = line_server(lambda line: None)
    with pytest.raises(ik.DriverNotFound, match="driver=") as caught:
        ik.open(server.resource, timeout=0.2)
    assert isinstance(caught.value.__cause__, ik.Timeout)


def test_driver_by_name_with_suggestion():
    assert driver_by_name("keysight34461a") is Keysight34461A
    with pytest.raises(ik.DriverNotFound, match="did you mean Keysight34461A"):
        driver_by_name("Keysight34461")


def test_open_with_named_driver(line_server):
    server = line_server(lambda line: b"+1.00000000E+01\n" if line == b"VOLT:DC:NPLC?" else None)
    with ik.open(server.resource, driver="Keysight34461A") as dmm:
        assert dmm.nplc == 10.0
    assert server.received == [b"VOLT:DC:NPLC?"]
