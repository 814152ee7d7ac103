"""The mixture of factor analyzers' quality check on scikit-learn's digits
(1797 x 64, bundled): 10 components, n_factors chosen by BIC over 2..16 on
75% of the rows, held-out mean log-likelihood on the other 25%, beside
GaussianMixture 'diag' and 'full' (n_init=2, same split). Run:

    python -m lvmfast.bench.digits_factors [reg_covar ...]

Each reg_covar (default: 1e-6, scikit-learn's default, and 1e-2) fits the
mixture of factor analyzers and the Gaussian mixtures with that floor;
GaussianMixture is also shown at its default 1e-6. About a minute on two
cores."""
import sys
import warnings

import numpy as np


def main(argv=None):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from lvmfast import GaussianMixture, MixtureOfFactorAnalyzers

    regs = [float(a) for a in (argv if argv else ["1e-6", "1e-2"])]
    X, _ = load_digits(return_X_y=True)
    train, test = train_test_split(X, test_size=0.25, random_state=0)
    warnings.simplefilter("ignore")
    print(f"digits: {len(train)} training rows, {len(test)} held out, 64 features, 10 components")
    for reg in sorted(set(regs) | {1e-6}):
        for covariance_type in ("diag", "full"):
            gm = GaussianMixture(10, covariance_type=covariance_type, reg_covar=reg, n_init=2, random_state=0).fit(train)
            print(f"  GaussianMixture({covariance_type!r}, reg_covar={reg:g}): held-out {gm.score(test):.3f}")
    for reg in regs:
        best = None
        for q in range(2, 17, 2):
            mfa = MixtureOfFactorAnalyzers(10, n_factors=q, reg_covar=reg, n_init=2, max_iter=300,
                                           random_state=0).fit(train)
            bic = mfa.bic(train)
            held_out = mfa.score(test)
            print(f"  MixtureOfFactorAnalyzers(q={q:2d}, reg_covar={reg:g}): BIC {bic:10.0f}, held-out {held_out:.3f}")
            if best is None or bic < best[0]:
                best = (bic, q, held_out)
        print(f"  -> BIC picks q={best[1]}: held-out {best[2]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
