"""generic drivers."""

DRIVERS: tuple[type, ...] = ()
