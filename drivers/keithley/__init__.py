"""Keithley instruments."""

from instrumentkit.drivers.keithley.dmm2000 import Keithley2000
from instrumentkit.drivers.keithley.dmm2000_sim import Keithley2000Model

DRIVERS = (Keithley2000,)
SIM_MODELS = {"keithley-2000": Keithley2000Model}

__all__ = ["DRIVERS", "SIM_MODELS", "Keithley2000"]
