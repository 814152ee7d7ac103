"""Running the cases: both libraries side by side with equal thread counts,
their peak memory, the machine's GEMM rate and read bandwidth, and the
thread scaling of lvmfast's kernels."""
import contextlib
import platform
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

from lvmfast.bench.cases import CASES, GROUPS, SCALING_CASES
from lvmfast.bench.implementations import LIBRARIES
from lvmfast.bench.probes import exp_rate, gemm_rate, read_bandwidth
from lvmfast._parallel import usable_cpus
from lvmfast.bench.memory import MemoryProbe


class Progress:
    """One status line on stderr: rewritten in place on a terminal, one line
    per step otherwise (a log)."""

    def __init__(self, total, stream=None):
        self.total, self.done = total, 0
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.start = time.perf_counter()
        self._width = 0

    def step(self, text):
        self.done += 1
        line = f"[{self.done}/{self.total} {time.perf_counter() - self.start:5.0f}s] {text}"
        if self.tty:
            self.stream.write("\r" + line.ljust(self._width))
            self._width = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self):
        if self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()


def select_cases(models):
    """Case keys for names given in --models: case keys or group names."""
    if not models:
        return list(CASES)
    keys = []
    for name in models:
        if name in GROUPS:
            keys += GROUPS[name]
        elif name in CASES:
            keys.append(name)
        else:
            known = ", ".join([*GROUPS, *CASES])
            raise ValueError(f"unknown model {name!r}; expected one of: {known}")
    return list(dict.fromkeys(keys))


def default_thread_counts(n_cores):
    """1, 2, 4, ... up to the core count, and the core count itself."""
    counts = [1]
    while counts[-1] * 2 < n_cores:
        counts.append(counts[-1] * 2)
    return sorted(set(counts + [n_cores]))


@contextlib.contextmanager
def limits(n_threads):
    """OpenMP and BLAS both held to n_threads, for both libraries."""
    with threadpool_limits(n_threads, user_api="openmp"), threadpool_limits(n_threads, user_api="blas"):
        yield


def compare(case, n_threads, repeats=3, memory=None, progress=None, rates=None):
    """Both libraries on one case: a result row (see report.ROW_FIELDS).
    With the machine's rates (machine(): 'gemm_flops', 'exp_rate', 'read_bandwidth'),
    the row has the step's floor where the case has one."""
    measured = {}
    for library in LIBRARIES:
        if progress:
            progress.step(f"{case.title} {case.dtype.name}: {library}")
        with limits(n_threads):
            measured[library] = case.measure(library, repeats)
        measured[library]["peak_mb"] = memory.peak_mb(case, library, n_threads) if memory else None
    ours, theirs = measured["lvmfast"], measured["sklearn"]
    floor = case.floor_seconds(rates) if rates and case.floor else None
    return {
        "case": case.key, "model": case.model, "title": case.title, "dtype": case.dtype.name,
        "size": dict(case.size), "size_text": case.size_text(), "threads": n_threads,
        "step": case.step, "fit": case.fit,
        "lvmfast": _public(ours), "sklearn": _public(theirs),
        "step_speedup": _ratio(theirs["step_seconds"], ours["step_seconds"]),
        "fit_speedup": _ratio(theirs["fit_seconds"], ours["fit_seconds"]),
        "agreement": case.agreement(ours, theirs),
        "floor": case.floor if floor is not None else None, "floor_seconds": floor,
        "step_over_floor": ours["step_seconds"] / floor if floor and ours["step_seconds"] is not None else None,
    }


def _public(measurement):
    """The measurement without the agreement's private arrays (JSON-ready)."""
    summary = {k: v for k, v in measurement["summary"].items() if not k.startswith("_")}
    return {**{k: v for k, v in measurement.items() if k != "summary"}, "summary": summary}


def _ratio(theirs, ours):
    return theirs / ours if theirs is not None and ours else None


def machine(n_threads):
    import lvmfast

    try:
        import sklearn

        sklearn_version = sklearn.__version__
    except ImportError:
        sklearn_version = None
    with limits(n_threads):
        rates = {np.dtype(t).name: gemm_rate(t) for t in (np.float64, np.float32)}
        exps = {np.dtype(t).name: exp_rate(t, n_threads) for t in (np.float64, np.float32)}
        bandwidth = read_bandwidth()
    return {
        "lvmfast": lvmfast.__version__, "sklearn": sklearn_version, "numpy": np.__version__,
        "python": platform.python_version(), "platform": platform.platform(), "processor": _cpu_name(),
        "cores": usable_cpus(), "threads": n_threads, "openmp": lvmfast.openmp_enabled(),
        "gemm_flops": rates, "exp_rate": exps, "read_bandwidth": bandwidth, "date": time.strftime("%Y-%m-%d %H:%M"),
    }


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def scaling(case, thread_counts, repeats=3, progress=None):
    """lvmfast's step (or fit, where the case has no step) at each thread count."""
    seconds = []
    for n in thread_counts:
        if progress:
            progress.step(f"scaling {case.title} {case.dtype.name}: {n} thread{'s' if n > 1 else ''}")
        with limits(n):
            m = case.measure("lvmfast", repeats)
        seconds.append(m["step_seconds"] if m["step_seconds"] is not None else m["fit_seconds"])
    what = case.step if case.step else case.fit
    return {"case": case.key, "title": case.title, "dtype": case.dtype.name, "size_text": case.size_text(),
            "timed": what, "threads": list(thread_counts), "seconds": seconds,
            "speedup": [seconds[0] / s for s in seconds]}


def run(models=None, dtypes=("float64", "float32"), size="full", overrides=None, threads=None,
        repeats=3, memory=True, scaling_table=True, progress_stream=None):
    """Every selected case in every dtype, then the scaling table. Returns
    {'machine', 'cases', 'scaling'}: what report.markdown and --json show."""
    keys = select_cases(models)
    overrides = overrides or {}
    thread_counts = sorted(set(threads)) if threads else default_thread_counts(usable_cpus())
    n_threads = thread_counts[-1]
    scaled = [k for k in SCALING_CASES if k in keys] if scaling_table and len(thread_counts) > 1 else []
    progress = Progress(2 * len(keys) * len(dtypes) + len(scaled) * len(thread_counts), progress_stream)
    info = machine(n_threads)
    rows, scaling_rows = [], []
    try:
        with MemoryProbe() if memory else contextlib.nullcontext() as probe:
            for dtype in dtypes:  # dtype outermost: the k-means cases share their data
                for key in keys:
                    case = build_case(key, dtype, size, overrides)
                    rows.append(compare(case, n_threads, repeats, probe, progress, info))
        for key in scaled:
            case = build_case(key, dtypes[0], size, overrides)
            scaling_rows.append(scaling(case, thread_counts, repeats, progress))
    finally:
        progress.close()
    return {"machine": info, "cases": rows, "scaling": scaling_rows}


def build_case(key, dtype, size, overrides):
    """A case at the named size ('full' or 'quick') with the sizes it takes
    from `overrides` (n_samples, n_features, n_components, n_classes)."""
    cls = CASES[key]
    base = dict(cls.sizes[size])
    base.update({k: v for k, v in overrides.items() if k in base and v is not None})
    return cls(dtype, **base)
