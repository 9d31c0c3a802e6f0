"""jaxreg.functional.enet_coef: the same solutions as enet_path, under jit and
vmap, and derivatives by implicit differentiation that agree with central finite
differences (away from kinks) in alpha, the penalty factors, X and y."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxreg
from jaxreg.functional import enet_coef as _enet_coef

TOL = 1e-12  # FISTA's target before the support's exact solve


def enet_coef(*args, **kwargs):
    return _enet_coef(*args, tol=kwargs.pop("tol", TOL), **kwargs)


def _data(n, p, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) + rng.normal(size=p)
    w = np.zeros(p)
    w[:4] = [2.0, -1.5, 1.0, 0.5]
    return X, X @ w + rng.normal(size=n) + 1.0


# the lasso, the elastic net and ridge, on tall and wide designs
CASES = [
    ("tall", 60, 8, 1.0),
    ("wide", 30, 80, 0.5),
    ("tall", 60, 8, 0.0),
]


def _alpha(X, y, r):
    """An alpha in the middle of the path: a few features in, none at a kink."""
    amax = jaxreg.alpha_max(X, y, l1_ratio=max(r, 1e-3))
    return 0.2 * amax if r > 0 else 0.05 * amax


def _central(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)


@pytest.mark.parametrize("shape, n, p, r", CASES)
def test_values_jit_and_vmap_match_enet_path(shape, n, p, r):
    X, y = _data(n, p, 1)
    a = _alpha(X, y, r)
    alphas = np.array([2 * a, a, 0.5 * a])
    with jax.enable_x64(True):
        W, b = jax.jit(lambda A: enet_coef(X, y, A, l1_ratio=r))(jnp.asarray(alphas))
        Wv = jax.vmap(lambda s: enet_coef(X, y, s, l1_ratio=r)[0])(jnp.asarray(alphas))
    if r > 0:
        path = jaxreg.enet_path(X, y, alphas=alphas, l1_ratio=r, tol=1e-12)
    else:
        path = jaxreg.ridge_path(X, y, alphas=alphas)
    # both solutions are certified to rounding: the same point
    scale = np.abs(path.coefs).max()
    np.testing.assert_allclose(W, path.coefs, atol=1e-7 * scale)
    np.testing.assert_allclose(Wv, W, atol=1e-12 * scale)
    np.testing.assert_allclose(b, path.intercepts, atol=1e-7 * (1 + np.abs(y).max()))


@pytest.mark.parametrize("shape, n, p, r", CASES)
def test_gradients_match_central_differences(shape, n, p, r):
    X, y = _data(n, p, 2)
    a = _alpha(X, y, r)
    rng = np.random.default_rng(3)
    with jax.enable_x64(True):
        Xj, yj = jnp.asarray(X), jnp.asarray(y)
        coef = enet_coef(Xj, yj, a, l1_ratio=r)[0]
        support = np.flatnonzero(np.asarray(coef))
        assert support.size and (r == 0 or support.size < p)
        v = jnp.asarray(rng.normal(size=p))  # a held-out-like loss: <v, w> + b

        ones = jnp.ones(p)

        def loss(X=Xj, y=yj, a=a, pf=ones):
            w, b = enet_coef(X, y, a, l1_ratio=r, penalty_factor=pf)
            return jnp.vdot(v, w) + b

        # every derivative from one reverse pass (one compilation)
        gX, gy, ga, gpf = jax.grad(loss, argnums=(0, 1, 2, 3))(Xj, yj, a, ones)
        h = 1e-6
        j = int(support[0])
        e = jnp.zeros(p).at[j].set(1.0)
        E = jnp.zeros_like(Xj).at[3, j].set(1.0)
        ey = jnp.zeros_like(yj).at[5].set(1.0)
        checks = [
            (ga, _central(lambda s: loss(a=s), a, h * a)),
            (gpf[j], _central(lambda t: loss(pf=ones + t * e), 0.0, h)),
            (gX[3, j], _central(lambda t: loss(X=Xj + t * E), 0.0, h)),
            (gy[5], _central(lambda t: loss(y=yj + t * ey), 0.0, h)),
        ]
        # forward mode gives the same as reverse mode
        fwd = jax.jacfwd(lambda s: loss(a=s))(a)
    for exact, fd in checks:
        assert abs(float(exact) - float(fd)) <= 1e-6 * max(abs(float(fd)), 1e-3)
    assert float(fwd) == pytest.approx(float(checks[0][0]), rel=1e-10)


def test_zero_coefficients_have_zero_derivative():
    """Off the support the derivative is 0 (the one-sided derivative in the
    direction in which the support stays)."""
    X, y = _data(60, 8, 4)
    a = _alpha(X, y, 1.0)
    with jax.enable_x64(True):
        J = jax.jacfwd(lambda s: enet_coef(X, y, s)[0])(a)
        w = enet_coef(X, y, a)[0]
    assert (np.asarray(J)[np.asarray(w) == 0] == 0).all()
    assert (np.asarray(J)[np.asarray(w) != 0] != 0).all()


def test_float32_inputs_stop_at_their_rounding():
    """Without x64 the solve runs in float32 and its gap target is floored at
    4·eps(float32); the answer is float64's to float32 accuracy."""
    X, y = _data(60, 8, 5)
    a = _alpha(X, y, 1.0)
    w32 = np.asarray(enet_coef(X, y, a, tol=1e-12)[0])
    assert w32.dtype == np.float32
    with jax.enable_x64(True):
        w64 = np.asarray(enet_coef(X, y, a)[0])
    np.testing.assert_allclose(w32, w64, atol=1e-4 * np.abs(w64).max())


def test_sample_weights_and_warm_starts():
    """Weights give enet_path's weighted solution, and derivatives in a weight
    that agree with central differences; a start changes nothing but the work."""
    X, y = _data(60, 8, 6)
    a = _alpha(X, y, 1.0)
    sw = np.random.default_rng(7).uniform(0.2, 2.0, size=60)
    path = jaxreg.enet_path(X, y, alphas=[a], l1_ratio=1.0, sample_weight=sw, tol=1e-12)
    with jax.enable_x64(True):
        Xj, yj, swj = jnp.asarray(X), jnp.asarray(y), jnp.asarray(sw)
        w, b = enet_coef(Xj, yj, a, sample_weight=swj)
        w0, _ = enet_coef(Xj, yj, a, sample_weight=swj, coef_init=2.0 * w + 0.1)
        v = jnp.asarray(np.random.default_rng(8).normal(size=8))

        def loss(s):
            w, b = enet_coef(Xj, yj, a, sample_weight=s)
            return jnp.vdot(v, w) + b

        e = jnp.zeros(60).at[4].set(1.0)
        exact = float(jax.grad(loss)(swj)[4])
        fd = float(_central(lambda t: loss(swj + t * e), 0.0, 1e-6))
    scale = np.abs(path.coefs).max()
    np.testing.assert_allclose(w, path.coefs[0], atol=1e-7 * scale)
    np.testing.assert_allclose(b, path.intercepts[0], atol=1e-7 * (1 + np.abs(y).max()))
    np.testing.assert_allclose(w0, w, atol=1e-12 * scale)
    assert abs(exact - fd) <= 1e-6 * max(abs(fd), 1e-3)
