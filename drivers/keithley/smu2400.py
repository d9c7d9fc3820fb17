"""Keithley 2400 SourceMeter (SCPI over GPIB or RS-232).

Commands follow the Model 2400 User's Manual (2400S-900-01), section "SCPI command
reference": `:SOURce:FUNCtion VOLTage|CURRent`, `:SOURce:VOLTage[:LEVel]`,
`:SOURce:CURRent[:LEVel]`, compliance as `[:SENSe]:CURRent:PROTection` (when sourcing
voltage) and `[:SENSe]:VOLTage:PROTection` (when sourcing current), their
`:PROTection:TRIPped?` queries, `[:SENSe]:CURRent:NPLCycles` (0.01 to 10; the 2400 uses
one integration time for all functions), `:SYSTem:RSENse` (4-wire), `:OUTPut`,
`:FORMat:ELEMents`, `:READ?` and `:SYSTem:ERRor?`.

A reading is `voltage,current,status` (`:FORMat:ELEMents VOLTage,CURRent,STATus`, set
on the first read with both functions measured concurrently). Bit 3 (value 8) of the
status word is compliance (bit position as recalled from the manual's status-word
table): the row gets `Reading.status` 1. A source function the driver does not list
(`MEM`, source memory sweeps) reads as UnknownChoice, and `level`/`limit` refuse it.

Ranges: source ±210 V and ±1.05 A, compliance up to 210 V and 1.05 A (the manual's
power envelope, 1.05 A only up to 21 V and 105 mA above, is left to the instrument:
a level outside it is refused by the 2400 and raised from its error queue when
`check_errors()` is called). Not confirmed from the manual here: the smallest
compliance values accepted (taken as 1 nA and 1 mV), what `:READ?` does with the
output off (the simulation answers zeros; a real 2400 may report an error), and the
RS-232 factory settings: this driver opens serial ports at 9600 8N1 with LF
terminators; set the 2400's RS-232 menu to match (TERMINATOR <LF>, flow control none).
"""

from __future__ import annotations

import numpy as np

from instrumentkit.errors import ProtocolError
from instrumentkit.parameters import ON_OFF, Setting

from ._smu import (
    MAX_CURRENT,
    MAX_VOLTAGE,
    NPLC,
    KeithleySourceMeter,
    setting_range,
)

__all__ = ["COMPLIANCE_BIT", "Keithley2400"]

COMPLIANCE_BIT = 1 << 3
READ_SETUP = (":SENS:FUNC:CONC ON", ':SENS:FUNC "VOLT","CURR"', ":FORM:ELEM VOLT,CURR,STAT")


class Keithley2400(KeithleySourceMeter):
    """Keithley 2400 SourceMeter: source V or I with compliance, measure V, I and R."""

    idn_patterns = (r"^KEITHLEY INSTRUMENTS INC\.,MODEL 2400,",)
    sim_file = "sim/2400.yaml"
    sim_resource = "GPIB0::24::INSTR"
    sim_model = "keithley-2400"
    connection_defaults = {"baudrate": 9600, "bytesize": 8, "parity": "N", "stopbits": 1}
    trip_queries = {"voltage": ":SENS:CURR:PROT:TRIP?", "current": ":SENS:VOLT:PROT:TRIP?"}

    source_voltage = setting_range(
        ":SOUR:VOLT:LEV?", ":SOUR:VOLT:LEV {value}", -MAX_VOLTAGE, MAX_VOLTAGE, "V",
        "Set the source voltage level (-210 to 210 V).",
    )  # fmt: skip
    source_current = setting_range(
        ":SOUR:CURR:LEV?", ":SOUR:CURR:LEV {value}", -MAX_CURRENT, MAX_CURRENT, "A",
        "Set the source current level (-1.05 to 1.05 A).",
    )  # fmt: skip
    current_limit = setting_range(
        ":SENS:CURR:PROT?", ":SENS:CURR:PROT {value}", 1e-9, MAX_CURRENT, "A",
        "Set the current compliance while sourcing voltage (1 nA to 1.05 A).",
    )  # fmt: skip
    voltage_limit = setting_range(
        ":SENS:VOLT:PROT?", ":SENS:VOLT:PROT {value}", 1e-3, MAX_VOLTAGE, "V",
        "Set the voltage compliance while sourcing current (1 mV to 210 V).",
    )  # fmt: skip
    nplc = Setting(
        ":SENS:CURR:NPLC?",
        ":SENS:CURR:NPLC {value}",
        validate=NPLC,
        units="PLC",
        doc="Control the integration time in power-line cycles (0.01 to 10, all functions).",
    )
    four_wire = Setting(
        ":SYST:RSEN?",
        ":SYST:RSEN {value}",
        values=ON_OFF,
        doc="Control 4-wire (remote) sensing.",
    )

    _read_ready = False

    def reset(self) -> None:
        super().reset()
        self._read_ready = False  # *RST restores the default reading elements

    def _measure_once(self) -> tuple[float, float, bool]:
        if not self._read_ready:
            for command in READ_SETUP:
                self.session.write(command)
            self._read_ready = True
        reply = self.session.query(":READ?")
        try:
            voltage, current, status = (float(v) for v in reply.split(","))
        except ValueError as error:
            raise ProtocolError(
                f"expected 'voltage,current,status', got {reply!r}",
                instrument=self.name,
                command=":READ?",
            ) from error
        if not np.isfinite([voltage, current, status]).all():
            raise ProtocolError(
                f"reply holds a value that is not a finite number: {reply!r}",
                instrument=self.name,
                command=":READ?",
            )
        return voltage, current, bool(int(status) & COMPLIANCE_BIT)
