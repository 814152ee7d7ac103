"""Peak memory of one fit above its input, measured in a fresh process.

    python benchmarks/peak_memory.py LIBRARY COVARIANCE_TYPE N_SAMPLES

prints the fit's peak resident memory above X, in MB. Linux only: it resets
the kernel's high-water mark (/proc/self/clear_refs) once X exists and reads
VmHWM after the fit.
"""
import sys

import numpy as np

from cases import make_blobs


def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def main(library, covariance_type, n_samples, n_features=16, n_components=16):
    if library == "lvmfast":
        from lvmfast import GaussianMixture
    else:
        from sklearn.mixture import GaussianMixture
    X = make_blobs(n_samples, n_features, n_components, np.float64)
    model = GaussianMixture(n_components, covariance_type=covariance_type, max_iter=3, tol=0.0, random_state=0)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = status("VmRSS")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
    print(f"{(status('VmHWM') - before) / 2**20:.1f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
