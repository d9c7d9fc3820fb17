"""Ocean Insight (Ocean Optics) array spectrometers on their RS-232 port."""

from .usb2000plus import OceanInsightUSB2000Plus
from .usb4000 import OceanInsightHR4000, OceanInsightUSB4000

DRIVERS = (OceanInsightUSB2000Plus, OceanInsightUSB4000, OceanInsightHR4000)

__all__ = ["DRIVERS", "OceanInsightHR4000", "OceanInsightUSB2000Plus", "OceanInsightUSB4000"]
