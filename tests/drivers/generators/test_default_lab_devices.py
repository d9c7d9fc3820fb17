"""The default lab's generator and lock-in: found by `ik.open` from `*IDN?`, and doing
what they were told on the lab's own models."""

from __future__ import annotations

import numpy as np
import pytest

import instrumentkit as ik
from instrumentkit.drivers.keysight import Keysight33500B
from instrumentkit.drivers.stanford import StanfordSR830
from instrumentkit.sim import Lab, default_lab_path, load_lab


@pytest.fixture(scope="module")
def lab():
    spec = load_lab(default_lab_path())
    wanted = [d for d in spec.devices if d.name in ("fgen", "lockin")]
    # Keep the lock-in's wire (sine out -> RC filter -> input), drop those to other devices.
    wires = [w for w in spec.wiring if w.source.startswith("lockin")]
    update = {"devices": wanted, "wiring": wires}
    with Lab(spec.model_copy(update=update)) as running:
        yield running


def test_default_lab_generator_is_a_33522b_that_emits_what_was_set(lab):
    with ik.open(lab.resource("fgen")) as fgen:
        assert isinstance(fgen, Keysight33500B)
        channel = fgen.channels[1]
        channel.function = "sine"
        channel.frequency = 2000.0
        channel.amplitude = 1.0
        channel.output = True
        fgen.wait()
        t = np.linspace(0.0, 1e-3, 201)
        volts = lab.device("fgen").emitted(1, t)
        np.testing.assert_allclose(volts, 0.5 * np.sin(2 * np.pi * 2000.0 * t), atol=1e-12)
        assert fgen.make_safe() == []


def test_default_lab_lockin_reads_its_input(lab):
    with ik.open(lab.resource("lockin")) as lockin:
        assert isinstance(lockin, StanfordSR830)
        _, _, r, theta = lockin.read().values[0]
        # 1 V rms from the sine output through the lab's RC low-pass, whose cut-off is
        # the 1 kHz reference: 1/sqrt(2) at -45 degrees.
        gain = lab.dut("rc_filter").transfer(1000.0)
        assert r == pytest.approx(abs(gain), rel=0.01)
        assert theta == pytest.approx(np.degrees(np.angle(gain)), abs=1.0)
