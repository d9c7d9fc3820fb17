"""What a readings stream's status codes mean, for `plot` and `inspect`.

A run file stores the meanings beside the codes, as the CF conventions' `flag_values` (int
array) and `flag_meanings` (space-separated tokens) on the stream's `status` dataset. Files
written before that have only the codes; for them the meanings of the project's own drivers
are known here (from their manuals, as the drivers document them), and any other nonzero
code is shown as what the run-file layout promises: 0 is valid, anything else is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["describe_code", "status_meanings"]

# Driver module (as recorded in the file) -> code -> meaning, for files without flag_meanings.
_KNOWN: dict[str, dict[int, str]] = {
    # Lake Shore 33x RDGST? bits (the codes are bit sums: described bit by bit)
    "instrumentkit.drivers.lakeshore.": {
        1: "invalid reading",
        16: "temperature underrange",
        32: "temperature overrange",
        64: "sensor units zero",
        128: "sensor units overrange",
    },
    # Pfeiffer TPG 36x measurement status
    "instrumentkit.drivers.pfeiffer.": {
        1: "underrange",
        2: "overrange",
        3: "sensor error",
        4: "sensor off",
        5: "no sensor",
        6: "identification error",
    },
    # The generic line sensor: a field that was not a number
    "instrumentkit.drivers.generic.line_sensor": {1: "not a number"},
}
_BITS = "instrumentkit.drivers.lakeshore."


def status_meanings(attrs: Mapping[str, Any], driver: str) -> tuple[dict[int, str], bool]:
    """Code -> meaning from the dataset's CF attributes, else from the driver's known codes.

    Returns the meanings and whether codes are bit sums (described bit by bit).
    """
    values, meanings = attrs.get("flag_values"), attrs.get("flag_meanings")
    if values is not None and meanings is not None:
        if isinstance(meanings, bytes):
            meanings = meanings.decode("utf-8", "replace")
        tokens = str(meanings).split()
        codes = [int(v) for v in np.atleast_1d(values)]
        if len(tokens) == len(codes):
            return {c: t.replace("_", " ") for c, t in zip(codes, tokens, strict=True)}, False
    for prefix, known in _KNOWN.items():
        if driver.startswith(prefix):
            return dict(known), prefix == _BITS
    return {}, False


def describe_code(code: int, meanings: Mapping[int, str], bits: bool = False) -> str:
    """'status 1 = invalid reading', or 'status 7 (instrument-specific; 0 = valid)'."""
    if code in meanings:
        return f"status {code} = {meanings[code]}"
    if bits and code > 0:
        parts = [meanings[b] for b in sorted(meanings) if code & b]
        if parts:
            return f"status {code} = {' + '.join(parts)}"
    return f"status {code} (not valid; its meaning was not recorded)"
