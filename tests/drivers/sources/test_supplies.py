"""Keysight E36312A and Rigol DP832: exact bytes, pyvisa-sim round trips, the simulated lab."""

from __future__ import annotations

import re

import pytest

import instrumentkit as ik
from instrumentkit.drivers.keysight import KeysightE36312A
from instrumentkit.drivers.keysight.e36300_sim import E36312AModel
from instrumentkit.drivers.rigol import RigolDP832
from instrumentkit.drivers.rigol.dp800_sim import DP832Model
from instrumentkit.errors import InstrumentReportedError, ValidationError
from instrumentkit.testing import expected_protocol


def test_e36312a_addresses_each_output_by_channel_list():
    pairs = [
        ("VOLT 5.0,(@1)", None),
        ("CURR 0.5,(@1)", None),
        ("OUTP ON,(@1)", None),
        ("VOLT? (@2)", "+1.20000000E+01"),
        ("OUTP? (@3)", "0"),
        ("MEAS:VOLT? (@1)", "+4.99990000E+00"),
        ("MEAS:CURR? (@1)", "+5.00000000E-03"),
        ("SYST:ERR?", '+0,"No error"'),
    ]
    with expected_protocol(KeysightE36312A, pairs) as psu:
        psu.channels[1].voltage = 5.0
        psu.channels[1].limit = 0.5
        psu.channels[1].output = True
        assert psu.channels[2].level == 12.0
        assert psu.channels[3].output is False
        assert psu.channels[1].measure_voltage() == pytest.approx(4.9999)
        assert psu.channels[1].measure_current() == pytest.approx(5e-3)
        psu.check_errors()


def test_dp832_speaks_its_own_dialect():
    pairs = [
        (":SOUR3:VOLT 3.3", None),
        (":SOUR1:CURR 1.5", None),
        (":OUTP CH2,ON", None),
        (":OUTP? CH2", "ON"),
        (":SOUR1:VOLT?", "12.000"),
        (":MEAS:CURR? CH1", "1.5000"),
        (":OUTP:MODE? CH1", "CC"),
        (":SYST:ERR?", '-221,"Settings conflict"'),
        (":SYST:ERR?", '0,"No error"'),
    ]
    with expected_protocol(RigolDP832, pairs) as psu:
        psu.channels[3].level = 3.3
        psu.channels[1].current_limit = 1.5
        psu.channels[2].output = True
        assert psu.channels[2].output is True
        assert psu.channels[1].voltage == 12.0
        assert psu.channels[1].measure_current() == 1.5
        assert psu.channels[1].regulation == "constant_current"
        with pytest.raises(InstrumentReportedError, match="-221"):
            psu.check_errors()


@pytest.mark.parametrize(
    ("driver", "channel", "setting", "value"),
    [
        (KeysightE36312A, 1, "voltage", 6.5),  # output 1 is a 6 V output
        (KeysightE36312A, 2, "current_limit", 1.5),  # outputs 2-3 are 1 A outputs
        (KeysightE36312A, 2, "voltage", -1.0),
        (RigolDP832, 3, "voltage", 5.5),  # output 3 is a 5 V output
        (RigolDP832, 1, "current_limit", 3.5),
    ],
)
def test_levels_beyond_an_outputs_rating_are_refused_before_sending(
    driver, channel, setting, value
):
    with expected_protocol(driver, []) as psu, pytest.raises(ValidationError, match=setting):
        setattr(psu.channels[channel], setting, value)


def test_each_output_has_its_rating_as_max_level_and_ramp_refuses_beyond_it():
    with expected_protocol(KeysightE36312A, []) as psu:
        assert psu.channels[1].safe_limits.max_level == 6.0
        assert psu.channels[2].safe_limits.max_level == 25.0
        with pytest.raises(ValidationError, match="max_level 6"):
            psu.channels[1].ramp_to(7.0)
        with pytest.raises(ValidationError, match="widen"):
            psu.channels[1].safe_limits = ik.SafeLimits(max_level=10.0)


def test_make_safe_reaches_every_output_and_reports_the_one_that_failed():
    pairs = [
        (":SOUR1:VOLT 0.0", None),
        (":OUTP CH1,OFF", None),
        (":SOUR2:VOLT 0.0", None),
        (":OUTP CH2,OFF", None),
        (":SOUR3:VOLT 0.0", None),
        (":OUTP CH3,OFF", None),
    ]
    with expected_protocol(RigolDP832, pairs) as psu:
        assert psu.make_safe() == []
    assert set(psu.source_outputs()) == {"1", "2", "3"}

    pairs = [
        (":SOUR1:VOLT 0.0", None),
        (":OUTP CH1,OFF", None),
        (":SOUR2:VOLT 0.0", None),
        (":SOUR3:VOLT 0.0", None),
        (":OUTP CH3,OFF", None),
    ]
    with expected_protocol(RigolDP832, pairs) as psu:
        real_write = psu.session.write

        def flaky_write(command: str, *args, **kwargs):
            if command == ":OUTP CH2,OFF":
                raise ik.ConnectionFailed("link dropped", instrument="psu", command=command)
            return real_write(command, *args, **kwargs)

        psu.session.write = flaky_write
        problems = psu.make_safe()
    assert len(problems) == 1
    assert "output off failed" in problems[0]
    assert "link dropped" in problems[0]


@pytest.mark.parametrize("driver", [KeysightE36312A, RigolDP832])
def test_pyvisa_sim_round_trip(driver):
    with driver.open_sim() as psu:
        rail = psu.channels[2]
        rail.voltage = 3.3
        rail.current_limit = 0.5
        rail.output = True
        assert (rail.level, rail.limit, rail.output) == (3.3, 0.5, True)
        assert psu.channels[1].voltage == 0.0  # channels keep their own state
        snapshot = psu.snapshot()
        assert snapshot["channels"]["2"]["output"]["value"] is True
        assert psu.make_safe() == []
        assert rail.output is False
        assert rail.voltage == 0.0
        psu.check_errors()


@pytest.mark.parametrize(("driver", "model"), [(KeysightE36312A, E36312AModel),
                                               (RigolDP832, DP832Model)])  # fmt: skip
def test_lab_model_constant_voltage_then_constant_current(over_tcp, driver, model):
    psu = over_tcp(driver, model(seed=1, resistance=10.0))
    rail = psu.channels[1]
    rail.current_limit = 0.2
    rail.voltage = 1.0
    assert rail.measure_voltage() == pytest.approx(0.0, abs=1e-3)  # off
    rail.output = True
    assert rail.measure_voltage() == pytest.approx(1.0, abs=1e-3)
    assert rail.measure_current() == pytest.approx(0.1, abs=1e-4)
    rail.voltage = 5.0  # 10 ohm would draw 0.5 A: the 0.2 A limit holds 2 V
    assert rail.measure_current() == pytest.approx(0.2, abs=1e-4)
    assert rail.measure_voltage() == pytest.approx(2.0, abs=1e-3)
    if driver is RigolDP832:
        assert rail.regulation == "constant_current"
    assert psu.make_safe() == []
    assert [psu.channels[n].output for n in (1, 2, 3)] == [False, False, False]
    psu.check_errors()


@pytest.mark.parametrize(
    ("driver", "model", "command"),
    [(KeysightE36312A, E36312AModel, "VOLT 7,(@1)"), (RigolDP832, DP832Model, ":SOUR3:VOLT 6")],
)
def test_lab_model_refuses_beyond_the_rating(over_tcp, driver, model, command):
    psu = over_tcp(driver, model(seed=2))
    psu.session.write(command)
    with pytest.raises(InstrumentReportedError, match="-222"):
        psu.check_errors()


@pytest.mark.parametrize(
    "idn",
    [
        "Keysight Technologies,E36312A,MY59001234,2.1.0-1.0.4-1.12",
        "KEYSIGHT,E36312A,MY59001234,1.0",
        "Keysight Technologies,E36313A,MY1,1.0",
    ],
)
def test_e36300_identity_spellings_pick_the_driver(idn):
    assert any(re.search(p, idn, re.IGNORECASE) for p in KeysightE36312A.idn_patterns)
    assert not any(re.search(p, idn.replace("E3631", "E3646"), re.IGNORECASE)
                   for p in KeysightE36312A.idn_patterns)  # fmt: skip
