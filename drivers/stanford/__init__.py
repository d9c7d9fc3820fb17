"""Stanford Research Systems instruments: the SR830 lock-in amplifier."""

from instrumentkit.drivers.stanford.sr830 import StanfordSR830, StanfordSR830Serial
from instrumentkit.drivers.stanford.sr830_sim import SR830Model

DRIVERS = (StanfordSR830, StanfordSR830Serial)
SIM_MODELS: dict[str, type] = {"stanford-sr830": SR830Model}

__all__ = ["DRIVERS", "SIM_MODELS", "StanfordSR830", "StanfordSR830Serial"]
