"""Rigol DP800 series programmable DC power supplies (DP832; DP831, DP832A).

Commands follow the DP800 Series Programming Guide, in Rigol's own dialect:
levels per source subsystem `:SOURce<n>:VOLTage[:LEVel][:IMMediate][:AMPLitude] <v>` and
`:SOURce<n>:CURRent...`, outputs by name `:OUTPut[:STATe] CH<n>,ON|OFF` with
`:OUTPut[:STATe]? CH<n>` answered `ON`/`OFF`, readbacks `:MEASure:VOLTage? CH<n>` and
`:MEASure:CURRent? CH<n>`, the regulation state `:OUTPut:MODE? CH<n>` (`CV`, `CC` or
`UR`, unregulated) and `:SYSTem:ERRor?` (`0,"No error"`).

Ratings of the DP832: outputs 1 and 2 30 V / 3 A, output 3 5 V / 3 A; values above are
refused before sending. Not confirmed from the manual here: the overrange the DP832
itself accepts (about 32 V / 3.2 A on outputs 1-2, not offered) and the number format
of the level queries (the simulation answers `5.000`, parsed as any float).
"""

from __future__ import annotations

from instrumentkit.instrument import ChannelGroup
from instrumentkit.parameters import ON_OFF, Measurement, Setting

from .._supply import PowerSupply, SupplyChannel, current_within_rating, voltage_within_rating

__all__ = ["RigolDP832", "RigolDP832Channel"]


class RigolDP832Channel(SupplyChannel):
    """One output of a DP800 supply."""

    output = Setting(
        ":OUTP? CH{ch}",
        ":OUTP CH{ch},{value}",
        values=ON_OFF,
        doc="Control the output (on/off).",
    )
    voltage = Setting(
        ":SOUR{ch}:VOLT?",
        ":SOUR{ch}:VOLT {value}",
        limits=voltage_within_rating,
        units="V",
        doc="Set the output voltage level (0 to the output's rating).",
    )
    current_limit = Setting(
        ":SOUR{ch}:CURR?",
        ":SOUR{ch}:CURR {value}",
        limits=current_within_rating,
        units="A",
        doc="Set the output's current limit (0 to the output's rating).",
    )
    measured_voltage = Measurement(
        ":MEAS:VOLT? CH{ch}", units="V", in_snapshot=False, doc="Measure the output voltage."
    )
    measured_current = Measurement(
        ":MEAS:CURR? CH{ch}", units="A", in_snapshot=False, doc="Measure the output current."
    )
    regulation = Measurement(
        ":OUTP:MODE? CH{ch}",
        values={"constant_voltage": "CV", "constant_current": "CC", "unregulated": "UR"},
        doc="Get the regulation state: constant_voltage, constant_current (limited) or "
        "unregulated.",
    )


class RigolDP832(PowerSupply):
    """Rigol DP832 triple-output supply: per-output voltage, current limit, output."""

    idn_patterns = (r"^RIGOL TECHNOLOGIES,DP83[12]A?,",)
    sim_file = "sim/dp832.yaml"
    sim_resource = "USB0::0x1AB1::0x0E11::DP8C123456789::INSTR"
    sim_model = "rigol-dp832"
    error_query = ":SYST:ERR?"
    ratings = {1: (30.0, 3.0), 2: (30.0, 3.0), 3: (5.0, 3.0)}

    channels = ChannelGroup(RigolDP832Channel, (1, 2, 3))
