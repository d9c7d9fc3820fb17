"""Generic drivers: instruments described by a configuration file rather than by code."""

from instrumentkit.drivers.generic.line_sensor import LineSensor
from instrumentkit.drivers.generic.line_sensor_sim import LineBoardModel

DRIVERS = (LineSensor,)
SIM_MODELS = {"generic-line-sensor": LineBoardModel}

__all__ = ["DRIVERS", "SIM_MODELS", "LineBoardModel", "LineSensor"]
