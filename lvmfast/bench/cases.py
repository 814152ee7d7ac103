"""The benchmark cases: each library's call from the same starting point,
what a run measures, and how the two results are compared.

Shared by `lvmfast bench` and the pytest-benchmark suites in benchmarks/.
A case is built from its key, dtype and size alone, so that a fresh process
(the peak-memory measurement) can rebuild it. The data are in data.py, the
timing and the machine's rates in probes.py, each library's callable in
implementations.py.
"""
import abc
import time
import warnings

import numpy as np

from lvmfast.bench.data import known_mixture, labelled_blobs, make_blobs, sparse_documents, starting_point
from lvmfast.bench.implementations import implementation, qualified_name
from lvmfast.bench.probes import compute_floor, median_seconds


def potential(X, centers, chunk_rows=65536):
    """Sum over rows of the squared distance to the nearest center (float64)."""
    C = centers.astype(np.float64)
    c_sq = (C**2).sum(axis=1)
    total = 0.0
    for start in range(0, X.shape[0], chunk_rows):
        x = X[start:start + chunk_rows].astype(np.float64)
        d = (x**2).sum(axis=1)[:, None] - 2 * x @ C.T + c_sq
        total += np.maximum(d.min(axis=1), 0).sum()
    return total


def relative_difference(ours, theirs):
    return (ours - theirs) / abs(theirs) if theirs else float(ours != theirs)


SIZE_LETTERS = {"n_samples": "N", "n_features": "D", "n_components": "K", "n_classes": "classes",
                "nnz_per_row": "nnz/row", "n_sequences": "sequences"}


class Case(abc.ABC):
    """One benchmark: build with Case(dtype, **size); `measure(library)`
    times it, `agreement(ours, theirs)` compares the two measurements. A
    subclass gives its sizes, tolerances and the four abstract methods."""

    key = ""
    model = ""
    title = ""
    step = None  # what the per-step time is, where the case has one
    fit = ""  # what the fit time is
    floor = None  # what bounds the step from below ("GEMM", "read X"), where the case has a floor
    sizes = {}  # "full" and "quick" problem sizes
    # Tolerances of the agreement metric, per dtype.
    tolerance = {"float64": 0.0, "float32": 0.0}

    def __init__(self, dtype, **size):
        self.dtype = np.dtype(dtype)
        unknown = set(size) - set(self.sizes["full"])
        if unknown:
            raise ValueError(f"{self.key} takes sizes {sorted(self.sizes['full'])}, not {sorted(unknown)}")
        self.size = {**self.sizes["full"], **size}

    def data(self):
        """The case's data, made once per case."""
        if not hasattr(self, "_data"):
            self._data = self._make_data()
        return self._data

    @abc.abstractmethod
    def _make_data(self):
        """The case's inputs, built from self.size and self.dtype."""

    def spec(self):
        """What rebuilds this case in another process."""
        return self.key, self.dtype.name, dict(self.size)

    def size_text(self):
        return " ".join(f"{SIZE_LETTERS[k]}={v}" for k, v in self.size.items())

    @abc.abstractmethod
    def measure(self, library, repeats=3):
        """{'implementation', 'fit_seconds', 'step_seconds', 'summary'}; keys
        of the summary starting with '_' are for the agreement only."""

    @abc.abstractmethod
    def memory_run(self, library):
        """The call whose peak memory is reported: the fit."""

    @abc.abstractmethod
    def agreement(self, ours, theirs):
        """{'metric', 'value', 'tolerance', 'agrees', 'text'} from two measurements."""

    def check_size(self):
        """Raise ValueError, naming the sizes, where the case cannot run at
        its size: fewer rows than components or classes."""
        n_samples = self.size["n_samples"]
        for name in ("n_components", "n_classes"):
            if name in self.size and n_samples < self.size[name]:
                raise ValueError(f"{self.key} needs n_samples >= {name}; got n_samples={n_samples}, "
                                 f"{name}={self.size[name]}")

    def floor_seconds(self, rates):
        """The floor of the step, where the case has one, from the machine's
        rates: {'gemm_flops': {dtype: FLOP/s}, 'read_bandwidth': bytes/s}."""
        return None

    def _agreement(self, metric, value, text):
        tolerance = self.tolerance[self.dtype.name]
        return {"metric": metric, "value": float(value), "tolerance": tolerance,
                "agrees": bool(abs(value) <= tolerance), "text": text}


class _KMeansData:
    def _make_data(self):
        X = make_blobs(self.size["n_samples"], self.size["n_features"], self.size["n_components"], self.dtype.name)
        init = X[np.random.default_rng(1).choice(len(X), self.size["n_components"], replace=False)]
        return X, init


class LloydCase(_KMeansData, Case):
    """Lloyd iterations from the same initial centers, with tol=0. The step
    is one iteration: the difference between fits of 12 and 2 iterations
    over the difference of their iteration counts (10 unless the labels
    stopped changing sooner), so setup and the final pass cancel."""

    key = "lloyd"
    model = "KMeans"
    title = "KMeans (Lloyd)"
    step = "iteration"
    fit = "fit, 12 iterations"
    floor = "GEMM"
    sizes = {
        "full": {"n_samples": 1_000_000, "n_features": 32, "n_components": 64},
        "quick": {"n_samples": 100_000, "n_features": 32, "n_components": 64},
    }
    tolerance = {"float64": 1e-6, "float32": 1e-4}  # the tests' parity tolerances

    def _fitter(self, library, max_iter):
        X, init = self.data()
        model = implementation("KMeans", library)(len(init), init=init, n_init=1, max_iter=max_iter, tol=0.0)
        return lambda: model.fit(X)

    def measure(self, library, repeats=3):
        short, long = self._fitter(library, 2), self._fitter(library, 12)
        fit_seconds = median_seconds(long, repeats)
        short_seconds = median_seconds(short, repeats)
        model = long()
        iterations = model.n_iter_ - short().n_iter_
        return {"implementation": qualified_name(type(model)), "fit_seconds": fit_seconds,
                "step_seconds": (fit_seconds - short_seconds) / iterations if iterations > 0 else None,
                "summary": {"inertia": float(model.inertia_), "n_iter": int(model.n_iter_),
                            "_labels": np.asarray(model.labels_)}}

    def memory_run(self, library):
        self._fitter(library, 12)()

    def agreement(self, ours, theirs):
        d = relative_difference(ours["summary"]["inertia"], theirs["summary"]["inertia"])
        return self._agreement("inertia relative difference", d, f"inertia {d:+.1e}")

    def floor_seconds(self, rates):
        # At the float32 rate for both dtypes: a float64 fit scores its rows
        # in float32 too (proving each label in float64), so the float32
        # product is what bounds either step.
        n, d, k = (self.size[key] for key in ("n_samples", "n_features", "n_components"))
        return 2 * n * k * d / rates["gemm_flops"]["float32"]


class LloydNormalCase(LloydCase):
    """As lloyd, on unclustered (standard normal) data: many rows sit near
    the boundaries of their cells, where the label proofs of the float32
    scores fail more often than on blobs and rows are redone by direct
    differences."""

    key = "lloyd-normal"
    title = "KMeans (Lloyd), standard normal"

    def _make_data(self):
        X = np.random.default_rng(0).standard_normal((self.size["n_samples"], self.size["n_features"]))
        X = X.astype(self.dtype)
        init = X[np.random.default_rng(1).choice(len(X), self.size["n_components"], replace=False)]
        return X, init


class LloydLargeKCase(LloydNormalCase):
    """As lloyd-normal with many clusters (run with --n-components 1024 for
    the largest size): the assignment's arithmetic dominates the step."""

    key = "lloyd-large-k"
    title = "KMeans (Lloyd), standard normal, large K"
    sizes = {
        "full": {"n_samples": 1_000_000, "n_features": 32, "n_components": 256},
        "quick": {"n_samples": 50_000, "n_features": 32, "n_components": 256},
    }


class KMeansFitCase(LloydCase):
    """A whole fit to convergence (tol=1e-4, n_init=1, max_iter=300) from
    the same initial centers: lvmfast with algorithm='elkan' (bounds; the
    same labels as its lloyd) against scikit-learn's lloyd, on blobs. The
    step is the mean iteration (fit time over n_iter_); the bounds make it
    cheaper as the rows settle, which one iteration cannot show. Agreement:
    the inertia, as the Lloyd case."""

    key = "kmeans-fit"
    title = "KMeans fit to convergence (elkan vs lloyd), blobs"
    step = "mean iteration"
    fit = "fit to convergence"
    floor = None
    sizes = {
        "full": {"n_samples": 200_000, "n_features": 32, "n_components": 256},
        "quick": {"n_samples": 20_000, "n_features": 32, "n_components": 128},
    }
    # Over a hundred iterations on unclustered data, rounding differences
    # (float32 above all) lead the two libraries to neighbouring local
    # optima (measured: -1.0e-3 in float32 at the quick size): the inertia
    # agrees to 1%, not to the per-step tolerance.
    tolerance = {"float64": 1e-2, "float32": 1e-2}

    def _fitter(self, library, max_iter=300):
        X, init = self.data()
        kwargs = {"algorithm": "elkan"} if library == "lvmfast" else {"algorithm": "lloyd"}
        model = implementation("KMeans", library)(len(init), init=init, n_init=1, max_iter=max_iter, tol=1e-4, **kwargs)
        return lambda: model.fit(X)

    def measure(self, library, repeats=1):
        fit = self._fitter(library)
        fit_seconds = median_seconds(fit, repeats)
        model = fit()
        return {"implementation": qualified_name(type(model)) + f"(algorithm={model.algorithm!r})",
                "fit_seconds": fit_seconds, "step_seconds": fit_seconds / model.n_iter_,
                "summary": {"inertia": float(model.inertia_), "n_iter": int(model.n_iter_),
                            "_labels": np.asarray(model.labels_)}}

    def memory_run(self, library):
        self._fitter(library)()

    def floor_seconds(self, rates):
        return None


class KMeansFitNormalCase(KMeansFitCase):
    """As kmeans-fit, on unclustered (standard normal) data, where the
    bounds prune least: rows near the boundaries of overlapping cells keep
    being measured."""

    key = "kmeans-fit-normal"
    title = "KMeans fit to convergence (elkan vs lloyd), standard normal"

    def _make_data(self):
        rng = np.random.default_rng(0)
        X = rng.standard_normal((self.size["n_samples"], self.size["n_features"])).astype(self.dtype)
        init = X[np.random.default_rng(1).choice(len(X), self.size["n_components"], replace=False)]
        return X, init


class SparseLloydCase(LloydCase):
    """Lloyd iterations on a TF-IDF-like CSR matrix (see sparse_documents:
    Zipf-popular terms, K weak topics, L2-normalized rows), from K random
    rows as initial centers, with tol=0; timed as the dense Lloyd case. X
    stays CSR in both libraries. Agreement: the inertia as the dense case;
    the share of rows labelled differently is shown beside it. The floor is
    reading X once (data, indices, indptr) at the machine's read bandwidth."""

    key = "kmeans-sparse"
    title = "KMeans (Lloyd, sparse CSR)"
    floor = "read X"
    sizes = {
        "full": {"n_samples": 200_000, "n_features": 50_000, "n_components": 20, "nnz_per_row": 50},
        "quick": {"n_samples": 20_000, "n_features": 5_000, "n_components": 20, "nnz_per_row": 50},
    }

    def __init__(self, dtype, **size):
        super().__init__(dtype, **size)
        # Small D (--n-features): at most 10% dense.
        self.size["nnz_per_row"] = max(1, min(self.size["nnz_per_row"], self.size["n_features"] // 10))

    def _make_data(self):
        n, k = self.size["n_samples"], self.size["n_components"]
        X, _ = sparse_documents(n, self.size["n_features"], k, self.size["nnz_per_row"], self.dtype.name)
        init = X[np.sort(np.random.default_rng(1).choice(n, k, replace=False))].toarray()
        return X, init

    def size_text(self):
        density = self.size["nnz_per_row"] / self.size["n_features"]
        return f"{super().size_text()} ({100 * density:.2g}% dense)"

    def agreement(self, ours, theirs):
        row = super().agreement(ours, theirs)
        differ = float(np.mean(ours["summary"]["_labels"] != theirs["summary"]["_labels"]))
        row["share_labelled_differently"] = differ
        row["text"] += f", {100 * differ:.3f}% labelled differently"
        return row

    def x_bytes(self):
        X, _ = self.data()
        return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes

    def floor_seconds(self, rates):
        return self.x_bytes() / rates["read_bandwidth"]


class KMeansPlusPlusCase(_KMeansData, Case):
    """Greedy k-means++ seeding with the default n_local_trials and the same
    seed. Agreement: the seeds' potential. In float64 both libraries pick the
    same rows. In float32 scikit-learn sums its sampling weights in float32,
    so its picks drift from lvmfast's (summed in float64), and one seed's
    potential then differs by up to the seed-to-seed spread (a few percent
    on blobs): float32 is held to 10%."""

    key = "kmeans++"
    model = "kmeans_plusplus"
    title = "k-means++ seeding"
    fit = "seeding"
    sizes = LloydCase.sizes
    tolerance = {"float64": 1e-9, "float32": 0.1}

    def _seeder(self, library):
        X, init = self.data()
        seed_centers = implementation("kmeans_plusplus", library)
        return lambda: seed_centers(X, len(init), random_state=0)

    def measure(self, library, repeats=3):
        seeder = self._seeder(library)
        seconds = median_seconds(seeder, repeats)
        centers, indices = seeder()
        X, _ = self.data()
        return {"implementation": qualified_name(implementation("kmeans_plusplus", library)),
                "fit_seconds": seconds, "step_seconds": None,
                "summary": {"potential": float(potential(X, centers)), "_indices": np.asarray(indices)}}

    def memory_run(self, library):
        self._seeder(library)()

    def agreement(self, ours, theirs):
        d = relative_difference(ours["summary"]["potential"], theirs["summary"]["potential"])
        same = len(np.intersect1d(ours["summary"]["_indices"], theirs["summary"]["_indices"]))
        k = len(ours["summary"]["_indices"])
        return self._agreement("potential relative difference", d, f"potential {100 * d:+.2f}%, same rows {same}/{k}")


class KMeansParallelInitCase(Case):
    """k-means|| seeding (lvmfast's KMeans(init='k-means||'): 5 rounds of
    about 2K candidates, then weighted k-means++ on them) against
    scikit-learn's greedy k-means++ seeding (its KMeans default), on standard
    normal data, where greedy k-means++ reads X once per center. The fit
    time is the seeding. Then Lloyd runs from each library's seeds, by
    lvmfast's KMeans for both (the same iterations as scikit-learn's from the
    same centers, and faster), for up to 100 iterations at KMeans' default
    tol; for lvmfast that is the fit of KMeans(init='k-means||') itself.
    Agreement: the relative difference of those inertias; the seeds'
    potentials are shown beside it. One seed of normal data moves the
    inertia by a few tenths of a percent either way: held to 2%.
    `--n-components` sets K (the targets are at 64, 256 and 1024)."""

    key = "kmeans-parallel"
    model = "kmeans_seeding"
    title = "k-means-parallel seeding vs k-means++"
    fit = "seeding"
    sizes = {  # noqa: RUF012 - as every case's
        "full": {"n_samples": 1_000_000, "n_features": 32, "n_components": 256},
        "quick": {"n_samples": 100_000, "n_features": 32, "n_components": 64},
    }
    tolerance = {"float64": 0.02, "float32": 0.02}  # noqa: RUF012
    lloyd_max_iter = 100

    def _make_data(self):
        X = np.random.default_rng(0).standard_normal((self.size["n_samples"], self.size["n_features"]))
        return X.astype(self.dtype, copy=False)

    def _seeder(self, library):
        X = self.data()
        seed_centers = implementation("kmeans_seeding", library)
        if library == "lvmfast":
            return lambda: seed_centers(X, self.size["n_components"], random_state=0)
        return lambda: seed_centers(X, self.size["n_components"], random_state=0)[0]  # (centers, indices)

    def measure(self, library, repeats=3):
        from lvmfast import KMeans

        X, k = self.data(), self.size["n_components"]
        seeder = self._seeder(library)
        seconds = median_seconds(seeder, repeats)
        centers = seeder()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter
            if library == "lvmfast":  # the estimator's own k-means|| fit
                model = implementation("KMeans", "lvmfast")(k, init="k-means||", random_state=0,
                                                            max_iter=self.lloyd_max_iter).fit(X)
            else:
                model = KMeans(k, init=centers, n_init=1, max_iter=self.lloyd_max_iter).fit(X)
        return {"implementation": qualified_name(implementation("kmeans_seeding", library)),
                "fit_seconds": seconds, "step_seconds": None,
                "summary": {"potential": float(potential(X, centers)), "inertia": float(model.inertia_),
                            "n_iter": int(model.n_iter_)}}

    def memory_run(self, library):
        self._seeder(library)()

    def agreement(self, ours, theirs):
        d = relative_difference(ours["summary"]["inertia"], theirs["summary"]["inertia"])
        p = relative_difference(ours["summary"]["potential"], theirs["summary"]["potential"])
        text = (f"inertia after Lloyd {100 * d:+.2f}% (iterations {ours['summary']['n_iter']} vs "
                f"{theirs['summary']['n_iter']}), seeds' potential {100 * p:+.1f}%")
        return self._agreement("inertia relative difference", d, text)


class MiniBatchKMeansCase(Case):
    """Mini-batch k-means (batch_size 1024, no early stopping) from the same
    initial centers and random_state, hence the same batches, on Gaussian
    blobs. The step is one epoch (n_samples // 1024 mini-batch steps): the
    difference between fits of 4 and 1 epochs over 3, so the setup and the
    final labelling pass cancel. The fit is the 4-epoch fit with the labels
    of every row. Agreement: that fit's inertia (the two libraries follow
    the same steps; float32 rounds differently, and a row that sits almost
    halfway between two centers may then join the other)."""

    key = "minibatch-kmeans"
    model = "MiniBatchKMeans"
    title = "MiniBatchKMeans (blobs)"
    step = "epoch"
    fit = "fit, 4 epochs"
    # scikit-learn's step draws its batch with RandomState.choice(p=...),
    # which costs O(n_samples): an epoch costs it O(n_samples^2 / batch_size)
    # (about a minute at N=1,000,000), so the sizes stay moderate.
    sizes = {  # noqa: RUF012 - as every case's
        "full": {"n_samples": 200_000, "n_features": 32, "n_components": 64},
        "quick": {"n_samples": 50_000, "n_features": 32, "n_components": 64},
    }
    tolerance = {"float64": 1e-6, "float32": 1e-3}  # noqa: RUF012
    batch_size = 1024

    def _rows(self):
        return make_blobs(self.size["n_samples"], self.size["n_features"], self.size["n_components"], self.dtype.name)

    def _make_data(self):
        X = self._rows()
        init = X[np.random.default_rng(1).choice(len(X), self.size["n_components"], replace=False)]
        return X, init

    def _fitter(self, library, epochs):
        X, init = self.data()
        model = implementation("MiniBatchKMeans", library)(
            len(init), init=init, n_init=1, max_iter=epochs, batch_size=self.batch_size, tol=0.0,
            max_no_improvement=None, random_state=0,
        )
        return lambda: model.fit(X)

    epochs = 4

    def measure(self, library, repeats=3):
        one, full = self._fitter(library, 1), self._fitter(library, self.epochs)
        fit_seconds = median_seconds(full, repeats)
        one_seconds = median_seconds(one, repeats)
        model = full()
        return {"implementation": qualified_name(type(model)), "fit_seconds": fit_seconds,
                "step_seconds": (fit_seconds - one_seconds) / (self.epochs - 1),
                "summary": {"inertia": float(model.inertia_), "n_steps": int(model.n_steps_)}}

    def memory_run(self, library):
        self._fitter(library, self.epochs)()

    def agreement(self, ours, theirs):
        d = relative_difference(ours["summary"]["inertia"], theirs["summary"]["inertia"])
        return self._agreement("inertia relative difference", d, f"inertia {d:+.1e}")


class MiniBatchKMeansNormalCase(MiniBatchKMeansCase):
    """As the blobs case, on standard normal rows: no clusters, so many rows
    lie near the boundary between two centers."""

    key = "minibatch-kmeans-normal"
    title = "MiniBatchKMeans (normal)"

    def _rows(self):
        rng = np.random.default_rng(2)
        return rng.standard_normal((self.size["n_samples"], self.size["n_features"])).astype(self.dtype)


class GaussianMixtureCase(Case):
    """EM from the same parameters (equal weights, random rows as means, the
    data's per-feature variance as every covariance), tol=0. The step is one
    EM iteration: the difference between fits of 6 and 1 iterations over 5.
    Agreement: the final lower bound (mean log-likelihood per row)."""

    model = "GaussianMixture"
    step = "EM iteration"
    fit = "fit, 6 iterations"
    sizes = {
        "full": {"n_samples": 500_000, "n_features": 16, "n_components": 16},
        "quick": {"n_samples": 10_000, "n_features": 16, "n_components": 16},
    }
    # In nats per row. float32: scikit-learn's log-densities are float32.
    tolerance = {"float64": 1e-8, "float32": 1e-3}
    covariance_type = ""
    normal_rows = False  # standard normal rows (no clusters to find) instead of blobs

    def _make_data(self):
        n, d, k = (self.size[key] for key in ("n_samples", "n_features", "n_components"))
        if self.normal_rows:
            X = np.random.default_rng(2).standard_normal((n, d)).astype(self.dtype)
        else:
            X = make_blobs(n, d, k, self.dtype.name)
        return X, starting_point(X, k, self.covariance_type)

    def _fitter(self, library, max_iter):
        X, start = self.data()
        model = implementation(self.model, library)(
            n_components=self.size["n_components"], covariance_type=self.covariance_type, max_iter=max_iter,
            tol=0.0, init_params="random_from_data", random_state=0, **(start or {}),
        )

        def fit():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ConvergenceWarning: tol=0 never converges
                return model.fit(X)

        return fit

    def measure(self, library, repeats=3):
        short, long = self._fitter(library, 1), self._fitter(library, 6)
        fit_seconds = median_seconds(long, repeats)
        step_seconds = (fit_seconds - median_seconds(short, repeats)) / 5
        model = long()
        return {"implementation": qualified_name(type(model)), "fit_seconds": fit_seconds,
                "step_seconds": step_seconds, "summary": {"lower_bound": float(np.ravel(model.lower_bound_)[0])}}

    def memory_run(self, library):
        self._fitter(library, 6)()

    def agreement(self, ours, theirs):
        d = ours["summary"]["lower_bound"] - theirs["summary"]["lower_bound"]
        return self._agreement("lower bound difference", d, f"log-likelihood {d:+.1e}")

    floor = "GEMM+exp"

    def floor_seconds(self, rates):
        """One EM pass: the N x K log-densities as products at the gemm
        rate, the N x K exps of the responsibilities, and the statistics'
        products (full: the log-densities' X [P_1 ... P_K] and the K second
        moments, 2 N K D^2 flops each; tied: X P, 2 N D^2, plus the
        scores' expansion and S1, 4 N K D (the pooled second moment is the
        data's own, the same every iteration: summed once per fit); diag:
        two products for the scores, S1 and S2, 2 N K D each; spherical:
        one product for the scores, S1 and S2); or reading X once."""
        n, d, k = (self.size[key] for key in ("n_samples", "n_features", "n_components"))
        flops = {
            "full": 4 * n * k * d * d,
            "tied": 2 * n * d * d + 4 * n * k * d,
            "diag": 8 * n * k * d,
            "spherical": 6 * n * k * d,
        }[self.covariance_type]
        return compute_floor(rates, self.dtype.name, flops, n * k, n * d * self.dtype.itemsize)


def _mixture_case(covariance_type, normal_rows=False):
    suffix = "Normal" if normal_rows else ""
    return type(f"GaussianMixture{covariance_type.title()}{suffix}Case", (GaussianMixtureCase,), {
        "key": f"gmm-{covariance_type}" + ("-normal" if normal_rows else ""),
        "title": f"GaussianMixture ({covariance_type}" + (", normal)" if normal_rows else ")"),
        "covariance_type": covariance_type, "normal_rows": normal_rows, "__module__": __name__,
    })


class MissingValuesMixtureCase(GaussianMixtureCase):
    """An EM iteration on X with 10% of its entries missing (allow_missing)
    against the complete-data iteration on the same X, both lvmfast (the
    'sklearn' side: scikit-learn has no missing values). 'patterns': every
    row misses one or two features, in 16 patterns; 'rows': each entry
    missing at random and every incomplete row conditioned on its own (the
    grouping of shared patterns switched off: the case of patterns that do
    not repeat). Agreement: the fitted model's mean log-likelihood of the
    complete rows against the complete-data fit's, relative. From the same
    start the two take different EM paths (at the quick size a row misses
    up to 40% of its features), so the tolerance is loose (30%; measured
    0.1% to 23%); missing entries filled with a constant fall far outside
    it."""

    missing = "patterns"
    tolerance = {"float64": 0.3, "float32": 0.3}

    def measure(self, library, repeats=3):
        result = super().measure(library, repeats)
        (X, _), _ = self.data()
        result["summary"]["complete_rows_score"] = float(self._fitter(library, 6)().score(X))
        return result

    def agreement(self, ours, theirs):
        d = relative_difference(ours["summary"]["complete_rows_score"], theirs["summary"]["complete_rows_score"])
        return self._agreement("complete rows' mean log-likelihood, relative difference", d,
                               f"complete rows' log-likelihood {d:+.1e} relative to the complete-data fit's")

    def _make_data(self):
        X, start = super()._make_data()
        rng = np.random.default_rng(5)
        n, d = X.shape
        if self.missing == "patterns":
            patterns = np.zeros((16, d), dtype=bool)
            for p in range(16):  # 1.6 features missing on average: 10% of the entries
                patterns[p, rng.choice(d, 1 + (p % 5 < 3), replace=False)] = True
            mask = patterns[rng.integers(0, 16, n)]
        else:
            mask = rng.random((n, d)) < 0.1
            mask[mask.all(axis=1), 0] = False
        X_missing = X.copy()
        X_missing[mask] = np.nan
        return (X, X_missing), start

    def _fitter(self, library, max_iter):
        from lvmfast import _missing

        (X, X_missing), start = self.data()
        ours = library == "lvmfast"
        model = implementation(self.model, library)(
            n_components=self.size["n_components"], covariance_type=self.covariance_type, max_iter=max_iter,
            tol=0.0, init_params="random_from_data", random_state=0, allow_missing=ours, **(start or {}),
        )

        def fit():
            saved = _missing.GROUP_MIN_ROWS
            if self.missing == "rows":
                _missing.GROUP_MIN_ROWS = 1 << 62
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return model.fit(X_missing if ours else X)
            finally:
                _missing.GROUP_MIN_ROWS = saved

        return fit

    def floor_seconds(self, rates):
        return None


def _missing_case(covariance_type, missing):
    return type(f"MissingValues{covariance_type.title()}{missing.title()}Case", (MissingValuesMixtureCase,), {
        "key": f"gmm-missing-{missing}-{covariance_type}", "model": "GaussianMixtureMissing",
        "title": f"GaussianMixture ({covariance_type}), 10% missing, " + (
            "16 patterns" if missing == "patterns" else "per-row patterns") + ", vs complete data",
        "covariance_type": covariance_type, "missing": missing, "__module__": __name__,
    })


class BayesianMixtureCase(GaussianMixtureCase):
    """Variational inference from the same responsibilities (random rows as
    seeds, random_state 0: both libraries draw the same rows), default
    priors, tol=0. The step is one iteration, as for GaussianMixtureCase;
    its floor is EM's (the variational E-step adds O(K D) per iteration).
    Agreement: the final lower bound per row."""

    model = "BayesianGaussianMixture"
    step = "VI iteration"

    def _make_data(self):
        X = make_blobs(self.size["n_samples"], self.size["n_features"], self.size["n_components"], self.dtype.name)
        return X, None  # no starting parameters: the same random rows seed both

    def measure(self, library, repeats=3):
        result = super().measure(library, repeats)
        result["summary"]["lower_bound"] /= self.size["n_samples"]  # the variational bound is a sum over rows
        return result


def _bayesian_mixture_case(covariance_type):
    return type(f"BayesianMixture{covariance_type.title()}Case", (BayesianMixtureCase,), {
        "key": f"bgm-{covariance_type}", "title": f"BayesianGaussianMixture ({covariance_type})",
        "covariance_type": covariance_type, "__module__": __name__,
    })


class MixtureSelectionCase(Case):
    """Choosing K by BIC over a grid (n_components 1..8, the four covariance
    types, n_init=2) on rows of a known 5-component mixture. lvmfast: one
    GaussianMixtureIC fit, and its GaussianMixture fit one after another
    with bic(X) each (the 'step' column); scikit-learn: its GaussianMixture
    the same way (no grid call to compare with). Same random_state. The
    agreement is the grid's pick against scikit-learn's; the text also
    gives lvmfast's grid against its own fits one after another (what the
    grid's sharing gains)."""

    key = "gmm-select"
    model = "GaussianMixtureIC"
    title = "Choosing K by BIC (8 K x 4 types)"
    step = "fits one after another, with bic(X)"
    fit = "grid call"
    sizes = {
        "full": {"n_samples": 100_000, "n_features": 8, "n_components": 5},
        "quick": {"n_samples": 5_000, "n_features": 8, "n_components": 5},
    }
    tolerance = {"float64": 0.0, "float32": 0.0}
    grid = range(1, 9)
    # Two initializations per fit: from one k-means start, the 5-component
    # fit of this data lands in a local optimum that merges two components,
    # and BIC then picks 6 (both libraries).
    n_init = 2

    def check_size(self):
        super().check_size()
        if self.size["n_samples"] < max(self.grid):
            raise ValueError(f"{self.key} needs n_samples >= {max(self.grid)} (its largest n_components); "
                             f"got n_samples={self.size['n_samples']}")

    def _make_data(self):
        return known_mixture(self.size["n_samples"], self.size["n_features"], self.size["n_components"], self.dtype.name)

    def _one_by_one(self, library):
        X = self.data()
        mixture = implementation("GaussianMixture", library)
        best = None
        for k in self.grid:
            for covariance_type in ("full", "tied", "diag", "spherical"):
                model = mixture(k, covariance_type=covariance_type, n_init=self.n_init, random_state=0).fit(X)
                bic = model.bic(X)
                if best is None or bic < best[0]:
                    best = (bic, k, covariance_type)
        return best[1:]

    def measure(self, library, repeats=1):
        X = self.data()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning of the largest grids
            started = time.perf_counter()
            pick = self._one_by_one(library)
            one_by_one = time.perf_counter() - started
            grid_seconds = None
            if library == "lvmfast":
                started = time.perf_counter()
                best = implementation(self.model, library)(self.grid, n_init=self.n_init, random_state=0).fit(X).best_params_
                grid_seconds = time.perf_counter() - started
                pick = best["n_components"], best["covariance_type"]
        return {"implementation": qualified_name(implementation("GaussianMixture", library)),
                "fit_seconds": grid_seconds if grid_seconds is not None else one_by_one, "step_seconds": one_by_one,
                "summary": {"pick": list(pick)}}

    def memory_run(self, library):
        if library == "lvmfast":
            implementation(self.model, library)(self.grid, n_init=self.n_init, random_state=0).fit(self.data())
        else:
            self._one_by_one(library)

    def agreement(self, ours, theirs):
        same = ours["summary"]["pick"] == theirs["summary"]["pick"]
        share = ours["step_seconds"] / ours["fit_seconds"]
        k, covariance_type = ours["summary"]["pick"]
        text = (f"both pick ({k}, {covariance_type!r})" if same else f"picks {ours['summary']['pick']} vs "
                f"{theirs['summary']['pick']}") + f"; grid {share:.2f}x faster than lvmfast one by one"
        return self._agreement("picks differ", 0.0 if same else 1.0, text)


class ClassifierCase(Case, abc.ABC):
    """fit, then predict_proba (the step) on the training rows. Agreement:
    the share of rows where the two predict the same class; the accuracies
    are shown beside it. The memory run is fit plus predict_proba."""

    step = "predict_proba"
    fit = "fit"
    sizes = {
        "full": {"n_samples": 1_000_000, "n_features": 50, "n_classes": 10},
        "quick": {"n_samples": 50_000, "n_features": 50, "n_classes": 10},
    }
    # Share of rows predicted differently.
    tolerance = {"float64": 1e-5, "float32": 1e-4}

    def _make_data(self):
        return labelled_blobs(self.size["n_samples"], self.size["n_features"], self.size["n_classes"], self.dtype.name)

    @abc.abstractmethod
    def estimator(self, library):
        """An unfitted classifier of `library`."""

    def measure(self, library, repeats=3):
        X, y = self.data()
        model = self.estimator(library)
        fit_seconds = median_seconds(lambda: model.fit(X, y), repeats)
        step_seconds = median_seconds(lambda: model.predict_proba(X), repeats)
        predicted = model.predict(X)
        return {"implementation": qualified_name(type(model)), "fit_seconds": fit_seconds,
                "step_seconds": step_seconds,
                "summary": {"accuracy": float(np.mean(predicted == y)), "_predicted": predicted}}

    def memory_run(self, library):
        X, y = self.data()
        self.estimator(library).fit(X, y).predict_proba(X)

    def agreement(self, ours, theirs):
        differ = float(np.mean(ours["summary"]["_predicted"] != theirs["summary"]["_predicted"]))
        text = (f"accuracy {ours['summary']['accuracy']:.4f} vs {theirs['summary']['accuracy']:.4f}, "
                f"{100 * differ:.3f}% predicted differently")
        return self._agreement("share predicted differently", differ, text)


    floor = "GEMM+exp"
    # flops per row, class and feature of the log-densities (see floor_seconds)
    log_density_flops = 0

    def floor_seconds(self, rates):
        """predict_proba: the N x classes log-densities' products at the gemm
        rate and their exps, or reading X and writing the probabilities."""
        n, d, k = (self.size[key] for key in ("n_samples", "n_features", "n_classes"))
        flops = self.log_density_flops * n * k * d
        return compute_floor(rates, self.dtype.name, flops, n * k, (n * d + n * k) * self.dtype.itemsize)


class GaussianNBCase(ClassifierCase):
    key = "gaussian-nb"
    model = "GaussianNB"
    title = "GaussianNB"
    log_density_flops = 4  # (X*X) p_k and X (mu_k p_k): two products

    def estimator(self, library):
        return implementation("GaussianNB", library)()


class GaussianClassifierCase(ClassifierCase):
    key = "gaussian-classifier"
    model = "GaussianClassifier"
    title = "GaussianClassifier (full) vs QDA"

    def floor_seconds(self, rates):
        """predict_proba: X [P_1 ... P_K] (2 N K D^2 flops) and the exps, or
        reading X and writing the probabilities."""
        n, d, k = (self.size[key] for key in ("n_samples", "n_features", "n_classes"))
        return compute_floor(rates, self.dtype.name, 2 * n * k * d * d, n * k,
                             (n * d + n * k) * self.dtype.itemsize)

    def estimator(self, library):
        if library == "lvmfast":
            return implementation("GaussianClassifier", library)("full")
        return implementation("GaussianClassifier", library)(store_covariance=True)


class FactorAnalysisCase(Case):
    """FactorAnalysis(10) with each library's defaults (svd_method=
    'randomized', tol=1e-2, random_state=0) on rows of a 10-factor model
    with diagonal noise. lvmfast reads the rows once (their D x D
    covariance) and iterates on D x D matrices; scikit-learn takes a
    randomized SVD of the N x D data every iteration. Agreement: the final
    log-likelihood, relative."""

    key = "factor-analysis"
    model = "FactorAnalysis"
    title = "FactorAnalysis (10 factors)"
    fit = "fit"
    sizes = {
        "full": {"n_samples": 500_000, "n_features": 100, "n_components": 10},
        "quick": {"n_samples": 20_000, "n_features": 100, "n_components": 10},
    }
    tolerance = {"float64": 1e-8, "float32": 1e-5}

    def _make_data(self):
        n, d, q = (self.size[key] for key in ("n_samples", "n_features", "n_components"))
        q = min(q, d)
        rng = np.random.default_rng(3)
        loadings = rng.standard_normal((q, d))
        X = rng.standard_normal((n, q)) @ loadings
        X += rng.standard_normal((n, d)) * rng.uniform(0.5, 2.0, d)
        return X.astype(self.dtype)

    def _model(self, library):
        n_factors = min(self.size["n_components"], self.size["n_features"])
        return implementation(self.model, library)(n_factors, random_state=0)

    def measure(self, library, repeats=3):
        X = self.data()
        model = self._model(library)
        fit_seconds = median_seconds(lambda: model.fit(X), repeats)
        return {"implementation": qualified_name(type(model)), "fit_seconds": fit_seconds, "step_seconds": None,
                "summary": {"loglike": float(model.loglike_[-1]), "n_iter": int(model.n_iter_)}}

    def memory_run(self, library):
        self._model(library).fit(self.data())

    def agreement(self, ours, theirs):
        d = relative_difference(ours["summary"]["loglike"], theirs["summary"]["loglike"])
        text = f"log-likelihood {d:+.1e}, {ours['summary']['n_iter']} vs {theirs['summary']['n_iter']} iterations"
        return self._agreement("log-likelihood relative difference", d, text)


class FactorMixtureCase(Case):
    """One EM iteration of MixtureOfFactorAnalyzers (K components,
    q = min(10, D - 1) factors, diagonal noise) beside one of scikit-learn's
    GaussianMixture 'full' on the same rows, the model it replaces where D
    is large (scikit-learn has no mixture of factor analyzers); lvmfast's
    own 'full' iteration is measured too and shown in the agreement text.
    The step: the difference between fits of 6 and 1 iterations over 5
    (tol=0). The floor is the pass's two products (X B^T for the
    log-densities and posterior factors, X^T (r E) for the cross moments:
    4 N K D q flops) and the N K exps. Agreement: after the same 6
    iterations from the same seed rows, the mixture's mean log-likelihood
    falls short of the full mixture's (which contains it, with 5 times the
    parameters at D = 100) by at most 25% of its magnitude (13% measured
    at the full size; an over-regularized fit falls far below)."""

    key = "mfa"
    model = "MixtureOfFactorAnalyzers"
    title = "MixtureOfFactorAnalyzers (q=10) vs full GaussianMixture"
    step = "EM iteration"
    fit = "fit, 6 iterations"
    floor = "GEMM+exp"
    sizes = {
        "full": {"n_samples": 100_000, "n_features": 100, "n_components": 10},
        "quick": {"n_samples": 10_000, "n_features": 100, "n_components": 10},
    }
    tolerance = {"float64": 0.25, "float32": 0.25}

    @property
    def n_factors(self):
        return max(1, min(10, self.size["n_features"] - 1))

    def _make_data(self):
        n, d, k = (self.size[key] for key in ("n_samples", "n_features", "n_components"))
        rng = np.random.default_rng(4)
        labels = rng.integers(0, k, n)
        loadings = rng.standard_normal((k, self.n_factors, d))
        X = 5 * rng.standard_normal((k, d))[labels]
        X += np.einsum("nq,nqd->nd", rng.standard_normal((n, self.n_factors)), loadings[labels])
        X += rng.standard_normal((n, d))
        return X.astype(self.dtype)

    def _fitter(self, library, max_iter, model_name=None):
        X = self.data()
        k = self.size["n_components"]
        model_name = model_name or (self.model if library == "lvmfast" else "GaussianMixture")
        common = {"max_iter": max_iter, "tol": 0.0, "init_params": "random_from_data", "random_state": 0}
        if model_name == self.model:
            model = implementation(model_name, library)(k, n_factors=self.n_factors, **common)
        else:
            model = implementation(model_name, library)(k, covariance_type="full", **common)

        def fit():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ConvergenceWarning: tol=0 never converges
                return model.fit(X)

        return fit

    def _step(self, library, repeats, model_name=None):
        short, long = self._fitter(library, 1, model_name), self._fitter(library, 6, model_name)
        fit_seconds = median_seconds(long, repeats)
        return fit_seconds, (fit_seconds - median_seconds(short, repeats)) / 5, long()

    def measure(self, library, repeats=3):
        fit_seconds, step_seconds, model = self._step(library, repeats)
        summary = {"lower_bound": float(model.lower_bound_)}
        if library == "lvmfast":
            summary["full_gmm_step_seconds"] = self._step("lvmfast", repeats, "GaussianMixture")[1]
        return {"implementation": qualified_name(type(model)), "fit_seconds": fit_seconds,
                "step_seconds": step_seconds, "summary": summary}

    def memory_run(self, library):
        self._fitter(library, 6)()

    def agreement(self, ours, theirs):
        d = relative_difference(ours["summary"]["lower_bound"], theirs["summary"]["lower_bound"])
        full_step = ours["summary"].get("full_gmm_step_seconds")
        text = f"mean log-likelihood {d:+.1e} relative to full"
        if full_step and ours["step_seconds"]:
            text += f"; step {full_step / ours['step_seconds']:.1f}x faster than lvmfast's full GaussianMixture"
        return self._agreement("mean log-likelihood shortfall against full", max(0.0, -d), text)

    def floor_seconds(self, rates):
        n, d, k = (self.size[key] for key in ("n_samples", "n_features", "n_components"))
        return compute_floor(rates, self.dtype.name, 4 * n * k * d * self.n_factors, n * k,
                             n * d * self.dtype.itemsize)


class KernelDensityCase(Case):
    """Exact Gaussian score_samples of N query rows against N training rows
    (standard normal, Scott's bandwidth), lvmfast against scikit-learn's
    KernelDensity (its exact default: a tree walked one query at a time).
    Agreement: the largest relative difference of the log densities. Floor:
    each pair's share of a GEMM (2 D flops) and one exp. SciPy's
    gaussian_kde, KDEpy's FFTKDE and the 1M-query run are timed by
    ``python -m lvmfast.bench.kde_peers``."""

    key = "kde"
    model = "KernelDensity"
    title = "KernelDensity (exact, Gaussian)"
    step = "score_samples"
    fit = "fit + score_samples"
    floor = "GEMM + exp"
    sizes = {
        "full": {"n_samples": 20_000, "n_features": 2},
        "quick": {"n_samples": 2_000, "n_features": 2},
    }
    # scikit-learn's tree sums err by about 1e-8 relative at D = 8 (lvmfast
    # matches a direct float64 reference to 1e-10: tests/neighbors)
    tolerance = {"float64": 1e-6, "float32": 1e-4}

    def _make_data(self):
        rng = np.random.default_rng(0)
        n, d = self.size["n_samples"], self.size["n_features"]
        return rng.standard_normal((n, d)).astype(self.dtype), rng.standard_normal((n, d)).astype(self.dtype)

    def _model(self, library):
        n, d = self.size["n_samples"], self.size["n_features"]
        return implementation("KernelDensity", library)(bandwidth=n ** (-1.0 / (d + 4)))

    def measure(self, library, repeats=3):
        X, Y = self.data()
        model = self._model(library).fit(X)
        scores = []
        step_seconds = median_seconds(lambda: scores.append(model.score_samples(Y)), repeats)
        # fit + score_samples: the fit alone, plus the step
        fit_seconds = median_seconds(lambda: self._model(library).fit(X), repeats) + step_seconds
        return {"implementation": qualified_name(type(model)), "fit_seconds": fit_seconds,
                "step_seconds": step_seconds,
                "summary": {"score": float(np.sum(scores[-1], dtype=np.float64)), "_scores": np.asarray(scores[-1])}}

    def memory_run(self, library):
        X, Y = self.data()
        self._model(library).fit(X).score_samples(Y)

    def agreement(self, ours, theirs):
        a = ours["summary"]["_scores"].astype(np.float64)
        b = theirs["summary"]["_scores"].astype(np.float64)
        d = float(np.max(np.abs(a - b) / np.abs(b)))
        return self._agreement("log density, largest relative difference", d, f"log density {d:.1e}")

    def floor_seconds(self, rates):
        n, d = self.size["n_samples"], self.size["n_features"]
        return compute_floor(rates, self.dtype.name, 2.0 * n * n * d, n * n, 2 * n * d * self.dtype.itemsize)


class KernelDensityD8Case(KernelDensityCase):
    """As kde, with 8 features."""

    key = "kde-d8"
    title = "KernelDensity (exact, Gaussian), D=8"
    sizes = {
        "full": {"n_samples": 20_000, "n_features": 8},
        "quick": {"n_samples": 2_000, "n_features": 8},
    }


class BusySmallFitsCase(Case):
    """Small fits with every core held by another busy process (a shared
    machine, joblib workers): k-means++ seeding of N x D at K, KMeans on iris
    (K=8), GaussianMixture on iris (3 full components), MiniBatchKMeans on
    the seeding's data. The fit time is their total; the summary has each.
    Agreement: the seeding's potential, as in kmeans++."""

    key = "busy-small"
    model = "kmeans_plusplus"
    title = "small fits, cores busy"
    fit = "4 small fits"
    sizes = {"full": {"n_samples": 1536, "n_features": 2, "n_components": 100},
             "quick": {"n_samples": 1536, "n_features": 2, "n_components": 100}}
    tolerance = KMeansPlusPlusCase.tolerance

    def _make_data(self):
        from sklearn.datasets import load_iris

        n, d, k = (self.size[key] for key in ("n_samples", "n_features", "n_components"))
        return make_blobs(n, d, k, self.dtype.name), load_iris().data.astype(self.dtype)

    def _fits(self, library):
        X, iris = self.data()
        k = self.size["n_components"]
        seed = implementation("kmeans_plusplus", library)
        kmeans, mixture, minibatch = (implementation(m, library) for m in ("KMeans", "GaussianMixture", "MiniBatchKMeans"))
        return {"kmeans++": lambda: seed(X, k, random_state=0),
                "iris KMeans(8)": lambda: kmeans(8, n_init=1, random_state=0).fit(iris),
                "iris GaussianMixture(3)": lambda: mixture(3, random_state=0).fit(iris),
                "MiniBatchKMeans": lambda: minibatch(min(k, 20), n_init=3, random_state=0).fit(X)}

    def measure(self, library, repeats=3):
        fits = self._fits(library)
        with busy_cores():
            seconds = {name: median_seconds(fit, repeats) for name, fit in fits.items()}
        centers, _ = fits["kmeans++"]()
        return {"implementation": qualified_name(implementation("kmeans_plusplus", library)),
                "fit_seconds": sum(seconds.values()), "step_seconds": None,
                "summary": {**{f"{name} ms": round(1000 * s, 2) for name, s in seconds.items()},
                            "potential": float(potential(self.data()[0], centers))}}

    def memory_run(self, library):
        for fit in self._fits(library).values():
            fit()

    def agreement(self, ours, theirs):
        d = relative_difference(ours["summary"]["potential"], theirs["summary"]["potential"])
        return self._agreement("potential relative difference", d, f"k-means++ potential {100 * d:+.2f}%")


def regime_sequences(n_sequences, n_steps, n_features, n_states, dtype, seed=0):
    """n_sequences sequences of n_steps rows from a sticky Markov chain of
    n_states Gaussian regimes (unit variance around random means; a switch
    with probability 0.02 per step). Returns (X, lengths)."""
    rng = np.random.default_rng(seed)
    n = n_sequences * n_steps
    means = rng.uniform(-5, 5, (n_states, n_features))
    switches = np.cumsum(rng.random(n) < 0.02)
    states = rng.integers(0, n_states, switches[-1] + 1)[switches]
    X = rng.standard_normal((n, n_features)) + means[states]
    return X.astype(dtype), np.full(n_sequences, n_steps)


class GaussianHMMCase(Case):
    """GaussianHMM against hmmlearn's from the same parameters (uniform
    start, 0.5 on the diagonal of the transitions, random rows as means, the
    data's variance as covariances), tol=-inf. `task` 'fit': the step is one
    EM iteration, (fit of 4 iterations - fit of 1) / 3; 'predict_proba' and
    'decode': the step is one call. hmmlearn runs its faster recursion
    (implementation='scaling'). Agreement: the final log-likelihood (fit) or
    the score, per row."""

    model = "GaussianHMM"
    covariance_type = "diag"
    task = "fit"
    sizes = {
        "full": {"n_samples": 500_000, "n_features": 8, "n_components": 8, "n_sequences": 500},
        "quick": {"n_samples": 20_000, "n_features": 8, "n_components": 8, "n_sequences": 20},
    }
    tolerance = {"float64": 1e-8, "float32": 1e-4}

    @property
    def step(self):
        return "EM iteration" if self.task == "fit" else self.task

    @property
    def fit(self):
        return "fit, 4 iterations" if self.task == "fit" else self.task

    def _make_data(self):
        n, d, k, s = (self.size[key] for key in ("n_samples", "n_features", "n_components", "n_sequences"))
        X, lengths = regime_sequences(s, n // s, d, k, self.dtype)
        rng = np.random.default_rng(1)
        variance = X.astype(np.float64).var(axis=0)
        start = {"startprob_": np.full(k, 1.0 / k),
                 "transmat_": np.full((k, k), 0.5 / (k - 1)) + np.eye(k) * (0.5 - 0.5 / (k - 1)),
                 "means_": X[rng.choice(X.shape[0], k, replace=False)].astype(np.float64),
                 "covars_": {"diag": np.tile(variance, (k, 1)), "spherical": np.full(k, variance.mean()),
                             "full": np.tile(np.diag(variance), (k, 1, 1)), "tied": np.diag(variance)}
                 [self.covariance_type]}
        return X, lengths, start

    def _model(self, library, n_iter):
        X, lengths, start = self.data()
        model = implementation(self.model, library)(
            n_components=self.size["n_components"], covariance_type=self.covariance_type, n_iter=n_iter,
            tol=-np.inf, init_params="", implementation="scaling")
        for name, value in start.items():
            setattr(model, name, value.copy())
        return model

    def _call(self, library, n_iter=1):
        X, lengths, _ = self.data()
        if self.task == "fit":
            return lambda: self._model(library, n_iter).fit(X, lengths)
        model = self._model(library, 1)
        return lambda: getattr(model, self.task)(X, lengths)

    def measure(self, library, repeats=3):
        X, lengths, _ = self.data()
        if self.task == "fit":
            fit_seconds = median_seconds(self._call(library, 4), repeats)
            step_seconds = (fit_seconds - median_seconds(self._call(library, 1), repeats)) / 3
            model = self._call(library, 4)()
            value = model.monitor_.history[-1]
        else:
            fit_seconds = step_seconds = median_seconds(self._call(library), repeats)
            value = self._model(library, 1).score(X, lengths)
        return {"implementation": qualified_name(implementation(self.model, library)), "fit_seconds": fit_seconds,
                "step_seconds": step_seconds, "summary": {"log_likelihood_per_row": float(value) / X.shape[0]}}

    def memory_run(self, library):
        self._call(library, 4)()

    def agreement(self, ours, theirs):
        d = ours["summary"]["log_likelihood_per_row"] - theirs["summary"]["log_likelihood_per_row"]
        return self._agreement("log-likelihood per row difference", d, f"log-likelihood {d:+.1e}")


def _hmm_case(key, title, task="fit", covariance_type="diag", sizes=None):
    return type(f"GaussianHMM{key.title().replace('-', '')}Case", (GaussianHMMCase,), {
        "key": key, "title": title, "task": task, "covariance_type": covariance_type, "__module__": __name__,
        **({"sizes": sizes} if sizes else {}),
    })


HMM_CASES = [
    _hmm_case("hmm-diag", "GaussianHMM (diag), 500 x 1,000 steps"),
    _hmm_case("hmm-long", "GaussianHMM (diag), one sequence", sizes={
        "full": {"n_samples": 500_000, "n_features": 8, "n_components": 8, "n_sequences": 1},
        "quick": {"n_samples": 20_000, "n_features": 8, "n_components": 8, "n_sequences": 1}}),
    _hmm_case("hmm-predict-proba", "GaussianHMM predict_proba", task="predict_proba"),
    _hmm_case("hmm-decode", "GaussianHMM decode (Viterbi)", task="decode"),
    _hmm_case("hmm-full", "GaussianHMM (full, D=16)", covariance_type="full", sizes={
        "full": {"n_samples": 500_000, "n_features": 16, "n_components": 8, "n_sequences": 500},
        "quick": {"n_samples": 20_000, "n_features": 16, "n_components": 8, "n_sequences": 20}}),
]


class busy_cores:
    """Within it, one spinning process per usable CPU."""

    def __enter__(self):
        import subprocess
        import sys

        from lvmfast._parallel import usable_cpus

        self.processes = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(usable_cpus())]
        time.sleep(0.2)  # let them reach their loops
        return self

    def __exit__(self, *exc):
        for process in self.processes:
            process.kill()
            process.wait()


CASES = {case.key: case for case in [
    LloydCase, LloydNormalCase, LloydLargeKCase, KMeansPlusPlusCase, SparseLloydCase, KMeansFitCase, KMeansFitNormalCase, KMeansParallelInitCase,
    MiniBatchKMeansCase, MiniBatchKMeansNormalCase, *(_mixture_case(t) for t in ("full", "tied", "diag", "spherical")),
    *(_mixture_case(t, normal_rows=True) for t in ("full", "tied", "diag", "spherical")),
    *(_bayesian_mixture_case(t) for t in ("full", "tied", "diag", "spherical")), MixtureSelectionCase,
    GaussianNBCase, GaussianClassifierCase, BusySmallFitsCase, FactorAnalysisCase, FactorMixtureCase,
    KernelDensityCase, KernelDensityD8Case,
    *(_missing_case(t, m) for m in ("patterns", "rows") for t in ("full", "tied", "diag", "spherical")),
    *HMM_CASES,
]}
# Names for several cases at once in --models.
GROUPS = {
    "kmeans": ["lloyd", "lloyd-normal", "lloyd-large-k", "kmeans++", "kmeans-sparse", "kmeans-fit",
               "kmeans-fit-normal"],
    "minibatch": ["minibatch-kmeans", "minibatch-kmeans-normal"],
    "gmm": ["gmm-full", "gmm-tied", "gmm-diag", "gmm-spherical"],
    "gmm-normal": ["gmm-full-normal", "gmm-tied-normal", "gmm-diag-normal", "gmm-spherical-normal"],
    "bgm": ["bgm-full", "bgm-tied", "bgm-diag", "bgm-spherical"],
    "select": ["gmm-select"],
    "classifiers": ["gaussian-nb", "gaussian-classifier"],
    "factor": ["factor-analysis", "mfa"],
    "kde": ["kde", "kde-d8"],
    "missing": [f"gmm-missing-{m}-{t}" for m in ("patterns", "rows") for t in ("full", "tied", "diag", "spherical")],
    "hmm": [case.key for case in HMM_CASES],
}
# The kernels of the thread-scaling table: one per kernel family.
# (Not the mini-batch cases: at batch 1024 a step runs on one thread.)
SCALING_CASES = ["lloyd", "kmeans++", "kmeans-sparse", "gmm-full", "gaussian-nb"]


def make_case(key, dtype, size):
    return CASES[key](dtype, **size)
