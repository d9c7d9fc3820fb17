"""Pfeiffer Vacuum instruments."""

from instrumentkit.drivers.pfeiffer.tpg36x import (
    PfeifferTPG36x,
    PfeifferTPG361,
    PfeifferTPG362,
    PfeifferTPG366,
)
from instrumentkit.drivers.pfeiffer.tpg36x_sim import TPG361Model, TPG362Model, TPG366Model

DRIVERS = (PfeifferTPG36x, PfeifferTPG361, PfeifferTPG362, PfeifferTPG366)
SIM_MODELS = {
    "pfeiffer-tpg361": TPG361Model,
    "pfeiffer-tpg362": TPG362Model,
    "pfeiffer-tpg366": TPG366Model,
}

__all__ = [
    "DRIVERS",
    "SIM_MODELS",
    "PfeifferTPG36x",
    "PfeifferTPG361",
    "PfeifferTPG362",
    "PfeifferTPG366",
]
