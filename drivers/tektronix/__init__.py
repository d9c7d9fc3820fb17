"""Tektronix oscilloscopes: TDS1000/2000 series and MSO/DPO4000 series."""

from instrumentkit.drivers.tektronix.mso4000 import TektronixMSO4000
from instrumentkit.drivers.tektronix.tds2000 import TektronixTDS2000

DRIVERS = (TektronixTDS2000, TektronixMSO4000)

__all__ = ["DRIVERS", "TektronixMSO4000", "TektronixTDS2000"]
