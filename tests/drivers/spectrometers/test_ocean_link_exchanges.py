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
    Timeout,
    ValidationError,
)
from instrumentkit.sim import ManualClock
from instrumentkit.testing import ProtocolTransport, expected_protocol
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
    spectrometer.averages = 2  # DWORD pixels from 2 scans on
    spectrometer.acquire()
    spectrometer.boxcar = 2  # no change to the frame's time
    spectrometer.acquire()
    wire = [plain * 10 / baudrate] * 2 + [accumulated * 10 / baudrate] * 2  # 10 bits a byte
    exposure = [0.1, 0.25, 0.5, 0.5]
    expected = [2.0 + e + w for e, w in zip(exposure, wire, strict=True)]
    assert device.deadlines == pytest.approx(expected, rel=1e-9)
    assert spectrometer.session.timeout == 2.0  # given back after each frame


def test_a_word_setting_declared_on_a_driver():
    """A model with a narrower integration range declares its own `I` setting."""

    class Narrower(OceanInsightUSB2000Plus):
        integration_time = WordSetting(
            "I", validate=Range(1, 100, integer=True), units="ms", doc="Set the exposure."
        )

    pairs = [
        *connect(),
        (b"I\x00\x32", ACK),
        (b"?I", ACK + b"\x00\x32"),
        (b"?I", ACK + b"\x00\x32"),  # the snapshot reads the settings back
        (b"?A", ACK + b"\x00\x01"),
        (b"?B", ACK + b"\x00\x00"),
    ]
    with expected_protocol(Narrower, pairs) as spec:
        spec.integration_time = 50
        assert spec.integration_time == 50
        with pytest.raises(ValidationError) as caught:
            spec.integration_time = 101
        state = spec.snapshot()
    assert (caught.value.instrument, caught.value.command) == (NAME, "I (integration_time)")
    assert str(caught.value).startswith(
        f"{NAME}: command 'I (integration_time)': integration_time = 101 refused before sending"
    )
    assert state["integration_time"] == {"value": 50, "units": "ms"}
    setting = Narrower.integration_time
    assert (setting.get_command, setting.set_command, setting.letter) == ("?I", "I", "I")
    assert setting.__doc__ == "Set the exposure."


def test_io_logging_shows_the_acquire_command(caplog):
    counts = np.full(2048, 5, dtype=np.uint16)
    pairs = [*connect(), (b"S", frame(counts))]
    with (
        caplog.at_level(logging.DEBUG, logger="instrumentkit.io"),
        expected_protocol(OceanInsightUSB2000Plus, pairs, log_io=True) as spec,
    ):
        spec.acquire()
    assert f"{NAME} << b'S'" in caplog.messages


@pytest.mark.parametrize("log_io", [False, True])
def test_a_port_that_fails_under_the_driver_names_the_command(on_serial, log_io):
    device = USB2000PlusModel(clock=ManualClock(), seed=1)
    spectrometer = on_serial(OceanInsightUSB2000Plus, device)
    spectrometer.session.log_io = log_io  # the write then goes through the session's log
    spectrometer.session.transport.port.close()  # the adapter unplugged
    with pytest.raises(ConnectionFailed, match="connection lost: write failed") as caught:
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


class Line(ProtocolTransport):
    """Expected exchanges on a line whose unread input the driver can drop (a serial port),
    noting the timeout each read is given. It has no baud rate to report."""

    def __init__(self, pairs) -> None:
        super().__init__(pairs, write_termination="", read_termination="", encoding="latin-1")
        self.read_timeouts: list[float] = []

    def read_into(self, buffer: memoryview) -> None:
        self.read_timeouts.append(self.timeout)
        super().read_into(buffer)

    def reset_input(self) -> None:
        self._output.clear()


class Compressed(OceanInsightUSB2000Plus):
    compress_frames = True


# 1000 counts, then three jumps at the end: escapes, so the first read of 1 + 2048 bytes
# is not the whole of the data and the decoder asks for the rest.
_COUNTS = np.full(2048, 1000, np.uint16)
_COUNTS[-3:] = (5000, 9000, 13000)
_DATA = bytes.fromhex("03e8" + "00" * 2044 + "801388" + "802328" + "8032c8")
_SUM = (1000 + 3 * 0x80 + 5000 + 9000 + 13000) & 0xFFFF
_COMPRESSED_FRAME = (
    b"\x02" + struct.pack(">7H", 0xFFFF, 0, 1, 100, 0, 0, 0) + _DATA + b"\xff\xfd"
) + struct.pack(">H", _SUM)


def test_a_compressed_frame_read_in_the_pieces_its_decoder_asks_for():
    with expected_protocol(
        Compressed, [*connect(compressed=True), (b"S", _COMPRESSED_FRAME)]
    ) as spec:
        np.testing.assert_array_equal(spec.acquire().intensities, _COUNTS)


@pytest.mark.parametrize(
    "cut",
    [
        0,  # no STX
        1 + 5,  # in the header
        1 + 14 + 100,  # in the first read of the data
        1 + 14 + 2052,  # in what the decoder asked for next
        len(_COMPRESSED_FRAME) - 1,  # in the checksum
    ],
)
def test_a_compressed_frame_cut_short_times_out_naming_the_command(cut):
    line = Line([*connect(compressed=True), (b"S", _COMPRESSED_FRAME[:cut])])
    spec = Compressed(line)
    with pytest.raises(Timeout) as caught:
        spec.acquire()
    assert (caught.value.instrument, caught.value.command) == (NAME, "S (acquire spectrum)")
    assert not spec.session.in_step
    line.check_done()  # what had arrived was dropped


@pytest.mark.parametrize(
    ("reply", "error", "message"),
    [
        # ETX, and whatever came after it: dropped, not taken for the next reply
        (
            b"\x03\x06\x06",
            InstrumentReportedError,
            r"the instrument could not take the scan \(ETX\)",
        ),
        (
            _COMPRESSED_FRAME[:13] + b"\x00\x02" + _COMPRESSED_FRAME[15:],
            ProtocolError,
            r"pixel mode 2 is set; this driver reads all pixels \(mode 0\): send P0 or reset the "
            "instrument$",
        ),
        (
            b"\x02"
            + struct.pack(">7H", 0xFFFF, 0, 1, 100, 0, 0, 0)
            + b"\x00\x00\xff"  # 0, then 1 less
            + bytes(2046),
            ProtocolError,
            r"compressed data decodes to values outside 0\.\.65535 \(garbled\)",
        ),
    ],
)
def test_compressed_mode_refusals_name_the_command(reply, error, message):
    line = Line([*connect(compressed=True), (b"S", reply)])
    spec = Compressed(line)
    with pytest.raises(error, match=f"^{NAME}: command 'S \\(acquire spectrum\\)': {message}"):
        spec.acquire()
    line.check_done()


@pytest.mark.parametrize(
    ("step", "command"),
    [(0, "bB (binary mode)"), (1, "k (checksum mode)"), (2, "G (compression)")],
)
def test_a_refusal_while_getting_back_in_step_is_named(step, command):
    resync = connect()[:3]
    refused = [*resync[:step], (resync[step][0], NAK)]
    pairs = [*connect(), (b"?I", b"\x00"), *refused]  # 0x00: not an ACK, out of step
    with expected_protocol(OceanInsightUSB2000Plus, pairs) as spec:
        with pytest.raises(ProtocolError, match="got 0x00"):
            spec.integration_time  # noqa: B018 - the read is the test
        with pytest.raises(InstrumentReportedError) as caught:
            spec.boxcar  # noqa: B018 - resyncs first
    assert (caught.value.instrument, caught.value.command) == (NAME, command)


def test_a_compressed_frame_with_a_wrong_checksum_names_the_command():
    reply = _COMPRESSED_FRAME[:-2] + b"\x00\x00"
    with (
        expected_protocol(Compressed, [*connect(compressed=True), (b"S", reply)]) as spec,
        pytest.raises(ProtocolError) as caught,
    ):
        spec.acquire()
    assert str(caught.value) == (
        f"{NAME}: command 'S (acquire spectrum)': checksum mismatch: frame says 0x0000, data "
        f"sums to 0x{_SUM:04X} (corrupted in transit); acquire again"
    )


def test_without_a_baud_rate_a_frame_is_given_its_exposure_only():
    line = Line([*connect(), (b"S", plain_frame(np.ones(2048, np.uint16)))])
    spec = OceanInsightUSB2000Plus(line)
    before = len(line.read_timeouts)
    spec.acquire()
    # STX, then the rest of the frame: the session's 1 s and the 100 ms exposure each.
    assert line.read_timeouts[before:] == pytest.approx([1.1, 1.1], rel=1e-9)
    assert line.timeout == 1.0
    line.check_done()


@pytest.mark.parametrize("cut", [0, 1 + 14 + 100, 1 + 14 + 4096 + 3])
def test_a_plain_frame_cut_short_times_out_naming_the_command(cut):
    line = Line([*connect(), (b"S", plain_frame(np.ones(2048, np.uint16))[:cut])])
    spec = OceanInsightUSB2000Plus(line)
    with pytest.raises(Timeout) as caught:
        spec.acquire()
    assert (caught.value.instrument, caught.value.command) == (NAME, "S (acquire spectrum)")
    line.check_done()


@pytest.mark.parametrize(
    ("averages", "words", "message"),
    [
        (
            1,
            (0xFFFF, 1, 3, 100, 0, 0, 0),
            "frame holds DWORD pixels for 3 scans, but averages is 1",
        ),
        (2, (0xFFFF, 0, 1, 100, 0, 0, 0), "frame holds WORD pixels for 1 scans, but averages is 2"),
    ],
)
def test_a_header_that_disagrees_with_averages_is_refused(averages, words, message):
    reply = b"\x02" + struct.pack(">7H", *words) + bytes(4 * 2048) + b"\xff\xfd\x00\x00"
    line = Line([*connect(scans=averages), (b"S", reply)])
    spec = OceanInsightUSB2000Plus(line)
    with pytest.raises(ProtocolError) as caught:
        spec.acquire()
    assert str(caught.value) == f"{NAME}: command 'S (acquire spectrum)': {message}"
    line.check_done()  # the rest of the frame dropped


class NoChecksum(OceanInsightUSB2000Plus):
    checksum_frames = False


def test_without_checksum_a_frame_not_ending_in_fffd_is_refused():
    reply = plain_frame(np.ones(2048, np.uint16), end=b"\xff\xfe", checksum=b"")
    pairs = [(b"bB", ACK), (b"k\x00\x00", ACK), *connect()[2:], (b"S", reply)]
    with (
        expected_protocol(NoChecksum, pairs) as spec,
        pytest.raises(ProtocolError) as caught,
    ):
        spec.acquire()
    assert str(caught.value) == (
        f"{NAME}: command 'S (acquire spectrum)': frame does not end with 0xFFFD (got "
        "0xFFFE): bytes were lost or added"
    )


def test_a_frame_that_counts_no_scans_is_judged_as_one_scan():
    counts = np.full(2048, 7, dtype=np.uint16)
    counts[3] = 65535  # full scale of one scan
    reply = (
        b"\x02" + struct.pack(">7H", 0xFFFF, 0, 0, 100, 0, 0, 0) + counts.astype(">u2").tobytes()
    )
    reply += b"\xff\xfd" + struct.pack(">H", int(counts.sum(dtype=np.int64)) & 0xFFFF)
    with expected_protocol(OceanInsightUSB2000Plus, [*connect(), (b"S", reply)]) as spec:
        assert spec.acquire().saturated


class UnpluggedAt(Line):
    """The port fails, as a serial write does when the adapter is pulled, at `command`."""

    def __init__(self, pairs, command: bytes) -> None:
        super().__init__(pairs)
        self.command = command

    def write(self, data: bytes) -> None:
        if data == self.command:
            raise ConnectionError("write failed: port gone")
        super().write(data)


@pytest.mark.parametrize(
    ("step", "reply", "error", "command"),
    [
        (0, b"", Timeout, "bB (binary mode)"),  # no ACK
        (1, None, ConnectionFailed, "k (checksum mode)"),
        (3, ACK + b"USB4", Timeout, "?x 0 (read EEPROM slot)"),  # 4 of 16 text bytes
        (8, ACK + b"\x00", Timeout, "?I"),  # half the word
        (5, None, ConnectionFailed, "?x 2 (read EEPROM slot)"),
        (9, None, ConnectionFailed, "?A"),
    ],
)
def test_connect_queries_cut_short_or_unsent_name_their_command(step, reply, error, command):
    pairs = connect()
    sent = pairs[step][0]
    line = (
        UnpluggedAt(pairs[:step], sent) if reply is None else Line([*pairs[:step], (sent, reply)])
    )
    with pytest.raises(error) as caught:
        OceanInsightUSB2000Plus(line)
    assert (caught.value.instrument, caught.value.command) == (NAME, command)
