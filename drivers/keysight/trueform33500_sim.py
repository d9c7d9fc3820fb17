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

from instrumentkit.sim import Setting

from .._fgen_sim import FgenModel
from .trueform33500 import _33500B, _33600A, FUNCTIONS

__all__ = ["Keysight33522BModel", "Keysight33622AModel"]

_FUNCTIONS = {"SINUSOID": "SIN", "SQUARE": "SQU", "TRIANGLE": "TRI", "PULSE": "PULS"}
_FUNCTIONS |= {"NOISE": "NOIS", **{token: token for token in FUNCTIONS.values()}}


class Keysight33522BModel(FgenModel):
    """A 33522B: two channels, 30 MHz sine/square/pulse, 200 kHz ramp/triangle."""

    idn = "Keysight Technologies,33522B,MY52400001,4.00-1.19-2.00-52-00"
    limits = _33500B["33522B"]
    functions = _FUNCTIONS
    frequency_header = "[:SOURce<n>]:FREQuency[:CW]"

    unit = Setting("[:SOURce<n>]:VOLTage:UNIT", "VPP", choices=("VPP", "VRMS", "DBM"), channels=2)
    burst = Setting("[:SOURce<n>]:BURSt:STATe", False, channels=2)
    burst_cycles = Setting(
        "[:SOURce<n>]:BURSt:NCYCles", 1.0, limits=(1, 100_000_000), channels=2, fmt="{:+.14E}"
    )
    burst_mode = Setting(
        "[:SOURce<n>]:BURSt:MODE", "TRIGgered", choices=("TRIGgered", "GATed"), channels=2
    )


class Keysight33622AModel(Keysight33522BModel):
    """A 33622A: two channels, 120 MHz sine, 100 MHz square/pulse, 800 kHz ramp."""

    idn = "Keysight Technologies,33622A,MY53800001,A.02.01-3.15-03.64-02.00-02-01"
    limits = _33600A["33622A"]
