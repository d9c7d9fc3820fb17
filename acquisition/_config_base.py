"""The base of every run-config model (shared by `_config.py` and `_sweep_config.py`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Strict"]


class Strict(BaseModel):
    # No .inf or .nan in any number: `duration: .inf` would make a run that never ends.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
