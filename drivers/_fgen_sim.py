"""What the simulated function generators share: per-channel state, the instrument's
limit checks, and what each output emits as a function of time.

`model.emitted(channel, t)` gives the volts an output puts on its load at times `t`
(seconds on the device clock): 0 V with the output off, else the waveform whose
amplitude and offset are what a load of the set value (`OUTPut:LOAD`) sees. Pass
`load=` (ohms, math.inf for high-Z) for the load actually connected: the generator is
a source behind 50 ohm, so a scope's 1 Mohm input on an output set for 50 ohm sees
twice the amplitude, as on the bench. A wired lab (issue 12 section 2) samples this.
Burst modes are stored and read back but not emitted: the output runs continuously.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import NDArray

from instrumentkit.sim import ScpiDevice, ScpiError, Signal, SignalOut, numeric_parameter

from ._fgen import SOURCE_RESISTANCE, FgenLimits

__all__ = ["FgenModel", "on_off", "waveform"]

Floats = NDArray[np.float64]
NOISE_CREST = 6.0
"""Noise amplitude (Vpp) over its rms: Gaussian noise rarely exceeds +-3 sigma."""


def waveform(
    function: str,
    t: Floats,
    *,
    frequency: float,
    amplitude: float,
    offset: float,
    symmetry: float = 100.0,
    duty: float = 50.0,
    rng: np.random.Generator | None = None,
) -> Floats:
    """Volts at times `t` of a `function` (SIN, SQU, TRI, RAMP, PULS, NOIS, DC, ...)
    of `amplitude` Vpp around `offset`; RAMP rises for `symmetry` % of a period, SQU and
    PULS are high for `duty` %. Anything else (ARB, PRBS, USER, ...) is the offset alone."""
    function = function.upper()
    half = amplitude / 2
    phase = np.mod(frequency * np.asarray(t, dtype=np.float64), 1.0)
    if function == "SIN":
        shape = np.sin(2 * np.pi * phase)
    elif function in ("SQU", "PULS"):
        shape = np.where(phase < duty / 100, 1.0, -1.0)
    elif function in ("TRI", "RAMP"):
        rise = (symmetry if function == "RAMP" else 50.0) / 100
        shape = _ramp(phase, rise)
    elif function == "NOIS":
        generator = rng if rng is not None else np.random.default_rng()
        return offset + generator.normal(0.0, amplitude / NOISE_CREST, np.shape(t))
    else:
        shape = np.zeros(np.shape(t))
    return offset + half * shape


def _ramp(phase: Floats, rise: float) -> Floats:
    """-1 to 1 over the rising `rise` fraction of a period, back to -1 over the rest."""
    if rise >= 1.0:
        return 2 * phase - 1
    if rise <= 0.0:
        return 1 - 2 * phase
    return np.where(phase < rise, 2 * phase / rise - 1, 1 - 2 * (phase - rise) / (1 - rise))


class FgenModel(ScpiDevice):
    """A function generator model: the commands both dialects share are built from the
    class attributes below; vendors add the rest and call the checks here.

    State per channel (dicts by channel number): `function` (canonical token: SIN, SQU,
    TRI, RAMP, PULS, NOIS, DC, ...), `frequency`, `amplitude` (Vpp at the set load),
    `offset`, `load` (ohms, math.inf for high-Z), `symmetry` of RAMP (%), `on`.
    """

    channel_ids: tuple[int, ...] = (1, 2)
    limits: FgenLimits
    ramp_symmetry = 100.0
    functions: Mapping[str, str] = {}
    """Every spelling the instrument accepts (upper case) -> its canonical token."""
    frequency_header = "[:SOURce<n>]:FREQuency"
    output_header = "OUTPut<n>"
    number_format = "{:+.14E}"
    on_off_replies = ("1", "0")
    high_z_reply = "+9.9E+37"
    defaults: Mapping[str, Any] = {
        "function": "SIN",
        "frequency": 1e3,
        "amplitude": 0.1,
        "offset": 0.0,
        "load": 50.0,
    }

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        source, output = "[:SOURce<n>]", self.output_header
        volts = f"{source}:VOLTage[:LEVel][:IMMediate]"
        shared = {
            f"{source}:FUNCtion[:SHAPe]": (self._set_function, self._state_reply("function")),
            self.frequency_header: (self._set_frequency, self._state_reply("frequency")),
            f"{volts}[:AMPLitude]": (self._set_amplitude, self._state_reply("amplitude")),
            f"{volts}:OFFSet": (self._set_offset, self._state_reply("offset")),
            f"{output}[:STATe]": (self._set_output, self._output_reply),
            f"{output}:LOAD": (self._set_load, self._load_reply),
        }
        for header, (setter, query) in shared.items():
            self.add_command(header, setter)
            self.add_command(f"{header}?", query)

    def reply_number(self, value: float) -> str:
        return self.number_format.format(value)

    def reset(self) -> None:
        super().reset()
        self.channel_state = {
            ch: {**self.defaults, "symmetry": self.ramp_symmetry, "on": False}
            for ch in self.channel_ids
        }

    def state(self, channel: int) -> dict[str, Any]:
        """The state of `channel`, or error -114 for a channel the model does not have."""
        try:
            return self.channel_state[channel]
        except KeyError:
            raise ScpiError(-114) from None

    # -- what comes out
    def emitted(self, channel: int, t: Floats | float, load: float | None = None) -> Floats:
        """Volts on the output's load at clock times `t` (see the module docstring)."""
        state = self.state(channel)
        times = np.atleast_1d(np.asarray(t, dtype=np.float64))
        if not state["on"]:
            return np.zeros(times.shape)
        volts = waveform(
            state["function"],
            times,
            frequency=state["frequency"],
            amplitude=state["amplitude"],
            offset=state["offset"],
            symmetry=state["symmetry"],
            rng=self.rng,
        )
        if load is not None:
            volts = volts * _load_factor(state["load"], load)
        return volts

    def ports(self) -> dict[str, SignalOut]:
        """Each channel ("1", "2") as a wired lab's signal: what a load of given ohms sees."""
        return {str(ch): SignalOut(partial(self._signal, ch)) for ch in self.channel_ids}

    def _signal(self, channel: int, load: float) -> Signal:
        def frequency() -> float:
            state = self.channel_state[channel]
            periodic = state["on"] and state["function"] not in ("DC", "NOIS")
            return float(state["frequency"]) if periodic else 0.0

        return Signal(partial(self.emitted, channel, load=load), frequency=frequency)

    # -- the commands both dialects share
    def _state_reply(self, key: str) -> Callable[..., str]:
        def reply(n: int = 1) -> str:
            value = self.state(n)[key]
            return value if isinstance(value, str) else self.reply_number(value)

        return reply

    def _set_function(self, value: str, n: int = 1) -> None:
        token = self.functions.get(value.strip().upper())
        if token is None:
            raise ScpiError(-224)
        state = self.state(n)
        if state["frequency"] > self.limits.frequency_range(token).maximum:
            # The instruments move the frequency and report this; the model refuses.
            raise ScpiError(-221, "Settings conflict; frequency above the function's limit")
        state["function"] = token

    def _set_frequency(self, value: str, n: int = 1) -> None:
        self.set_frequency(n, self.parse_number(value, n, "frequency"))

    def _set_amplitude(self, value: str, n: int = 1) -> None:
        self.set_amplitude(n, self.parse_number(value, n, "amplitude"))

    def _set_offset(self, value: str, n: int = 1) -> None:
        self.set_offset(n, self.parse_number(value, n, "offset"))

    def _set_output(self, value: str, n: int = 1) -> None:
        self.state(n)["on"] = on_off(value)

    def _output_reply(self, n: int = 1) -> str:
        return self.on_off_replies[0 if self.state(n)["on"] else 1]

    def _set_load(self, value: str, n: int = 1) -> None:
        self.set_load(n, numeric_parameter(value, 1.0, 10_000.0, infinity=math.inf))

    def _load_reply(self, n: int = 1) -> str:
        load = self.state(n)["load"]
        return self.high_z_reply if math.isinf(load) else self.reply_number(load)

    def parse_number(self, word: str, channel: int, what: str) -> float:
        """A frequency, amplitude or offset parameter; MIN/MAX are the present limits."""
        state = self.state(channel)
        if what == "frequency":
            span = self.limits.frequency_range(state["function"])
            low, high = span.minimum, span.maximum
        elif what == "amplitude":
            span = self.limits.amplitude_range(state["load"], 0.0, state["frequency"])
            low, high = span.minimum, span.maximum
        else:
            high = self.limits.peak(state["load"])
            low = -high
        return numeric_parameter(word, low, high)

    # -- the instrument's own checks (it refuses out-of-range values with -222)
    def set_frequency(self, channel: int, value: float) -> None:
        state = self.state(channel)
        span = self.limits.frequency_range(state["function"])
        if not span.minimum <= value <= span.maximum:
            raise ScpiError(-222, "Data out of range; frequency")
        state["frequency"] = value

    def set_amplitude(self, channel: int, value: float) -> None:
        state = self.state(channel)
        try:
            span = self.limits.amplitude_range(state["load"], state["offset"], state["frequency"])
        except ValueError:
            raise ScpiError(-221, "Settings conflict; offset leaves no room") from None
        if not span.minimum * (1 - 1e-9) <= value <= span.maximum * (1 + 1e-9):
            raise ScpiError(-222, "Data out of range; amplitude")
        state["amplitude"] = value

    def set_offset(self, channel: int, value: float) -> None:
        state = self.state(channel)
        try:
            span = self.limits.offset_range(state["load"], state["amplitude"], state["function"])
        except ValueError:
            raise ScpiError(-221, "Settings conflict; amplitude leaves no room") from None
        if not span.minimum * (1 + 1e-9) <= value <= span.maximum * (1 + 1e-9):
            raise ScpiError(-222, "Data out of range; offset")
        state["offset"] = value

    def set_load(self, channel: int, value: float) -> None:
        """A new load keeps the voltage the generator drives, as the instrument does:
        the displayed amplitude and offset change with the load they are computed for."""
        state = self.state(channel)
        if not (math.isinf(value) or 1.0 <= value <= 10_000.0):
            raise ScpiError(-222, "Data out of range; load")
        factor = _load_factor(state["load"], value)
        state["amplitude"] *= factor
        state["offset"] *= factor
        state["load"] = value


def _load_factor(set_for: float, actual: float) -> float:
    """Volts on `actual` ohms over volts on `set_for` ohms, behind the 50 ohm source."""

    def divider(load: float) -> float:
        return 1.0 if math.isinf(load) else load / (load + SOURCE_RESISTANCE)

    return divider(actual) / divider(set_for)


def on_off(value: str) -> bool:
    """ON/OFF/1/0, or error -224."""
    word = value.strip().upper()
    if word not in ("ON", "OFF", "1", "0"):
        raise ScpiError(-224)
    return word in ("ON", "1")
