"""Ocean Insight (Ocean Optics) array spectrometers on their RS-232 port."""

from .usb2000plus import OceanInsightUSB2000Plus
from .usb4000 import OceanInsightHR4000, OceanInsightUSB4000
from .usb4000_sim import HR4000Model, USB2000PlusModel, USB4000Model

DRIVERS = (OceanInsightUSB2000Plus, OceanInsightUSB4000, OceanInsightHR4000)

SIM_MODELS = {
    "oceaninsight-usb2000plus": USB2000PlusModel,
    "oceaninsight-usb4000": USB4000Model,
    "oceaninsight-hr4000": HR4000Model,
}

__all__ = [
    "DRIVERS",
    "SIM_MODELS",
    "OceanInsightHR4000",
    "OceanInsightUSB2000Plus",
    "OceanInsightUSB4000",
]
