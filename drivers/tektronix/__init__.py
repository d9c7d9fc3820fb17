"""tektronix drivers."""

DRIVERS: tuple[type, ...] = ()
