"""Keithley instruments."""

from instrumentkit.drivers.keithley.dmm2000 import Keithley2000

DRIVERS = (Keithley2000,)
SIM_MODELS: dict[str, type] = {}

__all__ = ["DRIVERS", "SIM_MODELS", "Keithley2000"]
