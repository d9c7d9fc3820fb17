"""The Ocean Optics serial link's exchanges: what each refusal and broken reply raises
(class, code, instrument, command, message), the deadline a frame is given at the port's
baud rate, a word setting declared on a driver, and a port that fails under the driver.
Exact bytes from the RS-232 command summary; frames written by hand."""

from __future__ import annotations

import logging
import struct

import numpy as np
import pytest

from instrumentkit.drivers.oceaninsight import OceanInsightUSB2000Plus
from instrumentkit.drivers.oceaninsight._serial_link import WordSetting
from instrumentkit.drivers.oceaninsight.usb4000_sim import USB2000PlusModel
from instrumentkit.errors import (
    ConnectionFailed,
    InstrumentReportedError,
    ProtocolError,
    ValidationError,
)
from instrumentkit.sim import ManualClock
from instrumentkit.testing import expected_protocol
from instrumentkit.validators import Range

from .test_ocean_protocol import ACK, NAK, connect, frame

NAME = "expected-protocol"


def plain_frame(counts, *, end=b"\xff\xfd", checksum: bytes | None = None) -> bytes:
    """STX, a WORD header (1 scan, 100 ms) and `counts`, then `end` and the checksum."""
    header = struct.pack(">7H", 0xFFFF, 0, 1, 100, 0, 0, 0)
    if checksum is None:
        checksum = struct.pack(">H", int(np.sum(counts, dtype=np.int64)) & 0xFFFF)
    return b"\x02" + header + counts.astype(">u2").tobytes() + end + checksum


def test_nak_is_refused_with_its_code_naming_the_command():
    with (
        expected_protocol(OceanInsightUSB2000Plus, [*connect(), (b"B\x00\x07", NAK)]) as spec,
        pytest.raises(InstrumentReportedError) as caught,
    ):
        spec.boxcar = 7
    error = caught.value
    assert (error.code, error.instrument, error.command) == (0x15, NAME, "B 7 (boxcar)")
    assert "refused the command (NAK): unknown command or value out of its range" in str(error)


def test_a_reply_that_is_neither_ack_nor_nak_is_a_protocol_error():
    with (
        expected_protocol(OceanInsightUSB2000Plus, [*connect(), (b"?I", b"A")]) as spec,
        pytest.raises(ProtocolError) as caught,
    ):
        spec.integration_time  # noqa: B018 - the read is the test
    assert str(caught.value) == (
        f"{NAME}: command '?I': expected ACK (0x06) or NAK (0x15), got 0x41; the instrument "
        "may be in ASCII mode or at another baud rate"
    )
    assert not spec.session.in_step


def test_an_eeprom_slot_refused_names_the_slot():
    pairs = [*connect()[:4], (b"?x\x00\x01", NAK)]
    with (
        pytest.raises(InstrumentReportedError) as caught,
        expected_protocol(OceanInsightUSB2000Plus, pairs),
    ):
        pass
    assert caught.value.command == "?x 1 (read EEPROM slot)"


def test_etx_is_reported_with_its_code():
    with (
        expected_protocol(OceanInsightUSB2000Plus, [*connect(), (b"S", b"\x03")]) as spec,
        pytest.raises(InstrumentReportedError) as caught,
    ):
        spec.acquire()
    error = caught.value
    assert (error.code, error.instrument, error.command) == (3, NAME, "S (acquire spectrum)")
    assert "could not take the scan (ETX)" in str(error)
    assert spec.session.in_step  # a refusal, not a broken frame


@pytest.mark.parametrize(
    ("trailer", "message"),
    [
        (
            {"end": b"\xff\xfe"},
            "frame does not end with 0xFFFD (got 0xFFFE): bytes were lost or added",
        ),
        (
            {"checksum": b"\x12\x34"},
            "checksum mismatch: frame says 0x1234, data sums to 0x0800 (corrupted in "
            "transit); acquire again",
        ),
    ],
)
def test_a_frame_with_a_bad_trailer_is_refused_saying_what_was_wrong(trailer, message):
    reply = plain_frame(np.ones(2048, np.uint16), **trailer)
    with (
        expected_protocol(OceanInsightUSB2000Plus, [*connect(), (b"S", reply)]) as spec,
        pytest.raises(ProtocolError) as caught,
    ):
        spec.acquire()
    assert str(caught.value) == f"{NAME}: command 'S (acquire spectrum)': {message}"
    assert not spec.session.in_step


def test_frames_without_checksum_plain_and_compressed():
    """`k0`: the frame ends at 0xFFFD; a compressed one is read to its 0xFFFD and no further."""

    class NoChecksum(OceanInsightUSB2000Plus):
        checksum_frames = False

    counts = np.full(2048, 1000, np.uint16)
    counts[7] = 4000  # one escaped pixel, and the step back: another
    compressed = bytes.fromhex("03e8" + "00" * 6 + "800fa0" + "8003e8" + "00" * 2039)
    header = struct.pack(">7H", 0xFFFF, 0, 1, 100, 0, 0, 0)
    pairs = [
        (b"bB", ACK),
        (b"k\x00\x00", ACK),
        *connect()[2:],
        (b"S", b"\x02" + header + counts.astype(">u2").tobytes() + b"\xff\xfd"),
        (b"G\x00\x01", ACK),
        (b"S", b"\x02" + header + compressed + b"\xff\xfd"),
    ]
    with expected_protocol(NoChecksum, pairs) as spec:
        np.testing.assert_array_equal(spec.acquire().intensities, counts)
        spec.compression = True
        np.testing.assert_array_equal(spec.acquire().intensities, counts)


class SeesTheDeadline(USB2000PlusModel):
    """Notes the driver's read timeout when `S` arrives (set before the write)."""

    def __init__(self, **options):
        super().__init__(**options)
        self.deadlines: list[float] = []
        self.spectrometer = None

    def _acquire(self):
        self.deadlines.append(self.spectrometer.session.transport.timeout)
        super()._acquire()


@pytest.mark.parametrize("baudrate", [9600, 115200])
def test_a_frame_is_given_its_exposure_and_its_time_on_the_wire(on_serial, baudrate):
    device = SeesTheDeadline(clock=ManualClock(), seed=1)
    spectrometer = on_serial(OceanInsightUSB2000Plus, device, baudrate=baudrate, timeout=2.0)
    device.spectrometer = spectrometer
    plain = 1 + 14 + 2 * 2048 + 4  # STX, header, WORD pixels, 0xFFFD and checksum
    accumulated = 1 + 14 + 4 * 2048 + 4  # DWORD pixels
    spectrometer.acquire()
    spectrometer.integration_time = 250
    spectrometer.acquire()
    spectrometer.averages = 3
    spectrometer.acquire()
    spectrometer.boxcar = 2  # no change to the frame's time
    spectrometer.acquire()
    wire = [plain * 10 / baudrate] * 2 + [accumulated * 10 / baudrate] * 2  # 10 bits a byte
    exposure = [0.1, 0.25, 0.75, 0.75]
    expected = [2.0 + e + w for e, w in zip(exposure, wire, strict=True)]
    assert device.deadlines == pytest.approx(expected, rel=1e-9)
    assert spectrometer.session.timeout == 2.0  # given back after each frame


def test_a_word_setting_declared_on_a_driver():
    class WithTrigger(OceanInsightUSB2000Plus):
        trigger_mode = WordSetting(
            "T", validate=Range(0, 3, integer=True), units="", doc="Set the trigger mode."
        )

    pairs = [*connect(), (b"T\x00\x03", ACK), (b"?T", ACK + b"\x00\x03")]
    with expected_protocol(WithTrigger, pairs) as spec:
        spec.trigger_mode = 3
        assert spec.trigger_mode == 3
        with pytest.raises(ValidationError) as caught:
            spec.trigger_mode = 4
    assert (caught.value.instrument, caught.value.command) == (NAME, "T (trigger_mode)")
    assert str(caught.value).startswith(f"{NAME}: command 'T (trigger_mode)': trigger_mode = 4")
    setting = WithTrigger.trigger_mode
    assert (setting.get_command, setting.set_command) == ("?T", "T")  # as listed and logged
    assert (setting.letter, setting.units) == ("T", "")
    assert setting.__doc__ == "Set the trigger mode."


def test_io_logging_shows_the_acquire_command(caplog):
    counts = np.full(2048, 5, dtype=np.uint16)
    pairs = [*connect(), (b"S", frame(counts))]
    with (
        caplog.at_level(logging.DEBUG, logger="instrumentkit.io"),
        expected_protocol(OceanInsightUSB2000Plus, pairs, log_io=True) as spec,
    ):
        spec.acquire()
    assert f"{NAME} << b'S'" in caplog.messages


def test_a_port_that_fails_under_the_driver_names_the_command(on_serial):
    spectrometer = on_serial(OceanInsightUSB2000Plus, USB2000PlusModel(clock=ManualClock(), seed=1))
    spectrometer.session.transport.port.close()  # the adapter unplugged
    with pytest.raises(ConnectionFailed) as caught:
        spectrometer.acquire()
    assert (caught.value.command, caught.value.instrument) == (
        "S (acquire spectrum)",
        spectrometer.name,
    )


def test_a_connection_lost_before_the_frame_names_the_command(on_serial):
    device = USB2000PlusModel(clock=ManualClock(), seed=1)
    spectrometer = on_serial(OceanInsightUSB2000Plus, device)
    device.faults.inject("drop", on="S", keep=0.0)
    with pytest.raises(ConnectionFailed, match=r"'S \(acquire spectrum\)'.*connection lost"):
        spectrometer.acquire()
