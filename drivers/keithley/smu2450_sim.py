"""Simulated Keithley 2450 SourceMeter (SCPI command set) for the simulated lab.

Behaviour the driver relies on: `:SOURce:FUNCtion VOLT|CURR`, source levels (±210 V,
±1.05 A), limits `:SOURce:VOLTage:ILIMit` / `:SOURce:CURRent:VLIMit` (defaults 105 µA and
21 V) with their `:TRIPped?` queries, `[:SENSe]:FUNCtion "CURR"|"VOLT"` (answered
`"CURR:DC"`), `[:SENSe]:CURRent:NPLCycles`, `[:SENSe]:CURRent:RSENse`, `:OUTPut` and
`:READ? "defbuffer1",SOURce,READing` (any order of the elements SOURce, READing,
RELative; the buffer name must be a buffer that exists). What the output drives is
`model.load` (a 1 kΩ resistor by default; see `drivers/_load_sim.py`).
"""

from __future__ import annotations

from instrumentkit.sim import Reply, ScpiError, Setting, command

from ._smu_sim import SourceMeterModel

__all__ = ["Keithley2450Model"]

_SECONDS_PER_PLC = 1 / 50
_BUFFERS = {"DEFBUFFER1", "DEFBUFFER2"}
_FUNCTIONS = {"CURR": "CURR:DC", "CURRENT": "CURR:DC", "CURR:DC": "CURR:DC",
              "VOLT": "VOLT:DC", "VOLTAGE": "VOLT:DC", "VOLT:DC": "VOLT:DC"}  # fmt: skip


class Keithley2450Model(SourceMeterModel):
    """A Keithley 2450 (SCPI) driving `self.load`."""

    idn = "KEITHLEY INSTRUMENTS,MODEL 2450,04123456,1.7.3b"

    current_limit = Setting("[:SOURce]:VOLTage:ILIMit[:LEVel]", 105e-6, limits=(1e-9, 1.05))
    voltage_limit = Setting("[:SOURce]:CURRent:VLIMit[:LEVel]", 21.0, limits=(0.02, 210.0))
    remote_sense = Setting("[:SENSe]:CURRent[:DC]:RSENse", False)

    def reset(self) -> None:
        super().reset()
        self.measure = "CURR:DC"

    @command("[:SENSe]:FUNCtion[:ON]")
    def _set_function(self, name: str) -> None:
        word = _FUNCTIONS.get(name.strip().strip("\"'").upper())
        if word is None:
            raise ScpiError(-224)
        self.measure = word

    @command("[:SENSe]:FUNCtion[:ON]?")
    def _function(self) -> str:
        return f'"{self.measure}"'

    @command("[:SOURce]:VOLTage:ILIMit[:LEVel]:TRIPped?")
    def _current_trip(self) -> str:
        return self.tripped("VOLT")

    @command("[:SOURce]:CURRent:VLIMit[:LEVel]:TRIPped?")
    def _voltage_trip(self) -> str:
        return self.tripped("CURR")

    @command("READ?", "MEASure?")
    def _read(self, buffer: str = '"defbuffer1"', *elements: str) -> Reply:
        if buffer.strip().strip("\"'").upper() not in _BUFFERS:
            raise ScpiError(-224, "Buffer not found")
        voltage, current, _ = self.terminals()
        sourced = voltage if self.source_function == "VOLT" else current
        reading = current if self.measure == "CURR:DC" else voltage
        fields = {"READ": reading, "READING": reading, "SOUR": sourced, "SOURCE": sourced,
                  "REL": 0.0, "RELATIVE": 0.0}  # fmt: skip
        words = [e.strip().upper() for e in elements] or ["READ"]
        if any(w not in fields for w in words):
            raise ScpiError(-224)
        done = self.start_operation(self.nplc * _SECONDS_PER_PLC)
        return Reply(",".join(f"{fields[w]:+.6E}" for w in words), at=done)
