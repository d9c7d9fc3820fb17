"""Tektronix MSO/DPO4000 series (MSO4034/4054/4104, DPO4034/4054/4104, B models).

Records up to 20 M points, 8-bit ADC sent as 1 byte or 2 (left-justified, 16-bit codes),
LAN (port 4000 raw socket or VXI-11), USB (USBTMC) and GPIB. Commands per the MSO4000
and DPO4000 series programmer manual: `CH<x>:...` (scale, offset, position, coupling,
`PRObe:GAIN`, `BANdwidth`, `TERmination`), `HORizontal:SCAle`/`POSition`/`RECOrdlength`,
`HORizontal:DELay:...`, `TRIGger:A:...` (the edge level is per channel,
`TRIGger:A:LEVel:CH<x>`), `WFMOutpre:...` and `CURVe?`.

Enumerations reviewed against the MSO/DPO4000 programmer manual (2026-12-06): coupling
AC/DC/DCREJect, termination 50/1e6 ohm, record lengths 1 k-20 M (10 M on the non-B
models; not enforced per model), acquisition mode SAMple/PEAKdetect/HIRes/AVErage/
ENVelope, averages 2-512 in powers of 2, edge slope RISe/FALL/EITHer, trigger mode
AUTO/NORMal, edge source CH<x>/AUX/LINE. Not listed, and so read back as
`UnknownChoice` (decision 0008): the MSO's digital sources D0-D15, a GND coupling some
firmware reports, and the FAStest/FPBinary/SFPbinary encodings.
"""

from __future__ import annotations

from instrumentkit.instrument import ChannelGroup
from instrumentkit.parameters import ON_OFF, Setting
from instrumentkit.validators import OneOf, Range

from .._oscilloscope import TriggerSource
from ._scope import TektronixChannel, TektronixScope

__all__ = ["MSO4000Channel", "TektronixMSO4000", "TektronixMSO4000TwoChannel"]

RECORD_LENGTHS = (1_000, 10_000, 100_000, 1_000_000, 10_000_000, 20_000_000)


def _attenuation_from_gain(reply: str) -> float:
    # The scope reports probe gain (V out per V in); users think in attenuation (10x).
    # Six digits, as the gain is sent with: 1/(1/3) reads back as 3, not 3.000003.
    return float(f"{1.0 / float(reply):.6g}")


def _gain_from_attenuation(attenuation: float) -> str:
    return f"{1.0 / attenuation:.6g}"


class MSO4000Channel(TektronixChannel):
    """One MSO/DPO4000 analog input."""

    scale_at_1x = (1e-3, 10.0)  # 1 mV/div to 10 V/div at 1 Mohm (1 V/div at 50 ohm: not enforced)

    offset = Setting(
        "CH{ch}:OFFSet?",
        "CH{ch}:OFFSet {value}",
        validate=Range(-1e3, 1e3),
        units="V",
        doc="Set the vertical offset in volts (subtracted before the ADC).",
    )
    coupling = Setting(
        "CH{ch}:COUPling?",
        "CH{ch}:COUPling {value}",
        values={"dc": "DC", "ac": "AC", "dc_reject": "DCREJect"},
        doc="Set the input coupling (dc, ac, or dc_reject).",
    )
    termination = Setting(
        "CH{ch}:TERmination?",
        "CH{ch}:TERmination {value}",
        validate=OneOf(50, 1e6),
        units="ohm",
        doc="Set the input termination in ohms (50 or 1e6).",
    )
    probe_attenuation = Setting(
        "CH{ch}:PRObe:GAIN?",
        "CH{ch}:PRObe:GAIN {value}",
        parse=_attenuation_from_gain,
        format=_gain_from_attenuation,
        validate=Range(1e-3, 1e4),
        units="",
        doc="Set the probe attenuation factor (10 for a 10x probe); sent as its gain 1/x.",
    )
    trigger_level = Setting(
        "TRIGger:A:LEVel:CH{ch}?",
        "TRIGger:A:LEVel:CH{ch} {value}",
        validate=Range(-1e4, 1e4),
        units="V",
        doc="Set the A trigger level for this channel in volts (one level per channel).",
    )
    bandwidth_limit = Setting(
        "CH{ch}:BANdwidth?",
        "CH{ch}:BANdwidth {value}",
        validate=Range(1e6, 2e9),
        units="Hz",
        doc="Set the bandwidth limit in Hz (the scope selects 20 MHz, 250 MHz or full).",
    )


class TektronixMSO4000(TektronixScope):
    """Tektronix MSO/DPO4000 series mixed-signal / digital phosphor oscilloscope (4 channels)."""

    idn_patterns = (r"^TEKTRONIX,(MSO|DPO)4\d\d4B?(-L)?,",)
    sim_file = "sim/mso4104.yaml"
    sim_resource = "TCPIP0::192.168.0.41::inst0::INSTR"
    sim_model = "tektronix-mso4104"
    max_record_length = max(RECORD_LENGTHS)

    channels = ChannelGroup(MSO4000Channel, (1, 2, 3, 4))

    timebase_scale = Setting(
        "HORizontal:SCAle?",
        "HORizontal:SCAle {value}",
        validate=Range(4e-10, 1000.0),
        units="s",
        doc="Set the horizontal scale in seconds per division.",
    )
    timebase_position = Setting(
        "HORizontal:POSition?",
        "HORizontal:POSition {value}",
        validate=Range(0.0, 100.0),
        units="%",
        doc="Set where the trigger sits in the record, in percent (with delay off).",
    )
    timebase_delay = Setting(
        "HORizontal:DELay:TIMe?",
        "HORizontal:DELay:TIMe {value}",
        validate=Range(-5e3, 5e3),
        units="s",
        doc="Set the time from the trigger to the centre of the screen (with delay on).",
    )
    delay_enabled = Setting(
        "HORizontal:DELay:MODe?",
        "HORizontal:DELay:MODe {value}",
        values=ON_OFF,
        doc="Enable horizontal delay (timebase_delay applies instead of timebase_position).",
    )
    record_length = Setting(
        "HORizontal:RECOrdlength?",
        "HORizontal:RECOrdlength {value}",
        parse=lambda reply: int(float(reply)),
        validate=OneOf(*RECORD_LENGTHS),
        units="",
        doc="Set the record length in points (1 k, 10 k, 100 k, 1 M, 10 M or 20 M).",
    )
    acquisition_mode = Setting(
        "ACQuire:MODe?",
        "ACQuire:MODe {value}",
        values={
            "sample": "SAMple",
            "peak": "PEAKdetect",
            "hires": "HIRes",
            "average": "AVErage",
            "envelope": "ENVelope",
        },
        doc="Set the acquisition mode (sample, peak, hires, average or envelope).",
    )
    averages = Setting(
        "ACQuire:NUMAVg?",
        "ACQuire:NUMAVg {value}",
        parse=lambda reply: int(float(reply)),
        validate=OneOf(2, 4, 8, 16, 32, 64, 128, 256, 512),
        units="",
        doc="Set how many acquisitions average mode combines (a power of 2, 2 to 512).",
    )
    trigger_source = Setting(
        "TRIGger:A:EDGE:SOUrce?",
        "TRIGger:A:EDGE:SOUrce {value}",
        validate=TriggerSource((1, 2, 3, 4), "aux", "line"),
        values={"ch1": "CH1", "ch2": "CH2", "ch3": "CH3", "ch4": "CH4"}
        | {"aux": "AUX", "line": "LINE"},
        doc="Set the edge trigger source (a channel number, 'aux' or 'line').",
    )
    trigger_slope = Setting(
        "TRIGger:A:EDGE:SLOpe?",
        "TRIGger:A:EDGE:SLOpe {value}",
        values={"rising": "RISe", "falling": "FALL", "either": "EITHer"},
        doc="Set the edge trigger slope (rising, falling or either).",
    )
    trigger_mode = Setting(
        "TRIGger:A:MODe?",
        "TRIGger:A:MODe {value}",
        values={"auto": "AUTO", "normal": "NORMal"},
        doc="Set the trigger mode (auto: free-run without a trigger; normal: wait for one).",
    )


class TektronixMSO4000TwoChannel(TektronixMSO4000):
    """Tektronix MSO/DPO4000 series with 2 analog channels (DPO4032, DPO4102B, ...)."""

    idn_patterns = (r"^TEKTRONIX,(MSO|DPO)4\d\d2B?(-L)?,",)
    sim_resource = "TCPIP0::192.168.0.44::inst0::INSTR"
    sim_model = None
    analog_channels = (1, 2)

    channels = ChannelGroup(MSO4000Channel, (1, 2))

    trigger_source = Setting(
        "TRIGger:A:EDGE:SOUrce?",
        "TRIGger:A:EDGE:SOUrce {value}",
        validate=TriggerSource((1, 2), "aux", "line"),
        values={"ch1": "CH1", "ch2": "CH2", "aux": "AUX", "line": "LINE"},
        doc="Set the edge trigger source (a channel number, 'aux' or 'line').",
    )
