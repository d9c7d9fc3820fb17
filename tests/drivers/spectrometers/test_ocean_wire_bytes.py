"""The simulated Ocean Optics spectrometer's frames, byte by byte, against the data sheet.

The driver and the lab model share `_serial_protocol`, so a round trip through both
cannot notice a layout both get wrong. Here the model's bytes, read with plain pyserial
over `iksim://`, are compared with frames written out by hand from the data sheets'
"RS232 Command Summary": STX, then words MSB first: 0xFFFF, data-size flag (0 WORD,
1 DWORD), scans accumulated, integration time (ms), baseline MSW, baseline LSW, pixel
mode (0), the pixels, 0xFFFD, and with `k1` the checksum, the sum of the values sent
modulo 2**16. Compressed (`G1`): the first pixel as a word, then a signed difference
byte, or 0x80 and the full word; a difference byte counts as 0x00NN in the checksum, an
escaped pixel as 0x80 plus its word. What the data sheets do not settle (the checksum
after 0xFFFD, DWORD pixels most significant word first) is this project's reading of
them (docs/drivers), pinned here so a change is deliberate.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import serial

from instrumentkit.drivers.oceaninsight.usb4000_sim import USB2000PlusModel
from instrumentkit.sim import ManualClock, attach, detach

_names = itertools.count()
PIXELS = 2048


class ThreePixels(USB2000PlusModel):
    """Exposes 0x0102, 0xFFFE and 7 counts on its first pixels, nothing elsewhere."""

    def spectrum(self):
        counts = np.zeros(self.pixels, dtype=np.uint32)
        counts[:3] = (0x0102, 0xFFFE, 7)
        return counts * self.scans


class FarBaseline(ThreePixels):
    """A baseline above 16 bits (0x12345): the header's MSW and LSW both in use."""

    bias = 0x12345


@pytest.fixture
def open_port():
    """Plain pyserial on a fresh model of the kind given (ThreePixels: bias 1000 counts,
    baseline 0x03E8); `send(command, reply_bytes)` writes and reads back."""
    opened = []

    def open_on(kind=ThreePixels):
        name = f"ocean-wire-{next(_names)}"
        model = kind(clock=ManualClock())
        attach(name, model)
        link = serial.serial_for_url(f"iksim://{name}", timeout=2)
        opened.append((name, link))

        def send(command: bytes, reply_bytes: int) -> bytes:
            link.write(command)
            model.clock.advance(10.0)  # the frame leaves after scans x integration time
            reply = link.read(reply_bytes)
            assert link.in_waiting == 0  # and nothing after it
            return reply

        return send

    yield open_on
    for name, link in opened:
        link.close()
        detach(name)


@pytest.fixture
def port(open_port):
    return open_port()


def setup(send, *commands: bytes) -> None:
    for command in (b"bB", b"k\x00\x01", b"I\x00\xfa", *commands):  # checksum on, 250 ms
        assert send(command, 1) == b"\x06"


def test_word_frame_with_checksum(port):
    setup(port)
    header = "02 ffff 0000 0001 00fa 0000 03e8 0000"  # WORD, 1 scan, 250 ms, baseline 1000
    pixels = "0102 fffe 0007" + " 0000" * (PIXELS - 3)
    checksum = "0107"  # 0x0102 + 0xFFFE + 7 = 0x10107, modulo 2**16
    expected = bytes.fromhex(f"{header} {pixels} fffd {checksum}")
    assert port(b"S", len(expected)) == expected


@pytest.mark.parametrize(
    ("scans", "pixels", "checksum"),
    [
        # 2 x 0x0102 = 0x204, 2 x 0xFFFE = 0x1FFFC, 2 x 7 = 0xE; sum 0x2020E
        (2, "00000204 0001fffc 0000000e", "020e"),
        # 3 x 0x0102 = 0x306, 3 x 0xFFFE = 0x2FFFA, 3 x 7 = 0x15; sum 0x30315
        (3, "00000306 0002fffa 00000015", "0315"),
    ],
)
def test_accumulated_scans_are_dwords_most_significant_word_first(port, scans, pixels, checksum):
    setup(port, b"A\x00" + bytes([scans]))
    header = f"02 ffff 0001 000{scans} 00fa 0000 03e8 0000"  # DWORD from 2 scans on
    pixels += " 00000000" * (PIXELS - 3)
    expected = bytes.fromhex(f"{header} {pixels} fffd {checksum}")  # checksum modulo 2**16
    assert port(b"S", len(expected)) == expected


def test_compressed_frame_escapes_big_steps_and_sums_the_bytes_sent(port):
    setup(port, b"G\x00\x01")
    header = "02 ffff 0000 0001 00fa 0000 03e8 0000"
    # 0x0102 as a word; +0xFEFC does not fit a byte: 80 fffe; 7 - 0xFFFE neither: 80 0007;
    # 0 - 7 = -7: f9; then 2044 differences of 0.
    pixels = "0102 80fffe 800007 f9" + "00" * (PIXELS - 4)
    # 0x0102 + (0x80 + 0xFFFE) + (0x80 + 0x0007) + 0xF9 = 258 + 65662 + 135 + 249
    # = 66304 = 0x10300, modulo 2**16:
    checksum = "0300"
    expected = bytes.fromhex(f"{header} {pixels} fffd {checksum}")
    assert port(b"S", len(expected)) == expected


def test_a_baseline_above_16_bits_is_split_msw_first(open_port):
    port = open_port(FarBaseline)
    setup(port)
    header = "02 ffff 0000 0001 00fa 0001 2345 0000"  # baseline MSW 0x0001, LSW 0x2345
    pixels = "0102 fffe 0007" + " 0000" * (PIXELS - 3)
    expected = bytes.fromhex(f"{header} {pixels} fffd 0107")
    assert port(b"S", len(expected)) == expected


def test_eeprom_slots_are_16_ascii_bytes_padded_with_nul(port):
    # ?x and the slot word: 0 is the serial number, 1..4 the wavelength coefficients.
    assert port(b"?x\x00\x00", 17) == b"\x06USB2+F00001" + b"\x00" * 5
    assert port(b"?x\x00\x02", 17) == b"\x06" + b"0.37" + b"\x00" * 12
    assert port(b"?x\x00\x05", 1) == b"\x15"  # no such slot: NAK
