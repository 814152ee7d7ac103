"""Peak memory of one benchmark call, each in a fresh process.

A server process imports numpy, lvmfast and scikit-learn once, then forks a
child per measurement. The child builds the case's data, resets the kernel's
resident-memory high-water mark (/proc/self/clear_refs), runs the call and
reports VmHWM minus the resident size before it: the call's peak above its
input, in MiB. Forking from a server that never ran an OpenMP region keeps
the children's OpenMP runtime sane, and saves re-importing scikit-learn
(seconds) per measurement. Linux only; elsewhere the peak is None.

    python -m lvmfast.bench.memory    # the server: one JSON request per line
"""
import json
import os
import subprocess
import sys

_CLEAR_REFS = "/proc/self/clear_refs"


def supported():
    return sys.platform.startswith("linux") and os.access(_CLEAR_REFS, os.W_OK)


def _status_bytes(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def measure_here(key, dtype, size, library, n_threads):
    """Peak MiB above the case's data of its memory run, in this process."""
    import gc

    from threadpoolctl import threadpool_limits

    from lvmfast.bench.cases import make_case

    case = make_case(key, dtype, size)
    case.data()
    gc.collect()
    with threadpool_limits(n_threads, user_api="openmp"), threadpool_limits(n_threads, user_api="blas"):
        with open(_CLEAR_REFS, "w") as f:
            f.write("5")  # reset VmHWM to the current resident size
        before = _status_bytes("VmRSS")
        case.memory_run(library)
        return (_status_bytes("VmHWM") - before) / 2**20


def _serve():
    import importlib

    for module in ("numpy", "threadpoolctl", "lvmfast", "lvmfast.bench.cases",
                   "sklearn.cluster", "sklearn.mixture", "sklearn.naive_bayes", "sklearn.discriminant_analysis"):
        importlib.import_module(module)
    sys.stdout.write("ready\n")  # the caller times nothing while the imports run
    sys.stdout.flush()
    for line in sys.stdin:
        request = json.loads(line)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            try:
                reply = {"peak_mb": measure_here(**request)}
            except BaseException as error:  # reported to the caller, which decides
                reply = {"error": f"{type(error).__name__}: {error}"}
            os.write(write_end, json.dumps(reply).encode())
            os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end) as reader:
            reply = reader.read()
        _, status = os.waitpid(pid, 0)
        if not reply:
            reply = json.dumps({"error": f"the measuring process died (wait status {status})"})
        sys.stdout.write(reply + "\n")
        sys.stdout.flush()


class MemoryProbe:
    """with MemoryProbe() as probe: probe.peak_mb(case, library, n_threads)."""

    def __init__(self):
        self._server = None

    def __enter__(self):
        if supported():
            # The server must import this very lvmfast: run it from the folder
            # that holds the package (python -m puts the working folder first),
            # never from a source tree that would shadow an installed build.
            import lvmfast

            root = os.path.dirname(os.path.dirname(os.path.abspath(lvmfast.__file__)))
            self._server = subprocess.Popen(
                [sys.executable, "-m", "lvmfast.bench.memory"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                text=True, cwd=root,
            )
            if self._server.stdout.readline() != "ready\n":
                self._server.wait()
                raise RuntimeError("the memory-measuring server failed to start")
        return self

    def __exit__(self, *exc):
        if self._server is not None:
            self._server.stdin.close()
            self._server.wait()
            self._server = None

    def peak_mb(self, case, library, n_threads):
        """The case's peak memory above its data, in MiB; None where this
        platform cannot measure it."""
        if self._server is None:
            return None
        key, dtype, size = case.spec()
        request = {"key": key, "dtype": dtype, "size": size, "library": library, "n_threads": n_threads}
        self._server.stdin.write(json.dumps(request) + "\n")
        self._server.stdin.flush()
        line = self._server.stdout.readline()
        if not line:
            raise RuntimeError("the memory-measuring server exited")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"measuring the peak memory of {key} ({library}, {dtype}) failed: {reply['error']}")
        return reply["peak_mb"]


if __name__ == "__main__":
    _serve()
