"""Simulated Keysight Trueform 33522B / 33622A generators for the simulated lab.

What the driver relies on, with the instrument's behaviour: long and short forms,
the optional `SOURce<n>:` node (channel 1 when absent), `FUNCtion`, `FREQuency`
(per-function ceiling of the model), `VOLTage[:AMPLitude]`, `VOLTage:OFFSet` (both
must fit the peak at the set load, else -222), `VOLTage:UNIT`, `OUTPut<n>` (reads
0/1), `OUTPut<n>:LOAD` (1 ohm-10 kohm or INFinity, read back as +9.9E+37; a new load
keeps the voltage driven, so the displayed amplitude changes), `BURSt:STATe|NCYCles|
MODE`, MIN/MAX, the error queue. What each output emits: `model.emitted(ch, t)`.
Not modelled: units other than Vpp in the emitted signal, burst emission, phase,
duty cycle and pulse width commands, arbitrary waveforms.
"""

from __future__ import annotations

import math

from instrumentkit.sim import ScpiError, Setting, command

from .._fgen_sim import FgenModel, number
from .trueform33500 import _33500B, _33600A, FUNCTIONS

__all__ = ["Keysight33522BModel", "Keysight33622AModel"]

_LONG_FUNCTIONS = {"SINUSOID": "SIN", "SQUARE": "SQU", "TRIANGLE": "TRI", "PULSE": "PULS"}
_LONG_FUNCTIONS |= {"NOISE": "NOIS", **{token: token for token in FUNCTIONS.values()}}


def _reply(value: float) -> str:
    return f"{value:+.14E}"


class Keysight33522BModel(FgenModel):
    """A 33522B: two channels, 30 MHz sine/square/pulse, 200 kHz ramp/triangle."""

    idn = "Keysight Technologies,33522B,MY52400001,4.00-1.19-2.00-52-00"
    limits = _33500B["33522B"]

    unit = Setting("[:SOURce<n>]:VOLTage:UNIT", "VPP", choices=("VPP", "VRMS", "DBM"), channels=2)
    burst = Setting("[:SOURce<n>]:BURSt:STATe", False, channels=2)
    burst_cycles = Setting(
        "[:SOURce<n>]:BURSt:NCYCles", 1.0, limits=(1, 100_000_000), channels=2, fmt="{:+.14E}"
    )
    burst_mode = Setting(
        "[:SOURce<n>]:BURSt:MODE", "TRIGgered", choices=("TRIGgered", "GATed"), channels=2
    )

    @command("[:SOURce<n>]:FUNCtion")
    def _set_function(self, value: str, n: int = 1) -> None:
        token = _LONG_FUNCTIONS.get(value.strip().upper())
        if token is None:
            raise ScpiError(-224)
        self.state(n)["function"] = token

    @command("[:SOURce<n>]:FUNCtion?")
    def _function(self, n: int = 1) -> str:
        return str(self.state(n)["function"])

    @command("[:SOURce<n>]:FREQuency[:CW]")
    def _set_frequency(self, value: str, n: int = 1) -> None:
        span = self.limits.frequency_range(self.state(n)["function"])
        self.set_frequency(n, number(value, span.minimum, span.maximum))

    @command("[:SOURce<n>]:FREQuency[:CW]?")
    def _frequency(self, n: int = 1) -> str:
        return _reply(self.state(n)["frequency"])

    @command("[:SOURce<n>]:VOLTage[:LEVel][:IMMediate][:AMPLitude]")
    def _set_amplitude(self, value: str, n: int = 1) -> None:
        state = self.state(n)
        span = self.limits.amplitude_range(state["load"], 0.0, state["frequency"])
        self.set_amplitude(n, number(value, span.minimum, span.maximum))

    @command("[:SOURce<n>]:VOLTage[:LEVel][:IMMediate][:AMPLitude]?")
    def _amplitude(self, n: int = 1) -> str:
        return _reply(self.state(n)["amplitude"])

    @command("[:SOURce<n>]:VOLTage[:LEVel][:IMMediate]:OFFSet")
    def _set_offset(self, value: str, n: int = 1) -> None:
        peak = self.limits.peak(self.state(n)["load"])
        self.set_offset(n, number(value, -peak, peak))

    @command("[:SOURce<n>]:VOLTage[:LEVel][:IMMediate]:OFFSet?")
    def _offset(self, n: int = 1) -> str:
        return _reply(self.state(n)["offset"])

    @command("OUTPut<n>[:STATe]")
    def _set_output(self, value: str, n: int = 1) -> None:
        word = value.strip().upper()
        if word not in ("ON", "OFF", "1", "0"):
            raise ScpiError(-224)
        self.state(n)["on"] = word in ("ON", "1")

    @command("OUTPut<n>[:STATe]?")
    def _output(self, n: int = 1) -> str:
        return "1" if self.state(n)["on"] else "0"

    @command("OUTPut<n>:LOAD")
    def _set_load(self, value: str, n: int = 1) -> None:
        self.set_load(n, number(value, 1.0, 10_000.0, infinity=math.inf))

    @command("OUTPut<n>:LOAD?")
    def _load(self, n: int = 1) -> str:
        load = self.state(n)["load"]
        return "+9.9E+37" if math.isinf(load) else _reply(load)


class Keysight33622AModel(Keysight33522BModel):
    """A 33622A: two channels, 120 MHz sine, 100 MHz square/pulse, 800 kHz ramp."""

    idn = "Keysight Technologies,33622A,MY53800001,A.02.01-3.15-03.64-02.00-02-01"
    limits = _33600A["33622A"]
