"""SafeLimits, ramp_to and make_safe: bytes sent, refusals before any byte, problems kept."""

from __future__ import annotations

import pytest

import instrumentkit as ik
from instrumentkit.errors import ConnectionFailed, ValidationError
from instrumentkit.instrument import Channel, ChannelGroup
from instrumentkit.parameters import ON_OFF, Setting
from instrumentkit.scpi import SCPIInstrument
from instrumentkit.sourcing import SafeLimits, SourceMixin, SourceOutputMixin
from instrumentkit.testing import expected_protocol
from instrumentkit.validators import Range


class Supply(SourceOutputMixin, SCPIInstrument):
    """A one-output supply: 0-20 V, no faster than 10 V/s."""

    safe_limits = SafeLimits(max_level=20.0, max_slew=10.0)
    output = Setting(":OUTP?", ":OUTP {value}", values=ON_OFF, doc="Control the output.")
    level = Setting(":VOLT?", ":VOLT {value}", validate=Range(-25, 25), units="V", doc="Set V.")


class Unlimited(SourceOutputMixin, SCPIInstrument):
    """Declares no safe limits."""

    output = Supply.output
    level = Setting(":VOLT?", ":VOLT {value}", validate=Range(0, 5), units="V", doc="Set V.")


class Rail(SourceOutputMixin, Channel):
    """One output of a two-rail supply."""

    safe_limits = SafeLimits(max_level=10.0)
    output = Setting(":OUTP? CH{ch}", ":OUTP CH{ch},{value}", values=ON_OFF, doc="Control.")
    level = Setting(":VOLT? CH{ch}", ":VOLT CH{ch},{value}", units="V", doc="Set V.")


class TwoRails(SourceMixin, SCPIInstrument):
    """Two rails."""

    channels = ChannelGroup(Rail, (1, 2))


def _no_wait(instrument: SourceOutputMixin) -> list[float]:
    waits: list[float] = []
    instrument.ramp_sleep = waits.append  # type: ignore[method-assign]
    return waits


def test_safe_limits_only_tighten():
    limits = SafeLimits(max_level=20.0, max_slew=10.0)
    assert limits.tightened(max_level=5.0).max_level == 5.0
    assert limits.tightened(safe_level=-3.0).safe_level == -3.0
    assert limits.tightened(max_level=20.0, max_slew=10.0) == limits  # equal is not wider
    with pytest.raises(ValidationError, match=r"max_level.*widen"):
        limits.tightened(max_level=20.001)
    with pytest.raises(ValidationError, match=r"max_slew.*widen"):
        limits.tightened(max_slew=10.001)
    with pytest.raises(ValidationError, match=r"max_slew.*widen"):
        limits.tightened(max_slew=None)
    with pytest.raises(ValidationError, match="beyond max_level"):
        limits.tightened(safe_level=25.0)
    with pytest.raises(ValidationError, match="greater than 0"):
        SafeLimits(max_slew=0.0)
    with pytest.raises(ValidationError, match=r"no \[.max_voltage.\]"):
        limits.tightened(max_voltage=1.0)


def test_an_instance_may_tighten_but_not_widen_the_declared_limits():
    with expected_protocol(Supply, []) as supply:
        supply.safe_limits = SafeLimits(max_level=5.0, max_slew=1.0)
        assert supply.safe_limits.max_level == 5.0
        assert Supply.safe_limits.max_level == 20.0  # the class default is untouched
        with pytest.raises(ValidationError, match="widen"):
            supply.safe_limits = SafeLimits(max_level=30.0, max_slew=1.0)
        with pytest.raises(ValidationError, match="widen"):
            supply.safe_limits = SafeLimits(max_level=5.0)  # dropping the slew limit
        assert supply.safe_limits.max_level == 5.0
    with expected_protocol(Unlimited, []) as free:
        assert free.safe_limits == SafeLimits()
        free.safe_limits = SafeLimits(max_level=1.0)
        assert free.safe_limits.max_level == 1.0


def test_ramp_steps_no_faster_than_the_slew_limit():
    # 10 V/s in 50 ms steps: 0.5 V a step, so 0 -> 2 V is four set points.
    pairs = [
        (":VOLT?", "+0.000E+00"),
        (":OUTP?", "1"),
        (":VOLT 0.5", None),
        (":VOLT 1.0", None),
        (":VOLT 1.5", None),
        (":VOLT 2.0", None),
    ]
    with expected_protocol(Supply, pairs) as supply:
        waits = _no_wait(supply)
        supply.ramp_to(2.0)
    assert waits == [0.05, 0.05, 0.05]


def test_a_slower_rate_takes_more_steps_and_a_faster_one_is_capped():
    pairs = [(":VOLT?", "+1.0"), (":OUTP?", "1")]
    pairs += [(f":VOLT {v}", None) for v in (0.9, 0.8, 0.7, 0.6, 0.5)]
    with expected_protocol(Supply, pairs) as supply:
        _no_wait(supply)
        supply.ramp_to(0.5, rate=2.0)  # 0.1 V a step
    pairs = [(":VOLT?", "+0.0"), (":OUTP?", "1"), (":VOLT 0.5", None), (":VOLT 1.0", None)]
    with expected_protocol(Supply, pairs) as supply:
        _no_wait(supply)
        supply.ramp_to(1.0, rate=1000.0)  # capped at max_slew 10 V/s


def test_an_off_output_or_a_small_step_is_set_at_once():
    pairs = [(":VOLT?", "+0.0"), (":OUTP?", "0"), (":VOLT 15.0", None)]
    with expected_protocol(Supply, pairs) as supply:
        assert _no_wait(supply) == []
        supply.ramp_to(15.0)
    with expected_protocol(Supply, [(":VOLT?", "+1.0"), (":VOLT 1.25", None)]) as supply:
        supply.ramp_to(1.25)
    with expected_protocol(Unlimited, [(":VOLT 4.0", None)]) as free:
        free.ramp_to(4)


@pytest.mark.parametrize("level", [20.5, -21.0, float("nan"), "1", True])
def test_ramp_refuses_beyond_max_level_before_any_byte(level):
    with expected_protocol(Supply, []) as supply, pytest.raises(ValidationError):
        supply.ramp_to(level)


def test_ramp_refuses_what_the_level_setting_refuses_before_any_byte():
    with expected_protocol(Unlimited, []) as free, pytest.raises(ValidationError, match="level"):
        free.ramp_to(6.0)  # no safe limit, but the 0-5 V range of the setting
    with expected_protocol(Supply, []) as supply, pytest.raises(ValidationError, match="rate"):
        supply.ramp_to(1.0, rate=-1.0)


def test_a_tightened_instance_limit_refuses_what_the_class_allows():
    with expected_protocol(Supply, []) as supply:
        supply.safe_limits = supply.safe_limits.tightened(max_level=1.0)
        with pytest.raises(ValidationError, match="max_level 1"):
            supply.ramp_to(2.0)


def test_make_safe_ramps_to_the_safe_level_then_turns_the_output_off():
    pairs = [
        (":VOLT?", "+1.0"),
        (":OUTP?", "1"),
        (":VOLT 0.5", None),
        (":VOLT 0.0", None),
        (":OUTP OFF", None),
    ]
    with expected_protocol(Supply, pairs) as supply:
        _no_wait(supply)
        assert supply.make_safe() == []
        assert supply.source_outputs() == {"": supply}
        assert isinstance(supply, ik.Source)
        assert isinstance(supply, ik.SourceOutput)


def test_make_safe_turns_the_output_off_even_when_the_ramp_fails():
    pairs = [(":VOLT?", "garbage"), (":OUTP OFF", None)]
    with expected_protocol(Supply, pairs) as supply:
        problems = supply.make_safe()
    assert len(problems) == 1
    assert "ramp to the safe level failed" in problems[0]


def test_make_safe_of_many_outputs_reports_each_problem_and_reaches_every_output():
    pairs = [
        (":VOLT CH1,0.0", None),
        (":OUTP CH1,OFF", None),
        (":VOLT CH2,0.0", None),
        (":OUTP CH2,OFF", None),
    ]
    with expected_protocol(TwoRails, pairs) as rails:
        assert rails.make_safe() == []
        assert list(rails.source_outputs()) == ["1", "2"]
        assert isinstance(rails, ik.Source)
        assert isinstance(rails.channels[1], ik.SourceOutput)

    class Broken(Rail):
        def make_safe(self) -> list[str]:
            raise ConnectionFailed("link lost", instrument=self.name)

    class HalfBroken(SourceMixin, SCPIInstrument):
        """Channel 1 unreachable."""

        channels = ChannelGroup(Broken, (1,))
        more = ChannelGroup(Rail, (2,))

        def source_outputs(self):
            return {"1": self.channels[1], "2": self.more[2]}

    pairs = [(":VOLT CH2,0.0", None), (":OUTP CH2,OFF", None)]
    with expected_protocol(HalfBroken, pairs) as half:
        problems = half.make_safe()
    assert len(problems) == 1
    assert "link lost" in problems[0]
    assert "channel 1" in problems[0]


def test_a_driver_declared_per_output_ceiling_cannot_be_widened_by_users():
    with expected_protocol(TwoRails, []) as rails:
        rail = rails.channels[1]
        rail.declare_safe_limits(SafeLimits(max_level=6.0))
        assert rail.safe_limits.max_level == 6.0
        assert rails.channels[2].safe_limits.max_level == 10.0  # the class's, untouched
        with pytest.raises(ValidationError, match="widen"):
            rail.safe_limits = SafeLimits(max_level=8.0)
        rail.safe_limits = SafeLimits(max_level=5.0)
        assert rail.safe_limits.max_level == 5.0
        with pytest.raises(ValidationError, match="widen"):
            rail.declare_safe_limits(SafeLimits(max_level=12.0))  # beyond the class's
