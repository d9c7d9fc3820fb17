"""Rigol instruments: DS1000Z oscilloscopes, DP800 power supplies, DG1000Z generators."""

from instrumentkit.drivers.rigol.dg1000z import RigolDG1000Z
from instrumentkit.drivers.rigol.dg1000z_sim import DG1062ZModel
from instrumentkit.drivers.rigol.dp800 import RigolDP832
from instrumentkit.drivers.rigol.dp800_sim import DP832Model
from instrumentkit.drivers.rigol.ds1000z import RigolDS1000Z
from instrumentkit.drivers.rigol.ds1000z_sim import DS1054ZModel

DRIVERS = (RigolDS1000Z, RigolDP832, RigolDG1000Z)
SIM_MODELS: dict[str, type] = {
    "rigol-ds1054z": DS1054ZModel,
    "rigol-dp832": DP832Model,
    "rigol-dg1062z": DG1062ZModel,
}

__all__ = ["DRIVERS", "SIM_MODELS", "RigolDG1000Z", "RigolDP832", "RigolDS1000Z"]
