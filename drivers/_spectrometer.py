"""What every spectrometer driver here shares: dark references and batch arithmetic.

A dark reference is a spectrum taken with the light blocked. It is only valid for the
settings it was taken with (integration time, averaging, boxcar, sweep range), so it is
stored together with those settings and refused, before anything is sent, once they
have changed. Subtraction is plain NumPy broadcasting: one (pixels,) reference against
one spectrum or a whole (n, pixels) stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from instrumentkit.data import Spectrum, now_ns
from instrumentkit.errors import ValidationError

__all__ = [
    "DarkReference",
    "DarkReferenceHolder",
    "SpectrumBatch",
    "batch_spectrum",
    "dbm_to_mw",
    "mw_to_dbm",
    "subtract_dark",
    "subtract_dark_dbm",
]

DBM_FLOOR = -210.0
"""What a level at or below zero power becomes in dBm (the OSA's own 'no signal' value)."""


@dataclass(frozen=True, slots=True)
class DarkReference:
    """A stored dark spectrum and the settings it is valid for."""

    intensities: NDArray[np.float64]
    settings: Mapping[str, Any]
    units: str
    timestamp_ns: int = field(default_factory=now_ns)

    def check_valid_for(self, settings: Mapping[str, Any], instrument: str) -> None:
        """Raise ValidationError (nothing sent yet) if the settings changed since capture."""
        changed = {
            key: (self.settings.get(key), value)
            for key, value in settings.items()
            if self.settings.get(key) != value
        }
        if changed:
            listed = ", ".join(f"{k} was {old!r}, is {new!r}" for k, (old, new) in changed.items())
            raise ValidationError(
                f"the dark reference no longer matches the settings ({listed}); "
                "call capture_dark() again with the light blocked",
                instrument=instrument,
            )


class DarkReferenceHolder:
    """`capture_dark()`, `dark_reference`, `clear_dark()` for a driver that defines
    `acquire()`, `_dark_settings()` and `dark_units`."""

    _dark: DarkReference | None = None
    dark_units: str = "counts"

    def acquire(self) -> Spectrum:  # pragma: no cover - the driver's
        raise NotImplementedError

    def _dark_settings(self) -> Mapping[str, Any]:  # pragma: no cover - the driver's
        raise NotImplementedError

    def capture_dark(self) -> Spectrum:
        """Measure and store a dark reference (light blocked or source off) for the
        present settings; dark-corrected acquisitions use it until the settings change."""
        settings = self._dark_settings()
        spectrum = self.acquire()
        self._dark = DarkReference(
            spectrum.intensities, settings, self.dark_units, spectrum.timestamp_ns
        )
        return spectrum

    @property
    def dark_reference(self) -> DarkReference | None:
        """Get the stored dark reference, or None."""
        return self._dark

    def clear_dark(self) -> None:
        """Forget the stored dark reference."""
        self._dark = None


def require_dark(
    dark: DarkReference | None, settings: Mapping[str, Any], instrument: str
) -> DarkReference:
    """The dark reference, checked against `settings`; ValidationError if there is none."""
    if dark is None:
        raise ValidationError(
            "dark-corrected acquisition needs a dark reference: block the light and call "
            "capture_dark() first",
            instrument=instrument,
        )
    dark.check_valid_for(settings, instrument)
    return dark


def subtract_dark(
    intensities: NDArray[np.float64],
    dark: NDArray[np.float64],
    out: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """Counts minus the dark: (pixels,) or (n, pixels) against (pixels,), by broadcasting.

    `out` (which may be `intensities` itself) avoids allocating the result: for a large
    stack, touching fresh memory costs more than the subtraction.
    """
    return np.subtract(intensities, dark, out=out, dtype=np.float64)


def dbm_to_mw(dbm: NDArray[np.float64]) -> NDArray[np.float64]:
    """Optical power in mW from dBm (vectorized)."""
    return np.power(10.0, np.asarray(dbm, dtype=np.float64) / 10.0)


def mw_to_dbm(mw: NDArray[np.float64], floor: float = DBM_FLOOR) -> NDArray[np.float64]:
    """dBm from mW; zero or negative power becomes `floor` instead of -inf or NaN."""
    tiny = 10.0 ** (floor / 10.0)
    return 10.0 * np.log10(np.maximum(np.asarray(mw, dtype=np.float64), tiny))


def subtract_dark_dbm(
    levels_dbm: NDArray[np.float64], dark_dbm: NDArray[np.float64], floor: float = DBM_FLOOR
) -> NDArray[np.float64]:
    """Subtract a dark trace from dBm levels in linear power, then return dBm.

    Logarithmic levels cannot be subtracted directly; a level at or below the dark one
    becomes `floor`.
    """
    return mw_to_dbm(dbm_to_mw(levels_dbm) - dbm_to_mw(dark_dbm), floor)


SpectrumBatch = Spectrum
"""A Spectrum whose intensities are (n, points): one row per acquisition.

`meta["timestamps_ns"]` holds one timestamp per row and `meta["saturated"]` one flag per
row; `saturated` is True when any row is.
"""


def batch_spectrum(
    wavelengths: NDArray[np.float64],
    stack: NDArray[np.float64],
    timestamps_ns: NDArray[np.int64],
    saturated_rows: NDArray[np.bool_],
    *,
    units: str,
    integration_time: float | None,
    dark_corrected: bool,
    meta: Mapping[str, Any] | None = None,
) -> SpectrumBatch:
    """Wrap an (n, points) stack as one Spectrum (see SpectrumBatch)."""
    extra = dict(meta or {})
    extra["timestamps_ns"] = timestamps_ns
    extra["saturated"] = saturated_rows
    return Spectrum(
        wavelengths=wavelengths,
        intensities=stack,
        units=units,
        timestamp_ns=int(timestamps_ns[0]) if len(timestamps_ns) else now_ns(),
        integration_time=integration_time,
        saturated=bool(saturated_rows.any()),
        dark_corrected=dark_corrected,
        meta=extra,
    )
