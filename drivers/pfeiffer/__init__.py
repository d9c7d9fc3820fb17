"""Pfeiffer Vacuum instruments."""

from instrumentkit.drivers.pfeiffer.tpg36x import (
    PfeifferTPG36x,
    PfeifferTPG361,
    PfeifferTPG362,
    PfeifferTPG366,
)

DRIVERS = (PfeifferTPG36x, PfeifferTPG361, PfeifferTPG362, PfeifferTPG366)
SIM_MODELS: dict[str, type] = {}

__all__ = [
    "DRIVERS",
    "SIM_MODELS",
    "PfeifferTPG36x",
    "PfeifferTPG361",
    "PfeifferTPG362",
    "PfeifferTPG366",
]
