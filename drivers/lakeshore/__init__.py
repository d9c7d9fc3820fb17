"""lakeshore drivers."""

DRIVERS: tuple[type, ...] = ()
