"""The active-set solver's matrix-free route for sparse designs: support systems
by conjugate gradients on the sparse columns, no Gram block, certified by the
same gap."""

import numpy as np
import pytest
from test_sparse import KW_IDS, KWS, model_kw, ref_gaps, wide

import jaxreg
from jaxreg import _sparse_design, reference
from jaxreg.solvers import active_set, cholesky, matrix_free

sp = pytest.importorskip("scipy.sparse")

EPS = np.finfo(np.float64).eps


class Routes:
    """Counts the support systems each route solves, and the Gram blocks built."""

    def __init__(self, monkeypatch):
        self.cg = self.gram = self.blocks = 0
        real_cg, real_gram = matrix_free.MatrixFree.solve, cholesky.GramSystem.solve
        real_ensure = active_set._GramCache.ensure

        def cg(system, *a):
            self.cg += 1
            return real_cg(system, *a)

        def gram(system, *a):
            self.gram += 1
            return real_gram(system, *a)

        def ensure(cache, idx):
            self.blocks += int((cache.pos[idx] < 0).sum())
            return real_ensure(cache, idx)

        monkeypatch.setattr(matrix_free.MatrixFree, "solve", cg)
        monkeypatch.setattr(cholesky.GramSystem, "solve", gram)
        monkeypatch.setattr(active_set._GramCache, "ensure", ensure)


def objectives(Xd, y, res, **kw):
    return np.array(
        [
            reference.objective(Xd, y, c, b, a, l1_ratio=res.l1_ratio, **kw)
            for c, b, a in zip(res.coefs, res.intercepts, res.alphas, strict=True)
        ]
    )


@pytest.mark.parametrize("kw", KWS, ids=KW_IDS)
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_matrix_free_paths_are_certified(monkeypatch, kw, l1_ratio):
    """Every working set matrix-free (no Gram block built while CG solves the
    supports, which stay below the rows here): each level certified by the
    reference's gap on the dense data, with the factored route's objectives."""
    X, y, w = wide(n=80)
    kw = model_kw(kw, X, w)
    tol = 1e-8
    grid = dict(l1_ratio=l1_ratio, alphas=20, eps=0.1, tol=tol)
    factored = jaxreg.enet_path(X, y, **grid, **kw)
    monkeypatch.setattr(active_set, "MATRIX_FREE_AT", -1)
    routes = Routes(monkeypatch)
    res = jaxreg.enet_path(X, y, **grid, **kw)
    assert res.mode == "design" and res.strategy == "active_set"
    assert res.converged.all()
    assert routes.cg > 0 and routes.gram == 0 and routes.blocks == 0
    Xd = X.toarray()
    gaps = ref_gaps(Xd, y, res, l1_ratio=l1_ratio, **kw)
    assert (gaps <= res.gap_tol + 128 * EPS * res.gap_tol / tol).all()
    slack = np.maximum(res.gaps, 0) + np.maximum(factored.gaps, 0)
    slack += 1e3 * EPS * res.gap_tol / tol
    diff = objectives(Xd, y, res, **kw) - objectives(Xd, y, factored, **kw)
    assert (np.abs(diff) <= slack).all()


def test_signs_and_cv_matrix_free(monkeypatch):
    """positive=True and cross-validation members (weights 0 on held-out rows)
    on the matrix-free route: certified, non-negative, the factored CV's choice."""
    X, y, _ = wide(n=90)
    factored = jaxreg.cv_path(X, y, cv=3, alphas=15, eps=0.05, tol=1e-10)
    monkeypatch.setattr(active_set, "MATRIX_FREE_AT", -1)
    routes = Routes(monkeypatch)
    res = jaxreg.lasso_path(X, y, alphas=15, eps=0.05, tol=1e-8, positive=True)
    assert res.converged.all() and (res.coefs >= 0).all() and res.df[-1] > 0
    gaps = ref_gaps(X.toarray(), y, res, positive=True)
    assert (gaps <= res.gap_tol + 128 * EPS * res.gap_tol / res.tol).all()
    cv = jaxreg.cv_path(X, y, cv=3, alphas=15, eps=0.05, tol=1e-10)
    assert cv.fold_converged.all() and cv.path.converged.all()
    assert routes.cg > 0 and routes.gram == 0
    assert cv.index_min == factored.index_min
    np.testing.assert_allclose(cv.mse_path, factored.mse_path, rtol=1e-6)


def test_systems_cg_cannot_solve_go_to_the_factor(monkeypatch):
    """A support system CG does not solve within its iterations (here: one
    iteration allowed; singular ones where a support spans the rows) leaves
    its level uncertified on that route, and the level goes to the factored
    route, which certifies it."""
    X, y, _ = wide()
    monkeypatch.setattr(active_set, "MATRIX_FREE_AT", -1)
    monkeypatch.setattr(matrix_free, "CG_MIN_ITER", 1)
    monkeypatch.setattr(matrix_free, "CG_ITER_SHARE", 0.0)
    routes = Routes(monkeypatch)
    pruned = []
    real = active_set.independent

    def independent(G, S, E, b, chol):  # the level solved again: its start
        keep = real(G, S, E, b, chol)
        pruned.append((E.size, keep.size))
        return keep

    monkeypatch.setattr(active_set, "independent", independent)
    res = jaxreg.lasso_path(X, y, alphas=25, eps=1e-3, tol=1e-8)
    assert res.strategy == "active_set" and res.converged.all()
    assert routes.cg > 0 and routes.gram > 0 and routes.blocks > 0
    assert len(pruned) == 1 and pruned[0][0] > 0  # one switch, from a support
    gaps = ref_gaps(X.toarray(), y, res)
    assert (gaps <= res.gap_tol + 128 * EPS * res.gap_tol / res.tol).all()


def test_switch_frees_the_gram_cache(monkeypatch):
    """Past MATRIX_FREE_AT features in a working set the path goes matrix-free:
    small working sets by the factor, the large ones by CG."""
    X, y, _ = wide(n=80)
    monkeypatch.setattr(active_set, "MATRIX_FREE_AT", 20)
    sizes = []
    real = matrix_free.MatrixFree.__init__

    def init(self, A, c, *a):
        sizes.append(c.size)
        real(self, A, c, *a)

    monkeypatch.setattr(matrix_free.MatrixFree, "__init__", init)
    routes = Routes(monkeypatch)
    res = jaxreg.lasso_path(X, y, alphas=20, eps=0.05, tol=1e-8)
    assert res.converged.all() and routes.gram > 0 and routes.cg > 0
    assert min(sizes) > 20


def test_factor_bounded_by_the_data(monkeypatch):
    """A sparse design's working sets go matrix-free past the size whose
    factored arrays (FACTOR_COPIES squares of it) would outgrow the sparse X,
    and the Gram cache holds at most that many features (and a quarter more
    beyond a working set): the factored route's memory follows the data's."""
    X, y, _ = wide(n=80)
    Xc = X.tocsc()
    size = Xc.data.nbytes + Xc.indices.nbytes + Xc.indptr.nbytes
    monkeypatch.setattr(active_set, "FACTOR_FLOOR", 0)
    monkeypatch.setattr(active_set, "FACTOR_COPIES", size // (8 * 24**2))
    limit = int(np.sqrt(size / (8 * active_set.FACTOR_COPIES)))
    assert limit == 24 < active_set.MATRIX_FREE_AT
    sizes, cached = [], []
    real_init, real_ensure = (
        matrix_free.MatrixFree.__init__,
        active_set._GramCache.ensure,
    )

    def init(self, A, c, *a):
        sizes.append(c.size)
        real_init(self, A, c, *a)

    def ensure(cache, idx):
        real_ensure(cache, idx)
        cached.append((cache.feat.size, idx.size))

    monkeypatch.setattr(matrix_free.MatrixFree, "__init__", init)
    monkeypatch.setattr(active_set._GramCache, "ensure", ensure)
    res = jaxreg.lasso_path(X, y, alphas=20, eps=0.01, tol=1e-8)
    assert res.converged.all() and res.strategy == "active_set"
    assert sizes and min(sizes) > limit
    assert cached and all(k <= max(limit, w + limit // 4) for k, w in cached)
    assert max(w for _, w in cached) <= limit


def operators(weighted, free):
    rng = np.random.default_rng(4)
    n, p = 30, 12
    X = sp.random(n, p, density=0.3, random_state=4, format="csc") * 2.0
    root = np.sqrt(rng.uniform(0.0, 2.0, n)) if weighted else np.ones(n)
    mean, col = rng.normal(size=p), rng.uniform(0.5, 2.0, p)
    low = None
    if free:
        B = rng.normal(size=(n, 2))
        C = rng.normal(size=(2, p))
        low = (B, C, B.T @ rng.normal(size=(n, p)) / n, B.T @ B / n)
    op = _sparse_design._operator(X, root, mean, col, low)
    dense = root[:, None] * (X.toarray() - mean) * col
    if free:
        dense -= low[0] @ low[1]
    return op, dense, X, root, mean, col


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("free", [False, True])
def test_columns_are_the_operators_columns(weighted, free):
    op, dense, X, root, mean, col = operators(weighted, free)
    idx = np.array([7, 2, 9, 4])
    A = op.restrict(idx)
    rng = np.random.default_rng(0)
    v, r = rng.normal(size=idx.size), rng.normal(size=dense.shape[0])
    scale = np.abs(dense).max() * (1 + np.abs(v).max() + np.abs(r).max())
    tol = 64 * EPS * dense.shape[0] * scale
    np.testing.assert_allclose(A.mv(v), dense[:, idx] @ v, rtol=0, atol=tol)
    np.testing.assert_allclose(A.rmv(r), dense[:, idx].T @ r, rtol=0, atol=tol)
    gram_v = dense[:, idx].T @ (dense[:, idx] @ v)
    np.testing.assert_allclose(A.normal(v), gram_v, rtol=0, atol=tol * scale)
    sub = A.take(np.array([3, 0]))
    np.testing.assert_allclose(sub.mv(v[[3, 0]]), dense[:, idx[[3, 0]]] @ v[[3, 0]],
                               rtol=0, atol=tol)  # fmt: skip
    # squares: the columns before the projection
    plain = root[:, None] * (X.toarray() - mean) * col
    np.testing.assert_allclose(
        A.squares(), (plain[:, idx] ** 2).sum(0), rtol=1e-10, atol=tol
    )
    dense_cols = active_set._Dense(dense).restrict(idx)
    np.testing.assert_allclose(dense_cols.mv(v), dense[:, idx] @ v, rtol=0, atol=tol)


@pytest.mark.parametrize("weighted", [False, True])
def test_gram_blocks_are_the_operators(monkeypatch, weighted):
    """``A_rowsᵀA_cols/n`` from sparse products and in-place corrections, a few
    rows at a time, is the dense block's."""
    monkeypatch.setattr(_sparse_design, "GRAM_ROWS", 2)
    _, _, X, root, _, col = operators(weighted, False)
    w = root * root  # the centres are the columns' weighted means (as members')
    mean = np.asarray(X.T @ w).ravel() / w.sum()
    op = _sparse_design._operator(X, root, mean, col, None)
    dense = root[:, None] * (X.toarray() - mean) * col
    rows, cols = np.array([7, 2, 9, 4, 0]), np.array([1, 2, 3])
    want = dense[:, rows].T @ dense[:, cols] / dense.shape[0]
    tol = 64 * EPS * dense.shape[0] * np.abs(dense).max() ** 2
    np.testing.assert_allclose(op.gram(rows, cols), want, rtol=0, atol=tol)


def test_cg_reaches_its_tolerance_or_says_not():
    rng = np.random.default_rng(1)
    M = rng.normal(size=(40, 25))
    H = M.T @ M / 40
    x_true = rng.normal(size=25)
    rhs = H @ x_true
    dinv = 1.0 / np.diag(H)
    tol = 1e-10 * np.abs(rhs).max()
    x, ok = matrix_free.cg(lambda v: H @ v, rhs, np.zeros(25), dinv, tol, 200)
    assert ok and np.abs(rhs - H @ x).max() <= tol
    # singular and inconsistent: no x meets any tolerance below the residual's
    # component outside the range
    S = np.diag(np.r_[np.ones(24), 0.0])
    b = np.ones(25)
    x, ok = matrix_free.cg(lambda v: S @ v, b, np.zeros(25), np.ones(25), 1e-6, 200)
    assert not ok


@pytest.mark.parametrize("chunk", [1, 5, 1 << 18])
def test_squares_a_block_of_columns_at_a_time(monkeypatch, chunk):
    """The column norms (CG's preconditioner), squared SQUARES_NNZ non-zeros at
    a time (a column longer than that at once), empty columns included, are
    the dense columns' norms; an operator computes them once for all."""
    monkeypatch.setattr(matrix_free, "SQUARES_NNZ", chunk)
    _, _, X, root, mean, col = operators(True, False)
    X = X.tolil()
    X[:, 3] = 0.0
    X[:, 11] = 0.0
    X = X.tocsc()
    plain = root[:, None] * (X.toarray() - mean) * col
    want = (plain**2).sum(0)
    tol = 64 * EPS * X.shape[0] * np.abs(plain).max() ** 2
    got = matrix_free.Columns(X, root, mean, col).squares()
    np.testing.assert_allclose(got, want, rtol=0, atol=tol)
    op = _sparse_design._operator(X, root, mean, col, None)
    idx = np.array([11, 0, 3, 7])
    np.testing.assert_allclose(op.restrict(idx).squares(), want[idx], rtol=0, atol=tol)
    assert op.restrict().sq is op.restrict().sq  # computed once


@pytest.mark.parametrize("free", [False, True])
def test_support_systems_without_a_copy_of_their_columns(monkeypatch, free):
    """A support holding most of its working set's non-zeros is solved by
    products over the working set's columns (zeros elsewhere) instead of a
    copy of its own: the same system, solved to CG's tolerance either way."""
    op, dense, *_ = operators(True, free)
    n = dense.shape[0]
    W = np.array([0, 2, 3, 5, 8, 9, 11])
    T = np.array([1, 2, 5])  # positions in W
    b = np.full(W.size, 0.1)
    c = dense[:, W].T @ np.random.default_rng(2).normal(size=n) / n
    H = dense[:, W[T]].T @ dense[:, W[T]] / n + np.diag(b[T])
    rhs = c[T]
    tol = 1e-10 * np.abs(rhs).max()
    taken = []
    real_take = matrix_free.Columns.take

    def take(self, loc):
        taken.append(loc.size)
        return real_take(self, loc)

    monkeypatch.setattr(matrix_free.Columns, "take", take)
    sols = []
    for share in (0.0, np.inf):  # always over W's columns; always a copy
        monkeypatch.setattr(matrix_free, "SHARE", share)
        system = matrix_free.MatrixFree(op.restrict(W), c, b, n, tol)
        taken.clear()
        x = system.solve(T, rhs, np.zeros(T.size))
        assert x is not None and np.abs(H @ x - rhs).max() <= 2 * tol
        assert taken == ([] if share == 0.0 else [T.size])
        sols.append(x)
    # both residuals within 2·tol (max norm): the solutions differ by at most
    # ||H⁻¹||₂ times their residuals' difference (2-norm)
    bound = 4 * tol * np.sqrt(T.size) / np.linalg.eigvalsh(H).min()
    assert np.abs(sols[0] - sols[1]).max() <= bound
