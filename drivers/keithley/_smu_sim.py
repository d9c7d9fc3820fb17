"""What the simulated 2400 and 2450 share: source settings and the terminals' state."""

from __future__ import annotations

from typing import Any

from instrumentkit.sim import DriveOut, ScpiDevice, Setting

from .._load_sim import Load, Resistor, measured, solve

__all__ = ["SourceMeterModel"]


class SourceMeterModel(ScpiDevice):
    """A SourceMeter driving `self.load`; subclasses name the limits and the reads."""

    output = Setting("OUTPut[:STATe]", False)
    source_function = Setting(
        "[:SOURce]:FUNCtion[:MODE]", "VOLTage", choices=("VOLTage", "CURRent")
    )
    source_voltage = Setting(
        "[:SOURce]:VOLTage[:LEVel][:IMMediate][:AMPLitude]", 0.0, limits=(-210.0, 210.0)
    )
    source_current = Setting(
        "[:SOURce]:CURRent[:LEVel][:IMMediate][:AMPLitude]", 0.0, limits=(-1.05, 1.05)
    )
    nplc = Setting("[:SENSe]:CURRent[:DC]:NPLCycles", 1.0, limits=(0.01, 10.0))
    current_limit: float
    voltage_limit: float

    def __init__(self, *, resistance: float = 1e3, noise: float = 1e-6, **options: Any) -> None:
        self.load: Load = Resistor(resistance)
        """What the output drives; replace it to connect another load."""
        self.noise = noise
        """Noise of a reading at 1 PLC: `noise` V and `noise` mA (scales as 1/sqrt(NPLC))."""
        super().__init__(**options)

    def ports(self) -> dict[str, DriveOut]:
        """The output ("") drives a wired lab's load DUT in place of `load`."""
        return {"": DriveOut(attach=self._wire_load, voltage=self._wired_voltage)}

    def _wire_load(self, load: Load) -> None:
        self.load = load

    def _wired_voltage(self) -> float:
        if not self.output:
            return 0.0
        voltage_source = self.source_function == "VOLT"
        level = self.source_voltage if voltage_source else self.source_current
        limit = self.current_limit if voltage_source else self.voltage_limit
        return solve(self.load, self.source_function, level, limit)[0]

    def terminals(self) -> tuple[float, float, bool]:
        """(voltage, current, in compliance) as measured now, with noise."""
        voltage_source = self.source_function == "VOLT"
        level = self.source_voltage if voltage_source else self.source_current
        limit = self.current_limit if voltage_source else self.voltage_limit
        scale = self.noise / max(self.nplc, 0.01) ** 0.5
        noise = (self.rng.normal(0, scale), self.rng.normal(0, scale * 1e-3))
        return measured(self.load, self.source_function, level, limit, self.output, noise)

    def tripped(self, function: str) -> str:
        """The trip query's answer for the limit that applies when sourcing `function`."""
        return str(int(self.output and self.source_function == function and self.terminals()[2]))
