"""Decomposition: factor analysis fit from the data's scatter."""
from lvmfast.decomposition._factor_analysis import FactorAnalysis

__all__ = ["FactorAnalysis"]
