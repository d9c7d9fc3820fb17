"""rigol drivers."""

DRIVERS: tuple[type, ...] = ()
