"""Property tests: random data, scales, weights and alphas; every answer certified.

Shapes come from a short fixed list (each new shape compiles), and the number of
examples is bounded so that the suite stays fast.
"""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jaxreg
from jaxreg import reference

SHAPES = [(30, 6), (12, 20)]
TOL = 1e-8


@st.composite
def problems(draw):
    n, p = draw(st.sampled_from(SHAPES))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    x_scale = 10.0 ** draw(st.integers(-4, 4))
    y_scale = 10.0 ** draw(st.integers(-4, 4))
    X = rng.normal(size=(n, p)) * x_scale * rng.uniform(0.5, 2.0, p)
    if draw(st.booleans()):
        X[:, 0] = X[:, 1]  # duplicated column
    y = (X @ rng.normal(size=p) / x_scale + rng.normal(size=n)) * y_scale
    weights = rng.uniform(0.0, 3.0, n) if draw(st.booleans()) else None
    if weights is not None:
        weights[0] = 1.0  # keep the sum positive
    return dict(
        X=X,
        y=y,
        sample_weight=weights,
        l1_ratio=draw(st.sampled_from([1.0, 0.5])),
        standardize=draw(st.booleans()),
        fit_intercept=draw(st.booleans()),
        positive=draw(st.booleans()),
        fractions=draw(st.lists(st.floats(1e-3, 2.0), min_size=3, max_size=3)),
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_every_alpha_is_certified(prob):
    X, y = prob["X"], prob["y"]
    kw = dict(
        fit_intercept=prob["fit_intercept"],
        standardize=prob["standardize"],
        sample_weight=prob["sample_weight"],
        positive=prob["positive"],
    )
    amax = jaxreg.alpha_max(X, y, l1_ratio=prob["l1_ratio"], **kw)
    alphas = np.asarray(prob["fractions"]) * amax
    path = jaxreg.enet_path(
        X, y, l1_ratio=prob["l1_ratio"], alphas=alphas, tol=TOL, max_iter=200_000, **kw
    )
    s = prob["sample_weight"]
    s = np.ones(len(y)) if s is None else s * len(y) / s.sum()
    ybar = np.sum(s * y) / len(y) if prob["fit_intercept"] else 0.0
    yy = np.sum(s * (y - ybar) ** 2) / len(y)
    assert np.isfinite(path.coefs).all() and np.isfinite(path.intercepts).all()
    for i, a in enumerate(path.alphas):
        if not path.converged[i]:
            continue  # flagged honestly; the gap must then be above the tolerance
        gap = reference.duality_gap(
            X, y, path.coefs[i], path.intercepts[i], a, l1_ratio=prob["l1_ratio"], **kw
        )
        assert gap <= 1.05 * TOL * yy + 1e-14 * max(yy, 1e-300)
    assert (path.gaps[~path.converged] > TOL * yy).all()
    assert path.converged.mean() >= 2 / 3
    if amax > 0:
        zero = path.alphas >= amax
        assert (path.coefs[zero] == 0).all()
