"""Parameters: exact bytes for get/set, validation before any write, value maps, channels."""

from __future__ import annotations

import enum

import pytest

from instrumentkit import (
    ON_OFF,
    Channel,
    ChannelGroup,
    InstrumentReportedError,
    Measurement,
    OneOf,
    ProtocolError,
    Range,
    SCPIInstrument,
    Setting,
    ValidationError,
)
from instrumentkit.parameters import UnknownChoice, UnknownChoiceWarning
from instrumentkit.testing import ProtocolMismatch, expected_protocol
from instrumentkit.validators import Steps125


class Coupling(str, enum.Enum):
    AC = "AC"
    DC = "DC"
    GROUND = "GND"


class SupplyChannel(Channel):
    voltage = Setting(
        "SOUR{ch}:VOLT?", "SOUR{ch}:VOLT {value}", validate=Range(0, 30), units="V", doc="Set V."
    )
    output = Setting("OUTP{ch}?", "OUTP{ch} {value}", values=ON_OFF, doc="Enable the output.")


class Supply(SCPIInstrument):
    """A two-channel supply used to test parameters."""

    channels = ChannelGroup(SupplyChannel, (1, 2))
    coupling = Setting("COUP?", "COUP {value}", values=Coupling, doc="Control coupling.")
    mode = Setting("MODE?", "MODE {value}", values={"fast": "FAST", "slow": "SLOW"}, doc="Set.")
    nplc = Setting("NPLC?", "NPLC {value}", validate=OneOf(1, 10), units="PLC", doc="Set NPLC.")
    current = Measurement("MEAS:CURR?", units="A", doc="Measure the current.")
    count = Setting(
        "COUN?", "COUN {value}", parse=int, validate=Range(1, 100, integer=True), doc="Set."
    )
    level = Setting(
        "LEV?", "LEV {value}", validate=Range(-5, 5), units="V", check_errors=True, doc="Set."
    )


def test_set_then_get_exact_bytes():
    with expected_protocol(Supply, [("NPLC 10", None), ("NPLC?", "+1.00000000E+01")]) as dev:
        dev.nplc = 10
        assert dev.nplc == 10.0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("nplc", 5),
        ("count", 0),
        ("count", 2.5),
        ("count", "3"),
        ("mode", "medium"),
        ("coupling", "XY"),
        ("level", float("nan")),
        ("level", True),
    ],
)
def test_invalid_values_are_refused_before_any_write(name, value):
    # An empty protocol: any write at all fails the test with ProtocolMismatch.
    with expected_protocol(Supply, []) as dev, pytest.raises(ValidationError) as caught:
        setattr(dev, name, value)
    assert name in str(caught.value)
    assert "refused before sending" in str(caught.value)


def test_channel_commands_fill_ch():
    pairs = [
        ("SOUR2:VOLT 12.5", None),
        ("SOUR2:VOLT?", "12.5"),
        ("OUTP1 ON", None),
        ("OUTP1?", "1"),
    ]
    with expected_protocol(Supply, pairs) as dev:
        dev.channels[2].voltage = 12.5
        assert dev.channels[2].voltage == 12.5
        dev.channels[1].output = True
        assert dev.channels[1].output is True


def test_unknown_channel_is_a_validation_error_listing_valid_ones():
    with expected_protocol(Supply, [], name="psu") as dev:
        with pytest.raises(ValidationError, match=r"psu: no channels\[3\]: valid ids are \[1, 2\]"):
            dev.channels[3]
        assert 3 not in dev.channels
        assert [] not in dev.channels
        assert dev.channels.get(3) is None
        assert 2 in dev.channels
        assert dev.channels.get(2) is dev.channels[2]


def test_unknown_token_reads_as_unknown_choice_with_a_warning():
    pairs = [("MODE?", "TURBO"), ("COUP?", " FLOAT "), ("COUP?", "FLOAT")]
    with expected_protocol(Supply, pairs, name="psu") as dev:
        with pytest.warns(UnknownChoiceWarning, match=r"psu: mode reads 'TURBO'.*'FAST', 'SLOW'"):
            mode = dev.mode
        assert isinstance(mode, UnknownChoice)
        assert (mode, mode.raw, mode.setting) == ("TURBO", "TURBO", "mode")
        with pytest.warns(UnknownChoiceWarning):
            coupling = dev.coupling
        assert coupling == "FLOAT"
        assert coupling.raw == "FLOAT"
        with pytest.warns(UnknownChoiceWarning):
            entry = type(dev).coupling.snapshot_entry(dev)
        assert entry == {"value": "FLOAT", "units": "", "unknown_token": True}


@pytest.mark.parametrize("name", ["mode", "coupling"])
def test_an_unknown_choice_cannot_be_set_back(name):
    with (
        expected_protocol(Supply, []) as dev,
        pytest.raises(ValidationError, match="does not know this token") as refused,
    ):
        setattr(dev, name, UnknownChoice("TURBO", name))
    choices = {"mode": "['fast', 'slow']", "coupling": "['ac', 'dc', 'ground']"}[name]
    assert str(refused.value).endswith(f"choose one of {choices}")


@pytest.mark.parametrize("reply", ["", "   ", "\x00\x01"])
def test_an_empty_or_binary_reply_to_a_mapped_setting_is_a_protocol_error(reply):
    with (
        expected_protocol(Supply, [("MODE?", reply)]) as dev,
        pytest.raises(ProtocolError, match="none of"),
    ):
        _ = dev.mode


def test_enum_values_accept_member_name_or_token_and_read_back():
    pairs = [("COUP GND", None), ("COUP DC", None), ("COUP?", "GND")]
    with expected_protocol(Supply, pairs) as dev:
        dev.coupling = "ground"
        dev.coupling = Coupling.DC
        assert dev.coupling is Coupling.GROUND


def test_unparseable_reply_is_protocol_error_naming_command():
    with (
        expected_protocol(Supply, [("MEAS:CURR?", "overload")]) as dev,
        pytest.raises(ProtocolError, match=r"command 'MEAS:CURR\?'.*overload"),
    ):
        _ = dev.current


def test_measurement_cannot_be_set():
    with expected_protocol(Supply, []) as dev, pytest.raises(AttributeError):
        dev.current = 1.0


def test_check_errors_after_set_raises_instrument_error():
    pairs = [
        ("LEV 4.5", None),
        ("SYST:ERR?", '-222,"Data out of range"'),
        ("SYST:ERR?", '+0,"No error"'),
    ]
    with expected_protocol(Supply, pairs) as dev, pytest.raises(InstrumentReportedError) as caught:
        dev.level = 4.5
    assert caught.value.code == -222
    assert caught.value.command == "LEV 4.5"


def test_snapshot_lists_every_parameter_and_channel():
    pairs = [
        ("COUP?", "AC"),
        ("MODE?", "FAST"),
        ("NPLC?", "1"),
        ("MEAS:CURR?", "0.5"),
        ("COUN?", "7"),
        ("LEV?", "-1.5"),
        ("SOUR1:VOLT?", "1"),
        ("OUTP1?", "0"),
        ("SOUR2:VOLT?", "2"),
        ("OUTP2?", "1"),
    ]
    with expected_protocol(Supply, pairs) as dev:
        snap = dev.snapshot()
    assert snap["coupling"] == {"value": "ac", "units": ""}
    assert snap["current"] == {"value": 0.5, "units": "A"}
    assert snap["count"]["value"] == 7
    assert snap["channels"]["2"]["voltage"] == {"value": 2.0, "units": "V"}
    assert snap["channels"]["1"]["output"]["value"] is False


def test_expected_protocol_catches_wrong_unused_and_unread():
    with (
        pytest.raises(ProtocolMismatch, match="expected b'NPLC 1\\\\n'"),
        expected_protocol(Supply, [("NPLC 1", None)]) as dev,
    ):
        dev.nplc = 10
    with (
        pytest.raises(ProtocolMismatch, match="not used"),
        expected_protocol(Supply, [("NPLC 1", None), ("NPLC?", "1")]) as dev,
    ):
        dev.nplc = 1
    with (
        pytest.raises(ProtocolMismatch, match="unread"),
        expected_protocol(Supply, [("NPLC 1", "garbage")]) as dev,
    ):
        dev.nplc = 1


@pytest.mark.parametrize(
    ("value", "step"), [(1e-9, 1e-9), (2.0000001e-3, 2e-3), (5, 5.0), (0.1, 0.1), (10, 10.0)]
)
def test_steps_125_returns_the_exact_step(value, step):
    assert Steps125(1e-9, 10)(value) == step


@pytest.mark.parametrize("value", [3e-3, 4, 0.7, 20, 5e-10, float("nan"), "1", True])
def test_steps_125_refuses_other_values(value):
    with pytest.raises(ValueError, match=r"1-2-5 step|outside|number|NaN"):
        Steps125(1e-9, 10)(value)


class Stage(SCPIInstrument):
    """A stage whose travel depends on a mode read from it."""

    travel = Measurement("TRAV?", units="mm", doc="Get the travel.")
    position = Setting(
        "POS?",
        "POS {value}",
        validate=Range(0, 100),
        limits=lambda stage: Range(0, stage.travel),
        units="mm",
        doc="Set the position.",
    )


def test_state_dependent_limits_are_asked_for_after_the_static_check_and_before_writing():
    with expected_protocol(Stage, [("TRAV?", "25"), ("POS 20", None), ("TRAV?", "25")]) as stage:
        stage.position = 20
        with pytest.raises(ValidationError, match=r"position = 30 refused.*outside \[0, 25\]"):
            stage.position = 30
        with pytest.raises(ValidationError, match=r"outside \[0, 100\]"):
            stage.position = 200  # refused without asking the stage


def refusal(validator, value) -> str:
    with pytest.raises(ValueError) as caught:  # noqa: PT011 - the message is checked below
        validator(value)
    return str(caught.value)


def test_range_returns_what_to_send_and_says_why_it_refuses():
    assert Range(0, 10)(2.5) == 2.5
    assert Range(5, 5)(5) == 5  # a one-point range is a range
    whole = Range(0, 10, integer=True)(3.0)
    assert (whole, type(whole)) == (3, int)
    assert refusal(Range(0, 10), True) == "expected a number, got bool"
    assert refusal(Range(0, 10), "1") == "expected a number, got str"
    assert refusal(Range(0, 10), float("nan")) == "NaN is not a setting"
    assert refusal(Range(0, 10, integer=True), 3.5) == "expected a whole number in [0, 10]"
    assert refusal(Range(0, 10), 10.5) == "outside [0, 10]"
    with pytest.raises(ValueError, match=r"^Range minimum 6 exceeds maximum 5$"):
        Range(6, 5)


def test_range_bounds_are_inclusive_and_a_hair_past_either_is_refused():
    volts = Range(-5, 2.5)
    assert (volts(2.5), volts(-5)) == (2.5, -5)
    assert refusal(volts, 2.5000001) == "outside [-5, 2.5]"
    assert refusal(volts, -5.0000001) == "outside [-5, 2.5]"
    count = Range(1, 100, integer=True)
    assert (count(100), count(1)) == (100, 1)
    assert refusal(count, 101) == "outside [1, 100]"
    assert refusal(count, 0) == "outside [1, 100]"


def test_one_of_matches_strings_without_case_and_numbers_exactly():
    coupling = OneOf("DC", "AC")
    assert coupling("dc") == "DC"
    assert coupling("Ac") == "AC"
    assert refusal(coupling, "GND") == "not one of {'DC', 'AC'}"
    assert refusal(coupling, 1) == "not one of {'DC', 'AC'}"
    nplc = OneOf(1, 10)
    assert nplc(10.0) == 10
    assert refusal(nplc, True) == "not one of {1, 10}"  # True == 1, but is not a number here
    assert refusal(nplc, "1") == "not one of {1, 10}"
    assert repr(nplc) == "OneOf(1, 10)"
    with pytest.raises(ValueError, match=r"^OneOf needs at least one choice$"):
        OneOf()


def test_steps_125_reaches_the_next_decade_and_refuses_zero_with_its_own_message():
    assert Steps125(1e-9, 10)(9.9999999e-3) == 1e-2  # mantissa 10: the next decade's 1
    assert refusal(Steps125(0, 1), 0) == "not a 1-2-5 step in [0, 1]"
    assert refusal(Steps125(1e-9, 10), 3e-3) == "not a 1-2-5 step in [1e-09, 10]"


def test_refusals_name_the_instrument_parameter_value_and_choices():
    refusals = {
        ("mode", "medium"): "psu: mode = 'medium' refused before sending: "
        "not one of ['fast', 'slow']",
        ("coupling", "XY"): "psu: coupling = 'XY' refused before sending: "
        "not one of ['AC', 'DC', 'GROUND']",
        ("level", 7): "psu: level = 7 refused before sending: outside [-5, 5]",
        ("level", UnknownChoice("XY", "other")): "psu: level = UnknownChoice('XY') refused "
        "before sending: the driver does not know this token (read from the instrument), so "
        "it cannot vouch for it; choose one of ['Range(-5, 5)']",
    }
    for (name, value), message in refusals.items():
        with expected_protocol(Supply, [], name="psu") as dev:
            with pytest.raises(ValidationError) as caught:
                setattr(dev, name, value)
            assert str(caught.value) == message


def test_an_enum_token_matches_without_regard_to_case():
    with expected_protocol(Supply, [("COUP GND", None)]) as dev:
        dev.coupling = "gnd"  # the token, not the member name GROUND


@pytest.mark.parametrize(
    ("reply", "member"),
    [("Fast", "quick"), ("FAST", "quick"), ("fast", "quick"), (" sLoW\r", "careful")],
)
def test_enumerated_replies_decode_without_regard_to_case(reply, member):
    """The tokens are declared in mixed case; an instrument may answer in any case."""
    speed = Setting("SPD?", "SPD {value}", values={"quick": "Fast", "careful": "Slow"})
    coupling = Setting("COUP?", "COUP {value}", values=Coupling)
    with expected_protocol(Supply, [], name="psu") as dev:
        assert speed.decode(reply, dev, "SPD?") == member
        assert coupling.decode("gNd", dev, "COUP?") is Coupling.GROUND


def test_replies_that_cannot_be_read_name_the_instrument_and_command():
    with expected_protocol(Supply, [("COUP?", "")], name="psu") as dev:
        with pytest.raises(ProtocolError) as caught:
            _ = dev.coupling
        assert str(caught.value) == (
            "psu: command 'COUP?': coupling: reply b'' is none of ['AC', 'DC', 'GND']"
        )
    with expected_protocol(Supply, [("NPLC?", "garbage")], name="psu") as dev:
        with pytest.raises(ProtocolError) as caught:
            _ = dev.nplc
        assert str(caught.value) == (
            "psu: command 'NPLC?': nplc: cannot parse reply b'garbage': "
            "could not convert string to float: 'garbage'"
        )


def test_the_unknown_token_warning_points_at_the_line_that_read_it():
    with (
        expected_protocol(Supply, [("MODE?", "TURBO")], name="psu") as dev,
        pytest.warns(UnknownChoiceWarning) as warned,
    ):
        _ = dev.mode
    [warning] = warned
    assert warning.filename == __file__


def test_the_unknown_token_warning_says_what_was_read_and_what_is_known():
    with (
        expected_protocol(Supply, [("MODE?", "TURBO")], name="psu") as dev,
        pytest.warns(UnknownChoiceWarning) as warned,
    ):
        _ = dev.mode
    assert [str(w.message) for w in warned] == [
        "psu: mode reads 'TURBO' (command 'MODE?'), a token the driver does not list (it "
        "knows ['FAST', 'SLOW']); kept as UnknownChoice, which cannot be set back"
    ]


def test_a_snapshot_entry_keeps_the_error_and_the_units():
    pairs = [("MEAS:CURR?", "overload"), ("MODE?", "")]
    with expected_protocol(Supply, pairs, name="psu") as dev:
        assert Supply.current.snapshot_entry(dev) == {
            "error": "psu: command 'MEAS:CURR?': current: cannot parse reply b'overload': "
            "could not convert string to float: 'overload'",
            "units": "A",
        }
        assert Supply.mode.snapshot_entry(dev) == {
            "error": "psu: command 'MODE?': mode: reply b'' is none of ['FAST', 'SLOW']",
            "units": "",
        }


def test_set_only_and_read_only_parameters_say_so():
    class Trigger(SCPIInstrument):
        fire = Setting(None, "TRIG {value}", validate=Range(0, 1), doc="Set only.")

    with (
        expected_protocol(Trigger, []) as trigger,
        pytest.raises(AttributeError, match=r"^fire cannot be read, only set$"),
    ):
        _ = trigger.fire
    with (
        expected_protocol(Supply, []) as dev,
        pytest.raises(AttributeError, match=r"^current is a measurement: it can be read"),
    ):
        dev.current = 1.0


def test_an_instrument_that_checks_errors_after_every_set_asks_after_a_plain_setting():
    class Checked(Supply):
        check_errors_after_set = True

    with expected_protocol(Checked, [("NPLC 10", None), ("SYST:ERR?", '+0,"No error"')]) as dev:
        dev.nplc = 10


def test_parameters_declared_at_run_time_read_and_write_every_kind():
    # Declared here rather than at import, so Parameter.__init__ runs inside this test and
    # a planted bug in it shows here (see docs/testing.md, mutation scores).
    class Rail(Channel):
        volts = Setting("SOUR{ch}:VOLT?", "SOUR{ch}:VOLT {value}", units="V", doc="Set V.")

    class Meter(SCPIInstrument):
        rails = ChannelGroup(Rail, (1,))
        coupling = Setting("COUP?", "COUP {value}", values=Coupling, doc="Control coupling.")
        mode = Setting("MODE?", "MODE {value}", values={"fast": "FAST", "slow": "SLOW"})
        speed = Setting("SPD?", "SPD {value}", values={"slow": "0", "fast": "1"})
        source = Setting("SRC?", "SRC {value}", values={1: "CH1", "ext": "EXT"})
        output = Setting("OUTP?", "OUTP {value}", values=ON_OFF)
        nplc = Setting("NPLC?", "NPLC {value}", validate=OneOf(1, 10), units="PLC", doc="Set.")
        count = Setting("COUN?", "COUN {value}", parse=int)
        level = Setting(
            "LEV?", "LEV {value}", validate=Range(-5, 5), limits=lambda m: Range(-1, 1),
            check_errors=True,
        )  # fmt: skip
        hidden = Measurement("HID?", units="s", in_snapshot=False)

    assert repr(Meter.nplc) == "Setting('nplc', units='PLC')"
    assert Meter.nplc.__doc__ == "Set."
    assert (Meter.mode.__doc__, Meter.mode.units, Meter.mode.name) == ("", None, "mode")
    pairs = [
        ("COUP?", "gnd"),
        ("MODE?", "fast"),
        ("SPD?", "+1.0"),
        ("SPD?", "0"),
        ("SRC?", "EXT"),
        ("OUTP?", "1"),
        ("OUTP?", "+0"),
        ("OUTP?", "on"),
        ("NPLC?", "+1.00000000E+01"),
        ("COUN?", "7"),
        ("SOUR1:VOLT?", "2.5"),
        ("SPD 1", None),
        ("OUTP OFF", None),
        ("COUP GND", None),
        ("LEV 0.5", None),
        ("SYST:ERR?", '+0,"No error"'),
    ]
    with expected_protocol(Meter, pairs, name="m") as meter:
        assert meter.coupling is Coupling.GROUND
        assert meter.mode == "fast"
        assert (meter.speed, meter.speed) == ("fast", "slow")  # numeric tokens by value
        assert meter.source == "ext"
        assert (meter.output, meter.output, meter.output) == (True, False, True)
        nplc = meter.nplc
        assert (nplc, type(nplc)) == (10.0, float)
        count = meter.count
        assert (count, type(count)) == (7, int)
        assert meter.rails[1].volts == 2.5
        meter.speed = "fast"
        meter.output = False
        meter.coupling = "ground"  # the member's name, turned into the member
        meter.level = 0.5  # within the state-dependent limits, then errors are checked
        with pytest.raises(ValidationError, match=r"nplc = 5 refused .* not one of \{1, 10\}"):
            meter.nplc = 5
        with pytest.raises(ValidationError, match=r"level = 2 refused .* outside \[-1, 1\]"):
            meter.level = 2
        with pytest.raises(ValidationError, match=r"source = 2 refused .* not one of \['ext', 1\]"):
            meter.source = 2
    assert (Meter.hidden.in_snapshot, Meter.count.in_snapshot) == (False, True)


def test_a_parameter_needs_a_command():
    with pytest.raises(TypeError, match=r"^a parameter needs a get or a set command$"):
        Setting(None, None)  # type: ignore[arg-type]
