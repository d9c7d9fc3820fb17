"""Simulated Keysight E36312A triple-output supply for the simulated lab.

Behaviour the driver relies on: `[SOURce:]VOLTage`, `[SOURce:]CURRent` and
`OUTPut[:STATe]` with a channel list (`VOLT 5,(@1)`, `VOLT? (@1)`; without a list they
act on the output `INSTrument:NSELect` chose), levels beyond an output's rating refused
with -222, `MEASure[:SCALar]:VOLTage|CURRent[:DC]? (@n)` from each output's load
(`model.outputs[n].load`, a 1 kΩ resistor by default) in constant voltage or constant
current, and `SYSTem:ERRor?`.
"""

from __future__ import annotations

import re

from instrumentkit.sim import ScpiError, command

from .._load_sim import SupplyModel, SupplyOutput

__all__ = ["E36312AModel"]

_RATINGS = {1: (6.0, 5.0), 2: (25.0, 1.0), 3: (25.0, 1.0)}
_LIST = re.compile(r"^\(@(\d)\)$")


class E36312AModel(SupplyModel):
    """An E36312A whose outputs drive `self.outputs[n].load`."""

    idn = "Keysight Technologies,E36312A,MY59001234,2.1.0-1.0.4-1.12"
    ratings = _RATINGS

    def _split(self, params: tuple[str, ...], with_value: bool) -> tuple[SupplyOutput, str]:
        """The output a command addresses and its value text."""
        value, rest = (params[0], params[1:]) if with_value and params else ("", params)
        if with_value and not value:
            raise ScpiError(-109)
        if len(rest) > 1:
            raise ScpiError(-108)
        if not rest:
            return self.outputs[self.selected], value
        match = _LIST.match(rest[0].replace(" ", ""))
        if match is None or int(match.group(1)) not in self.outputs:
            raise ScpiError(-222, "Data out of range; channel list")
        return self.outputs[int(match.group(1))], value

    @command("INSTrument:NSELect")
    def _select(self, value: str) -> None:
        number = self.number(value, 3)
        if number not in self.outputs:
            raise ScpiError(-222)
        self.selected = int(number)

    @command("[:SOURce]:VOLTage[:LEVel][:IMMediate][:AMPLitude]")
    def _set_voltage(self, *params: str) -> None:
        output, value = self._split(params, True)
        output.voltage = self.number(value, output.rating[0])

    @command("[:SOURce]:VOLTage[:LEVel][:IMMediate][:AMPLitude]?")
    def _voltage(self, *params: str) -> str:
        return f"{self._split(params, False)[0].voltage:+.8E}"

    @command("[:SOURce]:CURRent[:LEVel][:IMMediate][:AMPLitude]")
    def _set_current(self, *params: str) -> None:
        output, value = self._split(params, True)
        output.current_limit = self.number(value, output.rating[1])

    @command("[:SOURce]:CURRent[:LEVel][:IMMediate][:AMPLitude]?")
    def _current(self, *params: str) -> str:
        return f"{self._split(params, False)[0].current_limit:+.8E}"

    @command("OUTPut[:STATe]")
    def _set_output(self, *params: str) -> None:
        output, value = self._split(params, True)
        word = value.strip().upper()
        if word not in {"ON", "OFF", "1", "0"}:
            raise ScpiError(-224)
        output.on = word in {"ON", "1"}

    @command("OUTPut[:STATe]?")
    def _output(self, *params: str) -> str:
        return str(int(self._split(params, False)[0].on))

    @command("MEASure[:SCALar]:VOLTage[:DC]?")
    def _measure_voltage(self, *params: str) -> str:
        voltage = self._split(params, False)[0].terminals()[0]
        return f"{voltage + self.rng.normal(0, 1e-4):+.8E}"

    @command("MEASure[:SCALar]:CURRent[:DC]?")
    def _measure_current(self, *params: str) -> str:
        current = self._split(params, False)[0].terminals()[1]
        return f"{current + self.rng.normal(0, 1e-6):+.8E}"
