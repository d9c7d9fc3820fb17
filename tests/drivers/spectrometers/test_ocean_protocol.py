"""Ocean Optics RS-232 drivers against the exact bytes of the command set.

Every pair is (bytes the driver writes, bytes the instrument answers); frames are built
here by hand from the data sheet's layout, not with the driver's own encoder.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest

from instrumentkit.drivers.oceaninsight import (
    OceanInsightHR4000,
    OceanInsightUSB2000Plus,
    OceanInsightUSB4000,
)
from instrumentkit.errors import InstrumentReportedError, ProtocolError, ValidationError
from instrumentkit.testing import expected_protocol

ACK = b"\x06"
NAK = b"\x15"
STX = b"\x02"
ETX = b"\x03"
# Slots 1..4 of the EEPROM: wavelength = 350 + 0.2 p - 1e-6 p^2 (nm), sent as text.
COEFFICIENTS = (b"350.0", b"0.2", b"-1e-06", b"0")


def slot(text: bytes) -> bytes:
    return ACK + text + b"\x00" * (16 - len(text))


def connect(
    integration_ms: int = 100, scans: int = 1, boxcar: int = 0, *, compressed: bool = False
):
    return [
        (b"bB", ACK),
        (b"k\x00\x01", ACK),
        (b"G\x00" + bytes([int(compressed)]), ACK),
        (b"?x\x00\x00", slot(b"USB4C01234")),
        (b"?x\x00\x01", slot(COEFFICIENTS[0])),
        (b"?x\x00\x02", slot(COEFFICIENTS[1])),
        (b"?x\x00\x03", slot(COEFFICIENTS[2])),
        (b"?x\x00\x04", slot(COEFFICIENTS[3])),
        (b"?I", ACK + struct.pack(">H", integration_ms)),
        (b"?A", ACK + struct.pack(">H", scans)),
        (b"?B", ACK + struct.pack(">H", boxcar)),
    ]


def frame(pixels: np.ndarray, *, scans: int = 1, integration_ms: int = 100, checksum=None) -> bytes:
    dword = scans > 1
    header = struct.pack(">7H", 0xFFFF, int(dword), scans, integration_ms, 0, 0, 0)
    data = pixels.astype(">u4" if dword else ">u2").tobytes()
    total = int(pixels.astype(np.int64).sum()) & 0xFFFF if checksum is None else checksum
    return STX + header + data + b"\xff\xfd" + struct.pack(">H", total)


def test_connection_defaults_are_the_power_up_serial_settings():
    for driver in (OceanInsightUSB2000Plus, OceanInsightUSB4000, OceanInsightHR4000):
        assert driver.connection_defaults == {
            "baudrate": 9600,
            "bytesize": 8,
            "parity": "N",
            "stopbits": 1,
            "xonxoff": False,
            "rtscts": False,
        }
        assert driver.write_termination == ""
        assert driver.read_termination == ""


def test_connect_reads_calibration_and_settings():
    with expected_protocol(OceanInsightUSB4000, connect()) as spectrometer:
        assert spectrometer.serial_number == "USB4C01234"
        axis = spectrometer.wavelengths()
        assert axis.shape == (3648,)
        p = np.arange(3648)
        np.testing.assert_allclose(axis, 350.0 + 0.2 * p - 1e-6 * p**2)
        assert not axis.flags.writeable


def test_usb2000plus_has_2048_pixels():
    with expected_protocol(OceanInsightUSB2000Plus, connect()) as spectrometer:
        assert spectrometer.wavelengths().shape == (2048,)
        assert spectrometer.wavelengths()[-1] == pytest.approx(350 + 0.2 * 2047 - 1e-6 * 2047**2)


def test_settings_are_words_msb_first_and_read_back():
    pairs = [
        *connect(),
        (b"I\x01\x2c", ACK),
        (b"?I", ACK + b"\x01\x2c"),
        (b"A\x00\x0a", ACK),
        (b"B\x00\x03", ACK),
        (b"?B", ACK + b"\x00\x03"),
    ]
    with expected_protocol(OceanInsightUSB4000, pairs) as spectrometer:
        spectrometer.integration_time = 300
        assert spectrometer.integration_time == 300
        spectrometer.averages = 10
        spectrometer.boxcar = 3
        assert spectrometer.boxcar == 3


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("integration_time", 3),
        ("integration_time", 10001),
        ("integration_time", 12.5),
        ("averages", 0),
        ("boxcar", 501),
        ("boxcar", "2"),
    ],
)
def test_bad_values_are_refused_before_any_byte(name, value):
    with (
        expected_protocol(OceanInsightUSB4000, connect()) as spectrometer,
        pytest.raises(ValidationError, match=name),
    ):
        setattr(spectrometer, name, value)


def test_nak_is_an_instrument_error_naming_the_command():
    with (
        expected_protocol(OceanInsightUSB2000Plus, [*connect(), (b"I\x00\x02", NAK)]) as spec,
        pytest.raises(InstrumentReportedError, match=r"'I 2 \(integration_time\)'.*NAK"),
    ):
        spec.integration_time = 2


def test_acquire_parses_big_endian_words_and_checksum():
    counts = (np.arange(3648) * 7 % 60000).astype(np.uint16)
    with expected_protocol(OceanInsightUSB4000, [*connect(), (b"S", frame(counts))]) as spec:
        spectrum = spec.acquire()
    np.testing.assert_array_equal(spectrum.intensities, counts)
    assert spectrum.units == "counts"
    assert spectrum.integration_time == pytest.approx(0.1)
    assert not spectrum.saturated
    assert not spectrum.dark_corrected
    assert spectrum.wavelengths.shape == (3648,)


def test_accumulated_scans_arrive_as_dwords_and_are_averaged():
    counts = np.full(2048, 3 * 1000, dtype=np.uint32)
    counts[5] = 3 * 65535  # saturated in all three scans
    pairs = [*connect(scans=3), (b"S", frame(counts, scans=3))]
    with expected_protocol(OceanInsightUSB2000Plus, pairs) as spec:
        spectrum = spec.acquire()
    assert spectrum.intensities[0] == 1000.0
    assert spectrum.intensities[5] == 65535.0
    assert spectrum.saturated


def test_hr4000_saturates_at_14_bits():
    counts = np.zeros(3648, dtype=np.uint16)
    counts[100] = 16383
    with expected_protocol(OceanInsightHR4000, [*connect(), (b"S", frame(counts))]) as spec:
        assert spec.acquire().saturated


def test_checksum_mismatch_is_a_protocol_error():
    counts = np.ones(2048, dtype=np.uint16)
    pairs = [*connect(), (b"S", frame(counts, checksum=0x1234))]
    with (
        expected_protocol(OceanInsightUSB2000Plus, pairs) as spec,
        pytest.raises(ProtocolError, match=r"'S \(acquire spectrum\)'.*checksum"),
    ):
        spec.acquire()


def test_etx_means_the_scan_was_not_taken():
    with (
        expected_protocol(OceanInsightUSB2000Plus, [*connect(), (b"S", ETX)]) as spec,
        pytest.raises(InstrumentReportedError, match="ETX"),
    ):
        spec.acquire()


def test_compressed_frame_is_decoded():
    counts = np.full(2048, 1000, dtype=np.int64)
    counts[10] = 1100  # +100: one difference byte
    counts[11] = 5000  # jump: escaped full word
    body = bytearray(struct.pack(">H", 1000))
    total = 1000
    previous = 1000
    for value in counts[1:]:
        step = int(value) - previous
        if -127 <= step <= 127:
            body.append(step & 0xFF)
            total += step & 0xFF
        else:
            body += b"\x80" + struct.pack(">H", int(value))
            total += 0x80 + int(value)
        previous = int(value)
    header = struct.pack(">7H", 0xFFFF, 0, 1, 100, 0, 0, 0)
    reply = STX + header + bytes(body) + b"\xff\xfd" + struct.pack(">H", total & 0xFFFF)
    pairs = [*connect(compressed=True), (b"S", reply)]

    class Compressed(OceanInsightUSB2000Plus):
        compress_frames = True

    with expected_protocol(Compressed, pairs) as spec:
        spectrum = spec.acquire()
    np.testing.assert_array_equal(spectrum.intensities, counts)


def test_dark_correction_single_and_batch():
    dark = np.full(2048, 100, dtype=np.uint16)
    light = dark + np.arange(2048, dtype=np.uint16)
    pairs = [
        *connect(),
        (b"S", frame(dark)),
        (b"S", frame(light)),
        (b"S", frame(light)),
        (b"S", frame(light)),
    ]
    with expected_protocol(OceanInsightUSB2000Plus, pairs) as spec:
        spec.capture_dark()
        corrected = spec.acquire(dark_corrected=True)
        np.testing.assert_array_equal(corrected.intensities, np.arange(2048))
        assert corrected.dark_corrected
        batch = spec.acquire_many(2, dark_corrected=True)
    assert batch.intensities.shape == (2, 2048)
    np.testing.assert_array_equal(batch.intensities[1], np.arange(2048))
    assert batch.meta["timestamps_ns"].shape == (2,)
    assert batch.meta["saturated"].tolist() == [False, False]


def test_dark_correction_without_dark_or_after_a_change_is_refused_before_sending():
    pairs = [*connect(), (b"S", frame(np.zeros(2048, np.uint16))), (b"I\x00\xc8", ACK)]
    with expected_protocol(OceanInsightUSB2000Plus, pairs) as spec:
        with pytest.raises(ValidationError, match="capture_dark"):
            spec.acquire(dark_corrected=True)
        spec.capture_dark()
        spec.integration_time = 200
        with pytest.raises(ValidationError, match="integration_time_ms was 100, is 200"):
            spec.acquire_many(3, dark_corrected=True)
