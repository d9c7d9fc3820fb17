"""Thorlabs instruments."""

from instrumentkit.drivers.thorlabs.pm100 import ThorlabsPM100D, ThorlabsPM100USB
from instrumentkit.drivers.thorlabs.pm100_sim import PM100DModel, PM100USBModel

DRIVERS = (ThorlabsPM100D, ThorlabsPM100USB)
SIM_MODELS = {"thorlabs-pm100d": PM100DModel, "thorlabs-pm100usb": PM100USBModel}

__all__ = ["DRIVERS", "SIM_MODELS", "ThorlabsPM100D", "ThorlabsPM100USB"]
