/* The one place that includes omp.h: a serial build gets stand-ins. */
#ifndef LVMFAST_OPENMP_SHIM_H
#define LVMFAST_OPENMP_SHIM_H
#ifdef _OPENMP
#include <omp.h>
#define LVMFAST_OPENMP 1
#else
#define LVMFAST_OPENMP 0
static inline int omp_get_max_threads(void) { return 1; }
#endif
#endif
