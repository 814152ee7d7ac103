"""Kernel density estimation (scikit-learn keeps its KernelDensity in
sklearn.neighbors)."""
from lvmfast.neighbors._kde import KernelDensity

__all__ = ["KernelDensity"]
