"""The Ocean Optics frame path: STX and frame in one serial read, reused buffers, headers.

Frames over the simulated serial port (`iksim://`) take the one-read path
(`SerialTransport.read_some_into`); frames from `expected_protocol` the two-read one.
Both must give the same values and the same errors; a setting changed between frames
must show in the next frame's layout and header.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest

from instrumentkit.drivers.oceaninsight import OceanInsightUSB2000Plus, OceanInsightUSB4000
from instrumentkit.drivers.oceaninsight import _serial_protocol as wire
from instrumentkit.drivers.oceaninsight.usb4000_sim import USB2000PlusModel, USB4000Model
from instrumentkit.errors import InstrumentReportedError, ProtocolError
from instrumentkit.serial_transport import SerialTransport
from instrumentkit.sim import ManualClock
from instrumentkit.testing import expected_protocol

from .test_ocean_protocol import ACK, connect, frame


class FixedExposure(USB2000PlusModel):
    """Serves one known exposure (summed over the scans, as the instrument does)."""

    counts = (np.arange(2048) * 31 % 60000).astype(np.uint32)

    def spectrum(self):
        return self.counts * self.scans


class RefusesScans(USB4000Model):
    """Answers every `S` with ETX: the scan could not be taken."""

    def _acquire(self) -> None:
        self.send(bytes([wire.ETX]))


def test_serial_path_reads_words_dwords_and_frames_without_checksum(on_serial):
    spectrometer = on_serial(OceanInsightUSB2000Plus, FixedExposure(clock=ManualClock(), seed=1))
    expected = FixedExposure.counts.astype(np.float64)
    for averages, checksum in [(1, True), (3, True), (3, False), (1, False), (1, True)]:
        spectrometer.averages = averages
        spectrometer.checksum = checksum
        for _ in range(2):  # the second frame reuses buffer and parsed header
            spectrum = spectrometer.acquire()
            np.testing.assert_array_equal(spectrum.intensities, expected)
            assert spectrum.meta["scans"] == averages
            assert not spectrum.saturated


def test_serial_path_sees_a_new_integration_time_in_the_header(on_serial):
    spectrometer = on_serial(OceanInsightUSB2000Plus, FixedExposure(clock=ManualClock(), seed=1))
    assert spectrometer.acquire().integration_time == pytest.approx(0.1)
    spectrometer.integration_time = 20
    assert spectrometer.acquire().integration_time == pytest.approx(0.02)


def test_returned_spectra_do_not_share_memory(on_serial):
    spectrometer = on_serial(OceanInsightUSB2000Plus, FixedExposure(clock=ManualClock(), seed=1))
    first, second = spectrometer.acquire(), spectrometer.acquire()
    assert not np.shares_memory(first.intensities, second.intensities)
    first.intensities[0] = -1.0
    assert second.intensities[0] == FixedExposure.counts[0]


def test_etx_on_the_serial_path_is_reported_not_waited_for(on_serial):
    # A frame read that waited for a whole frame after ETX would end in a Timeout.
    spectrometer = on_serial(OceanInsightUSB4000, RefusesScans(clock=ManualClock(), seed=1))
    for _ in range(2):
        with pytest.raises(InstrumentReportedError, match=r"'S \(acquire spectrum\)'.*ETX"):
            spectrometer.acquire()


def test_a_changed_header_is_checked_again():
    counts = np.ones(2048, dtype=np.uint16)
    good = frame(counts)
    pixel_mode_set = bytearray(good)
    pixel_mode_set[1 + 12 : 1 + 14] = struct.pack(">H", 3)
    other_time = frame(counts, integration_ms=250)
    pairs = [
        *connect(),
        (b"S", good),
        (b"S", good),
        (b"S", bytes(pixel_mode_set)),
        # A refused frame puts the link out of step: binary mode, frame options and the
        # settings again before the next command.
        *connect()[:3],
        *connect()[8:],
        (b"S", other_time),
    ]
    with expected_protocol(OceanInsightUSB2000Plus, pairs) as spec:
        assert spec.acquire().integration_time == pytest.approx(0.1)
        assert spec.acquire().integration_time == pytest.approx(0.1)
        with pytest.raises(ProtocolError, match="pixel mode 3"):
            spec.acquire()
        assert spec.acquire().integration_time == pytest.approx(0.25)


def test_word_frame_while_averaging_is_refused():
    # As long as the DWORD frame expected: 4096 words where 2048 dwords should be.
    pairs = [*connect(scans=2), (b"S", frame(np.ones(4096, dtype=np.uint16)))]
    with (
        expected_protocol(OceanInsightUSB2000Plus, pairs) as spec,
        pytest.raises(ProtocolError, match="WORD pixels for 1 scans, but averages is 2"),
    ):
        spec.acquire()


def test_read_some_into_takes_what_has_arrived():
    with SerialTransport("loop://", timeout=0.5) as port:
        port.write(b"\x03")
        buffer = bytearray(100)
        assert port.read_some_into(memoryview(buffer)) == 1
        assert buffer[0] == 0x03
        port.write(b"abcdef")
        assert port.read_until(b"c") == b"ab"  # leaves "def" pending in the transport
        assert port.read_some_into(memoryview(buffer)) == 3
        assert buffer[:3] == b"def"
        assert port.read_some_into(memoryview(buffer)[:0]) == 0


def test_read_some_into_times_out_with_no_byte():
    with SerialTransport("loop://", timeout=0.1) as port, pytest.raises(TimeoutError) as error:
        port.read_some_into(memoryview(bytearray(8)))
    assert "0 of 8 bytes arrived" in str(error.value)


class ServesCounts(USB4000Model):
    """Serves `counts` (one scan's worth; summed over the scans, as the instrument does)."""

    counts = np.zeros(3648, dtype=np.uint32)

    def spectrum(self):
        return self.counts * self.scans


# Words whose bytes are 0xFF 0xFF only across a word boundary, or only when read in the
# wrong byte order (0x00FF reads as 0xFF00): none reaches 65535.
_NEAR_MISSES = (0x12FF, 0xFF34, 0x00FF, 0xFFFE)


@pytest.mark.parametrize(
    ("averages", "compressed", "peaks", "saturated"),
    [
        (1, False, _NEAR_MISSES, False),
        (1, False, (*_NEAR_MISSES, 0xFFFF), True),
        (1, True, _NEAR_MISSES, False),
        (1, True, (0xFFFF,), True),
        (3, False, _NEAR_MISSES, False),
        (3, False, (0xFFFF,), True),
    ],
)
def test_saturation_flag_on_every_frame_path(on_serial, averages, compressed, peaks, saturated):
    device = ServesCounts(clock=ManualClock(), seed=1)
    device.counts = np.full(3648, 1000, dtype=np.uint32)
    device.counts[100 : 100 + len(peaks)] = peaks
    spectrometer = on_serial(OceanInsightUSB4000, device)
    spectrometer.averages = averages
    spectrometer.compression = compressed
    for _ in range(2):  # the second frame reuses the buffer
        spectrum = spectrometer.acquire()
        assert spectrum.saturated is saturated
        np.testing.assert_array_equal(spectrum.intensities, device.counts)


def test_saturation_is_judged_on_each_frame(on_serial):
    device = ServesCounts(clock=ManualClock(), seed=1)
    device.counts = np.full(3648, 1000, dtype=np.uint32)
    spectrometer = on_serial(OceanInsightUSB4000, device)
    assert not spectrometer.acquire().saturated
    device.counts = device.counts.copy()
    device.counts[-1] = 0xFFFF
    assert spectrometer.acquire().saturated
    device.counts = np.full(3648, 1000, dtype=np.uint32)
    assert not spectrometer.acquire().saturated


def test_a_repeated_word_header_after_averages_changed_is_refused():
    # The second header is the one parsed for the first frame, but no longer fits the
    # settings (4096 words: as long as the 2048 DWORDs then expected).
    first = frame(np.ones(2048, dtype=np.uint16))
    second = frame(np.ones(4096, dtype=np.uint16))
    assert first[:15] == second[:15]
    pairs = [*connect(), (b"S", first), (b"A\x00\x02", ACK), (b"S", second)]
    with expected_protocol(OceanInsightUSB2000Plus, pairs) as spec:
        spec.acquire()
        spec.averages = 2
        with pytest.raises(ProtocolError, match="WORD pixels for 1 scans, but averages is 2"):
            spec.acquire()
