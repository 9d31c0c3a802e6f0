"""lasso_path / enet_path against scikit-learn and against the maths."""

import numpy as np
import pytest
from conftest import centred_yy, enet_objective, make_data
from sklearn.linear_model import enet_path as sk_enet_path

import jaxreg

TOL = 1e-13  # coefficient error scales like sqrt(gap): compare at a tight tol


def sk_path(X, y, alphas, l1_ratio, fit_intercept=True, positive=False):
    """scikit-learn's enet_path with the intercept handled by centring."""
    if fit_intercept:
        xm, ym = X.mean(0), y.mean()
    else:
        xm, ym = np.zeros(X.shape[1]), 0.0
    _, coefs, _ = sk_enet_path(
        X - xm,
        y - ym,
        l1_ratio=l1_ratio,
        alphas=alphas,
        tol=1e-14,
        max_iter=200_000,
        positive=positive,
    )
    coefs = coefs.T
    return coefs, ym - coefs @ xm


def objectives(X, y, path, **kw):
    return np.array(
        [
            enet_objective(X, y, w, b, a, path.l1_ratio, **kw)
            for w, b, a in zip(path.coefs, path.intercepts, path.alphas, strict=False)
        ]
    )


@pytest.mark.parametrize("data", ["tall", "wide", "correlated"])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_matches_sklearn(request, data, l1_ratio, fit_intercept):
    X, y = request.getfixturevalue(data)
    path = jaxreg.enet_path(
        X,
        y,
        l1_ratio=l1_ratio,
        alphas=20,
        eps=1e-2,
        tol=TOL,
        fit_intercept=fit_intercept,
    )
    assert path.converged.all()
    yy = centred_yy(y) if fit_intercept else np.mean(y * y)
    assert (path.gaps <= TOL * yy).all()
    sk_coefs, sk_icpt = sk_path(X, y, path.alphas, l1_ratio, fit_intercept)
    ours = objectives(X, y, path)
    theirs = np.array(
        [
            enet_objective(X, y, w, b, a, l1_ratio)
            for w, b, a in zip(sk_coefs, sk_icpt, path.alphas, strict=False)
        ]
    )
    # Optimality first: the objective gap is bounded by the certified duality gap.
    np.testing.assert_array_less(ours - theirs, 10 * TOL * yy + 1e-12)
    if data == "tall":  # coefficients are well determined only when n > p
        np.testing.assert_allclose(path.coefs, sk_coefs, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(path.intercepts, sk_icpt, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode", ["gram", "design"])
@pytest.mark.parametrize(
    "strategy, screen",
    [
        ("parallel", "none"),
        ("hybrid", "none"),
        ("sequential", "none"),
        ("hybrid", "strong"),
        ("sequential", "strong"),
    ],
)
def test_modes_and_strategies_agree(tall, mode, strategy, screen):
    X, y = tall
    path = jaxreg.lasso_path(
        X, y, alphas=15, tol=TOL, mode=mode, strategy=strategy, chunk=4, screen=screen
    )
    assert path.mode == mode and path.strategy == strategy
    ref, _ = sk_path(X, y, path.alphas, 1.0)
    np.testing.assert_allclose(path.coefs, ref, rtol=1e-5, atol=1e-6)


def test_alpha_max_gives_zeros_and_just_below_does_not(tall):
    X, y = tall
    amax = jaxreg.alpha_max(X, y)
    xc, yc = X - X.mean(0), y - y.mean()
    assert amax == pytest.approx(np.max(np.abs(xc.T @ yc)) / len(y), rel=1e-12)
    path = jaxreg.lasso_path(X, y, alphas=[amax, 1.5 * amax, 0.99 * amax], tol=TOL)
    np.testing.assert_array_equal(path.alphas, [1.5 * amax, amax, 0.99 * amax])
    assert (path.coefs[:2] == 0).all()
    assert path.df[2] >= 1
    np.testing.assert_allclose(path.intercepts[:2], y.mean())


def test_grid_is_geometric_from_alpha_max(tall):
    X, y = tall
    path = jaxreg.lasso_path(X, y, alphas=7, eps=1e-2)
    np.testing.assert_allclose(
        path.alphas, np.geomspace(path.alpha_max, 1e-2 * path.alpha_max, 7)
    )
    enet = jaxreg.enet_path(X, y, l1_ratio=0.25, alphas=3)
    assert enet.alpha_max == pytest.approx(4 * path.alpha_max)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.3])
def test_kkt_conditions_hold_at_every_alpha(correlated, l1_ratio):
    X, y = correlated
    path = jaxreg.enet_path(X, y, l1_ratio=l1_ratio, alphas=12, eps=1e-2, tol=1e-12)
    n = len(y)
    Xc = X - X.mean(0)
    for w, b, a in zip(path.coefs, path.intercepts, path.alphas, strict=False):
        r = y - X @ w - b
        assert abs(r.mean()) < 1e-8  # intercept optimal
        q = Xc.T @ r / n - a * (1 - l1_ratio) * w
        on = w != 0
        np.testing.assert_allclose(
            q[on], a * l1_ratio * np.sign(w[on]), atol=1e-5 * a + 1e-8
        )
        assert (np.abs(q[~on]) <= a * l1_ratio * (1 + 1e-5) + 1e-8).all()


def test_small_l1_ratio_approaches_ridge(tall):
    X, y = tall
    n, p = X.shape
    alphas = np.array([1.0, 0.1])
    path = jaxreg.enet_path(X, y, l1_ratio=1e-7, alphas=alphas, tol=1e-12)
    Xc, yc = X - X.mean(0), y - y.mean()
    for w, a in zip(path.coefs, path.alphas, strict=False):
        ridge = np.linalg.solve(Xc.T @ Xc / n + a * np.eye(p), Xc.T @ yc / n)
        np.testing.assert_allclose(w, ridge, rtol=1e-4, atol=1e-5)


def test_tiny_alpha_is_least_squares_and_zero_alpha_exactly(tall):
    X, y = tall
    A = np.column_stack([X, np.ones(len(y))])
    ls = np.linalg.lstsq(A, y, rcond=None)[0]
    path = jaxreg.lasso_path(X, y, alphas=[1e-9, 0.0], tol=1e-14, max_iter=100_000)
    assert path.converged.all()
    for w, b in zip(path.coefs, path.intercepts, strict=False):
        np.testing.assert_allclose(w, ls[:-1], rtol=1e-6, atol=1e-7)
        assert b == pytest.approx(ls[-1], rel=1e-7)
    assert path.n_iter[-1] == 0 and path.gaps[-1] == 0


def test_zero_alpha_on_wide_data_is_minimum_norm(wide):
    X, y = wide
    path = jaxreg.lasso_path(X, y, alphas=[0.0], fit_intercept=False)
    np.testing.assert_allclose(
        path.coefs[0], np.linalg.pinv(X) @ y, rtol=1e-6, atol=1e-8
    )


def test_sample_weight_two_equals_duplicated_row(tall):
    X, y = tall
    w = np.ones(len(y))
    w[:7] = 2.0
    Xd = np.vstack([X, X[:7]])
    yd = np.concatenate([y, y[:7]])
    alphas = jaxreg.lasso_path(Xd, yd, alphas=10, eps=1e-2).alphas
    weighted = jaxreg.enet_path(
        X, y, l1_ratio=0.7, alphas=alphas, sample_weight=w, tol=1e-12
    )
    dup = jaxreg.enet_path(Xd, yd, l1_ratio=0.7, alphas=alphas, tol=1e-12)
    np.testing.assert_allclose(weighted.coefs, dup.coefs, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(weighted.intercepts, dup.intercepts, rtol=1e-8)


def test_scaling_all_weights_changes_nothing(tall):
    X, y = tall
    w = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    a = jaxreg.lasso_path(X, y, alphas=8, sample_weight=w, tol=1e-12)
    b = jaxreg.lasso_path(X, y, alphas=8, sample_weight=7.5 * w, tol=1e-12)
    np.testing.assert_allclose(a.coefs, b.coefs, rtol=1e-8, atol=1e-10)


def test_zero_weight_rows_are_ignored(tall):
    X, y = tall
    w = np.ones(len(y))
    w[-20:] = 0.0
    y_bad = y.copy()
    y_bad[-20:] = 1e6  # would dominate if the weight were not zero
    a = jaxreg.lasso_path(X, y_bad, alphas=6, sample_weight=w, tol=1e-12)
    b = jaxreg.lasso_path(X[:-20], y[:-20], alphas=a.alphas, tol=1e-12)
    np.testing.assert_allclose(a.coefs, b.coefs, rtol=1e-7, atol=1e-9)


def test_standardize_equals_solving_on_standardized_columns(tall):
    X, y = tall
    X = X * np.array([1e-3, 1e3] + [1.0] * (X.shape[1] - 2))
    sd = X.std(axis=0)
    path = jaxreg.enet_path(X, y, l1_ratio=0.8, alphas=10, standardize=True, tol=TOL)
    manual = jaxreg.enet_path(X / sd, y, l1_ratio=0.8, alphas=path.alphas, tol=TOL)
    np.testing.assert_allclose(path.coefs, manual.coefs / sd, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(path.intercepts, manual.intercepts, rtol=1e-8)
    # predictions are what the user sees: they agree on the original X
    np.testing.assert_allclose(
        path.predict(X), manual.predict(X / sd), rtol=1e-6, atol=1e-6
    )


def test_penalty_factor_matches_rescaled_columns(tall):
    # lasso with p_j|w_j| equals the lasso on columns x_j/p_j, with w_j = v_j/p_j
    X, y = tall
    pf = np.linspace(0.5, 2.0, X.shape[1])
    path = jaxreg.lasso_path(X, y, alphas=10, penalty_factor=pf, tol=TOL)
    ref, ref_b = sk_path(X / pf, y, path.alphas, 1.0)
    np.testing.assert_allclose(path.coefs, ref / pf, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(path.intercepts, ref_b, rtol=1e-6)


@pytest.mark.parametrize("mode", ["gram", "design"])
def test_penalty_factor_zero_keeps_feature(correlated, mode):
    X, y = correlated
    pf = np.ones(X.shape[1])
    pf[[3, 7]] = 0.0
    path = jaxreg.lasso_path(X, y, alphas=10, penalty_factor=pf, tol=1e-12, mode=mode)
    assert path.converged.all()
    assert (path.coefs[:, [3, 7]] != 0).all()
    # at alpha_max the penalized block is zero and the free block is least squares
    A = np.column_stack([X[:, [3, 7]], np.ones(len(y))])
    ls = np.linalg.lstsq(A, y, rcond=None)[0]
    np.testing.assert_allclose(path.coefs[0][[3, 7]], ls[:2], rtol=1e-8)
    assert path.df[0] == 2
    # KKT with the free features: their gradient is exactly zero
    n = len(y)
    Xc = X - X.mean(0)
    for w, b, a in zip(path.coefs, path.intercepts, path.alphas, strict=False):
        q = Xc.T @ (y - X @ w - b) / n
        np.testing.assert_allclose(q[[3, 7]], 0.0, atol=1e-8)
        assert (np.abs(q) <= a * (1 + 1e-5) + 1e-9).all()


def test_positive_matches_sklearn(tall):
    X, y = tall
    path = jaxreg.lasso_path(X, y, alphas=10, positive=True, tol=TOL)
    assert (path.coefs >= 0).all()
    ref, ref_b = sk_path(X, y, path.alphas, 1.0, positive=True)
    np.testing.assert_allclose(path.coefs, ref, rtol=1e-5, atol=1e-7)


def test_predict_and_dev_ratio(tall):
    X, y = tall
    path = jaxreg.lasso_path(X, y, alphas=5, tol=TOL)
    pred = path.predict(X)
    assert pred.shape == (len(y), 5)
    rss = ((y[:, None] - pred) ** 2).sum(0)
    tss = ((y - y.mean()) ** 2).sum()
    np.testing.assert_allclose(path.dev_ratio, 1 - rss / tss, rtol=1e-8, atol=1e-10)
    assert path.df.tolist() == (path.coefs != 0).sum(1).tolist()
    assert path.dev_ratio[0] == pytest.approx(0.0, abs=1e-12)


def test_result_fields_are_numpy_float64(tall):
    X, y = tall
    path = jaxreg.lasso_path(X, y, alphas=4)
    for name in ["alphas", "coefs", "intercepts", "gaps", "dev_ratio"]:
        value = getattr(path, name)
        assert type(value) is np.ndarray and value.dtype == np.float64, name
    assert path.converged.dtype == bool and path.n_iter.dtype == np.int64
    assert "4 alphas" in repr(path) and "alpha" in path.summary()


def test_not_converged_is_flagged_and_warned_once():
    # FISTA alone (strategy="auto" would hand its short levels to the support
    # search: test_auto_certifies_the_levels_fista_left_short)
    X, y = make_data(60, 40, rho=0.95, seed=5)
    with pytest.warns(
        jaxreg.ConvergenceWarning, match=r"did not converge.*max_iter=20"
    ) as rec:
        path = jaxreg.lasso_path(
            X, y, alphas=10, tol=1e-12, max_iter=20, strategy="parallel"
        )
    assert len([w for w in rec if w.category is jaxreg.ConvergenceWarning]) == 1
    assert not path.converged.all()
    assert (path.n_iter[~path.converged] >= 20).all()
    yy = centred_yy(y)
    assert (path.gaps[~path.converged] > 1e-12 * yy).all()


def test_constant_y_gives_zero_path():
    X, _ = make_data(30, 5)
    path = jaxreg.lasso_path(X, np.full(30, 4.0), alphas=5)
    assert (path.coefs == 0).all() and path.converged.all()
    np.testing.assert_allclose(path.intercepts, 4.0)


@pytest.mark.parametrize("positive", [False, True])
def test_working_set_gives_the_full_problem_answer(positive):
    # wide enough that the working set starts far below p and must grow
    X, y = make_data(80, 120, rho=0.4, seed=9, n_informative=12)
    pf = np.ones(120)
    pf[5] = 0.0
    kw = dict(
        alphas=20,
        eps=1e-2,
        tol=1e-12,
        strategy="hybrid",
        chunk=5,
        positive=positive,
        penalty_factor=pf,
        lower_limits=-1.0,
    )
    full = jaxreg.lasso_path(X, y, screen="none", **kw)
    screened = jaxreg.lasso_path(X, y, screen="strong", **kw)
    assert screened.converged.all()
    # the gaps are those of the full problem: check them independently
    n = len(y)
    Xc = X - X.mean(0)
    for w, b, a in zip(
        screened.coefs, screened.intercepts, screened.alphas, strict=True
    ):
        q = Xc.T @ (y - X @ w - b) / n
        free = w == 0
        up = q[free & (pf > 0)] <= a * (1 + 1e-6) + 1e-12
        assert up.all()
        if not positive:
            assert (q[free & (pf > 0) & (w == 0)] >= -a * (1 + 1e-6) - 1e-12).all()
    np.testing.assert_allclose(screened.coefs, full.coefs, rtol=1e-5, atol=1e-7)


def test_unpenalized_bounded_feature_is_certified():
    # penalty_factor 0 with one finite limit: at the optimum its gradient is 0 up to
    # rounding, and the sign of that rounding must not block the certificate (this
    # configuration once stalled at gap 4.1 in the batched multi-target solve)
    from jaxreg import reference
    from jaxreg.cv import multi_target_path

    X, y = make_data(64, 8, rho=0.3, seed=11)
    kw = dict(
        l1_ratio=0.8,
        standardize=True,
        upper_limits=0.5,
        penalty_factor=[0, 1, 1, 2, 1, 1, 0.5, 1],
    )
    res = multi_target_path(X, y, alphas=8, tol=1e-10, **kw)
    assert res.converged.all()
    path = jaxreg.enet_path(X, y, alphas=8, tol=1e-10, **kw)
    assert path.converged.all()
    for w, b, a in zip(path.coefs, path.intercepts, path.alphas, strict=False):
        gap = reference.duality_gap(X, y, w, b, a, **kw)
        assert gap <= 1.05 * path.gap_tol


@pytest.mark.parametrize("shape", [(200, 30), (300, 150)])
def test_same_input_gives_bit_identical_results(shape):
    # The host step size used ARPACK's random start beyond 64 features, so two
    # calls on the same data could differ in the last digits.
    X, y = make_data(*shape, rho=0.6, seed=9)
    a = jaxreg.lasso_path(X, y, alphas=20, tol=1e-5)
    b = jaxreg.lasso_path(X, y, alphas=20, tol=1e-5)
    assert np.array_equal(a.coefs, b.coefs) and np.array_equal(a.gaps, b.gaps)
    assert np.array_equal(a.n_iter, b.n_iter)


def test_host_step_size_is_deterministic():
    from jaxreg import datafits

    X, _ = make_data(300, 150, rho=0.6, seed=9)
    G = X.T @ X / 300
    values = {datafits.host_lipschitz(G, True) for _ in range(5)}
    assert len(values) == 1


def test_grid_sizes_in_one_bucket_share_the_compiled_solver():
    """A new number of alphas in the same bucket (70 and 90 are both solved as
    96) reuses the compiled path solver; the results keep their own length."""
    from jaxreg import batch, engine

    assert engine.padded_count(70, 8) == engine.padded_count(90, 8) == 96
    assert engine.padded_count(5, 5) == 5  # short grids are not padded
    # one batch of every level on the CPU: each padded level would cost its
    # flops (it was solved as 200 levels for 100 alphas)
    assert engine.padded_count(100, 100) == 100
    assert engine.padded_count(100, 128) == 128  # an accelerator's bucket
    rng = np.random.default_rng(7)
    X, y = rng.normal(size=(41, 7)), rng.normal(size=41)  # a shape of its own
    first = jaxreg.lasso_path(X, y, alphas=70, strategy="hybrid", screen="none")
    size = batch.solve_paths._cache_size()
    second = jaxreg.lasso_path(X, y, alphas=90, strategy="hybrid", screen="none")
    assert batch.solve_paths._cache_size() == size
    assert first.coefs.shape == (70, 7) and second.coefs.shape == (90, 7)
    assert first.converged.all() and second.converged.all()


def test_fold_counts_in_one_bucket_share_the_compiled_solver(monkeypatch):
    """4 and 5 folds (5 and 6 members) are both solved as 6 members on a small
    problem: one compiled solver, and the padding changes no number."""
    from jaxreg import batch, engine

    assert engine.padded_members(5, 4, "cpu", True) == 6
    assert engine.padded_members(11, 10, "gpu", False) == 12
    assert engine.padded_members(5, 4, "cpu", False) == 5  # flops are time
    assert engine.padded_members(1, 0, "gpu", True) == 1  # a path: one member
    rng = np.random.default_rng(8)
    X, y = rng.normal(size=(43, 7)), rng.normal(size=43)  # a shape of its own
    kw = dict(alphas=20, strategy="hybrid", screen="none")
    four = jaxreg.cv_path(X, y, cv=4, **kw)
    size = batch.solve_paths._cache_size()
    five = jaxreg.cv_path(X, y, cv=5, **kw)
    assert batch.solve_paths._cache_size() == size
    assert four.mse_path.shape == (20, 4) and five.mse_path.shape == (20, 5)
    monkeypatch.setattr(engine, "padded_members", lambda F, *args: F)
    plain = jaxreg.cv_path(X, y, cv=4, **kw)
    # the members are independent in the batch: the same iterations, the same numbers
    np.testing.assert_array_equal(plain.fold_n_iter, four.fold_n_iter)
    np.testing.assert_allclose(plain.mse_path, four.mse_path, rtol=1e-12)
    np.testing.assert_allclose(plain.path.coefs, four.path.coefs, rtol=1e-12, atol=0)


def test_coef_init_changes_iterations_not_solutions():
    X, y = make_data(150, 20, seed=4)
    ref = jaxreg.lasso_path(X, y, alphas=[0.1], tol=1e-10, standardize=True)
    near = jaxreg.lasso_path(X, y, alphas=[0.1], tol=1e-10, standardize=True,
                             coef_init=ref.coefs[0] * 0.99)  # fmt: skip
    there = jaxreg.lasso_path(X, y, alphas=[0.1], tol=1e-10, standardize=True,
                              coef_init=ref.coefs[0])  # fmt: skip
    assert there.n_iter[0] == 0 and near.n_iter[0] <= ref.n_iter[0]
    for res in (near, there):
        P = [enet_objective(X, y, r.coefs[0], r.intercepts[0], 0.1, 1.0)
             for r in (res, ref)]  # fmt: skip
        assert abs(P[0] - P[1]) <= res.gaps[0] + ref.gaps[0]
    pf = np.ones(20)
    pf[3] = np.inf  # an excluded feature drops out of coef_init too
    ex = jaxreg.lasso_path(X, y, alphas=[0.1], penalty_factor=pf,
                           coef_init=ref.coefs[0])  # fmt: skip
    assert ex.coefs[0, 3] == 0
    with pytest.raises(ValueError, match=r"coef_init must have shape \(20,\)"):
        jaxreg.lasso_path(X, y, alphas=[0.1], coef_init=np.zeros(3))

    # a GLM family starts there too (the intercept at the null fit's)
    yb = (y > y.mean()).astype(float)
    glm = jaxreg.lasso_path(X, yb, family="binomial", alphas=[0.02], tol=1e-8)
    again = jaxreg.lasso_path(X, yb, family="binomial", alphas=[0.02], tol=1e-8,
                              coef_init=glm.coefs[0])  # fmt: skip
    assert again.n_iter[0] < glm.n_iter[0] and again.converged.all()
    # both certified: their objectives within the two gaps
    P = [
        jaxreg.reference.glm_objective(
            X, yb, r.coefs[0], r.intercepts[0], 0.02, family="binomial"
        )
        for r in (glm, again)
    ]
    assert abs(P[0] - P[1]) <= glm.gaps[0] + again.gaps[0]
    with pytest.raises(ValueError, match=r"coef_init must be finite, of shape"):
        jaxreg.lasso_path(X, yb, family="binomial", coef_init=np.zeros(3))
