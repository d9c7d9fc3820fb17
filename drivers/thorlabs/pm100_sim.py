"""Simulated Thorlabs PM100D / PM100USB power meters for the simulated lab.

The meter sees a laser whose power drifts with noise (`physics.PowerMeter`); averaging
lowers the noise and takes `averaging * 0.3 ms` per reading. The sensor decides the
wavelength span (`SENSe:CORRection:WAVelength? MIN|MAX`, out of span: error -222) and
whether energy can be measured: `CONFigure:ENERgy` with a photodiode (the default
S120C) is refused with -221, with a pyroelectric sensor (`sensor="ES111C"`) READ?
answers pulse energies in joules. Power reads follow `SENSe:POWer:UNIT` (W or dBm).

Reply formats: readings `1.000000000E-03`, wavelengths `1.000000E+03` (no sign). Not
confirmed from the manual: the digit counts (the pyvisa-sim YAMLs send seven digits).
"""

from __future__ import annotations

from typing import Any

from instrumentkit.sim import Reply, ScpiDevice, ScpiError, Setting, command
from instrumentkit.sim.physics import Drift, PowerMeter

__all__ = ["PM100DModel", "PM100USBModel"]

_SENSORS = {
    # name: (identification reply, wavelength span in nm, pyroelectric)
    "S120C": ("S120C,12345678,01-Jan-2024,1,18,289", (400.0, 1100.0), False),
    "S122C": ("S122C,12345679,01-Jan-2024,1,18,289", (700.0, 1800.0), False),
    "ES111C": ("ES111C,22345678,01-Jan-2024,2,1,33", (185.0, 25000.0), True),
}
_SECONDS_PER_SAMPLE = 0.0003


class PM100DModel(ScpiDevice):
    """A PM100D with one sensor attached."""

    idn = "Thorlabs,PM100D,P0001234,2.6.0"

    power_autorange = Setting("[:SENSe<s>]:POWer[:DC]:RANGe:AUTO", True)
    power_range = Setting("[:SENSe<s>]:POWer[:DC]:RANGe[:UPPer]", 0.05, limits=(1e-12, 1e3))
    power_unit = Setting("[:SENSe<s>]:POWer[:DC]:UNIT", "W", choices=("W", "DBM"))
    averaging = Setting("[:SENSe<s>]:AVERage[:COUNt]", 1, limits=(1, 10_000))
    beam_diameter = Setting("[:SENSe<s>]:CORRection:BEAMdiameter", 9.5, limits=(0.001, 100.0))

    def __init__(
        self,
        *,
        sensor: str = "S120C",
        power: float = 1e-3,
        noise: float = 1e-3,
        drift: float = 0.0,
        energy: float = 1e-4,
        **options: Any,
    ) -> None:
        if sensor not in _SENSORS:
            raise ValueError(f"unknown sensor {sensor!r}; choose one of {sorted(_SENSORS)}")
        self.sensor = sensor
        self.laser = PowerMeter(power=Drift(value=power, rate=drift * power), noise=noise)
        self.pulses = PowerMeter(power=Drift(value=energy), noise=noise, dark=0.0)
        super().__init__(**options)
        self.reset()

    def reset(self) -> None:
        super().reset()
        low, high = _SENSORS[self.sensor][1]
        self.wavelength = min(max(633.0, low), high)
        self.measurement = "POW"

    @command("[:SENSe<s>]:CORRection:WAVelength")
    def _set_wavelength(self, value: str, **suffix: int) -> None:
        low, high = _SENSORS[self.sensor][1]
        try:
            number = float(value)
        except ValueError:
            raise ScpiError(-104) from None
        if not low <= number <= high:
            raise ScpiError(-222)
        self.wavelength = number

    @command("[:SENSe<s>]:CORRection:WAVelength?")
    def _wavelength(self, *which: str, **suffix: int) -> str:
        low, high = _SENSORS[self.sensor][1]
        word = which[0].strip().upper() if which else ""
        value = {"MIN": low, "MINIMUM": low, "MAX": high, "MAXIMUM": high}.get(word)
        return f"{self.wavelength if value is None else value:.6E}"

    @command("CONFigure<c>[:SCALar]:POWer")
    def _configure_power(self, **suffix: int) -> None:
        self.measurement = "POW"

    @command("CONFigure<c>[:SCALar]:ENERgy")
    def _configure_energy(self, **suffix: int) -> None:
        if not _SENSORS[self.sensor][2]:
            raise ScpiError(-221, "Settings conflict; energy needs a pyroelectric sensor")
        self.measurement = "ENER"

    @command("CONFigure<c>?")
    def _configuration(self, **suffix: int) -> str:
        return self.measurement

    @command("SYSTem:SENSor:IDN?")
    def _sensor(self) -> str:
        return _SENSORS[self.sensor][0]

    @command("[:SENSe<s>]:CORRection:COLLect:ZERO[:INITiate]")
    def _zero(self, **suffix: int) -> None:
        self.start_operation(0.5)

    @command("READ?")
    def _read(self) -> Reply:
        return self._measure()

    @command("MEASure<m>[:SCALar]:POWer?")
    def _measure_power(self, **suffix: int) -> Reply:
        self.measurement = "POW"
        return self._measure()

    def _measure(self) -> Reply:
        duration = self.averaging * _SECONDS_PER_SAMPLE
        done = self.start_operation(duration)
        if self.measurement == "ENER":
            value = float(self.pulses.measure([done], self.rng)[0])
        else:
            value = float(self.laser.measure([done], self.rng, averages=self.averaging)[0])
            if self.power_unit == "DBM":
                value = float(PowerMeter.to_dbm(value))
        return Reply(f"{value:.9E}", at=done)


class PM100USBModel(PM100DModel):
    """A PM100USB interface: the PM100D's command set without a display."""

    idn = "Thorlabs,PM100USB,P2001234,1.7.0"
