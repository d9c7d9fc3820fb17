"""Ocean Optics drivers on the simulated lab, through the real serial path (iksim://)."""

from __future__ import annotations

import numpy as np
import pytest

from instrumentkit.drivers.oceaninsight import (
    OceanInsightHR4000,
    OceanInsightUSB2000Plus,
    OceanInsightUSB4000,
)
from instrumentkit.drivers.oceaninsight.usb4000_sim import (
    HG_AR_LINES,
    HR4000Model,
    USB2000PlusModel,
    USB4000Model,
)
from instrumentkit.errors import ConnectionFailed, InstrumentReportedError, ProtocolError, Timeout
from instrumentkit.interfaces import Spectrometer
from instrumentkit.sim import ManualClock
from instrumentkit.testing import check_driver


@pytest.fixture
def lab(on_serial):
    """open_on(driver, model, **options), everything closed after (conftest.py)."""
    return on_serial


def model(kind=USB4000Model, **options):
    return kind(clock=ManualClock(), seed=7, **options)


@pytest.mark.parametrize(
    ("driver", "kind"),
    [
        (OceanInsightUSB2000Plus, USB2000PlusModel),
        (OceanInsightUSB4000, USB4000Model),
        (OceanInsightHR4000, HR4000Model),
    ],
)
def test_conformance_and_calibration(lab, driver, kind):
    device = model(kind)
    spectrometer = lab(driver, device)
    check_driver(driver, spectrometer)
    assert isinstance(spectrometer, Spectrometer)
    np.testing.assert_allclose(spectrometer.wavelengths(), device.spectrograph.wavelengths())
    assert spectrometer.serial_number == device.serial_number
    assert device.line_settings["baudrate"] == 9600
    assert device.line_settings["bytesize"] == 8
    assert device.line_settings["parity"] == "N"
    assert device.line_settings["stopbits"] == 1


def test_lines_appear_at_their_wavelengths(lab):
    spectrometer = lab(OceanInsightUSB4000, model())
    spectrometer.integration_time = 50
    spectrum = spectrometer.acquire()
    axis, counts = spectrum.wavelengths, spectrum.intensities
    for line in HG_AR_LINES:
        window = np.abs(axis - line.center) < 3.0
        peak = axis[window][np.argmax(counts[window])]
        assert peak == pytest.approx(line.center, abs=0.3)
    assert not spectrum.saturated


def test_dark_grows_with_integration_time(lab):
    device = model()
    spectrometer = lab(OceanInsightUSB4000, device)
    spectrometer.set_lamp(False)
    spectrometer.averages = 4
    levels = {}
    for ms in (100, 400):
        spectrometer.integration_time = ms
        levels[ms] = spectrometer.acquire().intensities.mean() - device.bias
    # dark rate 2000 counts/s: 200 and 800 counts above the bias
    assert levels[100] == pytest.approx(200, rel=0.05)
    assert levels[400] / levels[100] == pytest.approx(4.0, rel=0.05)


def test_integration_and_averages_take_time_on_the_device_clock(lab):
    device = model()
    spectrometer = lab(OceanInsightUSB4000, device)
    spectrometer.integration_time = 250
    spectrometer.averages = 3
    before = device.clock.now()
    spectrum = spectrometer.acquire()
    assert device.clock.now() - before == pytest.approx(0.75)
    assert spectrum.integration_time == pytest.approx(0.25)
    assert spectrum.meta["scans"] == 3


def test_saturation_flag(lab):
    spectrometer = lab(OceanInsightHR4000, model(HR4000Model))
    spectrometer.integration_time = 20
    assert not spectrometer.acquire().saturated
    spectrometer.integration_time = 500  # 2e5 counts/s lines: far past 14 bits
    spectrum = spectrometer.acquire()
    assert spectrum.saturated
    assert spectrum.intensities.max() == 16383


def test_dark_corrected_single_and_batch(lab):
    device = model(USB2000PlusModel)
    spectrometer = lab(OceanInsightUSB2000Plus, device)
    spectrometer.integration_time = 50
    spectrometer.set_lamp(False)
    dark = spectrometer.capture_dark()
    assert dark.intensities.mean() == pytest.approx(device.bias + 100, abs=5)
    spectrometer.set_lamp(True)
    corrected = spectrometer.acquire(dark_corrected=True)
    assert corrected.dark_corrected
    # What is left is the lamp: baseline 400 counts/s x 50 ms = 20 counts between lines.
    axis = corrected.wavelengths
    between = (axis > 600) & (axis < 650)
    assert corrected.intensities[between].mean() == pytest.approx(20, abs=3)
    batch = spectrometer.acquire_many(5, dark_corrected=True)
    assert batch.intensities.shape == (5, 2048)
    assert batch.dark_corrected
    np.testing.assert_allclose(batch.intensities[:, between].mean(axis=1), 20, atol=3)
    assert np.all(np.diff(batch.meta["timestamps_ns"]) >= 0)


def test_compressed_frames_match_plain_ones(lab):
    spectrometer = lab(OceanInsightUSB2000Plus, model(USB2000PlusModel, lines=()))
    spectrometer.set_lamp(False)
    spectrometer.boxcar = 5  # smooth data: nearly every pixel is one difference byte
    spectrometer.compression = True
    compressed = spectrometer.acquire()
    spectrometer.compression = False
    plain = spectrometer.acquire()
    assert abs(compressed.intensities.mean() - plain.intensities.mean()) < 3


def test_corrupted_frame_fails_its_checksum_then_the_next_is_fine(lab):
    device = model()
    spectrometer = lab(OceanInsightUSB4000, device)
    device.corrupt_frames = 1
    with pytest.raises(
        ProtocolError, match=r"iksim://ocean-\d+: command 'S \(acquire spectrum\)'.*checksum"
    ):
        spectrometer.acquire()
    spectrometer.session.timeout = 5.0  # generous again: a loaded CI machine
    assert spectrometer.acquire().intensities.shape == (3648,)


def test_garbled_frame_is_a_protocol_error(lab):
    device = model()
    spectrometer = lab(OceanInsightUSB4000, device)
    device.faults.inject("garble", on="S")
    with pytest.raises(ProtocolError, match="STX"):
        spectrometer.acquire()
    spectrometer.session.timeout = 5.0  # generous again: a loaded CI machine
    assert spectrometer.acquire().intensities.shape == (3648,)


def test_missing_frame_times_out_naming_instrument_and_command(lab):
    device = model()
    spectrometer = lab(OceanInsightUSB4000, device, baudrate=115200, timeout=0.2)
    device.faults.inject("no_reply", on="S")
    with pytest.raises(Timeout, match=r"iksim://ocean-\d+: command 'S \(acquire spectrum\)'"):
        spectrometer.acquire()
    spectrometer.session.timeout = 5.0  # generous again: a loaded CI machine
    assert spectrometer.acquire().intensities.shape == (3648,)


def test_truncated_frame_times_out(lab):
    device = model()
    spectrometer = lab(OceanInsightUSB4000, device, baudrate=115200, timeout=0.2)
    device.faults.inject("truncate", on="S", keep=0.5)
    with pytest.raises(Timeout, match="bytes arrived"):
        spectrometer.acquire()
    spectrometer.session.timeout = 5.0  # generous again: a loaded CI machine
    assert spectrometer.acquire().intensities.shape == (3648,)


def test_dropped_connection(lab):
    device = model()
    spectrometer = lab(OceanInsightUSB4000, device)
    device.faults.inject("drop", on="S", keep=0.3)
    with pytest.raises(
        ConnectionFailed, match=r"command 'S \(acquire spectrum\)'.*connection lost"
    ):
        spectrometer.acquire()


def test_value_the_instrument_refuses_is_reported(lab):
    # A USB2000+ driver allows 20 s; the USB4000 it is wrongly pointed at answers NAK.
    spectrometer = lab(OceanInsightUSB2000Plus, model(USB4000Model))
    with pytest.raises(InstrumentReportedError, match=r"'I 20000 \(integration_time\)'.*NAK"):
        spectrometer.integration_time = 20000
    assert spectrometer.integration_time == 100


def test_registered_model_opens_by_url():
    with OceanInsightUSB4000.open("iksim://model/oceaninsight-usb4000?seed=3") as spectrometer:
        assert spectrometer.serial_number == "USB4C00001"
        assert spectrometer.acquire().intensities.shape == (3648,)


def test_ik_open_by_driver_name():
    import instrumentkit as ik

    url = "iksim://model/oceaninsight-usb2000plus?seed=5"
    with ik.open(url, driver="OceanInsightUSB2000Plus") as spectrometer:
        assert isinstance(spectrometer, OceanInsightUSB2000Plus)
        assert spectrometer.wavelengths().shape == (2048,)
