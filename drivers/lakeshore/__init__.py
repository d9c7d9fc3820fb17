"""Lake Shore Cryotronics instruments."""

from instrumentkit.drivers.lakeshore.model33x import LakeShore335, LakeShore336
from instrumentkit.drivers.lakeshore.model33x_sim import LakeShore335Model, LakeShore336Model

DRIVERS = (LakeShore335, LakeShore336)
SIM_MODELS = {"lakeshore-335": LakeShore335Model, "lakeshore-336": LakeShore336Model}

__all__ = ["DRIVERS", "SIM_MODELS", "LakeShore335", "LakeShore336"]
