"""PyMeasure instruments through ik.adapt, on the simulated lab's models."""

from __future__ import annotations

import pytest
from pymeasure.instruments.hp import HP34401A
from pymeasure.instruments.keithley import Keithley2000

import instrumentkit as ik
from instrumentkit.errors import ConfigError, Timeout


def _keithley(lab, timeout_ms: int = 1000) -> Keithley2000:
    return Keithley2000(
        lab.resource("keithley"), timeout=timeout_ms, read_termination="\n",
        write_termination="\n",
    )  # fmt: skip


def test_keithley_2000_reads_voltage_with_the_units_given(lab):
    model = lab.device("keithley")
    model.sources["VOLT:DC"].offset = 2.5
    sensor = ik.adapt(_keithley(lab), name="k2000", channels=["voltage"], units={"voltage": "V"})
    sensor.apply_settings({"mode": "voltage"}, field="settings")  # CONFigure: one-shot
    reading = sensor.read()
    assert reading.channels == ("voltage",)
    assert reading.units == ("V",)
    assert reading.value == pytest.approx(2.5, rel=1e-3)
    assert isinstance(sensor, ik.Sensor)
    sensor.close()


def test_snapshot_reads_every_control_and_measurement_with_errors_per_property(lab):
    sensor = ik.adapt(_keithley(lab, timeout_ms=300), name="k2000")
    lab.device("keithley").nplc["VOLT:DC"] = 0.1
    snapshot = sensor.snapshot()
    properties = snapshot["properties"]
    assert properties["voltage_nplc"] == pytest.approx(0.1)
    assert properties["mode"] == "voltage"
    assert properties["id"].startswith("KEITHLEY INSTRUMENTS INC.,MODEL 2000")
    # Continuous initiation after power-up: READ? is refused, and only `voltage` says so.
    assert "error" in properties["voltage"]
    assert "k2000" in properties["voltage"]["error"]
    assert "'voltage'" in properties["voltage"]["error"]
    assert (
        snapshot["driver"] == "pymeasure:pymeasure.instruments.keithley.keithley2000.Keithley2000"
    )
    sensor.close()


def test_a_value_the_property_validator_refuses_is_named_and_nothing_is_sent(lab):
    model = lab.device("keithley")
    sensor = ik.adapt(_keithley(lab), name="k2000")
    with pytest.raises(ConfigError) as caught:
        sensor.apply_settings({"voltage_range": 10, "mode": "volts"}, field="settings")
    assert caught.value.field == "settings.mode"
    assert sensor.obj.ask("*OPC?").strip() == "1"  # anything sent would be handled by now
    assert model.ranges["VOLT:DC"] == 1000  # the valid range before it was not written
    sensor.close()


def test_a_foreign_timeout_is_our_timeout_naming_instrument_and_property(lab):
    sensor = ik.adapt(_keithley(lab, timeout_ms=200), name="k2000", channels=["voltage"])
    with pytest.raises(Timeout) as caught:  # READ? in continuous mode: no reply
        sensor.read()
    assert caught.value.instrument == "k2000"
    assert "'voltage'" in str(caught.value)
    sensor.close()


def test_hp_34401a_driver_on_the_34461a_model(lab):
    lab.device("dmm").sources["VOLT"].offset = -0.75
    meter = HP34401A(
        lab.resource("dmm"), timeout=1000, read_termination="\n", write_termination="\n"
    )
    sensor = ik.adapt(meter, name="hp", channels=["reading"], units={"reading": "V"})
    assert sensor.read().value == pytest.approx(-0.75, rel=1e-3)
    sensor.close()


def test_adapt_refuses_other_objects_and_unknown_properties(lab):
    with pytest.raises(TypeError, match="PyMeasure or QCoDeS"):
        ik.adapt(object())
    with pytest.raises(ConfigError, match="no property 'volts'"):
        ik.adapt(_keithley(lab), channels=["volts"])
