"""Keysight (Agilent) instruments."""

from instrumentkit.drivers.keysight.dmm344xx import Keysight34461A, Keysight34465A
from instrumentkit.drivers.keysight.infiniivision import KeysightInfiniiVision

DRIVERS = (Keysight34461A, Keysight34465A, KeysightInfiniiVision)

__all__ = ["DRIVERS", "Keysight34461A", "Keysight34465A", "KeysightInfiniiVision"]
