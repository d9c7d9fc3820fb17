"""oceaninsight drivers."""

DRIVERS: tuple[type, ...] = ()
