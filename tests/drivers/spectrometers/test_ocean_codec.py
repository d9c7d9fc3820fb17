"""The Ocean Optics RS-232 codec's edges, against literal bytes of the command summary:
data words of 16 bits MSB first, frames as the simulation sends them by default, EEPROM
text as the instrument pads it."""

from __future__ import annotations

import numpy as np
import pytest

from instrumentkit.drivers.oceaninsight import _serial_protocol as wire


def test_a_command_is_its_letters_then_each_word_msb_first():
    assert wire.command("I", 0xFFFF) == b"I\xff\xff"  # the largest word there is
    assert wire.command("?x", 0, 0x0102) == b"?x\x00\x00\x01\x02"
    assert wire.command("S") == b"S"


@pytest.mark.parametrize("word", [-1, 0x10000, 65536 * 3])
def test_a_word_that_does_not_fit_16_bits_is_refused(word):
    with pytest.raises(ValueError, match=f"^data word {word} does not fit 16 bits$"):
        wire.command("I", word)


def test_a_frame_by_default_is_plain_words_with_a_zero_baseline_and_no_checksum():
    sent = wire.encode_frame(np.array([0x0102, 0xFFFE, 7]), scans=1, integration_ms=5)
    header = "02 ffff 0000 0001 0005 0000 0000 0000"
    assert sent == bytes.fromhex(f"{header} 0102 fffe 0007 fffd")


def test_eeprom_text_is_cut_at_the_first_nul_and_stripped():
    assert wire.parse_eeprom_text(b" 350.25 \x00\x00garbage\x00\x00\x00") == "350.25"
    assert wire.parse_eeprom_text(b"USB4C01234567890") == "USB4C01234567890"  # no NUL: all 16


def test_eeprom_text_that_is_not_ascii_is_kept_with_a_replacement_mark():
    # A garbled byte must not stop the connect; the calibration slots are then checked
    # as numbers, and a serial number shows where it was garbled.
    # Read as ASCII, not UTF-8: each byte above 0x7F is one mark (0xC3 0xA9 would be é).
    assert wire.parse_eeprom_text(b"USB\xc3\xa9C01\x00" + b"\x00" * 7) == "USB\ufffd\ufffdC01"
