"""keithley drivers."""

DRIVERS: tuple[type, ...] = ()
