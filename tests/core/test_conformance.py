"""Every registered driver, the project's and any plug-in's, passes the conformance check."""

from __future__ import annotations

import pytest

import instrumentkit as ik
from instrumentkit.testing import check_driver
from instrumentkit.testing._conformance import static_problems


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
