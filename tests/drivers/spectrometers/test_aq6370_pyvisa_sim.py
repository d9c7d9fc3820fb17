"""Yokogawa AQ6370D driver on its pyvisa-sim YAML (drivers/yokogawa/sim/aq6370.yaml)."""

from __future__ import annotations

import numpy as np
import pytest

from instrumentkit.drivers.yokogawa import YokogawaAQ6370D
from instrumentkit.errors import InstrumentReportedError
from instrumentkit.testing import check_driver


def test_conformance():
    check_driver(YokogawaAQ6370D)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("wavelength_start", 1530.0),
        ("wavelength_stop", 1570.5),
        ("wavelength_center", 1310.0),
        ("wavelength_span", 40.0),
        ("resolution", 0.05),
        ("sweep_points", 5001),
        ("sweep_points_auto", True),
        ("sensitivity", "high2"),
        ("averages", 20),
        ("sweep_mode", "auto"),
        ("level_scale", "linear"),
    ],
)
def test_every_setting_is_stateful(sim_instrument, name, value):
    osa = sim_instrument(YokogawaAQ6370D)
    assert getattr(osa, name) != value
    setattr(osa, name, value)
    assert getattr(osa, name) == value


def test_sim_state_is_fresh_per_test(sim_instrument):
    assert sim_instrument(YokogawaAQ6370D).wavelength_start == 1545.0


def test_identity(sim_instrument):
    idn = sim_instrument(YokogawaAQ6370D).idn
    assert (idn.vendor, idn.model) == ("YOKOGAWA", "AQ6370D")


def test_acquire_ascii_trace(sim_instrument):
    osa = sim_instrument(YokogawaAQ6370D)
    spectrum = osa.acquire()
    assert spectrum.wavelengths[np.argmax(spectrum.intensities)] == pytest.approx(1550.0)
    assert spectrum.intensities.max() == pytest.approx(-10.0)
    assert spectrum.intensities.min() == pytest.approx(-62.0)
    np.testing.assert_allclose(osa.wavelengths(), np.linspace(1545, 1555, 101))


def test_error_queue(sim_instrument):
    osa = sim_instrument(YokogawaAQ6370D)
    osa.session.write(":SENSe:NOSuchThing 1")
    with pytest.raises(InstrumentReportedError, match="Undefined header"):
        osa.check_errors()
    osa.check_errors()  # drained
