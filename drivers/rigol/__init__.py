"""Rigol oscilloscopes: DS1000Z series."""

from instrumentkit.drivers.rigol.ds1000z import RigolDS1000Z
from instrumentkit.drivers.rigol.ds1000z_sim import DS1054ZModel

DRIVERS = (RigolDS1000Z,)
SIM_MODELS: dict[str, type] = {"rigol-ds1054z": DS1054ZModel}

__all__ = ["DRIVERS", "SIM_MODELS", "RigolDS1000Z"]
