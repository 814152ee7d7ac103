"""lvmfast's estimators on Dask arrays (install the extra: ``pip install
'lvmfast[dask]'``).

The in-memory estimators' loops with the Dask pass: each pass maps the same
compiled per-block functions over a dask array's blocks on the workers and
sums their statistics in a fixed tree; the small M-step runs on the client.
``to_local()`` turns a fitted estimator into the in-memory one.
"""
try:
    import dask.array  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "lvmfast.dask needs dask[array] (and distributed for a cluster): pip install 'lvmfast[dask]'"
    ) from exc

from lvmfast.dask._factor_analyzers import MixtureOfFactorAnalyzers
from lvmfast.dask._kde import KernelDensity
from lvmfast.dask._kmeans import KMeans
from lvmfast.dask._mixture import BayesianGaussianMixture, GaussianMixture
from lvmfast.dask._naive_bayes import GaussianNB

__all__ = ["BayesianGaussianMixture", "GaussianMixture", "GaussianNB", "KernelDensity", "KMeans", "MixtureOfFactorAnalyzers"]
