"""Yokogawa optical spectrum analyzers."""

from .aq6370 import YokogawaAQ6370D

DRIVERS = (YokogawaAQ6370D,)

__all__ = ["DRIVERS", "YokogawaAQ6370D"]
