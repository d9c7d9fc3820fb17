"""Keysight (Agilent) instruments."""

from instrumentkit.drivers.keysight.dmm344xx import Keysight34461A, Keysight34465A
from instrumentkit.drivers.keysight.dmm344xx_sim import Keysight34461AModel, Keysight34465AModel
from instrumentkit.drivers.keysight.e36300 import KeysightE36312A
from instrumentkit.drivers.keysight.e36300_sim import E36312AModel
from instrumentkit.drivers.keysight.infiniivision import (
    KeysightInfiniiVision,
    KeysightInfiniiVisionTwoChannel,
)
from instrumentkit.drivers.keysight.infiniivision_sim import DSOX3034TModel
from instrumentkit.drivers.keysight.trueform33500 import (
    Keysight33500B,
    Keysight33500BOneChannel,
    Keysight33600A,
    Keysight33600AOneChannel,
)
from instrumentkit.drivers.keysight.trueform33500_sim import (
    Keysight33522BModel,
    Keysight33622AModel,
)

DRIVERS = (
    Keysight34461A,
    Keysight34465A,
    KeysightInfiniiVision,
    KeysightInfiniiVisionTwoChannel,
    KeysightE36312A,
)
DRIVERS += (Keysight33500B, Keysight33500BOneChannel, Keysight33600A, Keysight33600AOneChannel)
SIM_MODELS: dict[str, type] = {
    "keysight-34461a": Keysight34461AModel,
    "keysight-34465a": Keysight34465AModel,
    "keysight-dsox3034t": DSOX3034TModel,
    "keysight-e36312a": E36312AModel,
    "keysight-33522b": Keysight33522BModel,
    "keysight-33622a": Keysight33622AModel,
}

__all__ = [
    "DRIVERS",
    "SIM_MODELS",
    "Keysight33500B",
    "Keysight33500BOneChannel",
    "Keysight33600A",
    "Keysight33600AOneChannel",
    "Keysight34461A",
    "Keysight34465A",
    "KeysightE36312A",
    "KeysightInfiniiVision",
    "KeysightInfiniiVisionTwoChannel",
]
