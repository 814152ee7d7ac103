"""Fixtures for hmmlearn's own test files run against lvmfast.hmm
(test_hmmlearn_suite.py). hmmlearn's conftest seeds NumPy's global
generator once per session from a random seed; here every test starts from
the same seed (HMMLEARN_SEED, default 0), so a run is reproducible."""
import os
import random

import numpy as np
import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True)
def _hmmlearn_seed():
    seed = int(os.environ.get("HMMLEARN_SEED", "0"))
    np.random.seed(seed)
    random.seed(seed)
    # hmmlearn's helpers solve many tiny triangular systems, which a threaded
    # BLAS makes slow on a loaded machine
    with np.errstate(all="warn"), threadpool_limits(1, user_api="blas"):
        yield
