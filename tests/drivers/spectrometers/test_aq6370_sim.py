"""Yokogawa AQ6370D driver on the simulated lab, over a real TCP socket (TCPIP::...::SOCKET)."""

from __future__ import annotations

import numpy as np
import pytest

from instrumentkit.drivers.yokogawa import YokogawaAQ6370D
from instrumentkit.drivers.yokogawa.aq6370_sim import AQ6370DModel, OpticalLine
from instrumentkit.errors import (
    ConnectionFailed,
    InstrumentReportedError,
    ProtocolError,
    Timeout,
)
from instrumentkit.sim import ManualClock, create, serve
from instrumentkit.testing import check_driver

LINES = (OpticalLine(1549.0, -20.0), OpticalLine(1551.5, -5.0))


@pytest.fixture
def lab():
    """Serve a model on loopback TCP and open the driver on it; both closed after."""
    opened = []

    def open_on(device, **options):
        server = serve({"osa": device})
        osa = YokogawaAQ6370D.open(server.resource("osa"), **options)
        opened.append((server, osa))
        return osa

    yield open_on
    for server, osa in opened:
        osa.close()
        server.close()


def model(**options):
    return AQ6370DModel(clock=ManualClock(), seed=11, lines=LINES, **options)


def test_conformance_over_tcp(lab):
    osa = lab(model())
    check_driver(YokogawaAQ6370D, osa)
    assert osa.idn.model == "AQ6370D"


def test_settings_are_consistent_like_the_instrument(lab):
    osa = lab(model())
    osa.wavelength_center = 1310.0
    osa.wavelength_span = 20.0
    assert (osa.wavelength_start, osa.wavelength_stop) == (1300.0, 1320.0)
    osa.sensitivity = "high1"
    assert osa.sensitivity == "high1"
    osa.level_scale = "linear"
    assert osa.level_scale == "linear"


def test_lines_in_dbm_on_a_nm_axis_from_binary_traces(lab):
    osa = lab(model())
    osa.sweep_points = 2001
    osa.resolution = 0.02
    spectrum = osa.acquire()
    assert spectrum.wavelengths[0] == 1545.0
    assert spectrum.wavelengths[-1] == 1555.0
    for line in LINES:
        window = np.abs(spectrum.wavelengths - line.center) < 0.5
        assert spectrum.wavelengths[window][np.argmax(spectrum.intensities[window])] == (
            pytest.approx(line.center, abs=0.01)
        )
        assert spectrum.intensities[window].max() == pytest.approx(line.power_dbm, abs=0.1)
    assert np.median(spectrum.intensities) == pytest.approx(-80, abs=3)  # MID floor
    assert not spectrum.saturated


def test_ascii_and_binary_traces_agree(lab):
    osa = lab(model())
    binary = osa.acquire()
    osa.trace_format = "ascii"
    ascii_ = osa.acquire()
    np.testing.assert_allclose(ascii_.wavelengths, binary.wavelengths)
    assert ascii_.intensities.max() == pytest.approx(binary.intensities.max(), abs=1e-6)


def test_linear_scale_is_converted_back_to_dbm(lab):
    osa = lab(model())
    osa.level_scale = "linear"
    spectrum = osa.acquire()
    assert spectrum.intensities.max() == pytest.approx(-5.0, abs=0.1)
    assert spectrum.meta["level_scale"] == "linear"


def test_sweep_time_runs_on_the_device_clock(lab):
    device = model()
    osa = lab(device)
    osa.sweep_points = 5001
    osa.sensitivity = "high1"
    osa.averages = 2
    before = device.clock.now()
    osa.acquire()
    assert device.clock.now() - before == pytest.approx(5e-3 * 5001 * 2)


def test_saturation_flag(lab):
    osa = lab(AQ6370DModel(clock=ManualClock(), seed=1, lines=(OpticalLine(1550.0, 22.0),)))
    assert osa.acquire().saturated


def test_dark_correction_single_and_batch(lab):
    device = model()
    osa = lab(device)
    device.source_on = False
    dark = osa.capture_dark()
    assert dark.intensities.max() < -70
    device.source_on = True
    corrected = osa.acquire(dark_corrected=True)
    assert corrected.dark_corrected
    peak = np.argmax(corrected.intensities)
    assert corrected.intensities[peak] == pytest.approx(-5.0, abs=0.1)
    batch = osa.acquire_many(4, dark_corrected=True)
    assert batch.intensities.shape == (4, 1001)
    np.testing.assert_allclose(batch.intensities[:, peak], -5.0, atol=0.1)
    assert device.sweeps == 6


def test_instrument_error_during_a_sweep_names_the_command(lab):
    device = model()
    osa = lab(device)
    device.faults.inject("error", on=":INITiate", code=-200, message="Execution error")
    with pytest.raises(InstrumentReportedError, match=r"':INITiate'.*Execution error"):
        osa.acquire()


def test_missing_trace_times_out_then_recovers(lab):
    device = model()
    osa = lab(device, timeout=0.3)
    device.faults.inject("no_reply", on=":TRACe:Y?")
    with pytest.raises(
        Timeout, match=r"TCPIP::127\.0\.0\.1::\d+::SOCKET: command ':TRACe:Y\? TRA'"
    ):
        osa.acquire()
    osa.session.timeout = 5.0  # generous again: a loaded CI machine
    assert osa.acquire().intensities.shape == (1001,)


def test_garbled_block_is_a_protocol_error_then_recovers(lab):
    device = model()
    osa = lab(device, timeout=0.5)
    device.faults.inject("garble", on=":TRACe:Y?")
    with pytest.raises(ProtocolError, match=r"':TRACe:Y\? TRA'.*block"):
        osa.acquire()
    osa.session.timeout = 5.0  # generous again: a loaded CI machine
    assert osa.acquire().intensities.shape == (1001,)


def test_dropped_connection(lab):
    device = model()
    osa = lab(device)
    device.faults.inject("drop", on=":TRACe:Y?", keep=0.4)
    with pytest.raises(ConnectionFailed, match=r"':TRACe:Y\? TRA'"):
        osa.acquire()


def test_lan_login(lab):
    osa = lab(model(require_login=True, password="secret"), user="anonymous", password="secret")
    assert osa.idn.vendor == "YOKOGAWA"


def test_wrong_password_is_refused():
    with (
        serve({"osa": model(require_login=True, password="secret")}) as server,
        pytest.raises(ConnectionFailed, match="login as 'anonymous' refused"),
    ):
        YokogawaAQ6370D.open(server.resource("osa"), user="anonymous", password="nope")


def test_registered_model():
    device = create("yokogawa-aq6370d", seed=2)
    assert isinstance(device, AQ6370DModel)


def test_ik_open_picks_the_driver_from_idn():
    import instrumentkit as ik

    with serve({"osa": model()}) as server, ik.open(server.resource("osa")) as osa:
        assert isinstance(osa, YokogawaAQ6370D)
