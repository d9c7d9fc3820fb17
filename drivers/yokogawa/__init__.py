"""Yokogawa optical spectrum analyzers."""

from .aq6370 import YokogawaAQ6370D
from .aq6370_sim import AQ6370DModel

DRIVERS = (YokogawaAQ6370D,)

SIM_MODELS = {"yokogawa-aq6370d": AQ6370DModel}

__all__ = ["DRIVERS", "SIM_MODELS", "YokogawaAQ6370D"]
