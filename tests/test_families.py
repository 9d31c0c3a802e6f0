"""GLM families: binomial, multinomial and Poisson paths.

Every gap is recomputed by the NumPy reference (its own dual point, no JAX), the
objectives are compared with scikit-learn's solvers run to a tight tol, and the
mathematical properties (alpha_max, labels, weights, standardization) are checked.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.linear_model import LogisticRegression, PoissonRegressor
from sklearn.preprocessing import StandardScaler

import jaxreg
from jaxreg import reference as ref
from jaxreg.results import ConvergenceWarning

EPS = np.finfo(np.float64).eps


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y.astype(float)


@pytest.fixture(scope="module")
def counts():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 8))
    y = rng.poisson(np.exp(0.5 + 0.4 * X[:, 0] - 0.3 * X[:, 1]))
    return X, y.astype(float)


def rounding(X, value):
    """What the rounding of an objective of this size over these data can reach:
    n·eps relative (sums of n terms), never less than an ulp of 1."""
    return X.shape[0] * EPS * max(abs(value), 1.0)


def check_certified(X, y, res, family, **kw):
    """Each alpha's gap recomputed by the reference is within the tolerance, and
    equals the one reported."""
    for i, a in enumerate(res.alphas):
        g = ref.glm_duality_gap(
            X, y, res.coefs[i], res.intercepts[i], a, family=family,
            l1_ratio=res.l1_ratio, **kw,
        )  # fmt: skip
        P = ref.glm_objective(
            X, y, res.coefs[i], res.intercepts[i], a, family=family,
            l1_ratio=res.l1_ratio,
            **{k: v for k, v in kw.items() if k != "fit_intercept"},
        )  # fmt: skip
        slack = rounding(X, P)
        assert res.converged[i]
        assert g <= res.gap_tol + slack, (i, g, res.gap_tol)
        assert abs(g - res.gaps[i]) <= slack + 1e-6 * g


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5, 0.0])
def test_binomial_path_is_certified_and_matches_scikit_learn(cancer, l1_ratio):
    X, y = cancer
    n = X.shape[0]
    res = jaxreg.enet_path(
        X, y, l1_ratio=l1_ratio, family="binomial", tol=1e-8, alphas=12
    )
    assert res.family == "binomial" and res.coefs.shape == (12, X.shape[1])
    check_certified(X, y, res, "binomial")
    null = res.gap_tol / 1e-8  # D_null / n
    # (saga takes over 1e5 epochs at the path's small-alpha end)
    for i in (4, 7):
        a = res.alphas[i]
        solver = "lbfgs" if l1_ratio == 0 else "saga"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sk = LogisticRegression(
                C=1 / (a * n), l1_ratio=l1_ratio, solver=solver, tol=1e-12,
                max_iter=100_000,
            ).fit(X, y)  # fmt: skip
        fits = ((res.coefs[i], res.intercepts[i]), (sk.coef_[0], sk.intercept_[0]))
        obj = [
            ref.glm_objective(X, y, w, b, a, family="binomial", l1_ratio=l1_ratio)
            for w, b in fits
        ]
        # never above scikit-learn's by more than the certificate; the two agree
        # within the tol of 1e-6 of the null deviance
        assert obj[0] - obj[1] <= res.gaps[i] + rounding(X, obj[0])
        assert abs(obj[0] - obj[1]) <= 1e-6 * null


def test_multinomial_matches_scikit_learn():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    n = X.shape[0]
    res = jaxreg.enet_path(X, y, l1_ratio=0.5, family="multinomial", tol=1e-8, alphas=8)
    assert res.coefs.shape == (8, 3, 4) and res.intercepts.shape == (8, 3)
    assert res.converged.all()
    assert (res.gaps <= res.gap_tol).all()
    null = res.gap_tol / 1e-8

    def objective(W, b, a):
        eta = X @ W.T + b
        top = eta.max(axis=1, keepdims=True)
        lse = np.log(np.exp(eta - top).sum(axis=1)) + top[:, 0]
        loss = np.mean(lse - eta[np.arange(n), y])
        return loss + a * (0.5 * np.abs(W).sum() + 0.25 * (W * W).sum())

    for i in (3, 7):
        a = res.alphas[i]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sk = LogisticRegression(
                C=1 / (a * n), l1_ratio=0.5, solver="saga", tol=1e-12, max_iter=100_000
            ).fit(X, y)
        mine, theirs = (
            objective(res.coefs[i], res.intercepts[i], a),
            objective(sk.coef_, sk.intercept_, a),
        )
        assert mine - theirs <= res.gaps[i] + rounding(X, mine)
        assert abs(mine - theirs) <= 1e-6 * null
    # the null deviance's share explained grows along the path
    assert np.all(np.diff(res.dev_ratio) >= -1e-8)


def test_multinomial_with_two_classes_is_the_binomial(cancer):
    """With two classes the multinomial lasso is the binomial lasso at the same
    alpha in ``β = w_1 - w_0`` (the cheapest split of β costs ``alpha·|β|``)."""
    X, y = cancer
    X = X[:, :6]
    kw = dict(alphas=[0.05, 0.01], tol=1e-12)
    b = jaxreg.lasso_path(X, y, family="binomial", **kw)
    m = jaxreg.lasso_path(X, y, family="multinomial", **kw)
    # the gap bounds the objective's distance; the curvature at the solution
    # turns it into a distance of coefficients: sqrt(2·gap/λmin) < 1e-4 here
    np.testing.assert_allclose(m.coefs[:, 1] - m.coefs[:, 0], b.coefs, atol=1e-4)
    np.testing.assert_allclose(
        m.intercepts[:, 1] - m.intercepts[:, 0], b.intercepts, atol=1e-4
    )


def test_poisson_matches_poisson_regressor(counts):
    X, y = counts
    res = jaxreg.enet_path(X, y, l1_ratio=0.0, family="poisson", tol=1e-10, alphas=6)
    check_certified(X, y, res, "poisson")
    for i in (0, 3, 5):
        sk = PoissonRegressor(alpha=res.alphas[i], tol=1e-12, max_iter=10_000).fit(X, y)
        obj = [
            ref.glm_objective(X, y, w, b, res.alphas[i], family="poisson", l1_ratio=0)
            for w, b in ((res.coefs[i], res.intercepts[i]), (sk.coef_, sk.intercept_))
        ]
        assert obj[0] - obj[1] <= res.gaps[i] + rounding(X, obj[0])
        assert abs(obj[0] - obj[1]) <= 1e-8 * res.gap_tol / 1e-10


def test_poisson_lasso_path_is_certified(counts):
    X, y = counts
    res = jaxreg.lasso_path(X, y, family="poisson", tol=1e-8, alphas=10)
    check_certified(X, y, res, "poisson")
    assert res.df[0] == 0 and res.df[-1] > 0


def test_alpha_max_and_the_null_intercept(cancer):
    X, y = cancer
    res = jaxreg.lasso_path(X, y, family="binomial", alphas=5, tol=1e-8)
    ybar = y.mean()
    assert res.df[0] == 0
    assert res.intercepts[0] == pytest.approx(np.log(ybar / (1 - ybar)), abs=1e-7)
    # alpha_max is max_j |x_jᵀ(y - ȳ)|/n: just below it a feature enters
    assert res.alpha_max == pytest.approx(np.max(np.abs(X.T @ (y - ybar))) / len(y))
    below = jaxreg.lasso_path(X, y, family="binomial", alphas=[res.alpha_max * 0.98])
    assert below.df[0] >= 1


def test_labels_weights_and_standardize(cancer):
    X, y = cancer
    X = X[:100, :5] * np.arange(1.0, 6.0)  # columns on different scales
    y = y[:100]
    kw = dict(family="binomial", alphas=[0.02, 0.005], tol=1e-10)
    base = jaxreg.lasso_path(X, y, **kw)
    labels = np.where(y > 0, "yes", "no")
    np.testing.assert_allclose(jaxreg.lasso_path(X, labels, **kw).coefs, base.coefs)
    # integer weights are repeated rows
    w = np.random.default_rng(1).integers(1, 4, size=len(y))
    rep = jaxreg.lasso_path(np.repeat(X, w, 0), np.repeat(y, w), **kw)
    wtd = jaxreg.lasso_path(X, y, sample_weight=w, **kw)
    np.testing.assert_allclose(wtd.coefs, rep.coefs, atol=1e-6)
    np.testing.assert_allclose(wtd.intercepts, rep.intercepts, atol=1e-6)
    # standardize: the penalty on the standardized coefficients
    std = jaxreg.lasso_path(X, y, standardize=True, **kw)
    sd = X.std(axis=0)
    Xs = (X - X.mean(0)) / sd
    man = jaxreg.lasso_path(Xs, y, **kw)
    np.testing.assert_allclose(std.coefs * sd, man.coefs, atol=1e-6)
    np.testing.assert_allclose(std.x_scale, sd)


def test_no_intercept_and_an_unpenalized_feature(cancer):
    X, y = cancer
    X, y = X[:200, :6], y[:200]
    res = jaxreg.lasso_path(X, y, family="binomial", fit_intercept=False, tol=1e-8,
                            alphas=6)  # fmt: skip
    assert (res.intercepts == 0).all()
    check_certified(X, y, res, "binomial", fit_intercept=False)
    pf = np.r_[0.0, np.ones(5)]
    free = jaxreg.lasso_path(X, y, family="binomial", penalty_factor=pf, alphas=4)
    assert (free.coefs[0, 1:] == 0).all() and free.coefs[0, 0] != 0
    assert free.converged.all()


@pytest.mark.parametrize("route", ["newton", "fista"])
def test_a_short_budget_is_flagged(monkeypatch, cancer, route):
    """max_iter counts Newton steps (narrow designs) or FISTA steps."""
    from jaxreg import families

    screen = "auto"
    if route == "fista":  # FISTA on all the columns (not on working sets)
        monkeypatch.setattr(families, "NEWTON_MAX_COLUMNS", 0)
        screen = "none"
    X, y = cancer
    steps = 1 if route == "newton" else 10
    with pytest.warns(ConvergenceWarning):
        res = jaxreg.lasso_path(X, y, family="binomial", max_iter=steps, tol=1e-10,
                                screen=screen)  # fmt: skip
    assert not res.converged.all()
    assert (res.gaps[~res.converged] > res.gap_tol).all()


@pytest.mark.parametrize(
    "kwargs, y, match",
    [
        (dict(family="logit"), None, "family must be one of"),
        (dict(family="binomial"), np.arange(10) % 3, "exactly two classes"),
        (dict(family="poisson"), -np.ones(10), "y finite and >= 0"),
        (dict(family="poisson"), np.zeros(10), "some y > 0"),
        (dict(family="binomial", mode="gram"), None, "mode='gram' is not available"),
        (dict(family="multinomial"), np.zeros(10), "at least two classes"),
    ],
)
def test_errors(kwargs, y, match):
    X = np.random.default_rng(0).normal(size=(10, 3))
    y = np.arange(10) % 2 if y is None else y
    with pytest.raises(ValueError, match=match):
        jaxreg.lasso_path(X, y, **kwargs)


def test_unit_deviance_of_certain_predictions():
    """A mean of exactly 0 or 1 (a held-out sample far out) costs nothing where
    it is right and infinitely much where it is wrong; never NaN."""
    from jaxreg.families import unit_deviance

    y = np.array([0.0, 1.0, 0.0, 1.0])
    mu = np.array([0.0, 1.0, 1.0, 0.0])
    np.testing.assert_array_equal(
        unit_deviance("binomial", y, mu), [0, 0, np.inf, np.inf]
    )
    np.testing.assert_array_equal(
        unit_deviance("poisson", np.zeros(1), np.zeros(1)), [0]
    )
    onehot = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    means = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(
        unit_deviance("multinomial", onehot, means), [0, np.inf]
    )


def test_sufficient_stats_are_refused_for_families():
    X = np.random.default_rng(0).normal(size=(20, 5))
    st = jaxreg.sufficient_stats(X, np.arange(20) % 2)
    with pytest.raises(ValueError, match="takes X itself"):
        jaxreg.lasso_path(st, family="binomial")


@pytest.mark.parametrize("scoring", ["deviance", "mse", "misclassification", "auc"])
def test_cv_measures_equal_fold_by_fold_fits(cancer, scoring):
    from sklearn.metrics import roc_auc_score

    X, y = cancer
    X, y = X[:300, :8], y[:300]
    foldid = np.arange(300) % 3
    kw = dict(family="binomial", tol=1e-10)
    res = jaxreg.cv_path(X, y, cv=foldid, alphas=6, scoring=scoring, **kw)
    assert res.measure == scoring and res.mse_path.shape == (6, 3)
    for j in range(3):
        tr, te = foldid != j, foldid == j
        fit = jaxreg.lasso_path(X[tr], y[tr], alphas=res.alphas, **kw)
        eta = X[te] @ fit.coefs.T + fit.intercepts
        mu = 1 / (1 + np.exp(-eta))
        yt = y[te][:, None]
        expected = {
            "deviance": -2 * np.mean(yt * np.log(mu) + (1 - yt) * np.log(1 - mu), 0),
            "mse": np.mean((yt - mu) ** 2, 0),
            "misclassification": np.mean((mu > 0.5) != (yt > 0.5), 0),
            "auc": np.array([roc_auc_score(y[te], m) for m in mu.T]),
        }[scoring]
        # both fits are certified to 1e-10 of the null deviance: the predictions
        # agree to about sqrt of that
        np.testing.assert_allclose(res.mse_path[:, j], expected, atol=1e-4)
    best = np.argmax(res.mse_mean) if scoring == "auc" else np.argmin(res.mse_mean)
    assert res.index_min == best
    assert res.index_1se <= res.index_min


def test_cv_multinomial_and_poisson(counts):
    X, y = load_iris(return_X_y=True)  # sorted by class
    with pytest.raises(ValueError, match="class 0 has no sample .* cv fold 0"):
        jaxreg.cv_path(X, y, family="multinomial", cv=3)
    res = jaxreg.cv_path(X, y, family="multinomial", cv=np.arange(150) % 3, alphas=8,
                         l1_ratio=0.5, scoring="misclassification")  # fmt: skip
    assert res.path.coefs.shape == (8, 3, 4)
    assert res.mse_path.shape == (8, 3) and (res.mse_path <= 1).all()
    assert res.fold_converged.all()
    Xp, yp = counts
    res = jaxreg.cv_path(Xp, yp, family="poisson", cv=4, alphas=8)
    assert res.measure == "deviance" and np.isfinite(res.mse_mean).all()
    assert res.mse_mean[res.index_min] < res.mse_mean[0]
    with pytest.raises(ValueError, match="scoring must be one of"):
        jaxreg.cv_path(Xp, yp, family="poisson", scoring="auc")


def test_unpenalized_multinomial_feature_and_positive_binomial(cancer):
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    pf = np.array([0.0, 1.0, 1.0, 1.0])
    res = jaxreg.lasso_path(X, y, family="multinomial", penalty_factor=pf, alphas=5,
                            tol=1e-8)  # fmt: skip
    assert res.converged.all()
    assert (res.coefs[0, :, 0] != 0).any() and (res.coefs[0, :, 1:] == 0).all()
    Xc, yc = cancer
    pos = jaxreg.lasso_path(Xc[:, :8], 1 - yc, family="binomial", positive=True,
                            alphas=6, tol=1e-8)  # fmt: skip
    assert pos.converged.all() and (pos.coefs >= 0).all() and pos.df[-1] > 0


def test_glm_cv_fold_counts_and_grid_sizes_share_the_compiled_solver(monkeypatch):
    """A small binomial CV with 4 and 5 folds (6 members both) and 35 and 40
    alphas (48 levels both) runs one compiled solver; the padding changes no
    number."""
    from jaxreg import engine, families

    rng = np.random.default_rng(11)
    X = rng.normal(size=(57, 5))  # a shape of its own
    y = (X[:, 0] - X[:, 1] + rng.normal(size=57) > 0).astype(float)
    kw = dict(family="binomial", strategy="hybrid", tol=1e-8)
    four = jaxreg.cv_path(X, y, cv=4, alphas=35, **kw)
    size = families._solve_members._cache_size()
    five = jaxreg.cv_path(X, y, cv=5, alphas=40, **kw)
    assert families._solve_members._cache_size() == size
    assert four.mse_path.shape == (35, 4) and five.mse_path.shape == (40, 5)
    monkeypatch.setattr(engine, "padded_members", lambda F, *args: F)
    plain = jaxreg.cv_path(X, y, cv=4, alphas=35, **kw)
    np.testing.assert_array_equal(plain.fold_n_iter, four.fold_n_iter)
    np.testing.assert_allclose(plain.mse_path, four.mse_path, rtol=1e-12)


@pytest.mark.parametrize(
    "family,l1_ratio,extra",
    [
        ("binomial", 1.0, {}),
        ("binomial", 0.5, dict(penalty_factor="free0")),
        ("binomial", 1.0, dict(positive=True)),
        ("binomial", 0.0, dict(fit_intercept=False)),
        ("poisson", 1.0, {}),
        ("poisson", 0.5, dict(sample_weight="ints")),
    ],
)
def test_newton_and_fista_give_the_same_certified_paths(
    monkeypatch, cancer, counts, family, l1_ratio, extra
):
    """The proximal Newton route (narrow designs) and the FISTA route solve the
    same problems: every gap recomputed by the reference within tol, and the
    two objectives within the sum of their certified gaps."""
    from jaxreg import families

    X, y = cancer if family == "binomial" else counts
    X, y = X[:300, :8], y[:300]
    if extra.get("penalty_factor") == "free0":
        extra = dict(penalty_factor=np.r_[0.0, np.ones(X.shape[1] - 1)])
    if extra.get("sample_weight") == "ints":
        extra = dict(sample_weight=np.random.default_rng(2).integers(1, 4, len(y)))
    if extra.get("positive"):
        y = 1 - y  # most features then enter with a negative sign, held at 0
    kw = dict(family=family, l1_ratio=l1_ratio, alphas=8, tol=1e-9, **extra)
    if l1_ratio == 0.0:
        kw["alphas"] = np.geomspace(1.0, 1e-3, 8)
    assert families.NEWTON_MAX_COLUMNS >= X.shape[1] + 1
    newton = jaxreg.enet_path(X, y, **kw)
    monkeypatch.setattr(families, "NEWTON_MAX_COLUMNS", 0)
    fista = jaxreg.enet_path(X, y, screen="none", **kw)  # on all the columns
    gkw = {k: v for k, v in extra.items() if k != "positive"}
    # the reference's dual point has no room for an unpenalized feature's
    # rounding (its gap is then infinite): jaxreg's own certificates stand there
    independent = not extra.get("positive") and "penalty_factor" not in extra
    for res in (newton, fista):
        assert res.converged.all()
        if independent:
            check_certified(X, y, res, family, **gkw)
    if extra.get("positive"):
        assert (newton.coefs >= 0).all() and newton.df[-1] > 0
    okw = {k: v for k, v in gkw.items() if k != "fit_intercept"}
    for i, a in enumerate(newton.alphas):
        obj = [
            ref.glm_objective(
                X,
                y,
                r.coefs[i],
                r.intercepts[i],
                a,
                family=family,
                l1_ratio=l1_ratio,
                **okw,
            )  # fmt: skip
            for r in (newton, fista)
        ]
        slack = rounding(X, obj[0])
        assert abs(obj[0] - obj[1]) <= newton.gaps[i] + fista.gaps[i] + slack
    # far fewer steps: a Newton step per member where FISTA takes hundreds
    assert newton.n_iter.sum() < fista.n_iter.sum()


def test_newton_needs_no_lipschitz_constant_for_a_steep_poisson():
    """Counts spanning four decades (η up to ~9): the Poisson has no global
    Lipschitz constant and Newton's line search keeps every step a descent."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, 4))
    y = rng.poisson(np.exp(1.0 + 1.5 * X[:, 0])).astype(float)
    res = jaxreg.lasso_path(X, y, family="poisson", alphas=10, tol=1e-10)
    check_certified(X, y, res, "poisson")
    assert res.df[-1] >= 1


@pytest.mark.parametrize("family", ["binomial", "poisson"])
@pytest.mark.parametrize("route", ["newton", "fista"])
def test_an_unpenalized_feature_keeps_the_gap_an_upper_bound(
    monkeypatch, cancer, counts, family, route
):
    """An unpenalized, unbounded feature needs its correlation with the dual
    point to vanish, as the intercept's: the dual point is projected so. Each
    loose solution's gap bounds its distance to a tight solution's objective,
    and no gap is negative."""
    from jaxreg import families

    kw = {}
    if route == "fista":  # on all the columns (not on working sets)
        monkeypatch.setattr(families, "NEWTON_MAX_COLUMNS", 0)
        kw = dict(screen="none")
    X, y = cancer if family == "binomial" else counts
    X, y = X[:250, :6], y[:250]
    pf = np.r_[0.0, 0.0, np.ones(X.shape[1] - 2)]
    kw.update(family=family, penalty_factor=pf, l1_ratio=0.7, alphas=6)
    loose = jaxreg.enet_path(X, y, tol=1e-3, **kw)
    tight = jaxreg.enet_path(X, y, tol=1e-12, alphas=loose.alphas, **{
        k: v for k, v in kw.items() if k != "alphas"})  # fmt: skip
    assert loose.converged.all() and tight.converged.all()
    assert np.isfinite(loose.gaps).all()
    for i, a in enumerate(loose.alphas):
        obj = [
            ref.glm_objective(
                X,
                y,
                r.coefs[i],
                r.intercepts[i],
                a,
                family=family,
                l1_ratio=0.7,
                penalty_factor=pf,
            )  # fmt: skip
            for r in (loose, tight)
        ]
        slack = rounding(X, obj[0])
        assert loose.gaps[i] >= -slack and tight.gaps[i] >= -slack
        assert obj[0] - obj[1] <= loose.gaps[i] + slack, (i, obj, loose.gaps[i])


def test_multinomial_unpenalized_feature_keeps_the_gap_an_upper_bound():
    """The multinomial's dual point with an unpenalized feature: each row scaled
    whole (so it stays on the simplex) to zero every class's correlation with
    the feature and the intercept; loose gaps bound the distance to a tight
    solution's objective and none is negative."""
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    n = X.shape[0]
    pf = np.array([0.0, 1.0, 1.0, 1.0])
    kw = dict(family="multinomial", penalty_factor=pf, l1_ratio=0.8)
    loose = jaxreg.enet_path(X, y, tol=1e-3, alphas=6, **kw)
    tight = jaxreg.enet_path(X, y, tol=1e-12, alphas=loose.alphas, **kw)
    assert loose.converged.all() and tight.converged.all()

    def objective(W, b, a):
        eta = X @ W.T + b
        top = eta.max(axis=1, keepdims=True)
        lse = np.log(np.exp(eta - top).sum(axis=1)) + top[:, 0]
        loss = np.mean(lse - eta[np.arange(n), y])
        return loss + a * np.sum(pf * (0.8 * np.abs(W) + 0.1 * W * W))

    for i, a in enumerate(loose.alphas):
        obj = [objective(r.coefs[i], r.intercepts[i], a) for r in (loose, tight)]
        slack = rounding(X, obj[0])
        assert loose.gaps[i] >= -slack and tight.gaps[i] >= -slack, i
        assert obj[0] - obj[1] <= loose.gaps[i] + slack, (i, obj, loose.gaps[i])
