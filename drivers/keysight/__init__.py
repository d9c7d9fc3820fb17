"""Keysight (Agilent) instruments."""

from instrumentkit.drivers.keysight.dmm344xx import Keysight34461A, Keysight34465A

DRIVERS = (Keysight34461A, Keysight34465A)

__all__ = ["DRIVERS", "Keysight34461A", "Keysight34465A"]
