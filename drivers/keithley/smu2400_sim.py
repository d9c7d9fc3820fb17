"""Simulated Keithley 2400 SourceMeter for the simulated lab.

Behaviour the driver relies on: `:SOURce:FUNCtion VOLT|CURR`, source levels (±210 V,
±1.05 A), compliance `[:SENSe]:CURRent|VOLTage:PROTection` (default 105 µA and 21 V, as
after `*RST`) and `...:PROTection:TRIPped?`, `[:SENSe]:CURRent:NPLCycles`,
`:SYSTem:RSENse`, `:OUTPut`, `[:SENSe]:FUNCtion[:ON]`, `:FORMat:ELEMents` and `:READ?`
answering the elements asked for, with the status word's bits at the positions of the
manual's status-word table (2400S-900-01, `:FORMat:ELEMents` STATus): 3 compliance, 11/12/13
V/I/ohms measured, 14/15 V/I sourced, 22 remote sense; the others (overrange, filter, front
terminals, limit tests, pulse mode) are not modelled and stay 0. What the output drives
is `model.load` (a 1 kΩ resistor by default; see `drivers/_load_sim.py`), measured with
NPLC-scaled noise.
"""

from __future__ import annotations

from instrumentkit.sim import Reply, ScpiError, Setting, command

from ._smu_sim import SourceMeterModel

__all__ = ["Keithley2400Model"]

_SECONDS_PER_PLC = 1 / 50
_ELEMENTS = {"VOLT": "VOLT", "VOLTAGE": "VOLT", "CURR": "CURR", "CURRENT": "CURR",
             "RES": "RES", "RESISTANCE": "RES", "TIME": "TIME", "STAT": "STAT",
             "STATUS": "STAT"}  # fmt: skip
_OVERFLOW = 9.91e37  # what the 2400 sends for a function it did not measure
_MEASURE_BITS = {"VOLT": 1 << 11, "CURR": 1 << 12, "RES": 1 << 13}
_SOURCE_BITS = {"VOLT": 1 << 14, "CURR": 1 << 15}
_COMPLIANCE_BIT = 1 << 3
_REMOTE_SENSE_BIT = 1 << 22


class Keithley2400Model(SourceMeterModel):
    """A Keithley 2400 driving `self.load`."""

    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 2400,1234567,C32   Oct  4 2010 14:20:11/A02  /K/J"

    current_limit = Setting("[:SENSe]:CURRent[:DC]:PROTection[:LEVel]", 105e-6, limits=(1e-9, 1.05))
    voltage_limit = Setting("[:SENSe]:VOLTage[:DC]:PROTection[:LEVel]", 21.0, limits=(1e-3, 210.0))
    remote_sense = Setting("SYSTem:RSENse", False)
    concurrent = Setting("[:SENSe]:FUNCtion:CONCurrent", True)

    def reset(self) -> None:
        super().reset()
        self.sensed = {"CURR"}
        self.elements = ["VOLT", "CURR", "RES", "TIME", "STAT"]
        self.started = self.clock.now()

    @command("[:SENSe]:FUNCtion[:ON]")
    def _functions(self, *names: str) -> None:
        wanted = {n.strip().strip("\"'").upper().split(":")[0][:4] for n in names}
        if not names or not wanted <= {"VOLT", "CURR", "RES"}:
            raise ScpiError(-224)
        self.sensed = wanted if self.concurrent else set(list(wanted)[-1:])

    @command("FORMat:ELEMents[:SENSe]")
    def _elements(self, *names: str) -> None:
        words = [_ELEMENTS.get(n.strip().upper()) for n in names]
        if not words or None in words:
            raise ScpiError(-224)
        self.elements = [w for w in words if w is not None]

    @command("[:SENSe]:CURRent[:DC]:PROTection:TRIPped?")
    def _current_trip(self) -> str:
        return self.tripped("VOLT")

    @command("[:SENSe]:VOLTage[:DC]:PROTection:TRIPped?")
    def _voltage_trip(self) -> str:
        return self.tripped("CURR")

    @command("READ?", "MEASure?")
    def _read(self) -> Reply:
        voltage, current, tripped = self.terminals()
        status = (
            (_COMPLIANCE_BIT if tripped else 0)
            | sum(_MEASURE_BITS[name] for name in self.sensed)
            | _SOURCE_BITS[self.source_function]
            | (_REMOTE_SENSE_BIT if self.remote_sense else 0)
        )
        resistance = voltage / current if "RES" in self.sensed and current else _OVERFLOW
        values = {
            "VOLT": voltage
            if "VOLT" in self.sensed or self.source_function == "VOLT"
            else _OVERFLOW,
            "CURR": current
            if "CURR" in self.sensed or self.source_function == "CURR"
            else _OVERFLOW,
            "RES": resistance,
            "TIME": self.clock.now() - self.started,
            "STAT": float(status),
        }
        done = self.start_operation(self.nplc * _SECONDS_PER_PLC * max(len(self.sensed), 1))
        return Reply(",".join(f"{values[e]:+.6E}" for e in self.elements), at=done)
