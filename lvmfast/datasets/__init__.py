"""Small data shipped with lvmfast."""
from importlib import resources

import numpy as np

__all__ = ["load_faithful"]


def load_faithful():
    """The Old Faithful geyser data: 272 eruptions of (duration in minutes,
    waiting time to the next eruption in minutes).

    Returns
    -------
    X : ndarray of shape (272, 2)
        float64: each eruption's duration and the wait before the next.
    feature_names : list of str
        The two columns' names.

    Examples
    --------
    >>> from lvmfast.datasets import load_faithful
    >>> X, feature_names = load_faithful()
    >>> X.shape
    (272, 2)
    >>> feature_names
    ['eruptions', 'waiting']
    """
    with resources.files(__package__).joinpath("data/faithful.csv").open() as f:
        header = f.readline().strip().split(",")
        X = np.loadtxt(f, delimiter=",", dtype=np.float64)
    return X, header
