"""Rigol instruments: DS1000Z oscilloscopes, DG1000Z function generators."""

from instrumentkit.drivers.rigol.dg1000z import RigolDG1000Z
from instrumentkit.drivers.rigol.dg1000z_sim import DG1062ZModel
from instrumentkit.drivers.rigol.ds1000z import RigolDS1000Z
from instrumentkit.drivers.rigol.ds1000z_sim import DS1054ZModel

DRIVERS = (RigolDS1000Z, RigolDG1000Z)
SIM_MODELS: dict[str, type] = {"rigol-ds1054z": DS1054ZModel, "rigol-dg1062z": DG1062ZModel}

__all__ = ["DRIVERS", "SIM_MODELS", "RigolDG1000Z", "RigolDS1000Z"]
