"""Rigol oscilloscopes: DS1000Z series."""

from instrumentkit.drivers.rigol.ds1000z import RigolDS1000Z

DRIVERS = (RigolDS1000Z,)

__all__ = ["DRIVERS", "RigolDS1000Z"]
