"""Lake Shore Cryotronics instruments."""

from instrumentkit.drivers.lakeshore.model33x import LakeShore335, LakeShore336

DRIVERS = (LakeShore335, LakeShore336)
SIM_MODELS: dict[str, type] = {}

__all__ = ["DRIVERS", "SIM_MODELS", "LakeShore335", "LakeShore336"]
