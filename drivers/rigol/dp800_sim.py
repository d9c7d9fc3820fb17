"""Simulated Rigol DP832 triple-output supply for the simulated lab.

Behaviour the driver relies on: `:SOURce<n>:VOLTage` and `:SOURce<n>:CURRent` (levels
beyond an output's rating refused with -222; answered like `5.000`), `:OUTPut[:STATe]
CH<n>,ON|OFF` and `:OUTPut? CH<n>` (answered `ON`/`OFF`), `:APPLy CH<n>,<v>,<a>`,
`:MEASure:VOLTage? CH<n>` / `:MEASure:CURRent? CH<n>` and `:OUTPut:MODE? CH<n>` (`CV`,
`CC`; `UR` is never reached) from each output's load (`model.outputs[n].load`, a 1 kΩ
resistor by default), and `:SYSTem:ERRor?`.
"""

from __future__ import annotations

from instrumentkit.sim import ScpiError, command

from .._load_sim import SupplyModel, SupplyOutput

__all__ = ["DP832Model"]

_RATINGS = {1: (30.0, 3.0), 2: (30.0, 3.0), 3: (5.0, 3.0)}


class DP832Model(SupplyModel):
    """A DP832 whose outputs drive `self.outputs[n].load`."""

    idn = "RIGOL TECHNOLOGIES,DP832,DP8C123456789,00.01.16"
    ratings = _RATINGS

    def _output(self, name: str) -> SupplyOutput:
        word = name.strip().upper()
        if not word.startswith("CH") or not word[2:].isdigit() or int(word[2:]) not in _RATINGS:
            raise ScpiError(-224)
        return self.outputs[int(word[2:])]

    def _by_suffix(self, n: int) -> SupplyOutput:
        if n not in self.outputs:
            raise ScpiError(-114)
        return self.outputs[n]

    @command("[:SOURce<n>]:VOLTage[:LEVel][:IMMediate][:AMPLitude]")
    def _set_voltage(self, value: str, n: int = 1) -> None:
        output = self._by_suffix(n)
        output.voltage = self.number(value, output.rating[0])

    @command("[:SOURce<n>]:VOLTage[:LEVel][:IMMediate][:AMPLitude]?")
    def _voltage(self, n: int = 1) -> str:
        return f"{self._by_suffix(n).voltage:.3f}"

    @command("[:SOURce<n>]:CURRent[:LEVel][:IMMediate][:AMPLitude]")
    def _set_current(self, value: str, n: int = 1) -> None:
        output = self._by_suffix(n)
        output.current_limit = self.number(value, output.rating[1])

    @command("[:SOURce<n>]:CURRent[:LEVel][:IMMediate][:AMPLitude]?")
    def _current(self, n: int = 1) -> str:
        return f"{self._by_suffix(n).current_limit:.3f}"

    @command("APPLy")
    def _apply(self, name: str, volts: str, amps: str | None = None) -> None:
        output = self._output(name)
        output.voltage = self.number(volts, output.rating[0])
        if amps is not None:
            output.current_limit = self.number(amps, output.rating[1])

    @command(":OUTPut[:STATe]")
    def _set_state(self, name: str, value: str) -> None:
        word = value.strip().upper()
        if word not in {"ON", "OFF", "1", "0"}:
            raise ScpiError(-224)
        self._output(name).on = word in {"ON", "1"}

    @command(":OUTPut[:STATe]?")
    def _state(self, name: str) -> str:
        return "ON" if self._output(name).on else "OFF"

    @command(":OUTPut:MODE?")
    def _mode(self, name: str) -> str:
        mode = self._output(name).terminals()[2]
        return "CV" if mode == "OFF" else mode

    @command(":MEASure[:VOLTage][:DC]?")
    def _measure_voltage(self, name: str) -> str:
        return f"{max(self._output(name).terminals()[0] + self.rng.normal(0, 1e-4), 0):.4f}"

    @command(":MEASure:CURRent[:DC]?")
    def _measure_current(self, name: str) -> str:
        return f"{max(self._output(name).terminals()[1] + self.rng.normal(0, 1e-5), 0):.4f}"
