"""Streaming benchmark (issue 24): GaussianMixture.partial_fit over a stream
of rows drawn batch by batch from a known 8-component mixture in D = 16,
never held in memory, against a batch EM fit on 1,000,000 rows of the same
distribution.

Reports, after one pass over the stream:

- the held-out average log-likelihood of the streamed model and of the batch
  fit (target: within 0.5%);
- the peak memory growth over the stream (target: under 50 MB): the
  tracemalloc peak above the memory held before the stream (NumPy reports its
  buffers to tracemalloc), and the growth of the process's peak RSS;
- rows per second of the stream (partial_fit time only, not the drawing)
  against the in-memory EM pass (one em_statistics pass over the 1,000,000
  rows plus its M-step, the best of three) (target: at least 0.8x).

Timings belong under the shared lock:

    flock /work/bench.lock PYTHONPATH=$PWD python benchmarks/streaming_mixture.py --stream-rows 10000000
"""
import argparse
import json
import resource
import time
import tracemalloc

import numpy as np

from lvmfast import GaussianMixture
from lvmfast._gaussian import LocalEMRows
from lvmfast._parallel import effective_n_threads


class KnownMixture:
    """An 8-component full-covariance mixture in D = 16 with well separated,
    unequal components; draw(n) gives n rows from it."""

    def __init__(self, n_components=8, n_features=16, seed=0):
        rng = np.random.default_rng(seed)
        self.weights = rng.dirichlet(np.full(n_components, 5.0))
        self.means = rng.normal(scale=4.0, size=(n_components, n_features))
        self.factors = []
        for _ in range(n_components):
            a = rng.normal(size=(n_features, n_features)) / np.sqrt(n_features)
            covariance = a @ a.T + 0.3 * np.eye(n_features)
            self.factors.append(np.linalg.cholesky(covariance))

    def draw(self, rng, n_rows):
        labels = rng.choice(len(self.weights), size=n_rows, p=self.weights)
        z = rng.standard_normal((n_rows, self.means.shape[1]))
        out = np.empty_like(z)
        for k, factor in enumerate(self.factors):
            rows = labels == k
            out[rows] = self.means[k] + z[rows] @ factor.T
        return out


def stream_fit(mixture, n_rows, batch_rows, seed, covariance_type, curve_every=0, held_out=None):
    """One pass of partial_fit over n_rows drawn batch by batch. Returns the
    model, the seconds spent in partial_fit, the tracemalloc peak above the
    memory before the stream, and (curve_every > 0) the held-out score every
    curve_every batches."""
    rng = np.random.default_rng(seed)
    model = GaussianMixture(mixture.means.shape[0], covariance_type=covariance_type, random_state=0)
    seconds, curve = 0.0, []
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    for batch in range(n_rows // batch_rows):
        X = mixture.draw(rng, batch_rows)
        started = time.perf_counter()
        model.partial_fit(X)
        seconds += time.perf_counter() - started
        del X
        if curve_every and (batch + 1) % curve_every == 0:
            tracemalloc.stop()  # scoring is not part of the stream
            curve.append(((batch + 1) * batch_rows, model.score(held_out)))
            tracemalloc.start()
    peak = tracemalloc.get_traced_memory()[1] - baseline
    tracemalloc.stop()
    return model, seconds, peak, curve


def in_memory_pass_rows_per_second(model, X, repeats=3):
    """Rows/s of fit's EM iteration: one fused pass (the rows backend's
    em_statistics) over X under the model's parameters, and the M-step."""
    rows = LocalEMRows(X, np.ones(X.shape[0], dtype=X.dtype), effective_n_threads())
    shift = rows.shift
    state = model._fitted_state(shift)
    best = np.inf
    for _ in range(repeats):
        started = time.perf_counter()
        statistics = rows.em_statistics(model._log_weights(state), state["means"] + shift, state["chol"],
                                        model.covariance_type)
        model._m_step(statistics, state, rows)
        best = min(best, time.perf_counter() - started)
    return X.shape[0] / best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stream-rows", type=int, default=10_000_000)
    parser.add_argument("--batch-rows", type=int, default=10_000)
    parser.add_argument("--fit-rows", type=int, default=1_000_000)
    parser.add_argument("--held-out-rows", type=int, default=100_000)
    parser.add_argument("--covariance-type", default="full")
    parser.add_argument("--json", help="write the results here too")
    args = parser.parse_args()

    mixture = KnownMixture()
    held_out = mixture.draw(np.random.default_rng(123), args.held_out_rows)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model, seconds, peak, _ = stream_fit(mixture, args.stream_rows, args.batch_rows, 1, args.covariance_type)
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before  # KiB on Linux
    streamed = model.score(held_out)

    X = mixture.draw(np.random.default_rng(2), args.fit_rows)
    started = time.perf_counter()
    batch = GaussianMixture(mixture.means.shape[0], covariance_type=args.covariance_type, random_state=0).fit(X)
    fit_seconds = time.perf_counter() - started
    fitted = batch.score(held_out)
    pass_rate = in_memory_pass_rows_per_second(batch, X)
    truth = GaussianMixture(mixture.means.shape[0], covariance_type="full", weights_init=mixture.weights,
                            means_init=mixture.means, max_iter=0,
                            precisions_init=np.stack([np.linalg.inv(f @ f.T) for f in mixture.factors]))
    true_score = truth.fit(held_out[:1000]).score(held_out)  # max_iter=0: the true parameters

    stream_rate = args.stream_rows // args.batch_rows * args.batch_rows / seconds
    results = {
        "stream_rows": args.stream_rows, "batch_rows": args.batch_rows, "fit_rows": args.fit_rows,
        "covariance_type": args.covariance_type,
        "held_out_log_likelihood": {"stream": streamed, "batch_fit": fitted, "true_model": true_score,
                                    "relative_gap": abs(streamed - fitted) / abs(fitted)},
        "peak_memory_growth_MB": {"tracemalloc": peak / 2**20, "rss": rss_growth / 1024},
        "rows_per_second": {"stream": stream_rate, "in_memory_em_pass": pass_rate, "ratio": stream_rate / pass_rate},
        "seconds": {"stream": seconds, "batch_fit": fit_seconds, "batch_fit_iterations": int(batch.n_iter_)},
    }
    print(json.dumps(results, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
