"""Build the lvmfast Cython kernels.

OpenMP is probed by compiling and running a tiny program. When the probe
fails the build warns and goes on serial; LVMFAST_REQUIRE_OPENMP=1 turns that
warning into an error (CI sets it). Release builds target baseline x86-64;
LVMFAST_MARCH_NATIVE=1 adds -march=native for a local build.
"""
import glob
import os
import subprocess
import sys
import tempfile
import warnings

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools._distutils.ccompiler import new_compiler
from setuptools._distutils.sysconfig import customize_compiler

OPENMP_PROBE = r"""
#include <omp.h>
#include <stdio.h>
int main(void) {
    int n = 0;
    #pragma omp parallel reduction(+:n)
    n += 1;
    printf("%d\n", n);
    return n >= 1 ? 0 : 1;
}
"""


def _env_flag(name):
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def openmp_flags():
    """Return (compile_args, link_args) that enable OpenMP, or None."""
    compiler = new_compiler()
    customize_compiler(compiler)
    flags = ["-fopenmp"]
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "probe.c")
        with open(source, "w") as f:
            f.write(OPENMP_PROBE)
        try:
            objects = compiler.compile([source], output_dir=tmp, extra_postargs=flags)
            exe = os.path.join(tmp, "probe")
            compiler.link_executable(objects, exe, extra_postargs=flags)
            result = subprocess.run([exe], capture_output=True, text=True, timeout=60)
        except Exception as exc:  # compiler or linker refused -fopenmp
            return None, f"{type(exc).__name__}: {exc}"
        if result.returncode != 0:
            return None, f"probe exited with {result.returncode}"
    return (flags, flags), None


def extensions():
    flags, why = openmp_flags()
    if flags is None:
        message = f"OpenMP is not available ({why}); lvmfast will run serially."
        if _env_flag("LVMFAST_REQUIRE_OPENMP"):
            sys.exit(f"error: {message} LVMFAST_REQUIRE_OPENMP=1 forbids a serial build.")
        warnings.warn(message)
        compile_args, link_args = [], []
    else:
        compile_args, link_args = flags
    compile_args = ["-O3", "-fno-math-errno", "-fopenmp-simd"] + compile_args
    if _env_flag("LVMFAST_MARCH_NATIVE"):
        compile_args.append("-march=native")
    names = ["_openmp", "_alloc", "_lloyd", "_distances", "_kmeanspp", "_elkan", "_minibatch", "_oversample",
             "_responsibilities", "_gaussian", "_sparse", "_data", "_missing", "_factor", "_kde", "_hmm"]
    return [
        Extension(
            f"lvmfast._kernels.{name}",
            [f"lvmfast/_kernels/{name}.pyx"],
            include_dirs=[numpy.get_include(), "lvmfast/_kernels"],
            extra_compile_args=compile_args,
            extra_link_args=link_args,
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            # the C headers the kernels include: editing one rebuilds them
            depends=sorted(glob.glob("lvmfast/_kernels/*.h")),
        )
        for name in names
    ]


setup(
    ext_modules=cythonize(
        extensions(),
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
            "nonecheck": False,
        },
    )
)
