"""Simulated Rigol DG1062Z generator for the simulated lab.

What the driver relies on, with the instrument's behaviour: long and short forms, the
optional `:SOURce<n>` node (channel 1 when absent), `:APPLy:<function>` (function,
frequency, amplitude, offset in one message; NOISe takes amplitude and offset, DC
`DEF,DEF,<offset>`) and `:APPLy?`, `FUNCtion`, `FREQuency`, `VOLTage[:AMPLitude]`,
`VOLTage:OFFSet` (checked at the set load, offset and frequency: -222 beyond),
`VOLTage:UNIT`, `:OUTPut<n>` (reads ON/OFF), `:OUTPut<n>:LOAD` (1 ohm-10 kohm or
INFinity, read back as INFINITY), `BURSt[:STATe]|NCYCles|MODE`, MIN/MAX, the error
queue. RAMP has the DG1000Z's default 50 % symmetry: a triangle. What each output
emits: `model.emitted(ch, t)`. Not modelled: phase, duty cycle, symmetry commands,
harmonics and arbitrary waveforms (emitted as the offset alone).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from instrumentkit.sim import ScpiError, Setting, command, numeric_parameter

from .._fgen_sim import FgenModel, on_off
from .dg1000z import _DG1000Z

__all__ = ["DG1062ZModel"]

_FUNCTIONS = {"SINUSOID": "SIN", "SQUARE": "SQU", "PULSE": "PULS", "NOISE": "NOIS"}
_FUNCTIONS |= {"HARMONIC": "HARM"}
_FUNCTIONS |= {t: t for t in ("SIN", "SQU", "RAMP", "PULS", "NOIS", "USER", "HARM", "DC")}


class DG1062ZModel(FgenModel):
    """A DG1062Z: two channels, 60 MHz sine, swing derated above 10 and 30 MHz."""

    idn = "Rigol Technologies,DG1062Z,DG1ZA000000001,00.01.14"
    limits = _DG1000Z["DG1062Z"]
    ramp_symmetry = 50.0
    functions = _FUNCTIONS
    frequency_header = "[:SOURce<n>]:FREQuency[:FIXed]"
    output_header = ":OUTPut<n>"
    number_format = "{:.6E}"
    on_off_replies = ("ON", "OFF")
    high_z_reply = "INFINITY"

    unit = Setting("[:SOURce<n>]:VOLTage:UNIT", "VPP", choices=("VPP", "VRMS", "DBM"), channels=2)
    burst_cycles = Setting(
        "[:SOURce<n>]:BURSt:NCYCles", 1.0, limits=(1, 500_000), channels=2, fmt="{:.6E}"
    )
    burst_mode = Setting(
        "[:SOURce<n>]:BURSt:MODE",
        "TRIGgered",
        choices=("TRIGgered", "INFinity", "GATed"),
        channels=2,
    )

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        for word, token in (
            ("SINusoid", "SIN"), ("SQUare", "SQU"), ("RAMP", "RAMP"), ("PULSe", "PULS"),
            ("NOISe", "NOIS"), ("USER", "USER"), ("HARMonic", "HARM"), ("DC", "DC"),
        ):  # fmt: skip
            self.add_command(f"[:SOURce<n>]:APPLy:{word}", self._apply_to(token))

    def reset(self) -> None:
        super().reset()
        for state in self.channel_state.values():
            state["burst"] = False

    @command("[:SOURce<n>]:BURSt[:STATe]")
    def _set_burst(self, value: str, n: int = 1) -> None:
        self.state(n)["burst"] = on_off(value)

    @command("[:SOURce<n>]:BURSt[:STATe]?")
    def _burst(self, n: int = 1) -> str:
        return "ON" if self.state(n)["burst"] else "OFF"

    # -- APPLy: everything at once, checked as the instrument would; all or nothing
    def _apply_to(self, token: str) -> Callable[..., None]:
        def apply(*values: str, n: int = 1) -> None:
            state = self.state(n)
            if token == "NOIS":
                values = ("DEF", *values)
            if len(values) > 4:
                raise ScpiError(-108)
            before = dict(state)
            frequency, amplitude, offset = [*values, "", "", ""][:3]
            try:
                state["function"] = token
                if token != "DC" and frequency not in ("", "DEF"):
                    self.set_frequency(n, self.parse_number(frequency, n, "frequency"))
                if offset:  # the amplitude is checked with the new offset, just below
                    state["offset"] = 0.0
                if token != "DC" and amplitude not in ("", "DEF"):
                    self.set_amplitude(n, self.parse_number(amplitude, n, "amplitude"))
                if offset:
                    self.set_offset(n, numeric_parameter(offset, -10.0, 10.0))
            except ScpiError:
                state.update(before)
                raise

        return apply

    @command("[:SOURce<n>]:APPLy?")
    def _applied(self, n: int = 1) -> str:
        state = self.state(n)
        numbers = ",".join(
            self.reply_number(state[k]) for k in ("frequency", "amplitude", "offset")
        )
        return f'"{state["function"]},{numbers},{self.reply_number(0.0)}"'
