"""Simulated SRS SR830 lock-in amplifier for the simulated lab.

What the driver relies on, with the instrument's behaviour: `OUTX` (replies go only to
the interface it names: over a serial link nothing is answered until `OUTX 0`, over
TCP, which stands in for GPIB, until `OUTX 1`; 1 at power-on), commands ending with
CR or LF, replies ending with CR on RS-232 and LF on GPIB, the reference, input, gain
and filter commands with their index tables, `OUTP?`, `SNAP?`, `LIAS?` (latched, cleared
when read), `AGAN`, `APHS`, `*ESR?` (a parameter out of range sets the execution error
bit 4, an unknown command the command error bit 5). Opened over a serial link whose
framing is not the model's (`baudrate`, 8N1), every reply is garbled.

Physics: what reaches the input is `model.input_signal`, a small replaceable callable
`(detection_frequency, reference) -> complex` giving the input's component at that
frequency (V rms, or A rms with a current input; phase relative to the reference).
The default, `SinusoidAtReference`, is a sinusoid at the reference frequency with a
configurable amplitude and phase: nothing at other harmonics. A wired lab replaces it
(an RC filter between the sine output and the input). X + jY is that component rotated
by -PHAS, passed through the output filter (slope/6 cascaded first-order stages of the
time constant, on the device clock, so readings settle as on the bench) plus Gaussian
noise of `noise_density` x sqrt(ENBW). R beyond the sensitivity sets the output
overload bit. Not modelled: dynamic reserve, line filters, input overload, the
synchronous filter, auto-gain (AGAN only sets the smallest sensitivity holding R).
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from instrumentkit.sim import (
    Reply,
    ScpiDevice,
    ScpiError,
    Setting,
    Signal,
    SignalIn,
    SignalOut,
    command,
    phasor,
)

from .sr830 import MAX_DETECTION_FREQUENCY, SENSITIVITIES, TIME_CONSTANTS

__all__ = ["Reference", "SR830Model", "SinusoidAtReference"]

_ENBW_TAU = {6: 1 / 4, 12: 1 / 8, 18: 3 / 32, 24: 5 / 64}
"""Equivalent noise bandwidth times the time constant, per filter slope (dB/oct)."""
OUTPUT_OVERLOAD = 4
"""`LIAS?` bit 2."""


@dataclass(frozen=True)
class Reference:
    """The lock-in's reference at one moment: frequency, sine-out amplitude and phase."""

    frequency: float
    amplitude: float
    """Sine output, V rms."""
    harmonic: int


class InputSignal(Protocol):
    def __call__(self, frequency: float, reference: Reference) -> complex: ...


@dataclass
class SinusoidAtReference:
    """A sinusoid at the reference frequency: `amplitude` V rms (A rms in current mode),
    `phase` degrees relative to the reference; zero at every other frequency."""

    amplitude: float = 1e-3
    phase: float = 30.0

    def __call__(self, frequency: float, reference: Reference) -> complex:
        if not math.isclose(frequency, reference.frequency, rel_tol=1e-9):
            return 0j
        return cmath.rect(self.amplitude, math.radians(self.phase))


@dataclass
class WiredInput:
    """A wired lab's signal at the input: its component at the detection frequency,
    demodulated over whole periods ending at the clock time of the reading."""

    signal: Signal
    now: Callable[[], float]

    def __call__(self, frequency: float, reference: Reference) -> complex:
        periods = 16
        return phasor(self.signal, frequency, self.now() - periods / frequency, periods=periods)


def _table_index(table: tuple[float, ...]) -> tuple[int, ...]:
    return tuple(range(len(table)))


class SR830Model(ScpiDevice):
    """An SR830: internal reference 1 kHz at 1 V rms, a 1 mV rms input at 30 degrees."""

    idn = "Stanford_Research_Systems,SR830,s/n86344,ver1.07"

    reference_source = Setting("FMOD", 1, choices=(0, 1))
    reference_trigger = Setting("RSLP", 0, choices=(0, 1, 2))
    input_config = Setting("ISRC", 0, choices=(0, 1, 2, 3))
    input_ground = Setting("IGND", 0, choices=(0, 1))
    input_coupling = Setting("ICPL", 0, choices=(0, 1))
    line_filter = Setting("ILIN", 0, choices=(0, 1, 2, 3))
    reserve = Setting("RMOD", 1, choices=(0, 1, 2))
    slope = Setting("OFSL", 1, choices=(0, 1, 2, 3))
    sync = Setting("SYNC", 0, choices=(0, 1))
    sine_out = Setting("SLVL", 1.0, limits=(0.004, 5.0), fmt="{:.3f}")
    phase_shift = Setting("PHAS", 0.0, limits=(-360.0, 729.99), fmt="{:.2f}")
    sens = Setting("SENS", 22, choices=_table_index(SENSITIVITIES))
    tau = Setting("OFLT", 8, choices=_table_index(TIME_CONSTANTS))

    def __init__(
        self,
        *,
        signal: dict[str, float] | None = None,
        noise_density: float = 10e-9,
        baudrate: int = 9600,
        **options: Any,
    ) -> None:
        self.input_signal: InputSignal = SinusoidAtReference(**(signal or {}))
        """What reaches the input; replace it to wire the lock-in to a DUT."""
        self.noise_density = noise_density
        """Input noise, V/sqrt(Hz); with a current input 1e-6 times that, in A/sqrt(Hz)."""
        self.line = {"baudrate": baudrate, "bytesize": 8, "parity": "N", "stopbits": 1}
        super().__init__(**options)

    def reset(self) -> None:
        super().reset()
        self.reply_interface = 1
        self.internal_frequency = 1000.0
        self.harmonic = 1
        self.status = 0
        self._stages: list[complex] | None = None
        self._filtered_at = self.clock.now()

    # -- interfaces, terminators and framing
    def find_message_end(self, buffer: bytearray) -> int:
        ends = [i for i in (buffer.find(b"\r"), buffer.find(b"\n")) if i >= 0]
        return min(ends) if ends else -1

    @property
    def serial(self) -> bool:
        return self.line_settings is not None

    @property  # type: ignore[override]
    def reply_end(self) -> bytes:
        return b"\r" if self.serial else b"\n"

    def send(self, data: bytes, **options: Any) -> None:
        if self.reply_interface != (0 if self.serial else 1):
            return  # the reply goes to the other interface
        settings = self.line_settings
        if settings is not None and any(settings.get(k) != v for k, v in self.line.items()):
            data = bytes(b ^ 0x55 for b in data)  # framing mismatch: what a UART makes of it
        super().send(data, **options)

    @command("OUTX")
    def _set_interface(self, value: str) -> None:
        if value.strip() not in ("0", "1"):
            raise ScpiError(-222)
        self.reply_interface = int(value)

    @command("OUTX?")
    def _interface(self) -> str:
        return str(self.reply_interface)

    # -- the reference
    def reference(self) -> Reference:
        return Reference(self.reference_frequency(), self.sine_out, self.harmonic)

    def reference_frequency(self) -> float:
        """The internal oscillator's frequency (an external reference is not modelled:
        the model locks to its own oscillator in both modes)."""
        return self.internal_frequency

    def reference_output(self, t: np.ndarray) -> np.ndarray:
        """The sine output (volts) at clock times `t`, for a wired lab."""
        omega = 2 * np.pi * self.reference_frequency()
        return self.sine_out * math.sqrt(2) * np.sin(omega * np.asarray(t, dtype=np.float64))

    def ports(self) -> dict[str, SignalOut | SignalIn]:
        """ "ref": the sine output (a stiff source: its 50 ohm is not modelled);
        "input": the signal input (10 Mohm), demodulated by `WiredInput`."""
        return {
            "ref": SignalOut(
                lambda load: Signal(self.reference_output, frequency=self.reference_frequency)
            ),
            "input": SignalIn(self._wire_input, impedance=10e6),
        }

    def _wire_input(self, signal: Signal) -> None:
        self.input_signal = WiredInput(signal, self.clock.now)

    @command("FREQ")
    def _set_frequency(self, value: str) -> None:
        frequency = _number(value)
        if self.reference_source != 1:
            raise ScpiError(-221, "Settings conflict; external reference")
        if not 1e-3 <= frequency <= MAX_DETECTION_FREQUENCY / self.harmonic:
            raise ScpiError(-222)
        self.internal_frequency = frequency

    @command("FREQ?")
    def _frequency(self) -> str:
        return f"{self.reference_frequency():.4f}"

    @command("HARM")
    def _set_harmonic(self, value: str) -> None:
        harmonic = _number(value)
        if harmonic != int(harmonic) or not 1 <= harmonic <= 19_999:
            raise ScpiError(-222)
        if harmonic * self.reference_frequency() > MAX_DETECTION_FREQUENCY * (1 + 1e-9):
            raise ScpiError(-222)
        self.harmonic = int(harmonic)

    @command("HARM?")
    def _harmonic(self) -> str:
        return str(self.harmonic)

    # -- the outputs
    def full_scale(self) -> float:
        """The sensitivity in the input's units (A with a current input)."""
        scale = SENSITIVITIES[self.sens]
        return scale * 1e-6 if self.input_config >= 2 else scale

    def _outputs(self) -> complex:
        """X + jY now: the detected component, filtered on the clock, with noise."""
        reference = self.reference()
        detected = self.input_signal(reference.frequency * self.harmonic, reference)
        target = detected * cmath.rect(1.0, -math.radians(self.phase_shift))
        tau = TIME_CONSTANTS[self.tau]
        slope = 6 * (self.slope + 1)
        now = self.clock.now()
        if self._stages is None or len(self._stages) != slope // 6:
            self._stages = [target] * (slope // 6)
        else:
            step = 1 - math.exp(-max(0.0, now - self._filtered_at) / tau)
            upstream = target
            for index, value in enumerate(self._stages):
                self._stages[index] = value + (upstream - value) * step
                upstream = self._stages[index]
        self._filtered_at = now
        sigma = self.noise_density * math.sqrt(_ENBW_TAU[slope] / tau)
        if self.input_config >= 2:  # current input: 1e-6 A per volt of scale, as SENS
            sigma *= 1e-6
        noise = complex(*self.rng.normal(0.0, sigma, 2))
        value = self._stages[-1] + noise
        if abs(value) > self.full_scale():
            self.status |= OUTPUT_OVERLOAD
        return value

    def _value(self, index: int, xy: complex) -> float:
        if index == 1:
            return xy.real
        if index == 2:
            return xy.imag
        if index == 3:
            return abs(xy)
        if index == 4:
            return math.degrees(math.atan2(xy.imag, xy.real))
        if index == 9:
            return self.reference_frequency()
        if 5 <= index <= 8 or index in (10, 11):
            return 0.0  # aux inputs and displays: not modelled
        raise ScpiError(-222)

    @command("OUTP?")
    def _output(self, index: str) -> str:
        return f"{self._value(int(_number(index)), self._outputs()):.6e}"

    @command("SNAP?")
    def _snap(self, *indices: str) -> Reply:
        if not 2 <= len(indices) <= 6:
            raise ScpiError(-109 if len(indices) < 2 else -108)
        xy = self._outputs()
        values = [self._value(int(_number(i)), xy) for i in indices]
        return Reply(",".join(f"{v:.6e}" for v in values))

    @command("LIAS?")
    def _lock_in_status(self) -> str:
        value, self.status = self.status, 0
        return str(value)

    @command("AGAN")
    def _auto_gain(self) -> None:
        level = abs(self._outputs())
        scale = 1e-6 if self.input_config >= 2 else 1.0
        fitting = [i for i, s in enumerate(SENSITIVITIES) if s * scale >= level]
        self.sens = fitting[0] if fitting else len(SENSITIVITIES) - 1

    @command("APHS")
    def _auto_phase(self) -> None:
        reference = self.reference()
        detected = self.input_signal(reference.frequency * self.harmonic, reference)
        self.phase_shift = round(math.degrees(math.atan2(detected.imag, detected.real)), 2)


def _number(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise ScpiError(-104) from None
    if not math.isfinite(value):
        raise ScpiError(-222)
    return value
