"""Thorlabs instruments."""

from instrumentkit.drivers.thorlabs.pm100 import ThorlabsPM100D, ThorlabsPM100USB

DRIVERS = (ThorlabsPM100D, ThorlabsPM100USB)
SIM_MODELS: dict[str, type] = {}

__all__ = ["DRIVERS", "SIM_MODELS", "ThorlabsPM100D", "ThorlabsPM100USB"]
