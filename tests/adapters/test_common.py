"""Foreign errors into ours, driver names, QCoDeS names: no instrument needed."""

from __future__ import annotations

import pytest
import pyvisa

from instrumentkit.adapters import is_foreign
from instrumentkit.adapters._common import foreign_call, translate
from instrumentkit.adapters._qcodes import qcodes_name
from instrumentkit.errors import InstrumentError, Timeout, ValidationError


def test_a_visa_timeout_becomes_our_timeout_naming_instrument_and_property():
    error = translate(pyvisa.errors.VisaIOError(pyvisa.constants.VI_ERROR_TMO), "k", "voltage")
    assert isinstance(error, Timeout)
    assert error.instrument == "k"
    assert "reading 'voltage' failed: VisaIOError" in str(error)


def test_value_errors_are_validation_errors_only_when_setting():
    assert isinstance(translate(ValueError("no"), "k", "mode", setting=True), ValidationError)
    read = translate(ValueError("garbled"), "k", "mode")
    assert type(read) is InstrumentError
    assert "reading 'mode' failed: ValueError: garbled" in str(read)
    other = translate(pyvisa.errors.VisaIOError(pyvisa.constants.VI_ERROR_CONN_LOST), "k", "x")
    assert type(other) is InstrumentError


def test_foreign_call_passes_values_and_our_own_errors_through():
    assert foreign_call("k", "x", lambda: 5) == 5
    ours = Timeout("late", instrument="k")

    def fail() -> None:
        raise ours

    with pytest.raises(Timeout) as caught:
        foreign_call("k", "x", fail)
    assert caught.value is ours


def test_foreign_driver_names_and_qcodes_instrument_names():
    assert is_foreign("pymeasure:pymeasure.instruments.keithley.Keithley2000")
    assert is_foreign("qcodes:qcodes.instrument_drivers.Keysight.Keysight34465A")
    assert not is_foreign("Keysight34461A")
    assert not is_foreign("keysight:Keysight34461A")
    assert not is_foreign(None)
    assert qcodes_name("power-meter") == "power_meter"
    assert qcodes_name("2dmm") == "ik_2dmm"
