"""Simulated Tektronix TDS2024C (TDS1000/2000 dialect) for the simulated lab.

2500-point records over 10 divisions, `CH<x>:SCAle|POSition|COUPling|PRObe|BANdwidth`,
`SELect:CH<x>`, `HORizontal:MAIn:SCAle|POSition`, `HORizontal:RECOrdlength?`,
`ACQuire:MODe|NUMAVg`, `TRIGger:MAIn:EDGE:SOUrce|SLOpe`, `TRIGger:MAIn:LEVel|MODe`, and
the waveform transfer of `_scope_sim.py` under `WFMPre:`. A normal-mode single sequence
whose trigger source never crosses the level stays busy, as on the real scope.
Not modelled: averaging and peak detect change the settings only, not the data.
"""

from __future__ import annotations

from typing import Any

from instrumentkit.sim import Setting, command

from ._scope_sim import Keyword, TektronixScopeModel, compact_nr3

__all__ = ["TDS2024CModel"]

RECORD_LENGTH = 2500
DIVISIONS = 10


class TDS2024CModel(TektronixScopeModel):
    """A TDS2024C: 4 channels, 200 MHz, 2500-point records."""

    idn = "TEKTRONIX,TDS 2024C,C012345,CF:91.1CT FV:v24.26"
    preamble_header = "WFMPre"
    nr3 = staticmethod(compact_nr3)

    stop = Setting("DATa:STOP", RECORD_LENGTH, limits=(1, RECORD_LENGTH))

    enabled = Setting("SELect:CH<n>", True, channels=4)
    scale = Setting("CH<n>:SCAle", 1.0, limits=(1e-3, 1e4), channels=4)
    position = Setting("CH<n>:POSition", 0.0, limits=(-50.0, 50.0), channels=4)
    coupling = Keyword("CH<n>:COUPling", "DC", choices=("AC", "DC", "GND"), channels=4)
    probe = Setting("CH<n>:PRObe", 10.0, choices=(1, 10, 20, 50, 100, 500, 1000), channels=4)
    bandwidth_limit = Setting("CH<n>:BANdwidth", False, channels=4)
    timebase = Setting("HORizontal:MAIn:SCAle", 5e-4, limits=(2.5e-9, 50.0))
    delay = Setting("HORizontal:MAIn:POSition", 0.0, limits=(-500.0, 500.0))
    mode = Keyword("ACQuire:MODe", "SAMple", choices=("SAMple", "PEAKdetect", "AVErage"))
    averages = Setting("ACQuire:NUMAVg", 16, choices=(4, 16, 64, 128))
    trigger_source = Keyword(
        "TRIGger:MAIn:EDGE:SOUrce",
        "CH1",
        choices=("CH1", "CH2", "CH3", "CH4", "EXT", "EXT5", "EXT10"),
    )
    trigger_level = Setting("TRIGger:MAIn:LEVel", 0.0, limits=(-1e4, 1e4))
    trigger_slope = Keyword("TRIGger:MAIn:EDGE:SLOpe", "RISe", choices=("RISe", "FALL"))
    trigger_mode = Keyword("TRIGger:MAIn:MODe", "AUTO", choices=("AUTO", "NORMal"))

    @command("HORizontal:RECOrdlength?")
    def _cmd_record_length(self) -> str:
        return str(RECORD_LENGTH)

    def record_points(self) -> int:
        return RECORD_LENGTH

    def sample_interval(self) -> float:
        return self.timebase * DIVISIONS / RECORD_LENGTH

    def trigger_settings(self) -> dict[str, Any]:
        source = self.trigger_source
        fraction = 0.5 - self.delay / (DIVISIONS * self.timebase)
        return {
            "trigger_source": int(source[-1]) if source.startswith("CH") else None,
            "trigger_level": self.trigger_level,
            "trigger_slope": "rise" if self.trigger_slope == "RIS" else "fall",
            "trigger_position": min(1.0, max(0.0, fraction)),
            "wait_for_trigger": self.trigger_mode == "NORM",
        }

    def channel_enabled(self, channel: int) -> bool:
        return bool(self.enabled[channel])

    def channel_scale(self, channel: int) -> float:
        return float(self.scale[channel])

    def channel_position(self, channel: int) -> float:
        return float(self.position[channel])
