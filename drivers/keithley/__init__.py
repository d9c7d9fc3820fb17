"""Keithley instruments."""

from instrumentkit.drivers.keithley.dmm2000 import Keithley2000
from instrumentkit.drivers.keithley.dmm2000_sim import Keithley2000Model
from instrumentkit.drivers.keithley.smu2400 import Keithley2400
from instrumentkit.drivers.keithley.smu2400_sim import Keithley2400Model
from instrumentkit.drivers.keithley.smu2450 import Keithley2450
from instrumentkit.drivers.keithley.smu2450_sim import Keithley2450Model

DRIVERS = (Keithley2000, Keithley2400, Keithley2450)
SIM_MODELS = {
    "keithley-2000": Keithley2000Model,
    "keithley-2400": Keithley2400Model,
    "keithley-2450": Keithley2450Model,
}

__all__ = ["DRIVERS", "SIM_MODELS", "Keithley2000", "Keithley2400", "Keithley2450"]
