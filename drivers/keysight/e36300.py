"""Keysight E36300 series triple-output DC power supplies (E36312A; E36311A, E36313A).

Commands follow the E36300 Series Programming Guide, "SCPI command
reference", with outputs addressed by channel list: `[SOURce:]VOLTage <v>,(@1)`,
`[SOURce:]CURRent <a>,(@1)`, `OUTPut[:STATe] ON|OFF,(@1)` and their queries
`VOLTage? (@1)` (answered `+5.00000000E+00`), `OUTPut? (@1)` (answered `1`/`0`),
`MEASure[:SCALar]:VOLTage[:DC]? (@1)`, `MEASure[:SCALar]:CURRent[:DC]? (@1)` and
`SYSTem:ERRor?` (`+0,"No error"`).

Ratings of the E36312A: output 1 6 V / 5 A, outputs 2 and 3 25 V / 1 A; values above
are refused before sending. Not confirmed from the manual here: the small overrange the
instrument itself accepts above the ratings (not offered), and the regulation-state
query (questionable instrument summary registers), which this driver does not use: a
current-limited output shows as a measured voltage below the level set.
"""

from __future__ import annotations

from instrumentkit.instrument import ChannelGroup
from instrumentkit.parameters import ON_OFF, Measurement, Setting

from .._supply import PowerSupply, SupplyChannel, current_within_rating, voltage_within_rating

__all__ = ["KeysightE36312A", "KeysightE36312AChannel"]


class KeysightE36312AChannel(SupplyChannel):
    """One output of an E36300 supply."""

    output = Setting(
        "OUTP? (@{ch})",
        "OUTP {value},(@{ch})",
        values=ON_OFF,
        doc="Control the output (on/off).",
    )
    voltage = Setting(
        "VOLT? (@{ch})",
        "VOLT {value},(@{ch})",
        limits=voltage_within_rating,
        units="V",
        doc="Set the output voltage level (0 to the output's rating).",
    )
    current_limit = Setting(
        "CURR? (@{ch})",
        "CURR {value},(@{ch})",
        limits=current_within_rating,
        units="A",
        doc="Set the output's current limit (0 to the output's rating).",
    )
    measured_voltage = Measurement(
        "MEAS:VOLT? (@{ch})", units="V", in_snapshot=False, doc="Measure the output voltage."
    )
    measured_current = Measurement(
        "MEAS:CURR? (@{ch})", units="A", in_snapshot=False, doc="Measure the output current."
    )


class KeysightE36312A(PowerSupply):
    """Keysight E36312A triple-output supply: per-output voltage, current limit, output."""

    idn_patterns = (r"^Keysight( Technologies)?,E3631[123]A,",)
    sim_file = "sim/e36312a.yaml"
    sim_resource = "USB0::0x2A8D::0x1102::MY59001234::INSTR"
    sim_model = "keysight-e36312a"
    error_query = "SYST:ERR?"
    ratings = {1: (6.0, 5.0), 2: (25.0, 1.0), 3: (25.0, 1.0)}

    channels = ChannelGroup(KeysightE36312AChannel, (1, 2, 3))
