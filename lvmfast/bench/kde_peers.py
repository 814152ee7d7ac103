"""Kernel density timings against every peer: scikit-learn's KernelDensity
(its exact default), SciPy's gaussian_kde at the same bandwidth, KDEpy's
FFTKDE (where installed) against the binned estimator, and the floor of the
exact evaluation (each pair's share of a GEMM plus one exp, at the rates
this machine's BLAS and NumPy reach). Run it with

    python -m lvmfast.bench.kde_peers [--peer-queries M] [--repeats R] [--skip-million]

The peers walk the queries one at a time, so their time is linear in the
number of queries: where timing them at the full size would take minutes,
they (and lvmfast, in the same run) are timed on the first M queries, and
the speedup is the ratio at that size. Prints a Markdown table.
"""
import argparse
import importlib.util
import math
import time

import numpy as np

from lvmfast._parallel import effective_n_threads
from lvmfast.bench.probes import compute_floor, exp_rate, gemm_rate, median_seconds, read_bandwidth


def _timed(func, repeats):
    return median_seconds(func, repeats)


def exact_rows(n_train, n_queries, n_features, peer_queries, repeats):
    """lvmfast's exact Gaussian score_samples beside scikit-learn's and
    SciPy's, and the floor, on standard normal rows at Scott's bandwidth."""
    from scipy.stats import gaussian_kde
    from sklearn.neighbors import KernelDensity as SklearnKDE

    from lvmfast import KernelDensity

    rng = np.random.default_rng(0)
    X = rng.standard_normal((n_train, n_features))
    Y = rng.standard_normal((n_queries, n_features))
    ours = KernelDensity(bandwidth="scott").fit(X)
    h = ours.bandwidth_
    full = _timed(lambda: ours.score_samples(Y), repeats)
    small = Y[:peer_queries]
    ours_small = _timed(lambda: ours.score_samples(small), repeats)
    theirs = SklearnKDE(bandwidth=h).fit(X)
    sklearn_small = _timed(lambda: theirs.score_samples(small), 1)
    # SciPy's kernel covariance is the data's covariance times factor^2:
    # factor h on unit-variance rows is the same bandwidth (to the sample
    # covariance's departure from I, about 1 / sqrt(n))
    scipy_kde = gaussian_kde(X.T, bw_method=h)
    scipy_small = _timed(lambda: scipy_kde.logpdf(small.T), 1)
    agree_sklearn = np.max(np.abs(ours.score_samples(small[:200]) - theirs.score_samples(small[:200])))
    threads = effective_n_threads()
    rates = {"gemm_flops": {"float64": gemm_rate(np.float64)},
             "exp_rate": {"float64": exp_rate(np.float64, threads)}, "read_bandwidth": read_bandwidth()}
    pairs = n_train * n_queries
    floor = compute_floor(rates, "float64", 2.0 * pairs * n_features, pairs, 8.0 * (n_train + n_queries) * n_features)
    return {
        "D": n_features, "size": f"{n_train} train x {n_queries} queries", "lvmfast_s": full,
        "peer_queries": peer_queries, "lvmfast_small_s": ours_small, "sklearn_small_s": sklearn_small,
        "scipy_small_s": scipy_small, "sklearn_speedup": sklearn_small / ours_small,
        "scipy_speedup": scipy_small / ours_small, "floor_s": floor, "over_floor": full / floor,
        "max_abs_log_diff_vs_sklearn": float(agree_sklearn), "threads": threads,
    }


def million_row(n_train=100_000, n_queries=1_000_000):
    """1,000,000 query rows against 100,000 weighted training rows, D = 2:
    one timed run."""
    from lvmfast import KernelDensity

    rng = np.random.default_rng(1)
    X = rng.standard_normal((n_train, 2))
    weights = rng.uniform(0.1, 1.0, n_train)
    Y = rng.standard_normal((n_queries, 2))
    kde = KernelDensity(bandwidth="scott").fit(X, sample_weight=weights)
    start = time.perf_counter()
    scores = kde.score_samples(Y)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "finite": bool(np.isfinite(scores).all()), "pairs": n_train * n_queries}


def binned_row(n_samples=1_000_000, grid_points=1024, repeats=3):
    """The binned estimator's density on a grid against KDEpy's FFTKDE, 1-D,
    the same bandwidth and number of grid points; fit and grid each time."""
    from lvmfast import KernelDensity

    X = np.random.default_rng(2).standard_normal((n_samples, 1))
    h = n_samples ** (-1 / 5)

    def ours():
        return KernelDensity(bandwidth=h, method="binned", grid_size=grid_points).fit(X).score_grid()

    row = {"n": n_samples, "grid": grid_points, "lvmfast_s": _timed(ours, repeats), "kdepy_s": None}
    kde = KernelDensity(bandwidth=h, method="binned", grid_size=grid_points).fit(X)
    row["bound"] = kde.density_error_bound_
    if importlib.util.find_spec("KDEpy") is not None:
        from KDEpy import FFTKDE

        data = X[:, 0]
        row["kdepy_s"] = _timed(lambda: FFTKDE(kernel="gaussian", bw=h).fit(data).evaluate(grid_points), repeats)
        grid, density = FFTKDE(kernel="gaussian", bw=h).fit(data).evaluate(grid_points)
        ours_at = np.exp(kde.score_samples(grid[:, None]))
        row["max_abs_diff_vs_kdepy"] = float(np.max(np.abs(ours_at - density)))
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="training rows and query rows (default 20000)")
    parser.add_argument("--peer-queries", type=int, default=2_000, help="queries the peers are timed on")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--features", type=int, nargs="+", default=[2, 8])
    parser.add_argument("--skip-million", action="store_true")
    parser.add_argument("--skip-binned", action="store_true")
    args = parser.parse_args(argv)
    print("| D | size | lvmfast s | peers timed on | lvmfast s | sklearn s | scipy s | vs sklearn | vs scipy "
          "| floor s | lvmfast / floor | max abs log diff vs sklearn |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for d in args.features:
        r = exact_rows(args.n, args.n, d, args.peer_queries, args.repeats)
        print(f"| {d} | {r['size']} | {r['lvmfast_s']:.3f} | {r['peer_queries']} queries | {r['lvmfast_small_s']:.4f} "
              f"| {r['sklearn_small_s']:.3f} | {r['scipy_small_s']:.3f} | {r['sklearn_speedup']:.1f}x "
              f"| {r['scipy_speedup']:.1f}x | {r['floor_s']:.3f} | {r['over_floor']:.2f} "
              f"| {r['max_abs_log_diff_vs_sklearn']:.1e} |", flush=True)
    print(f"\nthreads: {effective_n_threads()}")
    if not args.skip_binned:
        b = binned_row(repeats=args.repeats)
        kdepy = "not installed" if b["kdepy_s"] is None else f"{b['kdepy_s']:.3f} s"
        ratio = "" if b["kdepy_s"] is None else f", lvmfast / KDEpy {b['lvmfast_s'] / b['kdepy_s']:.2f}"
        diff = b.get("max_abs_diff_vs_kdepy", math.nan)
        print(f"binned 1-D, {b['n']} points, {b['grid']} grid points: lvmfast {b['lvmfast_s']:.3f} s, KDEpy FFTKDE "
              f"{kdepy}{ratio}; max |density diff| vs KDEpy {diff:.1e}, documented bound {b['bound']:.1e}", flush=True)
    if not args.skip_million:
        m = million_row()
        print(f"1,000,000 queries x 100,000 weighted training rows, D=2: {m['seconds']:.1f} s "
              f"({m['pairs'] / m['seconds'] / 1e9:.2f} G pairs/s), all finite: {m['finite']}", flush=True)


if __name__ == "__main__":
    main()
