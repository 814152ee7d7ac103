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


def main(argv=None):
    parser = argparse.ArgumentParser(prog="lvmfast", description="Fast latent variable models on the CPU.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="fit the models on the shipped Old Faithful data and print them")
    demo.add_argument("--clusters", type=int, default=2, help="number of k-means clusters (default 2)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.set_defaults(run=_demo)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
