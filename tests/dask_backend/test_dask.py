"""lvmfast.dask: the in-memory estimators' loops on the Dask backend.

Each estimator is run on a real dask.distributed LocalCluster (two worker
processes, one thread each) and on the threaded scheduler, against the
in-memory estimator from the same starting point: the same labels and
n_iter_, parameters within 1e-10 (float64) or 1e-4 (float32), whatever the
chunks, and bit-identical results from the same chunks. Small data: the
whole file runs in well under two minutes on two cores."""
import contextlib
import io

import numpy as np
import pytest

pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import dask  # noqa: E402
import dask.array as da  # noqa: E402
from sklearn.base import clone  # noqa: E402

import lvmfast  # noqa: E402
import lvmfast.dask as ld  # noqa: E402
from lvmfast.dask import _core  # noqa: E402

CHUNKINGS = [97, (500, 123, 700, 880), 2203]
TOLERANCE = {np.float64: 1e-10, np.float32: 1e-4}


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, memory_limit="1GiB",
    ) as local_cluster, distributed.Client(local_cluster) as client:
        yield client


@pytest.fixture
def threads():
    with dask.config.set(scheduler="threads"):
        yield


@pytest.fixture(params=["distributed", "threads"])
def scheduler(request, cluster):
    """Each test body runs on the cluster, then on the threaded scheduler."""
    if request.param == "threads":
        with dask.config.set(scheduler="threads"):
            yield request.param
    else:
        with dask.config.set(scheduler=cluster.get):
            yield request.param


def blobs(n=2203, d=4, k=3, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-6, 6, (k, d))
    X = centers[rng.integers(0, k, n)] + rng.standard_normal((n, d))
    return (X + 5.0).astype(dtype), rng.uniform(0.5, 2.0, n)


def chunked(X, chunks):
    """X in row blocks: of `chunks` rows each (an int), or of these sizes."""
    return da.from_array(X, chunks=(chunks, X.shape[1]))


def close(a, b, tol):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.abs(a - b).max() <= tol * max(np.abs(b).max(), 1e-300)


# ---------------------------------------------------------------------------
# The pass machinery, against NumPy


def test_tree_sum_is_the_block_order_sum_and_fixed():
    values = [np.float64(v) for v in np.random.default_rng(0).standard_normal(37) * 1e8]
    parts = [dask.delayed((v,)) for v in values]
    with dask.config.set(scheduler="threads"):
        total = _core.tree_sum(parts, _core.add_tuples).compute()[0]
        again = _core.tree_sum(parts, _core.add_tuples).compute()[0]
    assert total == again
    assert total == pytest.approx(float(np.sum(values)), rel=1e-14)


def test_block_summaries_combine_to_numpy_moments():
    X, w = blobs()
    starts = np.cumsum([0, 500, 123, 700])
    parts = np.split(X, starts[1:])
    summaries = [_core._block_summary(x, ww, int(s)) for x, ww, s in zip(parts, np.split(w, starts[1:]), starts)]
    mean, variance = _core._combine_summaries(summaries)
    np.testing.assert_allclose(mean, X.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(variance, X.var(axis=0), rtol=1e-12)


def test_one_hot_moments_against_numpy():
    from lvmfast.dask._mixture import _one_hot_first_moments, _one_hot_second_moments

    X, w = blobs(n=300)
    labels = np.random.default_rng(1).integers(0, 3, 300)
    shift = X.mean(axis=0)
    nk, s1 = _one_hot_first_moments(X, w, 0, labels, shift, 3)
    np.testing.assert_allclose(nk, [w[labels == j].sum() for j in range(3)], rtol=1e-13)
    expected_s1 = [(w[labels == j, None] * (X[labels == j] - shift)).sum(0) for j in range(3)]
    np.testing.assert_allclose(s1, expected_s1, rtol=1e-12)
    means = s1 / nk[:, None]
    (s2,) = _one_hot_second_moments(X, w, 0, labels, shift, means, "full")
    expected = [((w[labels == j, None] * (X[labels == j] - shift - means[j])).T @ (X[labels == j] - shift - means[j]))
                for j in range(3)]
    np.testing.assert_allclose(s2.reshape(3, 4, 4), expected, rtol=1e-10, atol=1e-10)


def test_per_block_functions_run_one_kernel_thread():
    # dask runs one task per worker thread; a kernel's own OpenMP threads
    # would oversubscribe the worker's cores
    from lvmfast._parallel import effective_n_threads

    assert _core.on_worker(effective_n_threads)() == 1



def test_blocks_read_by_their_tasks_only_when_their_graph_is_their_own(tmp_path, cluster):
    # a block of a file (or of an in-memory array's own slice) is read by the
    # task that uses it: no block of a streamed X waits in a worker's memory
    # for its consumer, and no task needs two separate inputs on one worker
    X, _ = blobs(n=1200)
    da.to_npy_stack(str(tmp_path), da.from_array(X, chunks=(100, 4)), axis=0)
    on_disk = da.from_npy_stack(str(tmp_path), mmap_mode="r")
    sources = _core.block_inputs(on_disk)
    assert all(isinstance(s, _core.BlockSource) for s in sources)
    np.testing.assert_array_equal(np.concatenate([s.read() for s in sources]), X)
    # each block depends on all of them (the mean): read once, as a task of its own
    centered = on_disk - on_disk.mean(axis=0)
    assert not any(isinstance(s, _core.BlockSource) for s in _core.block_inputs(centered))
    # blocks persisted on the cluster stay where they are
    with dask.config.set(scheduler=cluster.get):
        persisted = on_disk.persist()
        assert not any(isinstance(s, _core.BlockSource) for s in _core.block_inputs(persisted))
    # a block that would carry a large in-memory array in every task
    big = np.ones((1000, 16))
    reshaped = da.from_array(big, chunks=(1000, 16)).reshape(16, 1000)
    assert not any(isinstance(s, _core.BlockSource) for s in _core.block_inputs(reshaped.T.rechunk((100, 16))))


def test_streamed_from_files_is_the_persisted_fit(tmp_path, scheduler, monkeypatch):
    # X read from its .npy files every pass gives the persisted fit's answer
    # bit for bit (same blocks, same order), whether the streamed fit keeps
    # the row norms between passes or recomputes them, and the in-memory one's
    X, w = blobs(n=1500, dtype=np.float64)
    da.to_npy_stack(str(tmp_path), da.from_array(X, chunks=(250, 4)), axis=0)
    on_disk = da.from_npy_stack(str(tmp_path), mmap_mode="r")
    init = X[[0, 1, 2]].copy()
    ref = lvmfast.KMeans(3, init=init, n_init=1).fit(X, sample_weight=w)
    streamed, persisted = (ld.KMeans(3, init=init, n_init=1, persist=p).fit(on_disk, sample_weight=w)
                           for p in (False, True))
    from lvmfast.dask import _kmeans

    monkeypatch.setattr(_kmeans, "ROW_STATE_SHARE", 0.0)
    recomputed = ld.KMeans(3, init=init, n_init=1, persist=False).fit(on_disk, sample_weight=w)
    assert not streamed._persisted and persisted._persisted
    for run in (streamed, recomputed):
        assert np.array_equal(run.cluster_centers_, persisted.cluster_centers_)
        assert run.inertia_ == persisted.inertia_
    np.testing.assert_array_equal(streamed.labels_.compute(), ref.labels_)
    assert close(streamed.cluster_centers_, ref.cluster_centers_, 1e-10)
    kwargs = dict(covariance_type="diag", means_init=init, weights_init=np.full(3, 1 / 3),
                  precisions_init=np.ones((3, 4)), init_params="random_from_data", random_state=0, tol=0, max_iter=5)
    gm = ld.GaussianMixture(3, persist=False, **kwargs).fit(on_disk)
    gm_ref = lvmfast.GaussianMixture(3, **kwargs).fit(X)
    assert gm.lower_bound_ == pytest.approx(gm_ref.lower_bound_, rel=1e-10)
    assert close(gm.means_, gm_ref.means_, 1e-10)


# ---------------------------------------------------------------------------
# Workflows: persisted inputs, sources, blocks of 0 rows, blocks not C-ordered


def three_classes(X):
    return np.digitize(X[:, 0], np.quantile(X[:, 0], [1 / 3, 2 / 3]))


# a few iterations each: these tests are about the inputs, on a cluster
KMEANS_KWARGS = dict(n_clusters=3, n_init=1, max_iter=30)
GMM_KWARGS = dict(n_components=3, init_params="random_from_data", random_state=0, tol=0, max_iter=6)
BGM_KWARGS = dict(n_components=3, init_params="random_from_data", random_state=0, tol=0, max_iter=6)
stopped_early = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def assert_fit_and_predict_match(dX, dy, dw, X, y, w, init):
    """Every Dask estimator's fit and one prediction, against the in-memory
    estimator on the same rows (dX, dy, dw: X, y, w as dask arrays)."""
    km = ld.KMeans(init=init, **KMEANS_KWARGS).fit(dX, sample_weight=dw)
    ref = lvmfast.KMeans(init=init, **KMEANS_KWARGS).fit(X, sample_weight=w)
    assert km.n_iter_ == ref.n_iter_ and close(km.cluster_centers_, ref.cluster_centers_, 1e-10)
    assert km.labels_.chunks == (dX.chunks[0],)
    np.testing.assert_array_equal(km.labels_.compute(), ref.labels_)
    np.testing.assert_array_equal(km.predict(dX).compute(), ref.predict(X))
    gm = ld.GaussianMixture(**GMM_KWARGS).fit(dX, sample_weight=dw)
    gm_ref = lvmfast.GaussianMixture(**GMM_KWARGS).fit(X, sample_weight=w)
    assert gm.n_iter_ == gm_ref.n_iter_ and gm.lower_bound_ == pytest.approx(gm_ref.lower_bound_, rel=1e-10)
    np.testing.assert_allclose(gm.predict_proba(dX).compute(), gm_ref.predict_proba(X), atol=1e-9)
    bgm = ld.BayesianGaussianMixture(**BGM_KWARGS).fit(dX, sample_weight=dw)
    bgm_ref = lvmfast.BayesianGaussianMixture(**BGM_KWARGS).fit(X, sample_weight=w)
    assert bgm.n_iter_ == bgm_ref.n_iter_ and bgm.lower_bound_ == pytest.approx(bgm_ref.lower_bound_, rel=1e-10)
    np.testing.assert_array_equal(bgm.predict(dX).compute(), bgm_ref.predict(X))
    nb = ld.GaussianNB().fit(dX, dy, sample_weight=dw)
    nb_ref = lvmfast.GaussianNB().fit(X, y, sample_weight=w)
    assert close(nb.theta_, nb_ref.theta_, 1e-10) and close(nb.var_, nb_ref.var_, 1e-10)
    np.testing.assert_allclose(nb.predict_proba(dX).compute(), nb_ref.predict_proba(X), rtol=1e-8, atol=1e-12)
    return km, gm, bgm, nb


PERSISTED = {"nothing": (), "X": ("X",), "y and weights": ("y", "w"), "all": ("X", "y", "w")}


@stopped_early
@pytest.mark.parametrize("persisted", list(PERSISTED))
def test_every_estimator_and_method_with_persisted_inputs(cluster, persisted):
    # X (and y, the weights) persisted on the cluster before the fit, the
    # most common Dask workflow: every block that reads a persisted key is
    # a task input, never a graph read inside the task (where the key is
    # missing)
    X, w = blobs(n=900, seed=3)
    y = three_classes(X)
    init = X[[0, 1, 2]].copy()
    with dask.config.set(scheduler=cluster.get):
        given = {"X": chunked(X, 200), "y": da.from_array(y, chunks=200), "w": da.from_array(w, chunks=200)}
        for name in PERSISTED[persisted]:
            given[name] = given[name].persist()
        dX, dy, dw = given["X"], given["y"], given["w"]
        # KMeans: fit (through fit_predict), predict, transform, score
        ref = lvmfast.KMeans(init=init, **KMEANS_KWARGS).fit(X, sample_weight=w)
        km = ld.KMeans(init=init, **KMEANS_KWARGS)
        np.testing.assert_array_equal(km.fit_predict(dX, sample_weight=dw).compute(), ref.labels_)
        assert km.n_iter_ == ref.n_iter_ and close(km.cluster_centers_, ref.cluster_centers_, 1e-10)
        np.testing.assert_array_equal(km.predict(dX).compute(), ref.predict(X))
        np.testing.assert_allclose(km.transform(dX).compute(), ref.transform(X), rtol=1e-10)
        assert km.score(dX, sample_weight=dw) == pytest.approx(ref.score(X, sample_weight=w), rel=1e-10)
        # the k-means|| rounds
        seeded = ld.KMeans(3, random_state=5, max_iter=1).fit(dX, sample_weight=dw)
        local = lvmfast.KMeans(3, init="k-means||", random_state=5, max_iter=1).fit(X, sample_weight=w)
        assert close(seeded.cluster_centers_, local.cluster_centers_, 1e-10)
        # GaussianMixture: fit (through fit_predict), predict, predict_proba, score_samples, score, bic
        gm_ref = lvmfast.GaussianMixture(**GMM_KWARGS).fit(X, sample_weight=w)
        gm = ld.GaussianMixture(**GMM_KWARGS)
        np.testing.assert_array_equal(gm.fit_predict(dX, sample_weight=dw).compute(), gm_ref.predict(X))
        assert gm.n_iter_ == gm_ref.n_iter_ and gm.lower_bound_ == pytest.approx(gm_ref.lower_bound_, rel=1e-10)
        np.testing.assert_array_equal(gm.predict(dX).compute(), gm_ref.predict(X))
        np.testing.assert_allclose(gm.predict_proba(dX).compute(), gm_ref.predict_proba(X), atol=1e-9)
        np.testing.assert_allclose(gm.score_samples(dX).compute(), gm_ref.score_samples(X), rtol=1e-9)
        assert gm.score(dX, sample_weight=dw) == pytest.approx(gm_ref.score(X, sample_weight=w), rel=1e-9)
        assert gm.bic(dX) == pytest.approx(gm_ref.bic(X), rel=1e-9)
        # BayesianGaussianMixture: fit, predict, predict_proba, score
        bgm_ref = lvmfast.BayesianGaussianMixture(**BGM_KWARGS).fit(X, sample_weight=w)
        bgm = ld.BayesianGaussianMixture(**BGM_KWARGS).fit(dX, sample_weight=dw)
        assert bgm.n_iter_ == bgm_ref.n_iter_ and bgm.lower_bound_ == pytest.approx(bgm_ref.lower_bound_, rel=1e-10)
        np.testing.assert_array_equal(bgm.predict(dX).compute(), bgm_ref.predict(X))
        np.testing.assert_allclose(bgm.predict_proba(dX).compute(), bgm_ref.predict_proba(X), atol=1e-9)
        assert bgm.score(dX) == pytest.approx(bgm_ref.score(X), rel=1e-9)
        # GaussianNB: fit, partial_fit (slices of the inputs, one batch at a time), every prediction, score
        nb_ref = lvmfast.GaussianNB().fit(X, y, sample_weight=w)
        nb = ld.GaussianNB().fit(dX, dy, sample_weight=dw)
        assert close(nb.theta_, nb_ref.theta_, 1e-10) and close(nb.var_, nb_ref.var_, 1e-10)
        batches = ld.GaussianNB().partial_fit(dX[:400], dy[:400], classes=[0, 1, 2], sample_weight=dw[:400])
        batches.partial_fit(dX[400:], dy[400:], sample_weight=dw[400:])
        assert close(batches.theta_, nb_ref.theta_, 1e-10) and close(batches.var_, nb_ref.var_, 1e-10)
        np.testing.assert_array_equal(nb.predict(dX).compute(), nb_ref.predict(X))
        np.testing.assert_allclose(nb.predict_proba(dX).compute(), nb_ref.predict_proba(X), rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(nb.predict_log_proba(dX).compute(), nb_ref.predict_log_proba(X), rtol=1e-9)
        np.testing.assert_allclose(nb.predict_joint_log_proba(dX).compute(), nb_ref.predict_joint_log_proba(X),
                                   rtol=1e-9)
        assert nb.score(dX, dy, sample_weight=dw) == pytest.approx(nb_ref.score(X, y, sample_weight=w))


def from_source(source, tmp_path, X, chunks):
    """X as a dask array read from this kind of source, in row blocks of `chunks`."""
    if source == "from_array":
        return chunked(X, chunks)
    if source == "from_zarr":
        zarr = pytest.importorskip("zarr")
        store = zarr.open_array(str(tmp_path / "X.zarr"), mode="w", shape=X.shape, chunks=(chunks, X.shape[1]),
                                dtype=X.dtype)
        store[:] = X
        return da.from_zarr(str(tmp_path / "X.zarr"))
    if source == "from_npy_stack":
        da.to_npy_stack(str(tmp_path / "npy"), chunked(X, chunks), axis=0)
        return da.from_npy_stack(str(tmp_path / "npy"), mmap_mode="r")
    assert source == "map_blocks"
    return chunked(X - 1.0, chunks).map_blocks(np.add, 1.0, dtype=X.dtype)


@stopped_early
@pytest.mark.parametrize("source", ["from_array", "from_zarr", "from_npy_stack", "map_blocks"])
def test_every_estimator_from_each_source_streamed_and_persisted(cluster, tmp_path, source):
    X, w = blobs(n=600, seed=4)
    y = three_classes(X)
    init = X[[0, 1, 2]].copy()
    dX = from_source(source, tmp_path, X, 150)
    # each block's graph is its own: the task that uses a block reads it
    assert all(isinstance(s, _core.BlockSource) for s in _core.block_inputs(dX))
    with dask.config.set(scheduler=cluster.get):
        assert_fit_and_predict_match(dX, da.from_array(y, chunks=150), w, X, y, w, init)
        persisted = dX.persist()
        nb = ld.GaussianNB().fit(persisted, y)
        np.testing.assert_array_equal(nb.predict(persisted).compute(), lvmfast.GaussianNB().fit(X, y).predict(X))
        km = ld.KMeans(init=init, persist=False, **KMEANS_KWARGS).fit(persisted)
        np.testing.assert_array_equal(km.labels_.compute(), lvmfast.KMeans(init=init, **KMEANS_KWARGS).fit(X).labels_)


def test_blocks_that_read_keys_held_elsewhere_are_task_inputs(cluster):
    X, _ = blobs(n=1200)
    with dask.config.set(scheduler=cluster.get):
        persisted = chunked(X, 300).persist()
        # a few steps of its own on top of a persisted block: the persisted
        # key is not in the block's graph, so the block is computed by a
        # task of its own
        for derived in (persisted.map_blocks(np.ascontiguousarray, dtype=X.dtype), persisted + 1.0,
                        persisted[:700], persisted.rechunk((200, 4))):
            inputs = _core.block_inputs(derived)
            assert not any(isinstance(s, _core.BlockSource) for s in inputs)
        # blocks made from data scattered to the workers (futures)
        scattered = da.concatenate([da.from_delayed(dask.delayed(cluster.scatter(X[i:i + 600])), shape=(600, 4),
                                                    dtype=X.dtype) for i in (0, 600)])
        y = three_classes(X)
        assert not any(isinstance(s, _core.BlockSource) for s in _core.block_inputs(scattered + 0.0))
        assert close(ld.GaussianNB().fit(scattered, y).theta_, lvmfast.GaussianNB().fit(X, y).theta_, 1e-10)
    # blocks that share work (each rechunked block reads two source blocks'
    # computed tasks) are read once, as tasks of their own
    shared = chunked(X, 300).map_blocks(np.sqrt, dtype=X.dtype).rechunk((200, 4))
    assert not any(isinstance(s, _core.BlockSource) for s in _core.block_inputs(shared))
    own = chunked(X, 300).map_blocks(np.sqrt, dtype=X.dtype)
    assert all(isinstance(s, _core.BlockSource) for s in _core.block_inputs(own))


def drop_rows(values, mask, chunks):
    """values (in row blocks of `chunks`)[mask] with its chunk sizes
    computed: a block whose rows the mask all drops has 0 rows."""
    blocked = da.from_array(values, chunks=(chunks,) + values.shape[1:])
    return blocked[da.from_array(mask, chunks=chunks)].compute_chunk_sizes()


@stopped_early
@pytest.mark.usefixtures("threads")
def test_blocks_of_zero_rows_take_no_part():
    # X[mask].compute_chunk_sizes() when the mask drops whole blocks (the
    # first and one in the middle): each fit is the fit of the same rows in
    # the blocks that hold them, bit for bit
    X, w = blobs(n=900, seed=6)
    y = three_classes(X)
    mask = np.ones(len(X), dtype=bool)
    mask[:150] = mask[450:600] = False
    dX = drop_rows(X, mask, 150)
    assert dX.chunks[0] == (0, 150, 150, 0, 150, 150)
    dy, dw = drop_rows(y, mask, 150), drop_rows(w, mask, 150)
    Xm, ym, wm = X[mask], y[mask], w[mask]
    km, gm, bgm, nb = assert_fit_and_predict_match(dX, dy, dw, Xm, ym, wm, Xm[[0, 1, 2]].copy())
    same_rows = chunked(Xm, 150)
    km_same = ld.KMeans(init=Xm[[0, 1, 2]].copy(), **KMEANS_KWARGS).fit(same_rows, sample_weight=wm)
    assert np.array_equal(km.cluster_centers_, km_same.cluster_centers_) and km.inertia_ == km_same.inertia_
    gm_same = ld.GaussianMixture(**GMM_KWARGS).fit(same_rows, sample_weight=wm)
    assert np.array_equal(gm.means_, gm_same.means_) and gm.lower_bound_ == gm_same.lower_bound_
    bgm_same = ld.BayesianGaussianMixture(**BGM_KWARGS).fit(same_rows, sample_weight=wm)
    assert np.array_equal(bgm.means_, bgm_same.means_) and bgm.lower_bound_ == bgm_same.lower_bound_
    nb_same = ld.GaussianNB().fit(same_rows, ym, sample_weight=wm)
    assert np.array_equal(nb.theta_, nb_same.theta_) and np.array_equal(nb.var_, nb_same.var_)
    # the seedings and the predictions over blocks of 0 rows
    seeded = ld.KMeans(3, random_state=5, max_iter=1).fit(dX)
    assert np.array_equal(seeded.cluster_centers_, ld.KMeans(3, random_state=5, max_iter=1).fit(same_rows)
                          .cluster_centers_)
    for init_params in ("kmeans", "k-means++"):
        fitted = ld.GaussianMixture(3, init_params=init_params, random_state=0, max_iter=5).fit(dX)
        assert np.isfinite(fitted.lower_bound_) and np.isfinite(fitted.means_).all()
    assert km.transform(dX).compute().shape == (len(Xm), 3)
    km_ref = lvmfast.KMeans(init=Xm[[0, 1, 2]].copy(), **KMEANS_KWARGS).fit(Xm, sample_weight=wm)
    assert km.score(dX, sample_weight=dw) == pytest.approx(km_ref.score(Xm, sample_weight=wm), rel=1e-10)
    assert gm.score(dX) == pytest.approx(lvmfast.GaussianMixture(**GMM_KWARGS).fit(Xm, sample_weight=wm).score(Xm),
                                         rel=1e-10)
    assert nb.score(dX, dy) == pytest.approx(lvmfast.GaussianNB().fit(Xm, ym, sample_weight=wm).score(Xm, ym))
    batches = ld.GaussianNB().partial_fit(dX, dy, classes=[0, 1, 2], sample_weight=dw)
    assert np.array_equal(batches.theta_, nb_same.theta_)


@stopped_early
@pytest.mark.usefixtures("threads")
def test_blocks_not_c_ordered():
    # a transposed array's blocks and Fortran-ordered blocks (as a dask
    # DataFrame's to_dask_array gives) are read as C-ordered rows
    X, w = blobs(n=600, seed=7)
    y = three_classes(X)
    transposed = da.from_array(np.ascontiguousarray(X.T), chunks=(4, 150)).T
    fortran = chunked(X, 150).map_blocks(np.asfortranarray, dtype=X.dtype)
    for dX in (transposed, fortran):
        assert not dX.to_delayed()[0, 0].compute(scheduler="sync").flags.c_contiguous
        assert_fit_and_predict_match(dX, da.from_array(y, chunks=150), w, X, y, w, X[[0, 1, 2]].copy())


def test_gaussian_nb_on_a_dask_dataframe():
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X, _ = blobs(n=400)
    y = three_classes(X)
    frame = dd.from_pandas(pd.DataFrame(X, columns=list("abcd")), npartitions=3)
    with dask.config.set(scheduler="threads"):
        nb = ld.GaussianNB().fit(frame, dd.from_pandas(pd.Series(y), npartitions=3))
        np.testing.assert_array_equal(nb.predict(frame).compute(), lvmfast.GaussianNB().fit(X, y).predict(X))
    assert close(nb.theta_, lvmfast.GaussianNB().fit(X, y).theta_, 1e-10)


# ---------------------------------------------------------------------------
# KMeans


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kmeans_matches_in_memory_whatever_the_chunks(scheduler, dtype):
    X, w = blobs(dtype=dtype)
    init = X[[0, 1, 2]].copy()
    ref = lvmfast.KMeans(3, init=init, n_init=1).fit(X, sample_weight=w)
    for chunks in CHUNKINGS:
        km = ld.KMeans(3, init=init, n_init=1).fit(chunked(X, chunks), sample_weight=w)
        assert km.n_iter_ == ref.n_iter_
        assert isinstance(km.labels_, da.Array)
        np.testing.assert_array_equal(km.labels_.compute(), ref.labels_)
        assert km.cluster_centers_.dtype == dtype
        assert close(km.cluster_centers_, ref.cluster_centers_, TOLERANCE[dtype])
        assert km.inertia_ == pytest.approx(ref.inertia_, rel=TOLERANCE[dtype])
        np.testing.assert_array_equal(km.predict(chunked(X, chunks)).compute(), ref.predict(X))


def test_kmeans_bit_identical_from_the_same_chunks(scheduler):
    X, w = blobs()
    # twice with X persisted on the workers, once streamed from its source every pass
    runs = [ld.KMeans(3, random_state=3, persist=persist).fit(chunked(X, (500, 123, 700, 880)), sample_weight=w)
            for persist in (True, True, False)]
    assert runs[0]._persisted and not runs[2]._persisted
    for run in runs[1:]:
        assert np.array_equal(runs[0].cluster_centers_, run.cluster_centers_)
        assert runs[0].inertia_ == run.inertia_ and runs[0].n_iter_ == run.n_iter_


def test_kmeans_parallel_init_draws_the_local_candidates():
    # k-means|| draws are keyed by the global row index: the Dask rounds
    # pick the local seeding's candidates, so the centers agree.
    X, w = blobs(n=3000, k=5, d=3)
    with dask.config.set(scheduler="threads"):
        km = ld.KMeans(5, random_state=7, max_iter=1).fit(chunked(X, 400), sample_weight=w)
    ref = lvmfast.KMeans(5, init="k-means||", random_state=7, max_iter=1).fit(X, sample_weight=w)
    assert close(km.cluster_centers_, ref.cluster_centers_, 1e-10)


def test_kmeans_plusplus_on_all_rows_is_the_local_seeding():
    X, w = blobs(n=800)
    with dask.config.set(scheduler="threads"):
        km = ld.KMeans(3, init="k-means++", random_state=2, max_iter=1).fit(chunked(X, 300))
    ref = lvmfast.KMeans(3, init="k-means++", random_state=2, max_iter=1).fit(X)
    assert close(km.cluster_centers_, ref.cluster_centers_, 1e-10)


def test_kmeans_empty_cluster_is_relocated_as_in_memory():
    X, _ = blobs(n=600)
    init = np.vstack([X[:2], [[1e3] * 4]])  # the third center takes no row
    ref = lvmfast.KMeans(3, init=init, n_init=1).fit(X)
    with dask.config.set(scheduler="threads"):
        km = ld.KMeans(3, init=init, n_init=1).fit(chunked(X, 250))
    assert km.n_iter_ == ref.n_iter_
    np.testing.assert_array_equal(km.labels_.compute(), ref.labels_)
    assert close(km.cluster_centers_, ref.cluster_centers_, 1e-10)


# ---------------------------------------------------------------------------
# GaussianMixture


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_gaussian_mixture_matches_in_memory(scheduler, covariance_type):
    X, w = blobs()
    ref = lvmfast.GaussianMixture(3, covariance_type=covariance_type, init_params="random_from_data",
                                  random_state=4, tol=1e-6).fit(X, sample_weight=w)
    runs = []
    for chunks in CHUNKINGS[:2]:
        gm = ld.GaussianMixture(3, covariance_type=covariance_type, init_params="random_from_data",
                                random_state=4, tol=1e-6).fit(chunked(X, chunks), sample_weight=w)
        runs.append(gm)
        assert gm.n_iter_ == ref.n_iter_
        assert gm.lower_bound_ == pytest.approx(ref.lower_bound_, rel=1e-10)
        for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
            assert close(getattr(gm, name), getattr(ref, name), 1e-10), name
    again = ld.GaussianMixture(3, covariance_type=covariance_type, init_params="random_from_data",
                               random_state=4, tol=1e-6).fit(chunked(X, CHUNKINGS[1]), sample_weight=w)
    assert np.array_equal(again.means_, runs[1].means_) and again.lower_bound_ == runs[1].lower_bound_


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_bayesian_gaussian_mixture_matches_in_memory(scheduler, covariance_type):
    """The variational loop on the Dask pass: the default priors' pass and
    every iteration on the workers, weights in the caller's units."""
    X, w = blobs()
    kwargs = dict(n_components=4, covariance_type=covariance_type, init_params="random_from_data", random_state=4,
                  tol=1e-6, max_iter=200)
    ref = lvmfast.BayesianGaussianMixture(**kwargs).fit(X, sample_weight=3 * w)
    bgm = ld.BayesianGaussianMixture(**kwargs).fit(chunked(X, CHUNKINGS[1]), sample_weight=3 * w)
    assert bgm.n_iter_ == ref.n_iter_
    assert bgm.lower_bound_ == pytest.approx(ref.lower_bound_, rel=1e-10)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "mean_precision_",
                 "degrees_of_freedom_", "mean_prior_", "covariance_prior_"):
        assert close(getattr(bgm, name), getattr(ref, name), 1e-10), name
    local = bgm.to_local()
    assert type(local) is lvmfast.BayesianGaussianMixture
    assert np.array_equal(bgm.predict(chunked(X, 500)).compute(), local.predict(X))


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_gaussian_mixture_float32_from_given_parameters(covariance_type):
    X, _ = blobs(dtype=np.float32)
    precisions = {"full": np.stack([np.eye(4)] * 3), "diag": np.ones((3, 4))}[covariance_type]
    kwargs = dict(covariance_type=covariance_type, means_init=X[:3].astype(np.float64), weights_init=[0.2, 0.3, 0.5],
                  precisions_init=precisions, max_iter=20)
    ref = lvmfast.GaussianMixture(3, **kwargs).fit(X)
    with dask.config.set(scheduler="threads"):
        gm = ld.GaussianMixture(3, **kwargs).fit(chunked(X, 300))
    assert gm.means_.dtype == np.float32 and gm.n_iter_ == ref.n_iter_
    assert close(gm.means_, ref.means_, 1e-4) and close(gm.covariances_, ref.covariances_, 1e-4)
    assert gm.lower_bound_ == pytest.approx(ref.lower_bound_, rel=1e-4)
    proba = gm.predict_proba(chunked(X, 300))
    assert isinstance(proba, da.Array)
    np.testing.assert_allclose(proba.compute(), ref.predict_proba(X), atol=1e-4)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++"])
def test_gaussian_mixture_scalable_inits(init_params):
    X, w = blobs()
    with dask.config.set(scheduler="threads"):
        gm = ld.GaussianMixture(3, init_params=init_params, random_state=0).fit(chunked(X, 600), sample_weight=w)
    ref = lvmfast.GaussianMixture(3, n_init=3, random_state=0).fit(X, sample_weight=w)
    assert gm.converged_
    # three separated blobs: the same optimum as a careful in-memory fit
    assert gm.lower_bound_ == pytest.approx(ref.lower_bound_, rel=1e-6)


def test_gaussian_mixture_random_init_refused_clearly():
    X, _ = blobs(n=100)
    with pytest.raises(ValueError, match="init_params"):
        ld.GaussianMixture(2, init_params="random").fit(chunked(X, 50))


@pytest.mark.parametrize("name", ["GaussianMixture", "BayesianGaussianMixture"])
def test_mixtures_stream_through_the_in_memory_estimator_only(name):
    # partial_fit is inherited from the in-memory class but not offered on Dask.
    assert not hasattr(getattr(ld, name)(n_components=2), "partial_fit")
    assert hasattr(getattr(lvmfast, name)(n_components=2), "partial_fit")


# ---------------------------------------------------------------------------
# GaussianNB


def test_gaussian_nb_fit_is_partial_fit_over_the_blocks(scheduler):
    X, w = blobs()
    y = np.where(X[:, 0] > X[:, 0].mean(), "a", "b")
    chunks = (500, 123, 700, 880)
    nb = ld.GaussianNB().fit(chunked(X, chunks), da.from_array(y, chunks=1000), sample_weight=w)
    batches = lvmfast.GaussianNB()
    start = 0
    for size in chunks:
        batches.partial_fit(X[start:start + size], y[start:start + size], classes=["a", "b"],
                            sample_weight=w[start:start + size])
        start += size
    np.testing.assert_array_equal(nb.theta_, batches.theta_)
    np.testing.assert_array_equal(nb.var_, batches.var_)
    whole = lvmfast.GaussianNB().fit(X, y, sample_weight=w)
    assert close(nb.theta_, whole.theta_, 1e-10) and close(nb.var_, whole.var_, 1e-10)
    proba = nb.predict_proba(chunked(X, chunks))
    assert isinstance(proba, da.Array) and proba.chunks[0] == chunks
    np.testing.assert_allclose(proba.compute(), whole.predict_proba(X), rtol=1e-8, atol=1e-12)
    np.testing.assert_array_equal(nb.predict(chunked(X, chunks)).compute(), whole.predict(X))
    assert nb.score(chunked(X, chunks), y) == pytest.approx(whole.score(X, y))


def test_gaussian_nb_partial_fit_then_to_local():
    X, _ = blobs()
    y = (X[:, 1] > X[:, 1].mean()).astype(int)
    with dask.config.set(scheduler="threads"):
        nb = ld.GaussianNB().partial_fit(chunked(X[:1000], 400), y[:1000], classes=[0, 1])
        nb.partial_fit(chunked(X[1000:], 400), y[1000:])
    local = nb.to_local()
    assert type(local) is lvmfast.GaussianNB
    ref = lvmfast.GaussianNB().fit(X, y)
    assert close(local.theta_, ref.theta_, 1e-10)
    np.testing.assert_array_equal(local.predict(X), ref.predict(X))


# ---------------------------------------------------------------------------
# The estimator protocol, to_local, DataFrames, verbose, progress


def test_to_local_gives_the_in_memory_estimator():
    X, _ = blobs()
    with dask.config.set(scheduler="threads"):
        km = ld.KMeans(3, random_state=0, max_iter=5).fit(chunked(X, 700))
        gm = ld.GaussianMixture(2, covariance_type="diag", random_state=0).fit(chunked(X, 700))
    local_km, local_gm = km.to_local(), gm.to_local()
    assert type(local_km) is lvmfast.KMeans and local_km.init == "k-means||" and local_km.max_iter == 5
    np.testing.assert_array_equal(local_km.predict(X), km.predict(chunked(X, 700)).compute())
    assert type(local_gm) is lvmfast.GaussianMixture
    np.testing.assert_allclose(local_gm.score_samples(X), gm.score_samples(chunked(X, 700)).compute())
    assert clone(km).get_params() == km.get_params()


def test_dask_dataframe_of_numeric_columns():
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X, _ = blobs(n=400, dtype=np.float32)
    frame = dd.from_pandas(pd.DataFrame(X, columns=list("abcd")), npartitions=3)
    with dask.config.set(scheduler="threads"):
        km = ld.KMeans(3, init=X[:3], n_init=1).fit(frame)
        with pytest.raises(TypeError, match="not numeric"):
            ld.KMeans(3).fit(frame.assign(e="text"))
    ref = lvmfast.KMeans(3, init=X[:3], n_init=1).fit(X)
    assert km.cluster_centers_.dtype == np.float32
    assert list(km.feature_names_in_) == list("abcd")
    np.testing.assert_array_equal(km.labels_.compute(), ref.labels_)


def test_verbose_prints_each_iteration_with_its_time():
    X, _ = blobs(n=500)
    out = io.StringIO()
    with dask.config.set(scheduler="threads"), contextlib.redirect_stdout(out):
        km = ld.KMeans(3, init=X[:3], n_init=1, verbose=1).fit(chunked(X, 200))
        gm = ld.GaussianMixture(2, verbose=1, random_state=0, init_params="random_from_data").fit(chunked(X, 200))
    lines = out.getvalue().splitlines()
    kmeans_lines = [line for line in lines if line.startswith("Iteration ")]
    em_lines = [line for line in lines if line.startswith("  Iteration ")]
    assert len(kmeans_lines) == km.n_iter_ and all(line.endswith(" s)") for line in kmeans_lines)
    assert len(em_lines) == gm.n_iter_ and all(" time " in line for line in em_lines)


def test_progress_bar_on_request(capsys):
    X, _ = blobs(n=300)
    with dask.config.set(scheduler="threads"):
        ld.KMeans(2, init=X[:2], n_init=1, max_iter=2, progress=True).fit(chunked(X, 100))
    assert "Completed" in capsys.readouterr().out


# ---------------------------------------------------------------------------
# Bad input: clear errors, nothing changed


def test_unknown_chunk_sizes_refused():
    X, _ = blobs(n=200)
    Xd = chunked(X, 50)
    unknown = Xd[Xd[:, 0] > -np.inf]
    with pytest.raises(ValueError, match="unknown chunk sizes.*compute_chunk_sizes"):
        ld.KMeans(2).fit(unknown)


def test_nan_in_one_block_found_and_nothing_changed(scheduler):
    X, _ = blobs(n=600)
    km = ld.KMeans(3, init=X[:3], n_init=1).fit(chunked(X, 200))
    before = dict(km.__dict__)
    bad = X.copy()
    bad[450, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN.*rows 400 to 599"):
        km.fit(chunked(bad, 200))
    assert km.__dict__.keys() == before.keys()
    assert np.array_equal(km.cluster_centers_, before["cluster_centers_"]) and km.labels_ is before["labels_"]
    gm = ld.GaussianMixture(2, covariance_type="diag", init_params="random_from_data", random_state=0)
    with pytest.raises(ValueError, match="NaN"):
        gm.fit(chunked(bad, 200))
    assert not hasattr(gm, "means_")


def test_sample_weight_chunks_rechunked_and_lengths_checked():
    X, w = blobs(n=600)
    ref = lvmfast.KMeans(3, init=X[:3], n_init=1).fit(X, sample_weight=w)
    with dask.config.set(scheduler="threads"):
        km = ld.KMeans(3, init=X[:3], n_init=1).fit(chunked(X, 200), sample_weight=da.from_array(w, chunks=170))
        assert close(km.cluster_centers_, ref.cluster_centers_, 1e-10)
        with pytest.raises(ValueError, match="sample_weight: expected 600 values"):
            ld.KMeans(3).fit(chunked(X, 200), sample_weight=da.from_array(w[:500], chunks=100))
        with pytest.raises(ValueError, match="Negative values in data passed to sample_weight"):
            ld.KMeans(3).fit(chunked(X, 200), sample_weight=-w)


def test_bad_types_and_shapes():
    with pytest.raises(TypeError, match="expected a dask array"):
        ld.KMeans(2).fit([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match="2-D"):
        ld.KMeans(2).fit(da.ones(10, chunks=5))
    with pytest.raises(ValueError, match="n_clusters=5"):
        with dask.config.set(scheduler="threads"):
            ld.KMeans(5).fit(da.ones((3, 2), chunks=2))


def test_importing_lvmfast_needs_no_dask():
    import pathlib
    import subprocess
    import sys

    code = "import sys, lvmfast, lvmfast.cluster, lvmfast.mixture; assert 'dask' not in sys.modules"
    root = pathlib.Path(lvmfast.__file__).parents[1]  # this checkout's lvmfast, not another installed one
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(root))


def test_worker_lost_mid_fit_recovers_or_fails_clearly(cluster):
    # A worker process dies after the first pass, with half of the persisted
    # X on it: dask recomputes the lost blocks from the graph (the source
    # array), so the fit ends with the in-memory answer, or raises; never a
    # wrong model.
    import os
    import signal
    import time

    X, w = blobs(n=6000, d=4, k=3, seed=5)
    init = X[:3].copy()
    ref = lvmfast.KMeans(3, init=init, n_init=1).fit(X, sample_weight=w)
    before = set(cluster.scheduler_info(n_workers=-1)["workers"])
    victim = sorted(before)[0]
    pid = cluster.run(os.getpid, workers=[victim])[victim]

    def kill_a_worker_then_init(X, n_clusters, random_state):
        os.kill(pid, signal.SIGKILL)
        time.sleep(1.0)
        return init

    with dask.config.set(scheduler=cluster.get):
        try:
            km = ld.KMeans(3, init=kill_a_worker_then_init, n_init=1).fit(chunked(X, 500), sample_weight=w)
        except Exception as exc:  # a clear error is acceptable, a wrong model is not
            assert str(exc)
            print("worker lost: the fit failed with", repr(exc))
            km = None
    assert victim not in cluster.scheduler_info(n_workers=-1)["workers"]  # it did die mid-fit
    if km is not None:
        assert km.n_iter_ == ref.n_iter_
        np.testing.assert_array_equal(km.labels_.compute(), ref.labels_)
        assert close(km.cluster_centers_, ref.cluster_centers_, 1e-10)

