"""Streaming benchmark (issue 24): GaussianMixture.partial_fit over a stream
of rows drawn batch by batch from a known 8-component mixture in D = 16,
never held in memory, against a batch EM fit on 1,000,000 rows of the same
distribution.

Reports, after one pass over the stream:

- the held-out average log-likelihood of the streamed model and of the batch
  fit (target: within 0.5%);
- the peak memory growth over the stream (target: under 50 MB): the resident
  set sampled after every batch, less its size when the stream starts (the
  stream runs before the batch fit's rows are drawn), and the
  tracemalloc peak (NumPy reports its buffers to it) over the first 200
  batches, in a separate untimed pass;
- rows per second of the stream (partial_fit time only, not the drawing)
  against the in-memory EM pass (one em_statistics pass over the 1,000,000
  rows plus its M-step, the median of five) (target: at least 0.8x), with
  the same threads; and, robust to a shared machine's changing load, the two
  measured in alternation (20 batches, then a pass over 200,000 rows held in
  memory, nine rounds: the medians of the rates and of their ratio).

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


def resident_bytes():
    """The process's resident set size now (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize()
    except OSError:
        return 0


def stream_fit(mixture, n_rows, batch_rows, seed, covariance_type, trace_memory=False, curve_every=0, held_out=None):
    """One pass of partial_fit over n_rows drawn batch by batch. Returns the
    model, each batch's partial_fit seconds, the peak growth of the resident
    set over the stream (sampled after every batch) and, with trace_memory,
    the tracemalloc peak above the memory held before the stream (tracing
    slows allocation: not for timing runs); curve_every > 0: the held-out
    score every curve_every batches."""
    rng = np.random.default_rng(seed)
    model = GaussianMixture(mixture.means.shape[0], covariance_type=covariance_type, random_state=0)
    seconds, curve = [], []
    rss_start = rss_peak = resident_bytes()
    if trace_memory:
        tracemalloc.start()
        baseline = tracemalloc.get_traced_memory()[0]
    for batch in range(n_rows // batch_rows):
        X = mixture.draw(rng, batch_rows)
        started = time.perf_counter()
        model.partial_fit(X)
        seconds.append(time.perf_counter() - started)
        rss_peak = max(rss_peak, resident_bytes())
        del X
        if curve_every and (batch + 1) % curve_every == 0:
            curve.append(((batch + 1) * batch_rows, model.score(held_out)))
    traced = None
    if trace_memory:
        traced = tracemalloc.get_traced_memory()[1] - baseline
        tracemalloc.stop()
    return model, np.array(seconds), rss_peak - rss_start, traced, curve


def in_memory_pass_seconds(model, X, repeats=3):
    """Seconds of fit's EM iteration on X, the median of `repeats`: one fused
    pass (the rows backend's em_statistics) under the model's parameters,
    and the M-step."""
    rows = LocalEMRows(X, np.ones(X.shape[0], dtype=X.dtype), effective_n_threads())
    shift = rows.shift
    state = model._fitted_state(shift)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        statistics = rows.em_statistics(model._log_weights(state), state["means"] + shift, state["chol"],
                                        model.covariance_type)
        model._m_step(statistics, state, rows)
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def interleaved_rates(mixture, model, batch_rows, rounds=9, batches_per_round=20, pass_rows=200_000):
    """Rows/s of partial_fit and of the in-memory EM pass, measured in
    alternation (a round: batches_per_round batches of the stream, then one
    pass over pass_rows rows held in memory), so that both see the same load
    on a shared machine. Returns the medians over the rounds of the two
    rates and of their ratio."""
    rng = np.random.default_rng(7)
    X = mixture.draw(rng, pass_rows)
    stream, in_memory = [], []
    for _ in range(rounds):
        seconds = 0.0
        for _ in range(batches_per_round):
            batch = mixture.draw(rng, batch_rows)
            started = time.perf_counter()
            model.partial_fit(batch)
            seconds += time.perf_counter() - started
        stream.append(batches_per_round * batch_rows / seconds)
        in_memory.append(pass_rows / in_memory_pass_seconds(model, X, repeats=1))
    stream, in_memory = np.array(stream), np.array(in_memory)
    return float(np.median(stream)), float(np.median(in_memory)), float(np.median(stream / in_memory))


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
    model, seconds, rss_growth, _, _ = stream_fit(mixture, args.stream_rows, args.batch_rows, 1, args.covariance_type)
    streamed = model.score(held_out)

    X = mixture.draw(np.random.default_rng(2), args.fit_rows)
    started = time.perf_counter()
    batch = GaussianMixture(mixture.means.shape[0], covariance_type=args.covariance_type, random_state=0).fit(X)
    fit_seconds = time.perf_counter() - started
    fitted = batch.score(held_out)
    pass_seconds = in_memory_pass_seconds(batch, X, repeats=5)
    pass_rate = args.fit_rows / pass_seconds
    del X
    traced_batches = min(200, args.stream_rows // args.batch_rows)
    traced = stream_fit(mixture, traced_batches * args.batch_rows, args.batch_rows, 1, args.covariance_type,
                        trace_memory=True)[3]
    truth = GaussianMixture(mixture.means.shape[0], covariance_type="full", weights_init=mixture.weights,
                            means_init=mixture.means, max_iter=0,
                            precisions_init=np.stack([np.linalg.inv(f @ f.T) for f in mixture.factors]))
    true_score = truth.fit(held_out[:1000]).score(held_out)  # max_iter=0: the true parameters

    interleaved = interleaved_rates(mixture, model, args.batch_rows)
    stream_rate = len(seconds) * args.batch_rows / seconds.sum()
    median_rate = args.batch_rows / np.median(seconds)
    results = {
        "stream_rows": len(seconds) * args.batch_rows, "batch_rows": args.batch_rows, "fit_rows": args.fit_rows,
        "covariance_type": args.covariance_type, "threads": effective_n_threads(),
        "held_out_log_likelihood": {"stream": streamed, "batch_fit": fitted, "true_model": true_score,
                                    "relative_gap": abs(streamed - fitted) / abs(fitted)},
        "peak_memory_growth_MB": {"rss_over_stream": rss_growth / 2**20,
                                  f"tracemalloc_first_{traced_batches}_batches": traced / 2**20},
        "rows_per_second": {"stream": stream_rate, "stream_median_batch": median_rate,
                            "in_memory_em_pass": pass_rate, "ratio": stream_rate / pass_rate,
                            "ratio_median_batch": median_rate / pass_rate,
                            "interleaved_stream_in_memory_ratio": interleaved},
        "seconds": {"stream_partial_fit": float(seconds.sum()), "batch_fit": fit_seconds,
                    "batch_fit_iterations": int(batch.n_iter_),
                    "in_memory_pass": pass_seconds},
    }
    print(json.dumps(results, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
