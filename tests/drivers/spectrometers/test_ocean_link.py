"""The Ocean Optics serial link after a bad frame: nothing left on the line for the next
command, whatever was still arriving when the error was raised.

On a real RS-232 line a frame takes seconds (4115 bytes at 9600 baud: 4.3 s); the driver
judges its first bytes long before the last ones arrive. The model here sends its frames
the same way, in 512-byte pieces 20 ms apart on the real clock, so bytes of a refused
frame are still coming when the error is raised, as they would be on the line.
"""

from __future__ import annotations

import itertools
import struct

import numpy as np
import pytest

from instrumentkit.drivers.oceaninsight import OceanInsightUSB2000Plus
from instrumentkit.drivers.oceaninsight import _serial_protocol as wire
from instrumentkit.drivers.oceaninsight.usb4000_sim import USB2000PlusModel
from instrumentkit.errors import ProtocolError
from instrumentkit.sim import attach, detach
from instrumentkit.testing import expected_protocol

from .test_ocean_protocol import connect

_names = itertools.count()
PIECE = 512
PIECE_SECONDS = 0.02
NAME = "expected-protocol"


class TrickledFrames(USB2000PlusModel):
    """Known counts, frames sent in pieces; `garble_leads = n` spoils the next n STX."""

    counts = (np.arange(2048) * 29 % 50000).astype(np.uint32)
    garble_leads = 0

    def spectrum(self):
        return self.counts * self.scans

    def send(self, data, *, delay=0.0, at=None, command=None):
        if not data.startswith(bytes([wire.STX])) or len(data) <= PIECE:
            super().send(data, delay=delay, at=at, command=command)
            return
        if self.garble_leads:
            self.garble_leads -= 1
            data = bytes([wire.STX ^ 0x80]) + data[1:]  # one bit flipped on the line
        for index, start in enumerate(range(0, len(data), PIECE)):
            piece = data[start : start + PIECE]
            super().send(piece, delay=delay + index * PIECE_SECONDS, at=at, command=command)


@pytest.fixture
def trickled():
    name = f"ocean-link-{next(_names)}"
    device = TrickledFrames(seed=1, lines=())
    attach(name, device)
    spectrometer = OceanInsightUSB2000Plus.open(f"iksim://{name}", timeout=2.0)
    spectrometer.integration_time = 10
    yield device, spectrometer
    spectrometer.close()
    detach(name)


def test_after_a_garbled_frame_start_the_next_commands_get_their_own_replies(trickled):
    device, spectrometer = trickled
    device.garble_leads = 1
    with pytest.raises(
        ProtocolError, match=r"'S \(acquire spectrum\)'.*expected STX \(0x02\).*got 0x82"
    ):
        spectrometer.acquire()
    # The rest of that frame (4 kB) is still coming: it must not answer `?I`.
    assert spectrometer.integration_time == 10
    np.testing.assert_array_equal(spectrometer.acquire().intensities, TrickledFrames.counts)


@pytest.mark.parametrize("compressed", [False, True])
def test_a_frame_longer_than_the_settings_say_does_not_spill_into_the_next(trickled, compressed):
    # Averaging set behind the driver's back (another program, a power cycle into a
    # saved setup): DWORD pixels, twice the bytes the driver's WORD layout reads, and
    # never compressed, whatever the driver asked for.
    device, spectrometer = trickled
    spectrometer.compression = compressed
    device.scans = 3
    with pytest.raises(ProtocolError, match="DWORD pixels for 3 scans, but averages is 1"):
        spectrometer.acquire()
    # Getting back in step reads the settings again: the next frame is taken as it comes.
    spectrum = spectrometer.acquire()
    np.testing.assert_array_equal(spectrum.intensities, TrickledFrames.counts)
    assert spectrum.meta["scans"] == 3
    assert spectrometer.averages == 3


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ((0xFFFE, 0, 1, 100, 0, 0, 0), "frame starts with 0xFFFE, not 0xFFFF"),
        ((0xFFFF, 2, 1, 100, 0, 0, 0), r"data-size flag is 2, not 0 \(WORD\) or 1 \(DWORD\)"),
    ],
)
def test_a_garbled_header_is_refused_saying_which_word(words, message):
    reply = b"\x02" + struct.pack(">7H", *words) + bytes(2 * 2048) + b"\xff\xfd\x00\x00"
    with (
        expected_protocol(OceanInsightUSB2000Plus, [*connect(), (b"S", reply)]) as spec,
        pytest.raises(
            ProtocolError,
            match=f"^{NAME}: command 'S \\(acquire spectrum\\)': garbled frame header: {message}$",
        ),
    ):
        spec.acquire()
    assert not spec.session.in_step  # the next command resyncs first
