"""Thorlabs PM100D/PM100USB: exact bytes, pyvisa-sim round trips, and the simulated lab."""

from __future__ import annotations

import pytest

import instrumentkit as ik
from instrumentkit.drivers.thorlabs import ThorlabsPM100D, ThorlabsPM100USB
from instrumentkit.drivers.thorlabs.pm100_sim import PM100DModel, PM100USBModel
from instrumentkit.errors import InstrumentReportedError, Timeout, ValidationError
from instrumentkit.parameters import UnknownChoiceWarning
from instrumentkit.sim import ManualClock, serve
from instrumentkit.testing import check_driver, expected_protocol

_NO_ERROR = ("SYST:ERR?", '0,"No error"')


def test_wavelength_is_checked_against_the_sensor_then_sent():
    pairs = [
        ("SENS:CORR:WAV? MIN", "4.000000E+02"),
        ("SENS:CORR:WAV? MAX", "1.100000E+03"),
        ("SENS:CORR:WAV 532", None),
        _NO_ERROR,
    ]
    with expected_protocol(ThorlabsPM100D, pairs) as meter:
        meter.wavelength = 532


def test_a_wavelength_outside_the_sensor_is_refused_after_asking_only():
    pairs = [("SENS:CORR:WAV? MIN", "4.000000E+02"), ("SENS:CORR:WAV? MAX", "1.100000E+03")]
    with (
        expected_protocol(ThorlabsPM100D, pairs) as meter,
        pytest.raises(ValidationError, match="covers 400 to 1100 nm"),
    ):
        meter.wavelength = 1550


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("wavelength", 50),
        ("wavelength", 30_000),
        ("averaging", 0),
        ("averaging", 10_001),
        ("power_unit", "furlongs"),
        ("measurement", "lux"),
        ("power_range", -1),
        ("beam_diameter", 0),
    ],
)
def test_bad_values_are_refused_before_sending(name, value):
    with expected_protocol(ThorlabsPM100D, []) as meter, pytest.raises(ValidationError):
        setattr(meter, name, value)


def test_read_in_dbm_and_energy():
    pairs = [
        ("CONF?", "POW"),
        ("SENS:POW:UNIT?", "DBM"),
        ("READ?", "-3.010300E+00"),
        ("CONF:ENER", None),
        _NO_ERROR,
        ("CONF?", "ENER"),
        ("READ?", "1.0E-04"),
        ("READ?", "1.1E-04"),
    ]
    with expected_protocol(ThorlabsPM100D, pairs) as meter:
        reading = meter.read()
        assert (reading.channels, reading.units, reading.value) == (("power",), ("dBm",), -3.0103)
        meter.measurement = "energy"
        energies = meter.read_many(2)
    assert energies.units == ("J",)
    assert energies.values[:, 0].tolist() == [1.0e-4, 1.1e-4]


@pytest.mark.parametrize(
    ("token", "name", "units"),
    [
        ("CURR", "current", "A"),
        ("TEMP", "temperature", "degC"),
        ("PDEN", "power_density", "W/cm^2"),
    ],
)
def test_every_configure_measurement_reads_with_its_units(token, name, units):
    pairs = [("CONF?", token), ("READ?", "2.5E-03")]
    with expected_protocol(ThorlabsPM100D, pairs) as meter:
        reading = meter.read()
    assert (reading.channels, reading.units) == ((name,), (units,))


def test_an_unknown_measurement_or_unit_reads_with_empty_units():
    pairs = [("CONF?", "LUX"), ("READ?", "1.0E+00"), ("CONF?", "POW"), ("SENS:POW:UNIT?", "NITS")]
    pairs += [("READ?", "1.0E+00")]
    with expected_protocol(ThorlabsPM100D, pairs) as meter:
        with pytest.warns(UnknownChoiceWarning, match="LUX"):
            assert meter.read().units == ("",)
        with pytest.warns(UnknownChoiceWarning, match="NITS"):
            assert meter.read().units == ("",)


@pytest.mark.parametrize("reply", ["", "nan", "inf"])
def test_garbage_readings_are_protocol_errors(reply):
    pairs = [("CONF?", "ENER"), ("READ?", reply)]
    with (
        expected_protocol(ThorlabsPM100D, pairs) as meter,
        pytest.raises(ik.ProtocolError, match=r"command 'READ\?'.*b'"),
    ):
        meter.read()


def test_instrument_errors_after_a_setting_are_raised():
    pairs = [("SENS:AVER:COUN 10", None), ("SYST:ERR?", '-222,"Data out of range"'), _NO_ERROR]
    with (
        expected_protocol(ThorlabsPM100D, pairs) as meter,
        pytest.raises(InstrumentReportedError, match="-222"),
    ):
        meter.averaging = 10


SETTINGS = [
    ("power_autorange", False),
    ("power_range", 0.001),
    ("power_unit", "dBm"),
    ("averaging", 300),
    ("measurement", "energy"),
    ("beam_diameter", 2.5),
    ("wavelength", 1064.0),
]


@pytest.mark.parametrize(("name", "value"), SETTINGS, ids=[s[0] for s in SETTINGS])
@pytest.mark.parametrize("driver", [ThorlabsPM100D, ThorlabsPM100USB])
def test_every_setting_round_trips_on_pyvisa_sim(sim_instrument, driver, name, value):
    meter = sim_instrument(driver)
    setattr(meter, name, value)
    assert getattr(meter, name) == value
    assert meter.drain_errors() == []


@pytest.mark.parametrize("driver", [ThorlabsPM100D, ThorlabsPM100USB])
def test_conformance_on_pyvisa_sim(driver):
    check_driver(driver)


# -- the simulated lab
@pytest.fixture
def lab_meter(over_tcp):
    model = PM100DModel(clock=ManualClock(), seed=4, power=2e-3, noise=1e-2)
    return model, over_tcp(ThorlabsPM100D, model, timeout=0.3)


def test_conformance_on_the_lab_model(lab_meter):
    check_driver(ThorlabsPM100D, lab_meter[1])
    assert lab_meter[1].sensor.startswith("S120C,")


def test_averaging_lowers_the_noise(lab_meter):
    _model, meter = lab_meter
    meter.averaging = 1
    single = meter.read_many(300).values[:, 0]
    meter.averaging = 100
    averaged = meter.read_many(300).values[:, 0]
    assert single.mean() == pytest.approx(2e-3, rel=3e-3)
    assert averaged.mean() == pytest.approx(2e-3, rel=1e-3)
    assert single.std() > 5 * averaged.std()


def test_dbm_and_the_sensors_span(lab_meter):
    _model, meter = lab_meter
    meter.power_unit = "dBm"
    assert meter.read().value == pytest.approx(3.0103, abs=0.1)
    assert meter.wavelength_limits() == (400.0, 1100.0)
    meter.wavelength = 980
    assert meter.wavelength == 980.0
    with pytest.raises(ValidationError, match="covers"):
        meter.wavelength = 1310


def test_energy_needs_a_pyroelectric_sensor(lab_meter, over_tcp):
    _, meter = lab_meter
    with pytest.raises(InstrumentReportedError, match="-221"):
        meter.measurement = "energy"
    assert meter.measurement == "power"
    pyro = over_tcp(ThorlabsPM100D, PM100DModel(clock=ManualClock(), sensor="ES111C", energy=5e-4))
    pyro.measurement = "energy"
    reading = pyro.read()
    assert reading.units == ("J",)
    assert reading.value == pytest.approx(5e-4, rel=0.05)


def test_a_lost_reply_is_a_timeout(lab_meter):
    model, meter = lab_meter
    model.faults.inject("no_reply", on="READ?")
    with pytest.raises(Timeout, match="READ"):
        meter.read()


def test_ik_open_tells_the_usb_model_apart():
    with serve({"meter": PM100USBModel(clock=ManualClock(), seed=1)}) as lab:
        found = ik.open(lab.resource("meter"))
        try:
            assert type(found) is ThorlabsPM100USB
        finally:
            found.close()


def test_measure_power_reconfigures_for_power(lab_meter):
    _model, meter = lab_meter
    meter.power_unit = "W"
    assert meter.power == pytest.approx(2e-3, rel=0.05)
    assert meter.measurement == "power"
