"""The Ocean Optics serial link after a bad frame: nothing left on the line for the next
command, whatever was still arriving when the error was raised.

On a real RS-232 line a frame takes seconds (4115 bytes at 9600 baud: 4.3 s); the driver
judges its first bytes long before the last ones arrive. The model here sends its frames
the same way, in 256-byte pieces 20 ms apart on the real clock, so bytes of a refused
frame are still coming when the error is raised, as they would be on the line.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from instrumentkit.drivers.oceaninsight import OceanInsightUSB2000Plus
from instrumentkit.drivers.oceaninsight import _serial_protocol as wire
from instrumentkit.drivers.oceaninsight.usb4000_sim import USB2000PlusModel
from instrumentkit.errors import ProtocolError
from instrumentkit.sim import attach, detach

_names = itertools.count()
PIECE = 256
PIECE_SECONDS = 0.02


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
    spectrometer = OceanInsightUSB2000Plus.open(f"iksim://{name}", timeout=5.0)
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


def test_a_frame_longer_than_the_settings_say_does_not_spill_into_the_next(trickled):
    # Averaging set behind the driver's back (another program, a power cycle into a
    # saved setup): DWORD pixels, twice the bytes the driver's WORD layout reads.
    device, spectrometer = trickled
    device.scans = 3
    with pytest.raises(ProtocolError, match="DWORD pixels for 3 scans, but averages is 1"):
        spectrometer.acquire()
    # Getting back in step reads the settings again: the next frame is taken as it comes.
    spectrum = spectrometer.acquire()
    np.testing.assert_array_equal(spectrum.intensities, TrickledFrames.counts)
    assert spectrum.meta["scans"] == 3
    assert spectrometer.averages == 3
