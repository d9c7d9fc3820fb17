"""yokogawa drivers."""

DRIVERS: tuple[type, ...] = ()
