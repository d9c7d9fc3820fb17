"""Keithley 2450 SourceMeter in its SCPI command set (not TSP).

Commands follow the Model 2450 Reference Manual (2450-901-01), "SCPI command
reference": `:SOURce:FUNCtion VOLTage|CURRent`, `:SOURce:VOLTage[:LEVel]`,
`:SOURce:CURRent[:LEVel]`, limits as `:SOURce:VOLTage:ILIMit` (current limit while
sourcing voltage) and `:SOURce:CURRent:VLIMit`, their `:TRIPped?` queries,
`[:SENSe]:FUNCtion "CURRent"|"VOLTage"`, `[:SENSe]:CURRent:NPLCycles`,
`[:SENSe]:CURRent:RSENse` (4-wire), `:OUTPut`, `:READ? "defbuffer1",SOURce,READing`
and `:SYSTem:ERRor?`. The instrument must be in the SCPI command set (front panel:
System > Settings > Command Set), which `*LANG SCPI` selects after a power cycle.

A reading is the source value and the measured value; the one not measured (the
source quantity is measured back only when the measure function is the source
function) is NaN with status 2. Whether the row is in compliance comes from the trip
query after each reading (status 1).

Not confirmed from the manual here: whether `:SENSe:CURRent:RSENse` alone switches the
voltage sense leads to 4-wire while measuring current (the manual sets sensing per
measure function), the smallest limits accepted (taken as 1 nA and 20 mV), and the
exact `:SENSe:FUNCtion?` reply (taken as `"CURR:DC"`, `"VOLT:DC"`).
"""

from __future__ import annotations

import math

from instrumentkit.errors import ProtocolError
from instrumentkit.parameters import ON_OFF, Setting

from ._smu import MAX_CURRENT, MAX_VOLTAGE, NPLC, KeithleySourceMeter, setting_range

__all__ = ["Keithley2450"]

READ = ':READ? "defbuffer1",SOUR,READ'


class Keithley2450(KeithleySourceMeter):
    """Keithley 2450 SourceMeter (SCPI): source V or I with a limit, measure V, I and R."""

    idn_patterns = (r"^KEITHLEY INSTRUMENTS,MODEL 2450,",)
    sim_file = "sim/2450.yaml"
    sim_resource = "USB0::0x05E6::0x2450::04123456::INSTR"
    sim_model = "keithley-2450"
    trip_queries = {"voltage": ":SOUR:VOLT:ILIM:TRIP?", "current": ":SOUR:CURR:VLIM:TRIP?"}

    source_voltage = setting_range(
        ":SOUR:VOLT?", ":SOUR:VOLT {value}", -MAX_VOLTAGE, MAX_VOLTAGE, "V",
        "Set the source voltage level (-210 to 210 V).",
    )  # fmt: skip
    source_current = setting_range(
        ":SOUR:CURR?", ":SOUR:CURR {value}", -MAX_CURRENT, MAX_CURRENT, "A",
        "Set the source current level (-1.05 to 1.05 A).",
    )  # fmt: skip
    current_limit = setting_range(
        ":SOUR:VOLT:ILIM?", ":SOUR:VOLT:ILIM {value}", 1e-9, MAX_CURRENT, "A",
        "Set the current limit while sourcing voltage (1 nA to 1.05 A).",
    )  # fmt: skip
    voltage_limit = setting_range(
        ":SOUR:CURR:VLIM?", ":SOUR:CURR:VLIM {value}", 0.02, MAX_VOLTAGE, "V",
        "Set the voltage limit while sourcing current (20 mV to 210 V).",
    )  # fmt: skip
    measure_function = Setting(
        ":SENS:FUNC?",
        ":SENS:FUNC {value}",
        values={"current": '"CURR:DC"', "voltage": '"VOLT:DC"'},
        doc="Select what the instrument measures: 'current' or 'voltage'.",
    )
    nplc = Setting(
        ":SENS:CURR:NPLC?",
        ":SENS:CURR:NPLC {value}",
        validate=NPLC,
        units="PLC",
        doc="Control the current measurement's integration time (0.01 to 10 PLC).",
    )
    four_wire = Setting(
        ":SENS:CURR:RSEN?",
        ":SENS:CURR:RSEN {value}",
        values=ON_OFF,
        doc="Control 4-wire (remote) sensing of the current measurement.",
    )

    def _measure_once(self) -> tuple[float, float, bool]:
        sourced = self._function()
        measured = self.measure_function
        reply = self.session.query(READ)
        try:
            source, reading = (float(v) for v in reply.split(","))
        except ValueError as error:
            raise ProtocolError(
                f"expected 'source,reading', got {reply!r}", instrument=self.name, command=READ
            ) from error
        if not (math.isfinite(source) and math.isfinite(reading)):
            raise ProtocolError(
                f"reply holds a value that is not a finite number: {reply!r}",
                instrument=self.name,
                command=READ,
            )
        values = {"voltage": math.nan, "current": math.nan}
        values[measured] = reading
        if measured != sourced:
            values[sourced] = source
        return values["voltage"], values["current"], self.compliance_tripped()
