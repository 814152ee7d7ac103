"""The k-means backends implement the contracts the loops take
(lvmfast.cluster._protocols): every method of the protocol, with its
parameters, on the dense, CSR and Dask rows."""
import inspect

import numpy as np
import pytest
import scipy.sparse as sp

from lvmfast.cluster._kmeans_parallel import _LocalSeedingRows
from lvmfast.cluster._protocols import InMemoryRows, LloydRows, SeedingRows
from lvmfast.cluster._rows import CSRRows, _DenseRows, _rows


def _protocol_methods(protocol):
    return {
        name: member for name, member in vars(protocol).items()
        if callable(member) and not name.startswith("_")
    }


def _all_protocol_methods(protocol):
    methods = {}
    for klass in reversed(protocol.__mro__):
        if klass is not object and getattr(klass, "_is_protocol", False):
            methods.update(_protocol_methods(klass))
    return methods


def _parameters(function):
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


def _implementations():
    dask_kmeans = pytest.importorskip("lvmfast.dask._kmeans")
    return [
        (LloydRows, _DenseRows), (LloydRows, CSRRows), (LloydRows, dask_kmeans.DaskLloydRows),
        (InMemoryRows, _DenseRows), (InMemoryRows, CSRRows),
        (SeedingRows, _LocalSeedingRows), (SeedingRows, dask_kmeans.DaskSeedingRows),
    ]


def test_each_backend_has_every_method_of_its_protocol_with_its_parameters():
    for protocol, implementation in _implementations():
        methods = _all_protocol_methods(protocol)
        assert methods, protocol
        for name, specified in methods.items():
            implemented = getattr(implementation, name, None)
            assert implemented is not None, f"{implementation.__name__} lacks {protocol.__name__}.{name}"
            assert implemented is not specified, f"{implementation.__name__}.{name} is the protocol's stub"
            assert _parameters(implemented) == _parameters(specified), (implementation.__name__, name)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_in_memory_rows_are_lloyd_and_seeding_rows(sparse, dtype):
    X = np.random.default_rng(0).normal(size=(50, 3)).astype(dtype)
    X = sp.csr_matrix(X) if sparse else X
    rows = _rows(X, 4, 1, fitting=True)
    assert isinstance(rows, CSRRows if sparse else _DenseRows)
    assert isinstance(rows, LloydRows) and isinstance(rows, InMemoryRows)
    seeding = _LocalSeedingRows(X, np.ones(50, dtype=dtype), rows.shift, 1)
    assert isinstance(seeding, SeedingRows)
    np.testing.assert_allclose(seeding.probabilities().sum(), 1.0)


def test_dask_rows_satisfy_the_protocols():
    da = pytest.importorskip("dask.array")
    from lvmfast.dask._core import DaskData
    from lvmfast.dask._kmeans import DaskLloydRows, DaskSeedingRows

    X = da.from_array(np.random.default_rng(0).normal(size=(40, 3)), chunks=(20, 3))
    data = DaskData(X, None, weight_dtype=X.dtype, persist=False)
    rows = DaskLloydRows(data)
    assert isinstance(rows, LloydRows)
    assert not isinstance(rows, InMemoryRows)
    assert isinstance(DaskSeedingRows(data, rows.shift), SeedingRows)
