"""Two-channel variants: picked by *IDN?, never address channels 3 and 4."""

from __future__ import annotations

import pytest

import instrumentkit as ik
from instrumentkit.drivers.keysight import KeysightInfiniiVision, KeysightInfiniiVisionTwoChannel
from instrumentkit.drivers.tektronix import (
    TektronixMSO4000,
    TektronixMSO4000TwoChannel,
    TektronixTDS2000,
    TektronixTDS2000TwoChannel,
)
from instrumentkit.registry import match_driver
from instrumentkit.testing import check_driver

TWO_CHANNEL = [
    TektronixTDS2000TwoChannel,
    TektronixMSO4000TwoChannel,
    KeysightInfiniiVisionTwoChannel,
]


@pytest.mark.parametrize(
    ("idn", "driver"),
    [
        ("TEKTRONIX,TDS 2024C,C1,CF:91.1CT FV:v24.26", TektronixTDS2000),
        ("TEKTRONIX,TDS 2012C,C1,CF:91.1CT FV:v24.26", TektronixTDS2000TwoChannel),
        ("TEKTRONIX,TDS 1002B,C1,CF:91.1CT FV:v22.11", TektronixTDS2000TwoChannel),
        ("TEKTRONIX,TDS 2014B,C1,CF:91.1CT FV:v22.11", TektronixTDS2000),
        ("TEKTRONIX,MSO4104,C1,CF:91.1CT FV:v2.13", TektronixMSO4000),
        ("TEKTRONIX,DPO4104B-L,C1,CF:91.1CT FV:v3.18", TektronixMSO4000),
        ("TEKTRONIX,DPO4102B,C1,CF:91.1CT FV:v3.18", TektronixMSO4000TwoChannel),
        ("KEYSIGHT TECHNOLOGIES,DSOX3034T,MY1,07.50", KeysightInfiniiVision),
        ("KEYSIGHT TECHNOLOGIES,DSOX3012T,MY1,07.50", KeysightInfiniiVisionTwoChannel),
        ("AGILENT TECHNOLOGIES,DSO-X 2002A,MY1,02.43", KeysightInfiniiVisionTwoChannel),
    ],
)
def test_idn_picks_the_channel_count(idn, driver):
    assert match_driver(idn) is driver


@pytest.mark.parametrize("driver", TWO_CHANNEL, ids=lambda d: d.__name__)
def test_conforms_on_its_pyvisa_sim_device(driver):
    check_driver(driver)


@pytest.mark.parametrize("driver", TWO_CHANNEL, ids=lambda d: d.__name__)
def test_channels_three_and_four_are_refused_before_sending(driver):
    with driver.open_sim() as scope:
        assert list(scope.channels) == [1, 2]
        assert set(scope.snapshot()["channels"]) == {"1", "2"}
        with pytest.raises(ik.ValidationError, match=r"channels are \[1, 2\]"):
            scope.fetch(3)
        with pytest.raises(ik.ValidationError, match="trigger_source"):
            scope.trigger_source = 4
        scope.trigger_source = 2
        assert scope.trigger_source == "ch2"
        assert scope.drain_errors() == []
