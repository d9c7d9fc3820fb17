"""Ocean Optics RS-232 driver paths the frame tests leave alone: refusals at each step
of connecting, reset, batches without a dark, the metadata and settings a spectrum keeps,
and errors naming the instrument and command. Exact bytes, frames written by hand."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from instrumentkit.drivers.oceaninsight import OceanInsightUSB2000Plus
from instrumentkit.errors import InstrumentReportedError, ProtocolError, ValidationError
from instrumentkit.testing import expected_protocol

from .test_ocean_protocol import ACK, NAK, connect, slot

NAME = "expected-protocol"
PIXELS = 2048


def frame(counts: np.ndarray, *, scans: int = 1, integration_ms: int = 100) -> bytes:
    """STX and a frame with baseline 0x0001_2345 (MSW 0x0001, LSW 0x2345), checksum last."""
    dword = scans > 1
    header = struct.pack(">7H", 0xFFFF, int(dword), scans, integration_ms, 0x0001, 0x2345, 0)
    data = counts.astype(">u4" if dword else ">u2").tobytes()
    total = int(counts.astype(np.int64).sum()) & 0xFFFF
    return b"\x02" + header + data + b"\xff\xfd" + struct.pack(">H", total)


@pytest.mark.parametrize(
    ("step", "command"),
    [(0, "bB (binary mode)"), (1, "k (checksum mode)"), (2, "G (compression)")],
)
def test_a_refused_connect_step_is_named(step, command):
    pairs = [*connect()[:step], (connect()[step][0], NAK)]
    with (
        pytest.raises(InstrumentReportedError, match="refused the command") as caught,
        expected_protocol(OceanInsightUSB2000Plus, pairs),
    ):
        pass
    assert (caught.value.instrument, caught.value.command) == (NAME, command)


def test_a_calibration_that_is_not_numbers_is_a_protocol_error():
    pairs = connect()
    pairs[5] = (pairs[5][0], slot(b"0.2x"))  # slot 2: order 1
    with (
        pytest.raises(ProtocolError, match=r"slots 1-4 hold \['350.0', '0.2x',") as caught,
        expected_protocol(OceanInsightUSB2000Plus, pairs[:8]),
    ):
        pass
    assert (caught.value.instrument, caught.value.command) == (NAME, "?x (read EEPROM slot)")


def test_name_and_io_logging_are_passed_on():
    with expected_protocol(OceanInsightUSB2000Plus, connect(), name="bench-spec") as spec:
        assert spec.name == "bench-spec"
        assert spec.session.log_io is False
    with expected_protocol(OceanInsightUSB2000Plus, connect(), log_io=True) as spec:
        assert spec.session.log_io is True


def test_lamp_line_and_its_refusal():
    pairs = [*connect(), (b"J\x00\x01", ACK), (b"J\x00\x00", NAK)]
    with expected_protocol(OceanInsightUSB2000Plus, pairs) as spec:
        spec.set_lamp(True)
        with pytest.raises(InstrumentReportedError) as caught:
            spec.set_lamp(False)
    assert caught.value.command == "J (lamp enable)"


def test_a_spectrum_keeps_its_settings_units_and_time():
    """Two accumulated scans: DWORD pixels divided by 2; baseline = MSW << 16 | LSW."""
    counts = np.arange(PIXELS, dtype=np.uint32) * 2
    pairs = [*connect(scans=2, boxcar=3), (b"S", frame(counts, scans=2, integration_ms=250))]
    with expected_protocol(OceanInsightUSB2000Plus, pairs) as spec:
        spectrum = spec.acquire()
    np.testing.assert_array_equal(spectrum.intensities, np.arange(PIXELS))
    assert spectrum.meta == {"scans": 2, "boxcar": 3, "baseline": 0x12345}
    assert (spectrum.units, spectrum.wavelength_units) == ("counts", "nm")
    assert spectrum.integration_time == 0.25
    assert isinstance(spectrum.timestamp_ns, int)
    assert spectrum.timestamp_ns > 1_600_000_000 * 10**9


def test_a_frame_that_counts_no_scans_is_taken_as_one():
    counts = np.full(PIXELS, 7, dtype=np.uint16)
    with expected_protocol(
        OceanInsightUSB2000Plus, [*connect(), (b"S", frame(counts, scans=0))]
    ) as spec:
        np.testing.assert_array_equal(spec.acquire().intensities, counts)


def test_a_batch_without_dark_its_saturation_units_and_metadata():
    """Three scans: a pixel is saturated at 3 x 65535 summed counts, not before."""
    first = np.full(PIXELS, 3 * 30_000, dtype=np.uint32)  # above 65535 / 3: not saturated
    second = first.copy()
    second[9] = 3 * 65535
    pairs = [
        *connect(scans=3),
        (b"S", frame(first, scans=3)),
        (b"S", frame(second, scans=3)),
    ]
    with expected_protocol(OceanInsightUSB2000Plus, pairs) as spec:
        batch = spec.acquire_many(2)
    assert batch.intensities.shape == (2, PIXELS)
    assert batch.intensities[0, 0] == 30_000.0
    assert batch.intensities[1, 9] == 65535.0
    meta = dict(batch.meta)
    assert meta.pop("saturated").tolist() == [False, True]
    assert meta.pop("timestamps_ns").dtype == np.int64
    assert meta == {"scans": 3, "boxcar": 0, "baseline": 0x12345}
    assert batch.saturated
    assert batch.units == "counts"
    assert batch.integration_time == 0.1
    assert not batch.dark_corrected


def test_a_batch_of_one():
    counts = np.full(PIXELS, 5, dtype=np.uint16)
    with expected_protocol(OceanInsightUSB2000Plus, [*connect(), (b"S", frame(counts))]) as spec:
        assert spec.acquire_many(1).intensities.shape == (1, PIXELS)


@pytest.mark.parametrize("n", [0, -1, True, 2.0, "3"])
def test_a_batch_size_that_is_not_a_positive_whole_number_is_refused(n):
    with (
        expected_protocol(OceanInsightUSB2000Plus, connect()) as spec,
        pytest.raises(ValidationError, match=f"n must be a positive whole number, got {n!r}") as c,
    ):
        spec.acquire_many(n)
    assert c.value.instrument == NAME


@pytest.mark.parametrize(
    ("change", "word", "listed"),
    [(b"A", 4, "averages was 1, is 4"), (b"B", 2, "boxcar was 0, is 2")],
)
def test_a_dark_taken_before_a_change_is_refused_naming_the_setting(change, word, listed):
    counts = np.full(PIXELS, 900, dtype=np.uint16)
    pairs = [*connect(), (b"S", frame(counts)), (change + struct.pack(">H", word), ACK)]
    with expected_protocol(OceanInsightUSB2000Plus, pairs) as spec:
        spec.capture_dark()
        setattr(spec, "averages" if change == b"A" else "boxcar", word)
        for acquire in (spec.acquire, lambda **kw: spec.acquire_many(2, **kw)):
            with pytest.raises(ValidationError, match=listed) as caught:
                acquire(dark_corrected=True)
            assert caught.value.instrument == NAME


def test_reset_restores_the_frame_options_rereads_the_settings_and_drops_the_dark():
    counts = np.full(PIXELS, 900, dtype=np.uint16)
    pairs = [
        *connect(compressed=False),
        (b"S", frame(counts)),
        (b"Q", ACK),
        (b"k\x00\x01", ACK),
        (b"G\x00\x00", ACK),
        (b"?I", ACK + struct.pack(">H", 100)),
        (b"?A", ACK + struct.pack(">H", 1)),
        (b"?B", ACK + struct.pack(">H", 0)),
        (b"G\x00\x01", ACK),
        (b"Q", NAK),
    ]
    with expected_protocol(OceanInsightUSB2000Plus, pairs) as spec:
        spec.capture_dark()
        spec.reset()
        assert spec.dark_reference is None
        with pytest.raises(ValidationError, match="needs a dark reference"):
            spec.acquire(dark_corrected=True)
        spec.compression = True
        with pytest.raises(InstrumentReportedError) as caught:
            spec.reset()
    assert caught.value.command == "Q (initialize)"


@pytest.mark.parametrize(
    ("refused", "command"), [(b"k\x00\x01", "k (checksum mode)"), (b"G\x00\x00", "G (compression)")]
)
def test_a_refusal_while_resetting_is_named(refused, command):
    steps = [(b"Q", ACK), (b"k\x00\x01", ACK), (b"G\x00\x00", ACK)]
    done = steps[: steps.index((refused, ACK))]
    pairs = [*connect(), *done, (refused, NAK)]
    with (
        expected_protocol(OceanInsightUSB2000Plus, pairs) as spec,
        pytest.raises(InstrumentReportedError) as caught,
    ):
        spec.reset()
    assert caught.value.command == command


def test_a_spectrum_is_stamped_when_its_frame_has_arrived(monkeypatch):
    from instrumentkit.drivers.oceaninsight import _serial_spectrometer

    monkeypatch.setattr(_serial_spectrometer, "time_ns", lambda: 1_700_000_000_123_456_789)
    counts = np.full(PIXELS, 5, dtype=np.uint16)
    with expected_protocol(OceanInsightUSB2000Plus, [*connect(), (b"S", frame(counts))]) as spec:
        assert spec.acquire().timestamp_ns == 1_700_000_000_123_456_789


def test_snapshot_holds_the_settings_read_back_and_the_identity():
    pairs = [
        *connect(integration_ms=250, scans=4),
        (b"G\x00\x01", ACK),
        (b"?I", ACK + struct.pack(">H", 250)),
        (b"?A", ACK + struct.pack(">H", 4)),
        (b"?B", ACK + struct.pack(">H", 0)),
    ]
    with expected_protocol(OceanInsightUSB2000Plus, pairs) as spec:
        spec.compression = True
        state = spec.snapshot()
    assert state == {
        "integration_time": {"value": 250, "units": "ms"},
        "averages": {"value": 4, "units": ""},
        "boxcar": {"value": 0, "units": "pixels"},
        "serial_number": "USB4C01234",
        "detector": "Sony ILX511B",
        "pixels": 2048,
        "wavelength_coefficients": [350.0, 0.2, -1e-06, 0.0],
        "compression": True,
        "checksum": True,
    }
