"""thorlabs drivers."""

DRIVERS: tuple[type, ...] = ()
