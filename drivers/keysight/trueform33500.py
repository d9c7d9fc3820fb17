"""Keysight (Agilent) Trueform waveform generators: 33500B and 33600A series.

Commands per the 33500B/33600A Series Operating and Service Guide, "SCPI Programming
Reference", in the short forms of its examples, always with the channel suffix (a
one-channel model accepts `SOURce1`/`OUTPut1`): `SOURce<n>:FUNCtion`,
`SOURce<n>:FREQuency`, `SOURce<n>:VOLTage` (amplitude), `SOURce<n>:VOLTage:OFFSet`,
`SOURce<n>:VOLTage:UNIT`, `OUTPut<n>` (0/1 read back), `OUTPut<n>:LOAD` (1 ohm to
10 kohm or INFinity, read back as +9.9E+37), `SOURce<n>:BURSt:STATe|NCYCles|MODE`,
`SYSTem:ERRor?`.

Every value is checked before it is sent, at the instrument's present state (asked for
just before): the frequency against the present function's ceiling on this model (the
model comes from `*IDN?`, asked once); the amplitude (Vpp) and offset so that
|offset| + amplitude/2 fits the peak the output drives into the load set with
`OUTPut:LOAD`: 10 V open circuit behind 50 ohm, so 5 V into 50 ohm (10 Vpp) and 10 V
into high-Z (20 Vpp); 1 mVpp minimum into 50 ohm (2 mVpp high-Z).

Frequency ceilings (datasheets as recalled, 2026-12-06): 33509B/10B/11B/12B 20 MHz
sine, square and pulse; 33519B/20B/21B/22B 30 MHz; ramp and triangle 200 kHz on the
33500B; 33611A/12A sine 80 MHz, square and pulse 50 MHz; 33621A/22A sine 120 MHz,
square and pulse 100 MHz; ramp and triangle 800 kHz on the 33600A. Noise, PRBS, DC
and arbitrary waveforms do not use `FREQuency` (it is stored for later) and are held
to the sine ceiling. Not confirmed from the manual here, so not enforced: the
amplitude derating some models have at their highest frequencies, the square/pulse
ceilings' dependence on duty cycle and pulse width, and the 33600A's 1 mVpp floor at
high-Z. An IDN naming no listed model gets the series' lowest ceilings.

Enumerations reviewed against the guide (2026-12-06): `FUNCtion` SINusoid, SQUare,
TRIangle, RAMP, PULSe, PRBS, NOISe, ARB, DC; `VOLTage:UNIT` VPP, VRMS, DBM (levels are
Vpp: setting an amplitude with the unit elsewhere is refused); `BURSt:MODE`
TRIGgered, GATed. A token outside these reads as `UnknownChoice` (decision 0005).
"""

from __future__ import annotations

from instrumentkit.instrument import ChannelGroup
from instrumentkit.interfaces import Source
from instrumentkit.parameters import ON_OFF, Setting
from instrumentkit.scpi import SCPIInstrument
from instrumentkit.sourcing import SourceMixin
from instrumentkit.validators import Range

from .._fgen import (
    FgenInstrument,
    FgenLimits,
    FgenOutput,
    amplitude_setting,
    frequency_setting,
    function_setting,
    load_setting,
    offset_setting,
    output_setting,
    unit_setting,
)

__all__ = [
    "Keysight33500B",
    "Keysight33500BOneChannel",
    "Keysight33600A",
    "Keysight33600AOneChannel",
    "TrueformOutput",
]

FUNCTIONS = {
    "sine": "SIN",
    "square": "SQU",
    "triangle": "TRI",
    "ramp": "RAMP",
    "pulse": "PULS",
    "prbs": "PRBS",
    "noise": "NOIS",
    "arb": "ARB",
    "dc": "DC",
}


def _limits(model: str, sine: float, square: float, ramp: float) -> FgenLimits:
    ceilings = {"SIN": sine, "SQU": square, "PULS": square, "RAMP": ramp, "TRI": ramp}
    return FgenLimits(model=model, max_frequency=ceilings, stored_frequency_max=sine)


_33500B = {m: _limits(m, 20e6, 20e6, 200e3) for m in ("33509B", "33510B", "33511B", "33512B")}
_33500B |= {m: _limits(m, 30e6, 30e6, 200e3) for m in ("33519B", "33520B", "33521B", "33522B")}
_33600A = {m: _limits(m, 80e6, 50e6, 800e3) for m in ("33611A", "33612A")}
_33600A |= {m: _limits(m, 120e6, 100e6, 800e3) for m in ("33621A", "33622A")}


def _whole(reply: str) -> int:
    return int(float(reply))


class TrueformOutput(FgenOutput):
    """One Trueform output channel (`SOURce<n>:` and `OUTPut<n>`)."""

    function = function_setting("SOUR{ch}", FUNCTIONS)
    frequency = frequency_setting("SOUR{ch}", 120e6)
    amplitude = amplitude_setting("SOUR{ch}")
    offset = offset_setting("SOUR{ch}")
    amplitude_unit = unit_setting("SOUR{ch}")
    output = output_setting("OUTP{ch}")
    load = load_setting("OUTP{ch}")
    burst = Setting(
        "SOUR{ch}:BURS:STAT?",
        "SOUR{ch}:BURS:STAT {value}",
        values=ON_OFF,
        doc="Enable burst mode.",
    )
    burst_cycles = Setting(
        "SOUR{ch}:BURS:NCYC?",
        "SOUR{ch}:BURS:NCYC {value}",
        parse=_whole,
        validate=Range(1, 100_000_000, integer=True),
        units="",
        doc="Set the cycles per burst (1 to 100,000,000).",
    )
    burst_mode = Setting(
        "SOUR{ch}:BURS:MODE?",
        "SOUR{ch}:BURS:MODE {value}",
        values={"triggered": "TRIG", "gated": "GAT"},
        doc="Set the burst mode: triggered (N cycles per trigger) or gated.",
    )


class Keysight33500B(SourceMixin, FgenInstrument, SCPIInstrument):
    """Keysight 33500B Trueform generator with two channels (33510B/12B/20B/22B)."""

    idn_patterns = (r"^(Keysight|Agilent) Technologies,335(10|12|20|22)B,",)
    interfaces = (Source,)
    sim_file = "sim/trueform33500.yaml"
    sim_resource = "TCPIP0::127.0.0.1::inst0::INSTR"
    sim_model = "keysight-33522b"
    model_table = _33500B
    fallback_limits = _33500B["33512B"]

    channels = ChannelGroup(TrueformOutput, (1, 2))


class Keysight33500BOneChannel(Keysight33500B):
    """Keysight 33500B Trueform generator with one channel (33509B/11B/19B/21B)."""

    idn_patterns = (r"^(Keysight|Agilent) Technologies,335(09|11|19|21)B,",)
    sim_resource = "TCPIP0::127.0.0.1::inst1::INSTR"
    sim_model = None

    channels = ChannelGroup(TrueformOutput, (1,))


class Keysight33600A(Keysight33500B):
    """Keysight 33600A Trueform generator with two channels (33612A/22A)."""

    idn_patterns = (r"^Keysight Technologies,(33612A|33622A),",)
    sim_resource = "TCPIP0::127.0.0.1::inst2::INSTR"
    sim_model = "keysight-33622a"
    model_table = _33600A
    fallback_limits = _33600A["33612A"]


class Keysight33600AOneChannel(Keysight33600A):
    """Keysight 33600A Trueform generator with one channel (33611A/21A)."""

    idn_patterns = (r"^Keysight Technologies,(33611A|33621A),",)
    sim_resource = "TCPIP0::127.0.0.1::inst3::INSTR"
    sim_model = None

    channels = ChannelGroup(TrueformOutput, (1,))
