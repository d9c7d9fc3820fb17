"""pfeiffer drivers."""

DRIVERS: tuple[type, ...] = ()
