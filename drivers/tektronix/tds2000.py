"""Tektronix TDS2000 series (TDS2002/2004/2012/2014/2022/2024, B and C models, and TDS1000).

2500-point records, 8-bit ADC (sent as 1 byte, or left-justified in 2), USB (USBTMC)
or GPIB/RS-232 through the TDS2CM module. Commands per the TDS1000/TDS2000 series
programmer manual: `CH<x>:...`, `HORizontal:MAIn:...`, `ACQuire:...`, `TRIGger:MAIn:...`,
`WFMPre:...`, `CURVe?`. These models have no channel offset, only a position in divisions.

Enumerations reviewed against the TDS1000/TDS2000 programmer manual (2026-12-06):
coupling AC/DC/GND, probe 1/10/20/50/100/500/1000, acquisition mode
SAMple/PEAKdetect/AVErage, averages 4/16/64/128, edge slope RISe/FALL, trigger mode
AUTO/NORMal, edge source CH<x>/EXT/EXT5. Not listed, and so read back as
`UnknownChoice` (decision 0008): EXT10 and AC LINE (the manual's set form is two
words; the query form was not confirmed here).
"""

from __future__ import annotations

from instrumentkit.instrument import ChannelGroup
from instrumentkit.parameters import ON_OFF, Measurement, Setting
from instrumentkit.validators import OneOf, Range

from .._oscilloscope import TriggerSource
from ._scope import TektronixChannel, TektronixScope

__all__ = ["TDS2000Channel", "TektronixTDS2000", "TektronixTDS2000TwoChannel"]

RECORD_LENGTH = 2500


class TDS2000Channel(TektronixChannel):
    """One TDS2000 input channel."""

    scale_at_1x = (2e-3, 5.0)  # programmer manual: 2 mV/div to 5 V/div at the BNC

    coupling = Setting(
        "CH{ch}:COUPling?",
        "CH{ch}:COUPling {value}",
        values={"dc": "DC", "ac": "AC", "gnd": "GND"},
        doc="Set the input coupling (dc, ac or gnd).",
    )
    probe_attenuation = Setting(
        "CH{ch}:PRObe?",
        "CH{ch}:PRObe {value}",
        parse=float,
        validate=OneOf(1, 10, 20, 50, 100, 500, 1000),
        units="",
        doc="Set the probe attenuation factor (1, 10, 20, 50, 100, 500 or 1000).",
    )
    bandwidth_limit = Setting(
        "CH{ch}:BANdwidth?",
        "CH{ch}:BANdwidth {value}",
        values=ON_OFF,
        doc="Enable the 20 MHz bandwidth limit.",
    )


class TektronixTDS2000(TektronixScope):
    """Tektronix TDS2000/TDS1000 series digital storage oscilloscope (2 or 4 channels)."""

    idn_patterns = (r"^TEKTRONIX,TDS ?[12]0[0-2]4[BC]?,",)
    sim_file = "sim/tds2024c.yaml"
    sim_resource = "USB0::0x0699::0x03A6::C012345::INSTR"
    sim_model = "tektronix-tds2024c"
    preamble_header = "WFMPre"
    max_record_length = RECORD_LENGTH

    channels = ChannelGroup(TDS2000Channel, (1, 2, 3, 4))

    timebase_scale = Setting(
        "HORizontal:MAIn:SCAle?",
        "HORizontal:MAIn:SCAle {value}",
        validate=Range(2.5e-9, 50.0),
        units="s",
        doc="Set the horizontal scale in seconds per division (the scope rounds to 1-2.5-5).",
    )
    timebase_position = Setting(
        "HORizontal:MAIn:POSition?",
        "HORizontal:MAIn:POSition {value}",
        validate=Range(-500.0, 500.0),
        units="s",
        doc="Set the time from the trigger to the centre of the screen, in seconds.",
    )
    record_length = Measurement(
        "HORizontal:RECOrdlength?",
        parse=lambda reply: int(float(reply)),
        units="",
        doc="Get the record length in points (always 2500 on these models).",
    )
    acquisition_mode = Setting(
        "ACQuire:MODe?",
        "ACQuire:MODe {value}",
        values={"sample": "SAMple", "peak": "PEAKdetect", "average": "AVErage"},
        doc="Set the acquisition mode (sample, peak detect or average).",
    )
    averages = Setting(
        "ACQuire:NUMAVg?",
        "ACQuire:NUMAVg {value}",
        parse=lambda reply: int(float(reply)),
        validate=OneOf(4, 16, 64, 128),
        units="",
        doc="Set how many acquisitions average mode combines (4, 16, 64 or 128).",
    )
    trigger_source = Setting(
        "TRIGger:MAIn:EDGE:SOUrce?",
        "TRIGger:MAIn:EDGE:SOUrce {value}",
        validate=TriggerSource((1, 2, 3, 4), "ext", "ext5"),
        values={"ch1": "CH1", "ch2": "CH2", "ch3": "CH3", "ch4": "CH4"}
        | {"ext": "EXT", "ext5": "EXT5"},
        doc="Set the edge trigger source (a channel number, 'ext' or 'ext5').",
    )
    trigger_level = Setting(
        "TRIGger:MAIn:LEVel?",
        "TRIGger:MAIn:LEVel {value}",
        validate=Range(-1e4, 1e4),
        units="V",
        doc="Set the edge trigger level in volts.",
    )
    trigger_slope = Setting(
        "TRIGger:MAIn:EDGE:SLOpe?",
        "TRIGger:MAIn:EDGE:SLOpe {value}",
        values={"rising": "RISe", "falling": "FALL"},
        doc="Set the edge trigger slope (rising or falling).",
    )
    trigger_mode = Setting(
        "TRIGger:MAIn:MODe?",
        "TRIGger:MAIn:MODe {value}",
        values={"auto": "AUTO", "normal": "NORMal"},
        doc="Set the trigger mode (auto: free-run without a trigger; normal: wait for one).",
    )


class TektronixTDS2000TwoChannel(TektronixTDS2000):
    """Tektronix TDS2000/TDS1000 series with 2 channels (TDS2002/2012/2022, TDS1001/1002/1012)."""

    idn_patterns = (r"^TEKTRONIX,TDS ?[12]0[0-2][12][BC]?,",)
    sim_resource = "USB0::0x0699::0x03A4::C054321::INSTR"
    sim_model = None
    analog_channels = (1, 2)

    channels = ChannelGroup(TDS2000Channel, (1, 2))

    trigger_source = Setting(
        "TRIGger:MAIn:EDGE:SOUrce?",
        "TRIGger:MAIn:EDGE:SOUrce {value}",
        validate=TriggerSource((1, 2), "ext", "ext5"),
        values={"ch1": "CH1", "ch2": "CH2", "ext": "EXT", "ext5": "EXT5"},
        doc="Set the edge trigger source (a channel number, 'ext' or 'ext5').",
    )
