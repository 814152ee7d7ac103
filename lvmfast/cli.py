"""The `lvmfast` command."""
import argparse
import os
import sys

import numpy as np


def _demo(args):
    from lvmfast.bench.report import plot_available

    if args.plot and not plot_available():
        print("--plot draws with matplotlib, which is not installed here.\n"
              "Install the plot extra: pip install 'lvmfast[plot]'", file=sys.stderr)
        return 2
    from lvmfast import GaussianClassifier, GaussianMixture, KMeans, __version__, openmp_enabled
    from lvmfast._parallel import effective_n_threads
    from lvmfast.datasets import load_faithful

    X, names = load_faithful()
    if args.clusters > X.shape[0]:
        args.parser.error(f"argument --clusters: expected at most {X.shape[0]} (the Old Faithful eruptions), "
                          f"got {args.clusters}")
    print(f"lvmfast {__version__} (OpenMP {'on' if openmp_enabled() else 'off'}, {effective_n_threads()} threads)")
    print(f"Old Faithful: {X.shape[0]} eruptions, features {names}")
    km = KMeans(n_clusters=args.clusters, random_state=args.seed).fit(X)
    print(f"\nKMeans(n_clusters={args.clusters}): {km.n_iter_} iterations, inertia {km.inertia_:.2f}")
    counts = np.bincount(km.labels_, minlength=args.clusters)
    print(f"{'cluster':>8} {'size':>6} " + " ".join(f"{n:>10}" for n in names))
    for k in np.argsort(km.cluster_centers_[:, 0]):
        center = " ".join(f"{v:>10.3f}" for v in km.cluster_centers_[k])
        print(f"{k:>8} {counts[k]:>6} {center}")

    gm = GaussianMixture(n_components=2, random_state=args.seed).fit(X)
    print(
        f"\nGaussianMixture(n_components=2): {gm.n_iter_} EM iterations, "
        f"mean log-likelihood {gm.lower_bound_:.4f}, total {gm.score(X) * X.shape[0]:.2f}"
    )
    print(f"{'component':>9} {'weight':>7} " + " ".join(f"{'mean ' + n:>15}" for n in names))
    for k in np.argsort(gm.means_[:, 0]):
        means = " ".join(f"{v:>15.3f}" for v in gm.means_[k])
        print(f"{k:>9} {gm.weights_[k]:>7.3f} {means}")

    _bayesian_example(X, args.seed)
    _choosing_k_example(X, args.seed)
    _two_class_example(GaussianClassifier, args.seed)
    _semi_supervised_example(GaussianClassifier, args.seed)
    _factor_loadings_example()
    kde = _density_example(X, gm, args.seed)
    _sequence_example(args.seed)
    if args.plot:
        _plot_mixture(X, names, gm, args.plot)
        print(f"\nfigure written to {args.plot}")
        root, ext = os.path.splitext(args.plot)
        density_path = f"{root}-density{ext or '.png'}"
        _plot_density_comparison(X, names, gm, kde, density_path)
        print(f"figure written to {density_path} (histogram, kernel density and Gaussian mixture)")
    return 0


def _density_example(X, mixture, seed, n_folds=5):
    """A kernel density estimate beside the two-component mixture, on
    standardized features: the bandwidth chosen by cross-validated
    log-likelihood, then each model's mean held-out log-likelihood over the
    same folds. Returns what the plot needs."""
    from sklearn.model_selection import GridSearchCV, KFold

    from lvmfast import GaussianMixture, KernelDensity

    scale = X.std(axis=0)
    Z = X / scale
    folds = KFold(n_folds, shuffle=True, random_state=seed)

    def best_bandwidth(data):
        grid = {"bandwidth": np.logspace(-1.5, 0, 16)}
        return GridSearchCV(KernelDensity(), grid, cv=folds).fit(data).best_params_["bandwidth"]

    bandwidth = best_bandwidth(Z)
    held_out = {"kde": [], "gmm": []}
    for train, test in folds.split(Z):
        held_out["kde"].append(KernelDensity(bandwidth=bandwidth).fit(Z[train]).score_samples(Z[test]).mean())
        held_out["gmm"].append(GaussianMixture(n_components=2, random_state=seed).fit(Z[train]).score(Z[test]))
    print(
        f"\nKernelDensity(bandwidth={bandwidth:.3f} by {n_folds}-fold cross-validation, standardized features) "
        "beside the two-component Gaussian mixture: mean held-out log-likelihood"
    )
    print(f"  kernel density   {np.mean(held_out['kde']):8.4f}")
    print(f"  Gaussian mixture {np.mean(held_out['gmm']):8.4f}")
    return {"scale": scale, "model": KernelDensity(bandwidth=bandwidth).fit(Z),
            "model_1d": KernelDensity(bandwidth=best_bandwidth(Z[:, :1])).fit(Z[:, :1])}


def _plot_density_comparison(X, names, mixture, kde, path):
    """The lecture's comparison on Old Faithful: the eruption durations as a
    histogram, a kernel density estimate and the mixture's marginal (left);
    both features, the KDE's and the mixture's contours (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.stats import multivariate_normal, norm

    scale, model = kde["scale"], kde["model"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    grid = np.linspace(X[:, 0].min() - 0.5, X[:, 0].max() + 0.5, 400)
    left.hist(X[:, 0], bins=20, density=True, color="0.85", edgecolor="0.6", label="histogram")
    # the KDE of the first feature alone
    kde_1d = kde["model_1d"]
    left.plot(grid, np.exp(kde_1d.score_samples(grid[:, None] / scale[0])) / scale[0], lw=2, label="kernel density")
    marginal = sum(w * norm.pdf(grid, m[0], np.sqrt(c[0, 0]))
                   for w, m, c in zip(mixture.weights_, mixture.means_, mixture.covariances_))
    left.plot(grid, marginal, lw=2, ls="--", label="Gaussian mixture (2)")
    left.set_xlabel(names[0])
    left.set_ylabel("density")
    left.legend(frameon=False)
    xs = np.linspace(X[:, 0].min() - 0.5, X[:, 0].max() + 0.5, 120)
    ys = np.linspace(X[:, 1].min() - 5, X[:, 1].max() + 5, 120)
    xx, yy = np.meshgrid(xs, ys)
    points = np.column_stack([xx.ravel(), yy.ravel()])
    kde_density = np.exp(model.score_samples(points / scale)) / np.prod(scale)
    mixture_density = sum(w * multivariate_normal(m, c).pdf(points)
                          for w, m, c in zip(mixture.weights_, mixture.means_, mixture.covariances_))
    right.scatter(X[:, 0], X[:, 1], s=8, color="0.5")
    right.contour(xx, yy, kde_density.reshape(xx.shape), levels=6, colors="C0")
    right.contour(xx, yy, mixture_density.reshape(xx.shape), levels=6, colors="C1", linestyles="dashed")
    right.set_xlabel(names[0])
    right.set_ylabel(names[1])
    right.set_title("kernel density (solid) and Gaussian mixture (dashed)")
    fig.suptitle("Old Faithful: histogram, kernel density estimate and Gaussian mixture (lvmfast)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _sequence_example(seed, n_samples=20_000):
    """A regime-switching series drawn from a known 3-state GaussianHMM, fitted
    back: the fitted transition matrix beside the true one, and how often the
    Viterbi path finds the true regime."""
    from itertools import permutations

    from lvmfast.hmm import GaussianHMM

    true = GaussianHMM(3, "diag", init_params="")
    true.startprob_ = np.array([1.0, 0.0, 0.0])
    true.transmat_ = np.array([[0.97, 0.02, 0.01], [0.03, 0.95, 0.02], [0.02, 0.03, 0.95]])
    true.means_ = np.array([[1.0, 0.0], [-1.0, 1.5], [0.0, -1.5]])
    true.covars_ = np.array([[0.5, 0.4], [1.0, 0.6], [0.7, 0.5]]) ** 2
    X, states = true.sample(n_samples, random_state=seed)
    # means and variances from k-means; start and transitions from uniform (a random
    # Dirichlet(1/3) start can leave near-zero transitions that EM cannot revive)
    model = GaussianHMM(3, "diag", n_iter=100, tol=1e-4, random_state=seed, init_params="mc")
    model.startprob_ = np.full(3, 1 / 3)
    model.transmat_ = np.full((3, 3), 1 / 3)
    model.fit(X)
    # the fitted states are named in any order: take the naming the Viterbi path agrees with most
    path = model.predict(X)
    order = max(permutations(range(3)), key=lambda p: np.mean(np.asarray(p)[path] == states))
    inverse = np.argsort(order)  # fitted state of each true regime
    fitted = model.transmat_[np.ix_(inverse, inverse)]
    accuracy = np.mean(np.asarray(order)[path] == states)
    print(f"\nGaussianHMM(3, 'diag') on a regime-switching series of {n_samples} steps from a known HMM: "
          f"{model.monitor_.iter} EM iterations")
    print(f"{'regime':>7}   {'true transitions':<22} {'fitted transitions':<22}")
    for k in range(3):
        print(f"{k:>7}   " + " ".join(f"{v:6.3f}" for v in true.transmat_[k]) + "    "
              + " ".join(f"{v:6.3f}" for v in fitted[k]))
    print(f"Viterbi path: the true regime at {accuracy:.1%} of the steps")


def _bayesian_example(X, seed, n_components=6):
    """The variational mixture, given more components than the data needs,
    switches the rest off (their weights go to about 0)."""
    from lvmfast import BayesianGaussianMixture

    bgm = BayesianGaussianMixture(n_components=n_components, max_iter=1000, random_state=seed).fit(X)
    active = int(np.sum(bgm.weights_ > 0.01))
    print(
        f"\nBayesianGaussianMixture(n_components={n_components}, Dirichlet process prior): {bgm.n_iter_} "
        f"iterations, lower bound {bgm.lower_bound_:.2f}; {active} components kept"
    )
    print("  weights " + " ".join(f"{w:.3f}" for w in np.sort(bgm.weights_)[::-1]))


def _choosing_k_example(X, seed, largest=6):
    """BIC over the number of components ('full' covariances), with a text
    bar per K, and the best model of the whole grid."""
    from lvmfast import GaussianMixtureIC

    search = GaussianMixtureIC(range(1, largest + 1), random_state=seed).fit(X)
    r = search.results_
    full = r["covariance_type"] == "full"
    bic = r["bic"][full]
    print(f"\nGaussianMixtureIC(n_components=1..{largest}, 4 covariance types): BIC of the 'full' fits (lower is better)")
    low, high = bic.min(), bic.max()
    for k, value in zip(r["n_components"][full], bic):
        bar = "#" * (1 + int(40 * (value - low) / (high - low or 1)))
        print(f"  K={k}  {value:9.1f}  {bar}{'  <- lowest' if value == low else ''}")
    best = search.best_params_
    print(f"  best of the grid: n_components={best['n_components']}, covariance_type='{best['covariance_type']}'")


def _factor_loadings_example(n_factors=3):
    """Factor analysis of scikit-learn's bundled wine data (178 wines, 13
    chemical measurements, standardized): varimax-rotated loadings, one row
    per measurement, and each measurement's noise variance (the share of
    its variance the factors leave unexplained)."""
    from sklearn.datasets import load_wine

    from lvmfast import FactorAnalysis

    wine = load_wine()
    X = (wine.data - wine.data.mean(axis=0)) / wine.data.std(axis=0)
    fa = FactorAnalysis(n_factors, rotation="varimax", svd_method="lapack").fit(X)
    print(f"\nFactorAnalysis(n_components={n_factors}, rotation='varimax') of the wine data ({X.shape[0]} wines, "
          f"{X.shape[1]} measurements, standardized): {fa.n_iter_} iterations, mean log-likelihood {fa.score(X):.3f}")
    print(f"  {'measurement':<30} " + " ".join(f"{'factor ' + str(j + 1):>9}" for j in range(n_factors)) + f" {'noise':>7}")
    for name, loadings, noise in zip(wine.feature_names, fa.components_.T, fa.noise_variance_):
        cells = " ".join(f"{v:>+9.2f}" for v in loadings)
        print(f"  {name:<30} {cells} {noise:>7.2f}")


def _plot_mixture(X, names, mixture, path):
    """Old Faithful coloured by each point's responsibility, one ellipse
    per component (1, 2 and 3 standard deviations)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Ellipse

    resp = mixture.predict_proba(X)
    order = np.argsort(mixture.means_[:, 0])
    fig, ax = plt.subplots(figsize=(6, 5))
    points = ax.scatter(X[:, 0], X[:, 1], c=resp[:, order[-1]], cmap="coolwarm", s=14, edgecolors="none")
    fig.colorbar(points, ax=ax, label="responsibility of the long-eruption component")
    for k in order:
        values, vectors = np.linalg.eigh(mixture.covariances_[k])
        angle = np.degrees(np.arctan2(vectors[1, -1], vectors[0, -1]))
        for scale in (1, 2, 3):
            width, height = 2 * scale * np.sqrt(values[::-1])
            ax.add_patch(Ellipse(mixture.means_[k], width, height, angle=angle, fill=False, color="black",
                                 lw=1.2 if scale == 1 else 0.6, alpha=1.0 if scale == 1 else 0.5))
        ax.plot(*mixture.means_[k], marker="x", color="black")
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_title("Old Faithful: a two-component Gaussian mixture (lvmfast)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# The two-class model of the classifier demo: p(y=+1) = 0.6.
TWO_CLASS_MODEL = {
    +1: {"prior": 0.6, "mean": [2.0, 0.0], "cov": [[1.0, 0.8], [0.8, 2.0]]},
    -1: {"prior": 0.4, "mean": [-2.0, 0.0], "cov": [[2.0, 0.6], [0.6, 1.0]]},
}


def _two_class_draws(rng, n_samples):
    """n_samples rows of TWO_CLASS_MODEL and their classes."""
    y = np.where(rng.random(n_samples) < TWO_CLASS_MODEL[+1]["prior"], 1, -1)
    X = np.empty((n_samples, 2))
    for label, part in TWO_CLASS_MODEL.items():
        rows = y == label
        X[rows] = rng.multivariate_normal(part["mean"], part["cov"], rows.sum())
    return X, y


def _semi_supervised_example(GaussianClassifier, seed, n_samples=100_000, labelled=0.01):
    """The two-class model learned from 1% of its labels: the other rows'
    classes are latent (marked 0), fit by EM, against the fully supervised
    fit and a fit on the labelled rows alone."""
    rng = np.random.default_rng(seed + 1)
    X, y = _two_class_draws(rng, n_samples)
    X_test, y_test = _two_class_draws(rng, n_samples)
    partial = np.where(rng.random(n_samples) < labelled, y, 0)
    kept = partial != 0
    fits = {
        "all labels": GaussianClassifier("full").fit(X, y),
        f"{labelled:.0%} labelled + EM": GaussianClassifier("full", unlabeled=0, tol=1e-6).fit(X, partial),
        f"{labelled:.0%} labelled only": GaussianClassifier("full").fit(X[kept], y[kept]),
    }
    supervised = fits["all labels"]
    print(f"\nThe same two classes from {labelled:.0%} of the labels ({kept.sum()} of {n_samples} rows; the rest "
          "marked 0, unlabeled=0):")
    print(f"  {'fit':<22} {'test accuracy':>13} {'largest mean error':>19} {'largest covariance error':>25}")
    for name, clf in fits.items():
        accuracy = (clf.predict(X_test) == y_test).mean()
        mean_error = np.abs(clf.means_ - supervised.means_).max()
        cov_error = (np.abs(clf.covariances_ - supervised.covariances_) / np.abs(supervised.covariances_).max()).max()
        print(f"  {name:<22} {accuracy:>13.4f} {mean_error:>19.4f} {cov_error:>24.2%}")


def _two_class_example(GaussianClassifier, seed, n_samples=5000):
    X, y = _two_class_draws(np.random.default_rng(seed), n_samples)
    print(f"\nTwo Gaussian classes, {n_samples} draws: p(y=+1) = 0.6")

    def matrix(m):
        m = np.atleast_2d(m)
        return "[" + "; ".join(" ".join(f"{v:6.3f}" for v in row) for row in m) + "]"

    for covariance_type in ("full", "diag"):
        clf = GaussianClassifier(covariance_type).fit(X, y)
        accuracy = (clf.predict(X) == y).mean()
        print(f"GaussianClassifier('{covariance_type}'): training accuracy {accuracy:.3f}")
        for k, label in enumerate(clf.classes_):
            true = TWO_CLASS_MODEL[int(label)]
            cov = clf.covariances_[k] if covariance_type == "full" else np.diag(clf.covariances_[k])
            print(
                f"  y={int(label):+d}  prior {clf.class_prior_[k]:.3f} (true {true['prior']:.1f})  "
                f"mean {matrix(clf.means_[k])} (true {matrix(true['mean'])})"
            )
            print(f"        covariance {matrix(cov)} (true {matrix(true['cov'])})")


def _thread_counts(text):
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"expected positive thread counts separated by commas, got {text!r}")
    return counts


def _at_least(smallest, largest=None):
    """An argparse type: an integer from `smallest` (to `largest`)."""

    def integer(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < smallest or (largest is not None and value > largest):
            expected = (f"an integer from {smallest} to {largest}" if largest is not None
                        else "a positive integer" if smallest == 1 else f"an integer >= {smallest}")
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return integer


_positive = _at_least(1)
# what numpy's RandomState takes as a seed
_seed = _at_least(0, 2**32 - 1)


def _names(text):
    """Comma-separated names, at least one."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated names, got {text!r}")
    return names


def _dtypes(text):
    names = _names(text)
    bad = [name for name in names if name not in ("float64", "float32")]
    if bad:
        raise argparse.ArgumentTypeError(f"expected float64 and/or float32, not {', '.join(bad)}")
    return names


def _models(text):
    from lvmfast.bench.runner import select_cases

    names = _names(text)
    try:
        select_cases(names)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return names


def _output_path(text):
    """A file path that can be written now: checked by opening it for
    appending (the file is removed again if this made it, and an existing
    one is left as it was), so a run fails before its work, not after."""
    existed = os.path.lexists(text)
    try:
        with open(text, "a"):
            pass
    except OSError as error:
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: {error.strerror}") from None
    if not existed:
        os.remove(text)
    return text


def _bench(args):
    from lvmfast.bench import report, runner

    if args.plot and not report.plot_available():
        print("--plot draws with matplotlib, which is not installed here.\n"
              "Install the plot extra: pip install 'lvmfast[plot]'", file=sys.stderr)
        return 2
    keys = runner.select_cases(args.models)
    overrides = {"n_samples": args.n_samples, "n_features": args.n_features,
                 "n_components": args.n_components, "n_classes": args.n_classes}
    for key in keys:
        try:
            runner.build_case(key, "float64", "quick" if args.quick else "full", overrides).check_size()
        except ValueError as error:
            args.parser.error(str(error))
    results = runner.run(
        keys, args.dtypes, "quick" if args.quick else "full", overrides, args.threads, args.repeats,
        memory=not args.no_memory, scaling_table=not args.no_scaling,
    )
    print(report.markdown(results), end="")
    if args.json:
        report.write_json(results, args.json)
        print(f"\nresults written to {args.json}")
    if args.plot:
        report.plot(results, args.plot)
        print(f"plot written to {args.plot}")
    differ = [f"{r['title']} {r['dtype']}" for r in results["cases"] if not r["agreement"]["agrees"]]
    if differ:
        print(f"\nlvmfast and scikit-learn disagree beyond tolerance on: {', '.join(differ)}", file=sys.stderr)
        return 1
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="lvmfast", description="Fast latent variable models on the CPU.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="fit the models on the shipped Old Faithful data and print them")
    demo.add_argument("--clusters", type=_positive, default=2, help="number of k-means clusters (default 2)")
    demo.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    demo.add_argument("--plot", type=_output_path, metavar="PATH", help="also draw the Old Faithful mixture to PATH (a PNG; matplotlib)")
    demo.set_defaults(run=_demo, parser=demo)
    bench = commands.add_parser(
        "bench", help="time lvmfast beside scikit-learn on the same problems and print a Markdown table",
        description="Each case runs lvmfast and scikit-learn on the same data from the same starting point, "
                    "with equal OpenMP and BLAS thread counts, and reports median times, the speedup, "
                    "whether the results agree, and each library's peak memory; then lvmfast's thread scaling.",
    )
    bench.add_argument("--quick", action="store_true", help="small problems: the whole run takes about a minute")
    from lvmfast.bench.cases import GROUPS

    groups = ", ".join(f"{group} ({', '.join(cases)})" for group, cases in GROUPS.items())
    bench.add_argument("--models", type=_models, default=None, metavar="NAMES",
                       help=f"comma-separated cases or groups: {groups}; default all")
    bench.add_argument("--dtypes", type=_dtypes, default=["float64", "float32"], metavar="TYPES",
                       help="float64,float32 (default both)")
    bench.add_argument("--threads", type=_thread_counts, default=None, metavar="COUNTS",
                       help="comma-separated thread counts for the scaling table; the comparison uses the largest "
                            "(default 1, 2, 4, ... up to the core count)")
    for name, what, smallest in [("n-samples", "rows", 1), ("n-features", "features", 1),
                                 ("n-components", "clusters and mixture components", 1),
                                 ("n-classes", "classifier classes", 2)]:
        bench.add_argument(f"--{name}", type=_at_least(smallest), default=None, metavar="N",
                           help=f"{what} in every case that has them (default: each case's own size)")
    bench.add_argument("--repeats", type=_positive, default=3, metavar="R", help="timed repeats per measurement (median)")
    bench.add_argument("--json", type=_output_path, metavar="PATH", help="also write every measured field to PATH as JSON")
    bench.add_argument("--plot", type=_output_path, metavar="PATH", help="also draw the speedups and the scaling to a PNG (matplotlib)")
    bench.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurements")
    bench.add_argument("--no-scaling", action="store_true", help="skip the thread-scaling table")
    bench.set_defaults(run=_bench, parser=bench)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
