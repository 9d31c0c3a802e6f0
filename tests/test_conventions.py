"""glmnet's (lambda, alpha) mapped onto jaxreg's (alpha, l1_ratio), and
coefficients / predictions at any alpha."""

import numpy as np
import pytest

import jaxreg
from jaxreg import reference as ref


def test_from_glmnet_solves_glmnets_problem():
    """glmnet solves the elastic net on y/σ at λ/σ and scales back by σ; the
    converted parameters give the same coefficients on y itself."""
    X, y, _ = ref.make_glmnet_design(80, 6, rho=0.3, seed=3)
    y = 7.0 * y + 2.0
    sd = y.std()
    lam, r = np.array([0.5, 0.1]), 0.4
    glmnet_way = jaxreg.enet_path(X, y / sd, alphas=lam / sd, l1_ratio=r, tol=1e-12)
    a, r2 = jaxreg.from_glmnet(lam, r, y=y)
    ours = jaxreg.enet_path(X, y, alphas=a, l1_ratio=r2, tol=1e-12)
    # both certified at 1e-12 of ||y - ȳ||²/n: coefficients agree to ~1e-6·σ
    np.testing.assert_allclose(ours.coefs, sd * glmnet_way.coefs, atol=1e-6 * sd)
    # the lasso and the other families need no conversion
    assert jaxreg.from_glmnet(0.3, 1.0, y=y) == (0.3, 1.0)
    assert jaxreg.from_glmnet(0.3, 0.5, family="binomial") == (0.3, 0.5)


def test_from_glmnet_against_python_glmnet():
    """With python-glmnet installed (it needs a Fortran compiler to build): its
    ElasticNet at (λ, alpha) and jaxreg at from_glmnet(λ, alpha) agree."""
    glmnet = pytest.importorskip("glmnet")
    X, y, _ = ref.make_glmnet_design(100, 6, rho=0.3, seed=5)
    y = 5.0 * y + 1.0
    r = 0.5
    m = glmnet.ElasticNet(alpha=r, n_lambda=10, standardize=False, tol=1e-12,
                          n_splits=0).fit(X, y)  # fmt: skip
    lam = np.asarray(m.lambda_path_)
    a, r2 = jaxreg.from_glmnet(lam, r, y=y)
    ours = jaxreg.enet_path(X, y, alphas=a, l1_ratio=r2, tol=1e-12)
    # glmnet's own convergence is on the coefficients' change (thresh 1e-12 of
    # the null deviance's scale): compare within its scale
    np.testing.assert_allclose(ours.coefs, np.asarray(m.coef_path_).T,
                               atol=1e-5 * y.std())  # fmt: skip


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(lambda_=-1.0, y=[1.0, 2.0]), "lambda_ must be finite"),
        (dict(lambda_=1.0, alpha=2.0, y=[1.0, 2.0]), "must be in"),
        (dict(lambda_=1.0, alpha=0.5), "y is required"),
        (dict(lambda_=1.0, alpha=0.5, y=[2.0, 2.0]), "y is constant"),
    ],
)
def test_from_glmnet_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        jaxreg.from_glmnet(**kwargs)


def test_coef_at_interpolates_in_log_alpha():
    X, y, _ = ref.make_glmnet_design(60, 5, seed=1)
    res = jaxreg.lasso_path(X, y, alphas=8)
    a = res.alphas
    np.testing.assert_array_equal(res.coef_at(a[3]), res.coefs[3])
    mid = np.sqrt(a[3] * a[4])  # halfway in log α
    np.testing.assert_allclose(res.coef_at(mid), 0.5 * (res.coefs[3] + res.coefs[4]))
    np.testing.assert_allclose(
        res.intercept_at(mid), 0.5 * (res.intercepts[3] + res.intercepts[4])
    )
    # beyond the grid: its end solutions
    np.testing.assert_array_equal(res.coef_at(10 * a[0]), res.coefs[0])
    np.testing.assert_array_equal(res.coef_at(a[-1] / 10), res.coefs[-1])
    many = res.coef_at([a[1], mid])
    assert many.shape == (2, 5)
    pred = res.predict(X, alpha=[a[1], mid])
    assert pred.shape == (60, 2)
    np.testing.assert_allclose(pred[:, 1], X @ many[1] + res.intercept_at(mid))
    np.testing.assert_allclose(res.predict(X, alpha=a[2]), res.predict(X)[:, 2])
    with pytest.raises(ValueError, match="alpha must be finite"):
        res.coef_at(-1.0)


def test_cv_result_at_min_and_1se():
    X, y, _ = ref.make_glmnet_design(80, 5, seed=2)
    cv = jaxreg.cv_path(X, y, cv=4, alphas=10)
    np.testing.assert_array_equal(cv.coef_at(), cv.coef_min)
    np.testing.assert_array_equal(cv.coef_at("1se"), cv.coef_1se)
    np.testing.assert_allclose(
        cv.predict(X, "1se"), X @ cv.coef_1se + cv.path.intercepts[cv.index_1se]
    )
    with pytest.raises(ValueError, match="'min', '1se' or a number"):
        cv.coef_at("max")


def test_multitarget_coef_at():
    X, y, _ = ref.make_glmnet_design(50, 4, seed=4)
    res = jaxreg.multi_target_path(X, np.column_stack([y, -y]), alphas=5)
    assert res.coef_at(res.alphas[2]).shape == (2, 4)
    assert res.predict(X, alpha=res.alphas[2]).shape == (50, 2)


def test_compilation_cache_folder(tmp_path):
    """The persistent compilation cache: a per-user folder by default, a given
    folder, or off; never over the user's own setting."""
    import os
    import subprocess
    import sys

    from jaxreg._config import cache_folder

    home = {"XDG_CACHE_HOME": "/c"}
    assert cache_folder(home, None) == os.path.join("/c", "jaxreg", "jax")
    assert cache_folder(dict(home, JAXREG_COMPILATION_CACHE="0"), None) is None
    assert cache_folder(dict(home, JAXREG_COMPILATION_CACHE="/m"), None) == "/m"
    assert cache_folder(home, "/theirs") == "/theirs"
    assert cache_folder(dict(home, JAXREG_COMPILATION_CACHE="off"), "/t") is None
    # end to end, in a fresh process: JAX's setting is the folder, created
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path))
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    env.pop("JAXREG_COMPILATION_CACHE", None)
    code = (
        "import jax; from jaxreg import _config; _config.compilation_cache(); "
        "print(jax.config.jax_compilation_cache_dir)"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.strip()  # fmt: skip
    assert out == str(tmp_path / "jaxreg" / "jax")
    assert (tmp_path / "jaxreg" / "jax").is_dir()


def test_eps_glmnet_is_glmnets_default():
    X, y, _ = ref.make_glmnet_design(60, 5, seed=5)
    res = jaxreg.lasso_path(X, y, alphas=4, eps="glmnet")
    assert res.alphas[-1] / res.alphas[0] == pytest.approx(1e-4)
    wide = jaxreg.lasso_path(X[:4], y[:4], alphas=4, eps="glmnet")
    assert wide.alphas[-1] / wide.alphas[0] == pytest.approx(1e-2)
    with pytest.raises(TypeError, match="or 'glmnet'"):
        jaxreg.lasso_path(X, y, eps="glm")


def test_sorted_rows_shuffle_and_the_grid_end():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    y = X @ np.array([1.0, -1.0, 0.5, 0.0]) + 0.1 * rng.normal(size=120)
    order = np.argsort(y)
    Xs, ys = X[order], y[order]
    with pytest.warns(UserWarning, match="rows look sorted"):
        jaxreg.cv_path(Xs, ys, cv=4, alphas=10)
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        a = jaxreg.cv_path(Xs, ys, cv=4, alphas=[1.0, 0.1, 0.01], shuffle=True, seed=3)
    assert not [w for w in caught if "sorted" in str(w.message)]
    b = jaxreg.cv_path(Xs, ys, cv=4, alphas=[1.0, 0.1, 0.01], shuffle=True, seed=3)
    np.testing.assert_array_equal(a.mse_path, b.mse_path)  # the seed fixes the folds
    # nearly noiseless data: the error falls to the grid's end
    with pytest.warns(UserWarning, match="grid's smallest alpha"):
        jaxreg.cv_path(X, y, cv=4, alphas=5, eps=0.1, shuffle=True, seed=0)
    with pytest.raises(ValueError, match="integer cv"):
        jaxreg.cv_path(X, y, cv=np.arange(120) % 3, shuffle=True)


def test_ridge_solver_and_precompute():
    from sklearn.utils.validation import check_random_state

    rng = check_random_state(0)
    X, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    assert jaxreg.Ridge().fit(X, y).solver_ == "cholesky"
    assert jaxreg.Ridge(solver="svd").fit(X, y).solver_ == "svd"
    Xc = X - X.mean(axis=0)
    for gram in (X.T @ X, Xc.T @ Xc):
        fit = jaxreg.Lasso(alpha=0.1, precompute=gram).fit(X, y)
        np.testing.assert_allclose(fit.coef_, jaxreg.Lasso(alpha=0.1).fit(X, y).coef_)
    with pytest.raises(ValueError, match="precompute does not match X"):
        jaxreg.Lasso(alpha=0.1, precompute=2.0 * X.T @ X).fit(X, y)


def test_dataframe_names_are_carried():
    pd = pytest.importorskip("pandas")
    X, y, _ = ref.make_glmnet_design(40, 3, seed=6)
    df = pd.DataFrame(X, columns=["age", "bmi", "bp"])
    res = jaxreg.lasso_path(df, y, alphas=4)
    assert list(res.feature_names) == ["age", "bmi", "bp"]
    cv = jaxreg.cv_path(df, y, cv=3, alphas=4)
    assert list(cv.path.feature_names) == ["age", "bmi", "bp"]
    assert jaxreg.lasso_path(X, y, alphas=4).feature_names is None
    fam = jaxreg.lasso_path(df, y > np.median(y), family="binomial", alphas=3)
    assert list(fam.feature_names) == ["age", "bmi", "bp"]


def test_summary_names_the_features_that_enter_and_leave():
    pd = pytest.importorskip("pandas")
    X, y, _ = ref.make_glmnet_design(60, 4, seed=6)
    df = pd.DataFrame(X, columns=["age", "bmi", "bp", "s1"])
    res = jaxreg.lasso_path(df, y, alphas=12)
    lines = res.summary(max_rows=12).splitlines()
    assert lines[0].endswith("features")
    entered = " ".join(lines[1:])
    nz = (res.coefs != 0).any(axis=0)
    for name, on in zip(df.columns, nz, strict=True):
        assert (f"+{name}" in entered) == bool(on)
    # a feature's "+" is on the first row where it is non-zero
    for i, line in enumerate(lines[1:]):
        new = set(np.flatnonzero(res.coefs[i] != 0)) - set(
            np.flatnonzero(res.coefs[i - 1] != 0) if i else []
        )
        assert {w[1:] for w in line.split() if w.startswith("+")} == {
            df.columns[j] for j in new
        }
    cv = jaxreg.cv_path(df, y, cv=3, alphas=6)
    assert "+" in cv.summary() and "features" in cv.summary().splitlines()[0]
    assert "features" not in jaxreg.lasso_path(X, y, alphas=4).summary()


def _same(a, b):
    import dataclasses

    assert type(a) is type(b)
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if dataclasses.is_dataclass(x):
            _same(x, y)
        elif isinstance(x, np.ndarray):
            np.testing.assert_array_equal(
                np.asarray(x, str if x.dtype == object else None), y
            )
        elif isinstance(x, float) and np.isnan(x):
            assert np.isnan(y)
        else:
            assert x == y, f.name


def test_save_and_load_round_trip(tmp_path):
    pd = pytest.importorskip("pandas")
    X, y, _ = ref.make_glmnet_design(40, 3, seed=7)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    path = jaxreg.lasso_path(df, y, alphas=4, standardize=True)
    cv = jaxreg.cv_path(X, y, cv=3, alphas=4)
    multi = jaxreg.multi_target_path(X, np.column_stack([y, 2 * y]), alphas=3)
    fam = jaxreg.lasso_path(X, y > 0, family="binomial", alphas=3)
    for i, res in enumerate((path, cv, multi, fam)):
        written = res.save(tmp_path / f"r{i}")
        assert written.endswith(".npz")
        _same(res, jaxreg.load(written))
    with pytest.raises(FileExistsError, match="overwrite=True"):
        path.save(tmp_path / "r0.npz")
    path.save(tmp_path / "r0.npz", overwrite=True)
    frame = path.to_frame()
    assert list(frame.columns[-3:]) == ["a", "b", "c"] and len(frame) == 4
    assert list(cv.to_frame().columns) == ["alpha", "df", "mse", "se"]
    np.savez(tmp_path / "other.npz", x=np.zeros(2))
    with pytest.raises(ValueError, match="not a jaxreg result"):
        jaxreg.load(tmp_path / "other.npz")


def test_penalty_factor_inf_excludes_a_feature():
    X, y, _ = ref.make_glmnet_design(60, 5, seed=8)
    pf = np.array([1.0, np.inf, 1.0, 0.5, 1.0])
    res = jaxreg.lasso_path(X, y, alphas=6, penalty_factor=pf, standardize=True)
    keep = np.isfinite(pf)
    alone = jaxreg.lasso_path(X[:, keep], y, alphas=res.alphas,
                              penalty_factor=pf[keep], standardize=True)  # fmt: skip
    assert (res.coefs[:, 1] == 0).all() and res.coefs.shape == (6, 5)
    np.testing.assert_array_equal(res.coefs[:, keep], alone.coefs)
    assert np.isnan(res.x_scale[1])
    cv = jaxreg.cv_path(X, y, cv=3, alphas=4, penalty_factor=pf)
    assert (cv.path.coefs[:, 1] == 0).all()
    with pytest.raises(ValueError, match="inf for every feature"):
        jaxreg.lasso_path(X, y, penalty_factor=np.full(5, np.inf))
    with pytest.raises(ValueError, match="needs X itself"):
        jaxreg.lasso_path(jaxreg.sufficient_stats(X, y), penalty_factor=pf)


def test_coef_at_exact_solves_at_the_alpha():
    X, y, _ = ref.make_glmnet_design(80, 6, seed=11)
    sw = np.random.default_rng(0).uniform(0.5, 2.0, 80)
    path = jaxreg.enet_path(X, y, l1_ratio=0.5, alphas=10, tol=1e-10,
                            standardize=True, sample_weight=sw)  # fmt: skip
    a = np.array([path.alphas[7] * 0.6, path.alphas[3]])  # off the grid, on it
    coef = path.coef_at(a, exact=True, X=X, y=y, sample_weight=sw)
    b = path.intercept_at(a[0], exact=True, X=X, y=y, sample_weight=sw)
    # on the grid: the path's own solution (same problem, same solver)
    np.testing.assert_allclose(coef[1], path.coefs[3], rtol=1e-9, atol=1e-12)
    # off the grid: the reference's solution at that alpha, within the gaps
    r = ref.enet_path(X, y, alphas=[a[0]], l1_ratio=0.5, tol=1e-12,
                      standardize=True, sample_weight=sw)  # fmt: skip
    P = [
        ref.objective(X, y, c, bb, a[0], l1_ratio=0.5, standardize=True,
                      sample_weight=sw)
        for c, bb in ((coef[0], b), (r["coefs"][0], r["intercepts"][0]))
    ]  # fmt: skip
    assert abs(P[0] - P[1]) <= path.gap_tol + abs(r["gaps"][0])
    # interpolation differs from the exact solution off the grid
    assert not np.allclose(path.coef_at(a[0]), coef[0], rtol=1e-6)
    ridge = jaxreg.ridge_path(X, y, alphas=5)
    np.testing.assert_allclose(
        ridge.coef_at(ridge.alphas[2], exact=True, X=X, y=y), ridge.coefs[2],
        rtol=1e-10,
    )  # fmt: skip
    with pytest.raises(TypeError, match="give the data"):
        path.coef_at(0.1, exact=True)
