"""The loop closed: a generator drives a scope input, and the scope sees what was set.

    python examples/fgen_to_scope.py                          # 2 kHz sine, 1 Vpp
    python examples/fgen_to_scope.py --frequency 3300 --amplitude 0.6

Starts the default simulated lab in this process. Its wiring puts generator output 1
(`fgen`, a Keysight 33522B model) on scope channel 3 (`scope`, a Rigol DS1054Z model);
both are reached over loopback TCP through their drivers, as real instruments would be.
The script sets the generator, fetches channel 3 and measures the trace: frequency from
the peak of a Hann-windowed FFT (interpolated between bins), amplitude from a
least-squares sine fit at that frequency.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from numpy.typing import NDArray

import instrumentkit as ik
from instrumentkit.sim import Lab, default_lab_path


def dominant_frequency(volts: NDArray[np.float64], dx: float) -> float:
    """The strongest line of the spectrum, Hz, interpolated on the log magnitude."""
    spectrum = np.abs(np.fft.rfft((volts - volts.mean()) * np.hanning(len(volts))))
    peak = int(np.argmax(spectrum[1:-1])) + 1
    left, centre, right = np.log(spectrum[peak - 1 : peak + 2] + 1e-300)
    shift = 0.5 * (left - right) / (left - 2 * centre + right)
    return (peak + shift) / (len(volts) * dx)


def sine_amplitude(volts: NDArray[np.float64], dx: float, frequency: float) -> float:
    """Peak-to-peak of the sine at `frequency` that best fits the trace (least squares)."""
    t = np.arange(len(volts)) * dx
    angle = 2 * np.pi * frequency * t
    basis = np.column_stack([np.sin(angle), np.cos(angle), np.ones_like(t)])
    (a, b, _), *_ = np.linalg.lstsq(basis, volts, rcond=None)
    return 2 * math.hypot(a, b)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generator to scope on the wired lab.")
    parser.add_argument("--frequency", type=float, default=2000.0, help="Hz")
    parser.add_argument("--amplitude", type=float, default=1.0, help="Vpp")
    options = parser.parse_args(argv)

    with (
        Lab(default_lab_path()) as lab,
        ik.open(lab.resource("fgen")) as fgen,
        ik.open(lab.resource("scope")) as scope,
    ):
        output = fgen.channels[1]
        # The scope input is 1 Mohm: tell the generator its load is high impedance,
        # or the amplitude it sets (for 50 ohm) arrives doubled, as on a real bench.
        output.load = math.inf
        output.function = "sine"
        output.frequency = options.frequency
        output.amplitude = options.amplitude
        output.output = True
        fgen.wait()  # *OPC?: every setting applied before the scope looks

        channel = scope.channels[3]
        channel.enabled = True
        channel.scale = options.amplitude / 5  # the sine spans 5 of the 8 divisions
        scope.trigger_source = 3
        trace = scope.fetch(3)
        fgen.make_safe()

    frequency = dominant_frequency(trace.y, trace.dx)
    amplitude = sine_amplitude(trace.y, trace.dx, frequency)
    print(
        f"frequency {frequency:.1f} Hz (set {options.frequency:g} Hz), "
        f"amplitude {amplitude:.4f} Vpp (set {options.amplitude:g} Vpp), "
        f"{len(trace)} points at {1 / trace.dx:.4g} S/s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
