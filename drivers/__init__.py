"""instrumentkit's own drivers, one vendor package each, imported as `instrumentkit.drivers`.

Every vendor package exposes `DRIVERS`, a tuple of driver classes; the registry finds the
packages through the `instrumentkit.drivers` entry-point group in pyproject.toml.
"""
