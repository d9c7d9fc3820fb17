"""Rigol DG1000Z series function/arbitrary waveform generators (DG1022Z, DG1032Z, DG1062Z).

Two channels; LAN (VXI-11, raw socket 5555), USBTMC. Commands per the DG1000Z
programming guide, in the short forms of its examples: `:SOURce<n>:APPLy:<function>
<freq>,<amp>,<offset>` (function, frequency, amplitude and offset in one message;
`:APPLy:NOISe <amp>,<offset>` and `:APPLy:DC DEF,DEF,<offset>`), `:SOURce<n>:FUNCtion`,
`:SOURce<n>:FREQuency`, `:SOURce<n>:VOLTage` (amplitude), `:SOURce<n>:VOLTage:OFFSet`,
`:SOURce<n>:VOLTage:UNIT`, `:OUTPut<n>` (ON/OFF read back), `:OUTPut<n>:LOAD` (1 ohm to
10 kohm or INFinity), `:SOURce<n>:BURSt[:STATe]|:NCYCles|:MODE`, `:SYSTem:ERRor?`.

Every value is checked before it is sent, at the instrument's present state (asked
for just before), as on the Keysight Trueform driver (`drivers/_fgen.py`): frequency
against the present function's ceiling on this model (from `*IDN?`, asked once);
amplitude (Vpp) and offset so that |offset| + amplitude/2 fits 10 V open circuit
behind 50 ohm at the set load (5 V into 50 ohm, 10 V into high-Z), with the swing
derated above 10 MHz (half) and 30 MHz (a quarter); 1 mVpp minimum into 50 ohm.

Limits as recalled from the DG1000Z datasheet, not confirmed from a manual here (so
the ceilings below are the driver's claims, each tested): sine 25 / 30 / 60 MHz
(DG1022Z / DG1032Z / DG1062Z); square 15 / 15 / 20 MHz; pulse 15 / 15 / 25 MHz;
ramp 500 kHz / 500 kHz / 1 MHz; harmonic 10 / 15 / 30 MHz; the amplitude derating
steps; burst cycles 1 to 500,000; the `:OUTPut<n>:LOAD?` reply for high-Z (either
+9.9E+37 or `INFINITY` is read as math.inf). `:OUTPut<n>:IMPedance` is said to be
the same setting as `:LOAD`; the driver uses `:LOAD` only.

Enumerations reviewed against the guide (2026-12-06): `FUNCtion` SINusoid, SQUare,
RAMP (symmetry 50 % by default: a triangle), PULSe, NOISe, USER, HARMonic, DC;
`VOLTage:UNIT` VPP, VRMS, DBM (levels are Vpp: an amplitude with the unit elsewhere is
refused); `BURSt:MODE` TRIGgered, INFinity, GATed. Other tokens (the many built-in
arbitrary waveforms) read as `UnknownChoice` (decision 0005).
"""

from __future__ import annotations

from instrumentkit.errors import ValidationError
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

__all__ = ["DG1000ZOutput", "RigolDG1000Z"]

FUNCTIONS = {
    "sine": "SIN",
    "square": "SQU",
    "ramp": "RAMP",
    "pulse": "PULS",
    "noise": "NOIS",
    "user": "USER",
    "harmonic": "HARM",
    "dc": "DC",
}
_APPLY_WORDS = {"SIN": "SIN", "SQU": "SQU", "RAMP": "RAMP", "PULS": "PULS", "NOIS": "NOIS"}
_APPLY_WORDS |= {"USER": "USER", "HARM": "HARM", "DC": "DC"}
_DERATING = ((10e6, 0.5), (30e6, 0.25))


def _limits(model: str, sine: float, square: float, pulse: float, ramp: float, harmonic: float):
    ceilings = {"SIN": sine, "SQU": square, "PULS": pulse, "RAMP": ramp, "HARM": harmonic}
    return FgenLimits(
        model=model, max_frequency=ceilings, stored_frequency_max=sine, peak_derating=_DERATING
    )


_DG1000Z = {
    "DG1022Z": _limits("DG1022Z", 25e6, 15e6, 15e6, 500e3, 10e6),
    "DG1032Z": _limits("DG1032Z", 30e6, 15e6, 15e6, 500e3, 15e6),
    "DG1062Z": _limits("DG1062Z", 60e6, 20e6, 25e6, 1e6, 30e6),
}


class DG1000ZOutput(FgenOutput):
    """One DG1000Z output channel (`:SOURce<n>:` and `:OUTPut<n>`)."""

    function = function_setting(":SOUR{ch}", FUNCTIONS)
    frequency = frequency_setting(":SOUR{ch}", 60e6)
    amplitude = amplitude_setting(":SOUR{ch}", ", less above 10 MHz")
    offset = offset_setting(":SOUR{ch}")
    amplitude_unit = unit_setting(":SOUR{ch}")
    output = output_setting(":OUTP{ch}")
    load = load_setting(":OUTP{ch}")
    burst = Setting(
        ":SOUR{ch}:BURS?",
        ":SOUR{ch}:BURS {value}",
        values=ON_OFF,
        doc="Enable burst mode.",
    )
    burst_cycles = Setting(
        ":SOUR{ch}:BURS:NCYC?",
        ":SOUR{ch}:BURS:NCYC {value}",
        parse=lambda reply: int(float(reply)),
        validate=Range(1, 500_000, integer=True),
        units="",
        doc="Set the cycles per burst in triggered mode (1 to 500,000).",
    )
    burst_mode = Setting(
        ":SOUR{ch}:BURS:MODE?",
        ":SOUR{ch}:BURS:MODE {value}",
        values={"triggered": "TRIG", "infinite": "INF", "gated": "GAT"},
        doc="Set the burst mode: triggered (N cycles), infinite or gated.",
    )

    def apply(
        self,
        function: str,
        *,
        frequency: float | None = None,
        amplitude: float | None = None,
        offset: float | None = None,
    ) -> None:
        """Set function, frequency, amplitude (Vpp) and offset in one `:APPLy` message.

        Values not given are the channel's present ones (asked for). The new combination
        is checked as a whole before anything is sent: the frequency against the new
        function's ceiling, the amplitude against the new offset and frequency at the
        present load.
        """
        try:
            token = FUNCTIONS[str(function).casefold()]
        except KeyError:
            raise ValidationError(
                f"apply({function!r}) refused before sending: not one of {sorted(FUNCTIONS)}",
                instrument=self.name,
            ) from None
        self._check_unit_for("apply")
        load = float(self.load)
        frequency = float(self.frequency) if frequency is None else frequency
        amplitude = float(self.amplitude) if amplitude is None else amplitude
        offset = float(self.offset) if offset is None else offset
        limits = self.model_limits()
        checks: list[tuple[str, float, Range]] = [("offset", offset, Range(-10.0, 10.0))]
        if token != "DC":
            checks.insert(0, ("frequency", frequency, limits.frequency_range(token)))
        for name, value, allowed in checks:
            self._check(name, value, allowed)
        if token == "DC":
            self._check("offset", offset, limits.offset_range(load, 0.0, "DC"))
            values = f"DEF,DEF,{offset}"
        else:
            self._check("amplitude", amplitude, self._amplitude_range(load, offset, frequency))
            values = f"{amplitude},{offset}"
            if token != "NOIS":
                values = f"{frequency},{values}"
        self.write(f":SOUR{{ch}}:APPL:{_APPLY_WORDS[token]} {values}")

    def _amplitude_range(self, load: float, offset: float, frequency: float) -> Range:
        try:
            return self.model_limits().amplitude_range(load, offset, frequency)
        except ValueError as error:
            raise ValidationError(
                f"apply refused before sending: {error}", instrument=self.name
            ) from error

    def _check(self, name: str, value: float, allowed: Range) -> None:
        try:
            allowed(value)
        except ValueError as error:
            raise ValidationError(
                f"apply: {name} = {value!r} refused before sending: {error}",
                instrument=self.name,
            ) from error

    def _check_unit_for(self, what: str) -> None:
        try:
            self._check_unit()
        except ValueError as error:
            raise ValidationError(
                f"{what} refused before sending: {error}", instrument=self.name
            ) from error


class RigolDG1000Z(SourceMixin, FgenInstrument, SCPIInstrument):
    """Rigol DG1000Z two-channel function/arbitrary waveform generator."""

    idn_patterns = (r"^RIGOL TECHNOLOGIES,DG10[236]2Z,",)
    interfaces = (Source,)
    sim_file = "sim/dg1062z.yaml"
    sim_resource = "TCPIP0::127.0.0.1::inst0::INSTR"
    sim_model = "rigol-dg1062z"
    model_table = _DG1000Z
    fallback_limits = _DG1000Z["DG1022Z"]

    channels = ChannelGroup(DG1000ZOutput, (1, 2))
