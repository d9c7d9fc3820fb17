"""Every token a scope's manual lists reads back; others read as UnknownChoice, never an error."""

from __future__ import annotations

import pytest

import instrumentkit as ik
from instrumentkit.drivers.keysight import KeysightInfiniiVision, KeysightInfiniiVisionTwoChannel
from instrumentkit.drivers.rigol import RigolDS1000Z
from instrumentkit.drivers.tektronix import TektronixMSO4000, TektronixTDS2000
from instrumentkit.parameters import UnknownChoiceWarning
from instrumentkit.testing import expected_protocol

HELLO = ("HEADer OFF;VERBose ON", None)


@pytest.mark.parametrize("driver", [TektronixTDS2000, TektronixMSO4000])
def test_tektronix_reads_an_ascii_encoding_but_sets_only_binary_ones(driver):
    with expected_protocol(driver, [HELLO, ("DATa:ENCdg?", "ASCII")]) as scope:
        assert scope.data_encoding == "ascii"
        with pytest.raises(ik.ValidationError, match="data_encoding"):
            scope.data_encoding = "ascii"


@pytest.mark.parametrize("driver", [KeysightInfiniiVision, KeysightInfiniiVisionTwoChannel])
def test_infiniivision_triggers_on_its_waveform_generator(driver):
    pairs = [(":TRIGger:EDGE:SOURce WGEN", None), (":TRIGger:EDGE:SOURce?", "WGEN")]
    with expected_protocol(driver, pairs) as scope:
        scope.trigger_source = "wgen"
        assert scope.trigger_source == "wgen"


def test_an_mso_digital_trigger_source_keeps_the_snapshot_working():
    with (
        expected_protocol(RigolDS1000Z, [(":TRIG:EDG:SOUR?", "D7")], name="mso") as scope,
        pytest.warns(UnknownChoiceWarning, match="mso: trigger_source reads 'D7'"),
    ):
        entry = type(scope).trigger_source.snapshot_entry(scope)
    assert entry == {"value": "D7", "units": "", "unknown_token": True}


@pytest.mark.parametrize("driver", [RigolDS1000Z, KeysightInfiniiVisionTwoChannel])
def test_a_channel_the_scope_lacks_is_a_validation_error(driver):
    with (
        expected_protocol(driver, [], name="scope") as scope,
        pytest.raises(ik.ValidationError, match=r"scope: no channels\[7\]: valid ids are \[1, 2"),
    ):
        scope.channels[7]
