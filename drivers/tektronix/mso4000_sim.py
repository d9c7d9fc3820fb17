"""Simulated Tektronix MSO4104 (MSO/DPO4000 dialect) for the simulated lab.

Records of 1 k to 20 M points over 10 divisions, `CH<x>:SCAle|OFFSet|POSition|COUPling|
TERmination|PRObe:GAIN|BANdwidth`, `SELect:CH<x>`, `HORizontal:SCAle|POSition|
RECOrdlength`, `HORizontal:DELay:MODe|TIMe`, `ACQuire:MODe|NUMAVg`,
`TRIGger:A:EDGE:SOUrce|SLOpe`, `TRIGger:A:LEVel:CH<x>`, `TRIGger:A:MODe`, and the
waveform transfer of `_scope_sim.py` under `WFMOutpre:`; 2-byte data carries 16-bit
codes (the extra resolution of hi-res mode). The sample rate tops out at 5 GS/s, so a long
record on a fast timebase spans more than the screen. Not modelled: digital channels, averaging.
"""

from __future__ import annotations

from typing import Any

from instrumentkit.sim import Setting

from ._scope_sim import Keyword, TektronixScopeModel

__all__ = ["MSO4104Model"]

DIVISIONS = 10
MAX_SAMPLE_RATE = 5e9
RECORD_LENGTHS = (1_000, 10_000, 100_000, 1_000_000, 10_000_000, 20_000_000)


class MSO4104Model(TektronixScopeModel):
    """An MSO4104: 4 analog channels, 1 GHz, up to 20 M points."""

    idn = "TEKTRONIX,MSO4104,C040123,CF:91.1CT FV:v2.13 TOS:2.16"
    preamble_header = "WFMOutpre"

    enabled = Setting("SELect:CH<n>", True, channels=4)
    scale = Setting("CH<n>:SCAle", 0.1, limits=(1e-3, 1e4), channels=4)
    offset = Setting("CH<n>:OFFSet", 0.0, limits=(-1e3, 1e3), channels=4)
    position = Setting("CH<n>:POSition", 0.0, limits=(-50.0, 50.0), channels=4)
    coupling = Keyword("CH<n>:COUPling", "DC", choices=("AC", "DC", "DCREJect"), channels=4)
    termination = Setting("CH<n>:TERmination", 1e6, choices=(50.0, 1e6), channels=4)
    probe_gain = Setting("CH<n>:PRObe:GAIN", 0.1, limits=(1e-4, 1e3), channels=4)
    bandwidth = Setting("CH<n>:BANdwidth", 1e9, limits=(1e6, 2e9), channels=4)
    trigger_levels = Setting("TRIGger:A:LEVel:CH<n>", 0.0, limits=(-1e4, 1e4), channels=4)
    timebase = Setting("HORizontal:SCAle", 4e-6, limits=(4e-10, 1000.0))
    trigger_percent = Setting("HORizontal:POSition", 50.0, limits=(0.0, 100.0))
    delay = Setting("HORizontal:DELay:TIMe", 0.0, limits=(-5e3, 5e3))
    delay_mode = Setting("HORizontal:DELay:MODe", False)
    record_length = Setting("HORizontal:RECOrdlength", 10_000, choices=RECORD_LENGTHS)
    mode = Keyword(
        "ACQuire:MODe",
        "SAMple",
        choices=("SAMple", "PEAKdetect", "HIRes", "AVErage", "ENVelope"),
    )
    averages = Setting("ACQuire:NUMAVg", 16, choices=(2, 4, 8, 16, 32, 64, 128, 256, 512))
    trigger_source = Keyword(
        "TRIGger:A:EDGE:SOUrce", "CH1", choices=("CH1", "CH2", "CH3", "CH4", "AUX", "LINE")
    )
    trigger_slope = Keyword("TRIGger:A:EDGE:SLOpe", "RISe", choices=("RISe", "FALL", "EITHer"))
    trigger_mode = Keyword("TRIGger:A:MODe", "AUTO", choices=("AUTO", "NORMal"))

    def record_points(self) -> int:
        return int(self.record_length)

    def sample_interval(self) -> float:
        # At most 5 GS/s: a long record on a fast timebase spans more than the screen.
        return max(self.timebase * DIVISIONS / self.record_points(), 1 / MAX_SAMPLE_RATE)

    def trigger_settings(self) -> dict[str, Any]:
        source = self.trigger_source
        channel = int(source[-1]) if source.startswith("CH") else None
        if self.delay_mode:
            fraction = 0.5 - self.delay / (DIVISIONS * self.timebase)
        else:
            fraction = self.trigger_percent / 100.0
        return {
            "trigger_source": channel,
            "trigger_level": self.trigger_levels[channel] if channel else 0.0,
            "trigger_slope": "fall" if self.trigger_slope == "FALL" else "rise",
            "trigger_position": min(1.0, max(0.0, fraction)),
            "wait_for_trigger": self.trigger_mode == "NORM",
        }

    def channel_enabled(self, channel: int) -> bool:
        return bool(self.enabled[channel])

    def channel_scale(self, channel: int) -> float:
        return float(self.scale[channel])

    def channel_position(self, channel: int) -> float:
        return float(self.position[channel])

    def channel_offset(self, channel: int) -> float:
        return float(self.offset[channel])
