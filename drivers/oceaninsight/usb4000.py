"""Ocean Optics (Ocean Insight) USB4000 and HR4000 on their RS-232 port.

Toshiba TCD1304AP linear CCD, 3648 active pixels. The USB4000 digitises with 16 bits
(full scale 65535), the HR4000 with 14 bits (16383). Integration 3.8 ms to 10 s per the
data sheets; the RS-232 `I` command takes whole milliseconds, so 4..10000 ms.
Not confirmed: whether the RS-232 frame carries only the 3648 active pixels (assumed
here) or the 3840 values the USB interface sends, which include dark and dummy pixels.
Protocol: `instrumentkit.drivers.oceaninsight._serial_protocol`.
"""

from __future__ import annotations

from instrumentkit.validators import Range

from ._serial_spectrometer import (
    OceanSerialSpectrometer,
    WordSetting,
)

__all__ = ["OceanInsightHR4000", "OceanInsightUSB4000"]


class OceanInsightUSB4000(OceanSerialSpectrometer):
    """Ocean Optics USB4000 array spectrometer (3648-pixel TCD1304AP) over RS-232."""

    sim_model = "oceaninsight-usb4000"
    pixels = 3648
    full_scale = 65535
    detector = "Toshiba TCD1304AP"

    integration_time = WordSetting(
        "I",
        validate=Range(4, 10000, integer=True),
        units="ms",
        doc="Set the integration time of one scan, in milliseconds (4 to 10000).",
    )


class OceanInsightHR4000(OceanInsightUSB4000):
    """Ocean Optics HR4000 high-resolution spectrometer (TCD1304AP, 14-bit) over RS-232."""

    sim_model = "oceaninsight-hr4000"
    full_scale = 16383
