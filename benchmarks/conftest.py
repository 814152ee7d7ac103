"""Side-by-side benchmarks against scikit-learn: the regression record.

    pytest benchmarks/ --benchmark-only            # the full sizes
    pytest benchmarks/ --benchmark-only --quick    # the quick sizes
    pytest benchmarks/ --benchmark-only --benchmark-autosave      # save a run
    pytest benchmarks/ --benchmark-only --benchmark-compare       # against the last saved one

The cases are lvmfast.bench.cases, the ones `lvmfast bench` reports. Each
test runs both libraries (times, agreement, peak memory) and gives
pytest-benchmark one timed run of lvmfast's call to keep; at the end the
same Markdown table as `lvmfast bench` is printed."""
import pytest

from lvmfast.bench import memory, report, runner

pytest.importorskip("sklearn", reason="the benchmarks compare with scikit-learn: pip install 'lvmfast[bench]'")

ROWS = []
MACHINE = {}


def pytest_addoption(parser):
    parser.addoption("--quick", action="store_true", help="the quick sizes: about a minute in all")


@pytest.fixture(scope="session")
def size_name(request):
    return "quick" if request.config.getoption("--quick") else "full"


@pytest.fixture(scope="session")
def n_threads():
    from lvmfast._parallel import effective_n_threads

    return effective_n_threads()


@pytest.fixture(scope="session")
def machine(n_threads):
    MACHINE.update(runner.machine(n_threads))
    return MACHINE


@pytest.fixture(scope="session")
def memory_probe():
    with memory.MemoryProbe() as probe:
        yield probe


@pytest.fixture
def run_case(benchmark, size_name, n_threads, machine, memory_probe):
    """run_case(key, dtype): both libraries on the case, its row kept for the
    summary table and as the benchmark's extra_info, and lvmfast's call timed
    once more for pytest-benchmark's record. Returns the row."""

    def run(key, dtype):
        case = runner.build_case(key, dtype, size_name, {})
        row = runner.compare(case, n_threads, memory=memory_probe, rates=machine)
        ROWS.append(row)
        benchmark.group = f"{key} {dtype}"
        benchmark.extra_info.update(
            sklearn_step_seconds=row["sklearn"]["step_seconds"], sklearn_fit_seconds=row["sklearn"]["fit_seconds"],
            lvmfast_step_seconds=row["lvmfast"]["step_seconds"], lvmfast_fit_seconds=row["lvmfast"]["fit_seconds"],
            step_speedup=row["step_speedup"], fit_speedup=row["fit_speedup"], agreement=row["agreement"]["text"],
        )
        with runner.limits(n_threads):
            benchmark.pedantic(case.memory_run, args=("lvmfast",), rounds=3, iterations=1)
        return row

    return run


def pytest_terminal_summary(terminalreporter):
    if ROWS and MACHINE:
        terminalreporter.write_line("")
        for line in report.markdown({"machine": MACHINE, "cases": ROWS, "scaling": []}).splitlines():
            terminalreporter.write_line(line)
