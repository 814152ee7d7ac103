"""The `lvmfast` command."""
import argparse
import sys

import numpy as np


def _demo(args):
    from lvmfast import GaussianMixture, KMeans, __version__, openmp_enabled
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
    return 0


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
