"""Side-by-side benchmarks against scikit-learn.

    pytest benchmarks/ --benchmark-only            # full size (N = 1,000,000)
    pytest benchmarks/ --benchmark-only --quick    # N = 100,000

At the end a Markdown table gives each case's median time for both libraries,
the speedup, and for Lloyd the GEMM floor."""
import os

import numpy as np
import pytest

from cases import SIZES, gemm_rate

RESULTS = []


def pytest_addoption(parser):
    parser.addoption("--quick", action="store_true", help="a size that runs in about a minute")


@pytest.fixture(scope="session")
def size(request):
    return dict(SIZES["quick" if request.config.getoption("--quick") else "full"])


@pytest.fixture(scope="session")
def n_threads():
    from lvmfast._parallel import effective_n_threads

    return effective_n_threads()


@pytest.fixture(scope="session")
def gemm_rates(n_threads):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(n_threads, user_api="blas"):
        return {np.dtype(t).name: gemm_rate(t) for t in (np.float64, np.float32)}


@pytest.fixture
def record():
    """record(case, library, seconds, **extra) for the summary table."""

    def add(case, library, seconds, **extra):
        RESULTS.append({"case": case, "library": library, "seconds": seconds, **extra})

    return add


def pytest_terminal_summary(terminalreporter):
    if not RESULTS:
        return
    write = terminalreporter.write_line
    write("")
    write(f"lvmfast vs scikit-learn ({os.cpu_count()} cores); median seconds, speedup = scikit-learn / lvmfast")
    write("")
    write("| case | lvmfast | scikit-learn | speedup | GEMM floor | lvmfast / floor |")
    write("| --- | ---: | ---: | ---: | ---: | ---: |")
    cases = {}
    for r in RESULTS:
        cases.setdefault(r["case"], {})[r["library"]] = r
    for case, by_lib in cases.items():
        ours, theirs = by_lib.get("lvmfast"), by_lib.get("sklearn")
        if ours is None or theirs is None:
            continue
        if "note" in ours:  # a quality figure, not a time
            write(f"| {case} | {ours['seconds']:.6g} | {theirs['seconds']:.6g} | {ours['note']} | | |")
            continue
        floor = ours.get("floor")
        write(
            f"| {case} | {ours['seconds']:.4f} | {theirs['seconds']:.4f} | "
            f"{theirs['seconds'] / ours['seconds']:.2f}x | "
            + (f"{floor:.4f} | {ours['seconds'] / floor:.2f}x |" if floor else "| |")
        )
