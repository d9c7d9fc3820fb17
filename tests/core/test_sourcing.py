"""SafeLimits, ramp_to and make_safe: bytes sent, refusals before any byte, problems kept."""

from __future__ import annotations

import threading

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


def made_now(limits: SafeLimits, level: Setting) -> type[SourceOutputMixin]:
    """A one-output source class created in the test, not at import: its __init_subclass__
    (which installs the tighten-only slot) then runs where a planted bug can show."""
    body = {"safe_limits": limits, "output": Supply.output, "level": level}
    return type("MadeNow", (SourceOutputMixin, SCPIInstrument), body)


def test_limits_are_stored_as_floats_and_refusals_name_the_field():
    limits = SafeLimits(max_level=5, max_slew=2, safe_level=1)
    assert (limits.max_level, limits.max_slew, limits.safe_level) == (5.0, 2.0, 1.0)
    assert all(type(v) is float for v in (limits.max_level, limits.max_slew, limits.safe_level))
    # A safe level exactly at max_level (either sign) is within it.
    assert SafeLimits(max_level=5.0, safe_level=-5.0).safe_level == -5.0
    refusals = {
        "SafeLimits.max_level = '5': expected a finite number": {"max_level": "5"},
        "SafeLimits.max_level = True: expected a finite number": {"max_level": True},
        "SafeLimits.max_slew = nan: expected a finite number": {"max_slew": float("nan")},
        "SafeLimits.max_slew = 0: must be greater than 0": {"max_slew": 0},
        "SafeLimits.max_level = -1.0: must be greater than 0": {"max_level": -1.0},
        "SafeLimits.safe_level = True: expected a finite number": {"safe_level": True},
        "SafeLimits.safe_level = nan: expected a finite number": {"safe_level": float("nan")},
        "SafeLimits.safe_level = -5.5 is beyond max_level 5": {
            "max_level": 5.0,
            "safe_level": -5.5,
        },
    }
    for message, fields in refusals.items():
        with pytest.raises(ValidationError) as caught:
            SafeLimits(**fields)
        assert str(caught.value) == message


def test_widening_names_the_limit_and_what_to_do():
    with pytest.raises(ValidationError) as caught:
        SafeLimits(max_level=20.0).tightened(max_level=20.001)
    assert str(caught.value) == (
        "SafeLimits.max_level = 20.001 would widen the limit 20: "
        "limits may only be tightened; pick a value at most the present one"
    )


def test_ramp_refusals_name_the_instrument_and_the_limit():
    refusals = {
        (20.5, None): "expected-protocol: level 20.5 refused before sending: beyond the safe "
        "limit max_level 20; raise safe_limits in the driver or ask for less",
        ("1", None): "expected-protocol: level '1' refused before sending: expected a number",
        (1.0, -1.0): "expected-protocol: ramp_to rate = -1.0: must be greater than 0",
        (1.0, float("nan")): "expected-protocol: ramp_to rate = nan: expected a finite number",
        (1.0, True): "expected-protocol: ramp_to rate = True: expected a finite number",
    }
    for (level, rate), message in refusals.items():
        with expected_protocol(Supply, []) as supply, pytest.raises(ValidationError) as caught:
            supply.ramp_to(level, rate=rate)
        assert str(caught.value) == message


def test_a_level_exactly_at_max_level_is_allowed():
    with expected_protocol(Supply, [(":VOLT?", "+19.8"), (":VOLT 20.0", None)]) as supply:
        supply.ramp_to(20.0)
    with expected_protocol(Supply, [(":VOLT?", "-19.9"), (":VOLT -20.0", None)]) as supply:
        supply.ramp_to(-20)


def test_a_source_class_made_at_run_time_gets_the_tighten_only_slot():
    Late = made_now(SafeLimits(max_level=3.0), Supply.level)
    with expected_protocol(Late, []) as late:
        assert late.safe_limits == SafeLimits(max_level=3.0)
        with pytest.raises(ValidationError) as caught:
            late.safe_limits = SafeLimits(max_level=4.0)
        assert str(caught.value).startswith(
            "expected-protocol: safe_limits refused: SafeLimits.max_level = 4.0 would widen"
        )
        assert late.safe_limits.max_level == 3.0
    assert Late.safe_limits == SafeLimits(max_level=3.0)


def test_make_safe_names_each_failing_output():
    class Broken(Rail):
        def make_safe(self) -> list[str]:
            raise RuntimeError("link lost")

    class Nameless:
        """An output of a third-party driver, without a name."""

        def make_safe(self) -> list[str]:
            raise RuntimeError("gone")

        def __repr__(self) -> str:
            return "<nameless output>"

    class Mixed(SourceMixin, SCPIInstrument):
        channels = ChannelGroup(Broken, (1,))

        def source_outputs(self):
            return {"1": self.channels[1], "2": Nameless()}

    with expected_protocol(Mixed, []) as mixed:
        assert mixed.make_safe() == [
            "expected-protocol channel 1: link lost",
            "<nameless output>: gone",
        ]


def test_a_level_the_setting_refuses_is_refused_before_the_ramp_starts():
    Slewed = made_now(SafeLimits(max_slew=10.0), Unlimited.level)  # no max_level; 0-5 V
    # Without the early check the ramp would query and send steps up to 5 V first.
    with expected_protocol(Slewed, []) as slewed:
        _no_wait(slewed)
        with pytest.raises(ValidationError, match="level"):
            slewed.ramp_to(6.0)


def test_safe_limits_must_be_a_safe_limits():
    with expected_protocol(Supply, []) as supply, pytest.raises(ValidationError) as caught:
        supply.safe_limits = {"max_level": 1.0}  # type: ignore[assignment]
    assert str(caught.value) == "expected-protocol: safe_limits must be a SafeLimits, got dict"


def test_make_safe_reports_an_output_that_does_not_turn_off():
    class Stuck(Supply):
        @property
        def output(self) -> bool:
            return True

        @output.setter
        def output(self, on: bool) -> None:
            raise ConnectionFailed("relay stuck", instrument=self.name)

    with expected_protocol(Stuck, [(":VOLT?", "+0.0"), (":VOLT 0.0", None)]) as stuck:
        assert stuck.make_safe() == [
            "expected-protocol: output off failed: expected-protocol: relay stuck"
        ]


def test_a_ramp_ends_where_it_is_once_its_stop_is_set():
    """A stopped run does not finish a slow ramp up before making the source safe."""
    pairs = [(":VOLT?", "+0.000E+00"), (":OUTP?", "1"), (":VOLT 0.5", None), (":VOLT 1.0", None)]
    stop = threading.Event()
    with expected_protocol(Supply, pairs) as supply:
        waits: list[float] = []

        def wait(seconds: float) -> None:
            waits.append(seconds)
            if len(waits) == 2:
                stop.set()  # the run stops during the second wait: no third set point

        supply.ramp_sleep = wait  # type: ignore[method-assign]
        supply.ramp_to(5.0, stop=stop)
    assert waits == [0.05, 0.05]
