"""Every registered driver, the project's and any plug-in's, passes the conformance check."""

from __future__ import annotations

import re

import pytest

import instrumentkit as ik
from instrumentkit.sim import ScpiDevice, serve
from instrumentkit.sim import Setting as SimSetting
from instrumentkit.sourcing import SafeLimits, SourceMixin, SourceOutputMixin
from instrumentkit.testing import check_driver
from instrumentkit.testing._conformance import static_problems
from instrumentkit.testing._source_conformance import (
    source_runtime_problems,
    source_static_problems,
)


@pytest.mark.parametrize("driver", ik.registered_drivers(), ids=lambda d: d.__name__)
def test_driver_conforms(driver):
    check_driver(driver)


class _StrictMode(ik.Setting):
    """A setting that, like drivers before decision 0008, refuses any token it lacks."""

    def decode(self, reply, obj, command):
        if reply not in ("FAST", "SLOW"):
            raise ik.ProtocolError(f"mode reply {reply!r} unknown")
        return super().decode(reply, obj, command)


class _Careless(ik.Setting):
    """A setting whose setter forgets to refuse tokens it read but does not know."""

    def encode(self, obj, value):
        return f"MODE {value}"


class _Meter(ik.SCPIInstrument):
    """A meter used to test the conformance sweep."""

    idn_patterns = ("^ACME,M1,",)
    sim_model = "none"
    strict = _StrictMode("MODE?", "MODE {value}", values={"fast": "FAST"}, doc="Set mode.")
    careless = _Careless("CARE?", "CARE {value}", values={"on": "ON"}, doc="Set care.")
    fine = ik.Setting("FINE?", "FINE {value}", values={"a": "A"}, doc="Set fine.")


def test_every_enumerated_setting_must_read_an_unlisted_token():
    problems = static_problems(_Meter)
    assert problems == [
        "_Meter.strict: an unlisted reply token raises ProtocolError: mode reply "
        "'ZZUNLISTED9' unknown",
        "_Meter.careless: an UnknownChoice read back can be set",
    ]


class _RailModel(ScpiDevice):
    """Two rails that answer OUTP<n>/VOLT<n>."""

    idn = "ACME,PSU2,1,1"
    outp = SimSetting("OUTPut<n>", False, channels=2)
    volt = SimSetting("VOLTage<n>", 0.0, limits=(0.0, 20.0), channels=2)


class _Rail(SourceOutputMixin, ik.Channel):
    """A rail."""

    safe_limits = SafeLimits(max_level=10.0)
    output = ik.Setting("OUTP{ch}?", "OUTP{ch} {value}", values=ik.ON_OFF, doc="Control it.")
    level = ik.Setting("VOLT{ch}?", "VOLT{ch} {value}", units="V", doc="Set it.")


class _LeavesOn(_Rail):
    """make_safe that only ramps."""

    def make_safe(self):
        self.ramp_to(0.0)
        return []


class _SendsFirst(_Rail):
    """ramp_to that writes before it checks."""

    def ramp_to(self, level, rate=None):
        self.level = 0.0
        super().ramp_to(level, rate)


def _supply(rail: type) -> type:
    class Supply(SourceMixin, ik.SCPIInstrument):
        """A supply."""

        interfaces = (ik.Source,)
        idn_patterns = ("^ACME,PSU2,",)
        channels = ik.ChannelGroup(rail, (1, 2))

    return Supply


@pytest.mark.parametrize(
    ("rail", "problem"),
    [
        (_Rail, None),
        (_LeavesOn, r"make_safe\(\) left \['1', '2'\] on"),
        (_SendsFirst, r"channels.1.output ramp_to beyond max_level sent b'VOLT1 0.0\\n'"),
    ],
)
def test_the_sweep_drives_source_outputs_on_and_checks_make_safe_turns_them_off(rail, problem):
    with serve({"psu": _RailModel()}) as lab:
        supply = _supply(rail).open(lab.resource("psu"))
        try:
            found = source_runtime_problems(supply, supply.snapshot())
            states = [supply.channels[n].output for n in (1, 2)]
        finally:
            supply.close()
    if problem is None:
        assert found == []
        assert states == [False, False]
    else:
        assert any(re.search(problem, p) for p in found), found


def test_a_source_output_without_an_output_setting_is_a_static_problem():
    class Bare(SourceOutputMixin, ik.Channel):
        """No output setting."""

        level = _Rail.level

    assert "Bare: a source output needs a Setting named 'output'" in static_problems(_supply(Bare))
    assert source_static_problems(_supply(_Rail)) == []


def test_a_callers_instrument_is_neither_switched_on_nor_made_safe():
    model = _RailModel()
    with serve({"psu": model}) as lab:
        supply = _supply(_Rail).open(lab.resource("psu"))
        try:
            supply.channels[2].output = True  # the caller's bench, as they left it
            assert source_runtime_problems(supply, supply.snapshot(), drive=False) == []
            assert [supply.channels[n].output for n in (1, 2)] == [False, True]
        finally:
            supply.close()
