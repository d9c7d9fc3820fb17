"""Tektronix oscilloscopes: TDS1000/2000 series and MSO/DPO4000 series."""

from instrumentkit.drivers.tektronix.mso4000 import TektronixMSO4000, TektronixMSO4000TwoChannel
from instrumentkit.drivers.tektronix.mso4000_sim import MSO4104Model
from instrumentkit.drivers.tektronix.tds2000 import TektronixTDS2000, TektronixTDS2000TwoChannel
from instrumentkit.drivers.tektronix.tds2000_sim import TDS2024CModel

DRIVERS = (
    TektronixTDS2000,
    TektronixTDS2000TwoChannel,
    TektronixMSO4000,
    TektronixMSO4000TwoChannel,
)
SIM_MODELS: dict[str, type] = {
    "tektronix-tds2024c": TDS2024CModel,
    "tektronix-mso4104": MSO4104Model,
}

__all__ = [
    "DRIVERS",
    "SIM_MODELS",
    "TektronixMSO4000",
    "TektronixMSO4000TwoChannel",
    "TektronixTDS2000",
    "TektronixTDS2000TwoChannel",
]
