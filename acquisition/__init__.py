"""Acquisition pipelines: sources, stages, the HDF5 run writer and reader."""
