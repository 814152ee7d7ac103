"""Compiled kernels. Python allocates, validates and decides; these compute."""
