"""The `lvmfast` command."""
import argparse
import sys

import numpy as np


def _demo(args):
    from lvmfast import GaussianClassifier, GaussianMixture, KMeans, __version__, openmp_enabled
    from lvmfast._parallel import effective_n_threads
    from lvmfast.datasets import load_faithful

    X, names = load_faithful()
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

    _two_class_example(GaussianClassifier, args.seed)
    return 0


# The two-class model of the classifier demo: p(y=+1) = 0.6.
TWO_CLASS_MODEL = {
    +1: {"prior": 0.6, "mean": [2.0, 0.0], "cov": [[1.0, 0.8], [0.8, 2.0]]},
    -1: {"prior": 0.4, "mean": [-2.0, 0.0], "cov": [[2.0, 0.6], [0.6, 1.0]]},
}


def _two_class_example(GaussianClassifier, seed, n_samples=5000):
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n_samples) < TWO_CLASS_MODEL[+1]["prior"], 1, -1)
    X = np.empty((n_samples, 2))
    for label, part in TWO_CLASS_MODEL.items():
        rows = y == label
        X[rows] = rng.multivariate_normal(part["mean"], part["cov"], rows.sum())
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


def _positive(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _names(text):
    return [part.strip() for part in text.split(",") if part.strip()]


def _bench(args):
    from lvmfast.bench import report, runner

    if args.plot and not report.plot_available():
        print("--plot draws with matplotlib, which is not installed here.\n"
              "Install the plot extra: pip install 'lvmfast[plot]'", file=sys.stderr)
        return 2
    try:
        keys = runner.select_cases(args.models)
    except ValueError as error:
        print(f"lvmfast bench: {error}", file=sys.stderr)
        return 2
    bad_dtypes = [t for t in args.dtypes if t not in ("float64", "float32")]
    if bad_dtypes:
        print(f"lvmfast bench: dtypes are float64 and float32, not {', '.join(bad_dtypes)}", file=sys.stderr)
        return 2
    overrides = {"n_samples": args.n_samples, "n_features": args.n_features,
                 "n_components": args.n_components, "n_classes": args.n_classes}
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
    demo.add_argument("--clusters", type=int, default=2, help="number of k-means clusters (default 2)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.set_defaults(run=_demo)
    bench = commands.add_parser(
        "bench", help="time lvmfast beside scikit-learn on the same problems and print a Markdown table",
        description="Each case runs lvmfast and scikit-learn on the same data from the same starting point, "
                    "with equal OpenMP and BLAS thread counts, and reports median times, the speedup, "
                    "whether the results agree, and each library's peak memory; then lvmfast's thread scaling.",
    )
    bench.add_argument("--quick", action="store_true", help="small problems: the whole run takes about a minute")
    from lvmfast.bench.cases import GROUPS

    groups = ", ".join(f"{group} ({', '.join(cases)})" for group, cases in GROUPS.items())
    bench.add_argument("--models", type=_names, default=None, metavar="NAMES",
                       help=f"comma-separated cases or groups: {groups}; default all")
    bench.add_argument("--dtypes", type=_names, default=["float64", "float32"], metavar="TYPES",
                       help="float64,float32 (default both)")
    bench.add_argument("--threads", type=_thread_counts, default=None, metavar="COUNTS",
                       help="comma-separated thread counts for the scaling table; the comparison uses the largest "
                            "(default 1, 2, 4, ... up to the core count)")
    for name, what in [("n-samples", "rows"), ("n-features", "features"),
                       ("n-components", "clusters and mixture components"), ("n-classes", "classifier classes")]:
        bench.add_argument(f"--{name}", type=_positive, default=None, metavar="N",
                           help=f"{what} in every case that has them (default: each case's own size)")
    bench.add_argument("--repeats", type=_positive, default=3, metavar="R", help="timed repeats per measurement (median)")
    bench.add_argument("--json", metavar="PATH", help="also write every measured field to PATH as JSON")
    bench.add_argument("--plot", metavar="PATH", help="also draw the speedups and the scaling to a PNG (matplotlib)")
    bench.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurements")
    bench.add_argument("--no-scaling", action="store_true", help="skip the thread-scaling table")
    bench.set_defaults(run=_bench)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
