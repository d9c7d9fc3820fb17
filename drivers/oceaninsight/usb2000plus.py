"""Ocean Optics (Ocean Insight) USB2000+ on its RS-232 port.

Sony ILX511B linear CCD, 2048 pixels, 16-bit A/D (full scale 65535 counts),
integration 1 ms to 65 s per the data sheet; over RS-232 the `I` command takes whole
milliseconds, so 1..65535 ms. Protocol and what could not be confirmed:
`instrumentkit.drivers.oceaninsight._serial_protocol`.
"""

from __future__ import annotations

from instrumentkit.validators import Range

from ._serial_spectrometer import (
    OceanSerialSpectrometer,
    WordSetting,
)

__all__ = ["OceanInsightUSB2000Plus"]


class OceanInsightUSB2000Plus(OceanSerialSpectrometer):
    """Ocean Optics USB2000+ array spectrometer (2048-pixel ILX511B) over RS-232."""

    sim_model = "oceaninsight-usb2000plus"
    pixels = 2048
    full_scale = 65535
    detector = "Sony ILX511B"

    integration_time = WordSetting(
        "I",
        validate=Range(1, 65535, integer=True),
        units="ms",
        doc="Set the integration time of one scan, in milliseconds (1 to 65535).",
    )
