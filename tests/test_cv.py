"""Cross-validated paths: brute force over folds, fold inputs, the 1se rule."""

import warnings

import numpy as np
import pytest
from conftest import centred_yy, enet_objective, heldout_mse_bound, make_data

from jaxreg import reference
from jaxreg.cv import CVResult, cv_path, cv_paths, multi_target_path
from jaxreg.folds import fold_counts
from jaxreg.path import ConvergenceWarning, enet_path
from jaxreg.results import select_1se

TIGHT = 1e-14


@pytest.fixture(scope="module")
def data():
    return make_data(64, 8, rho=0.3, seed=11)


def kfold_tests(n, k):
    """scikit-learn's KFold without shuffling, written out."""
    sizes = np.full(k, n // k)
    sizes[: n % k] += 1
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    return [np.arange(bounds[i], bounds[i + 1]) for i in range(k)]


def brute_force_mse(X, y, tests, alphas, l1_ratio, sample_weight=None, gaps=None, **kw):
    """Held-out MSE (k, n_folds): the NumPy reference refitted on every fold.

    With ``gaps`` (k, n_folds), the duality gaps of solutions to compare, also how
    far their held-out MSEs may be from these (see ``heldout_mse_bound``).
    """
    n = len(y)
    sw = np.ones(n) if sample_weight is None else sample_weight
    out = np.empty((len(alphas), len(tests)))
    bound = np.zeros_like(out)
    for f, test in enumerate(tests):
        train = np.setdiff1d(np.arange(n), test)
        if l1_ratio == 0:
            ref = reference.ridge_path(
                X[train], y[train], alphas=alphas, sample_weight=sw[train]
            )
        else:
            ref = reference.enet_path(
                X[train],
                y[train],
                l1_ratio=l1_ratio,
                alphas=alphas,
                tol=1e-13,
                sample_weight=sw[train],
                **kw,
            )
        pred = X[test] @ ref["coefs"].T + ref["intercepts"]
        out[:, f] = np.average((y[test, None] - pred) ** 2, axis=0, weights=sw[test])
        for i in range(len(alphas) if gaps is not None else 0):
            bound[i, f] = heldout_mse_bound(
                X,
                y,
                train,
                test,
                alphas[i],
                l1_ratio,
                gaps[i, f],
                ref["coefs"][i],
                ref["intercepts"][i],
                sample_weight=sw,
            )
    return out if gaps is None else (out, bound)


@pytest.mark.parametrize("mode", ["gram", "design"])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_matches_brute_force_over_folds(data, mode, l1_ratio):
    X, y = data
    res = cv_path(X, y, l1_ratio=l1_ratio, cv=4, alphas=8, tol=TIGHT, mode=mode)
    assert res.fold_converged.all() and res.path.converged.all()
    # Each fold's MSE is certified by its duality gap (plus rounding).
    expected, bound = brute_force_mse(
        X, y, kfold_tests(len(y), 4), res.alphas, l1_ratio, gaps=res.fold_gaps
    )
    tol = bound + 1e-12 * expected
    assert (np.abs(res.mse_path - expected) <= tol).all()
    assert (np.abs(res.mse_mean - expected.mean(axis=1)) <= tol.mean(axis=1)).all()
    se = expected.std(axis=1, ddof=1) / 2.0
    assert (np.abs(res.mse_se - se) <= tol.sum(axis=1)).all()


def test_grid_and_path_are_those_of_all_the_data(data):
    X, y = data
    res = cv_path(X, y, l1_ratio=0.7, cv=4, alphas=8, tol=TIGHT)
    full = enet_path(X, y, l1_ratio=0.7, alphas=8, tol=TIGHT)
    np.testing.assert_allclose(res.alphas, full.alphas, rtol=1e-12)
    # Both are within their duality gap (<= TIGHT·yy) of the same optimum.
    bound = 2 * TIGHT * centred_yy(y)
    for a, w, b, w_ref, b_ref in zip(
        res.alphas,
        res.path.coefs,
        res.path.intercepts,
        full.coefs,
        full.intercepts,
        strict=True,
    ):
        assert (
            abs(
                enet_objective(X, y, w, b, a, 0.7)
                - enet_objective(X, y, w_ref, b_ref, a, 0.7)
            )
            <= bound
        )
    np.testing.assert_allclose(
        res.path.coefs, full.coefs, rtol=0, atol=1e-6 * np.abs(full.coefs).max()
    )
    np.testing.assert_allclose(res.path.intercepts, full.intercepts, rtol=1e-7)
    np.testing.assert_allclose(res.path.dev_ratio, full.dev_ratio, atol=1e-8)
    assert res.path.coefs.shape == (8, X.shape[1])


def test_sample_weight_gives_weighted_fold_errors(data):
    X, y = data
    sw = np.random.default_rng(3).uniform(0.2, 3.0, len(y))
    res = cv_path(X, y, cv=4, alphas=8, tol=TIGHT, sample_weight=sw)
    expected = brute_force_mse(
        X, y, kfold_tests(len(y), 4), res.alphas, 1.0, sample_weight=sw
    )
    np.testing.assert_allclose(res.mse_path, expected, rtol=1e-7)
    np.testing.assert_allclose(
        res.test_weight,
        [sw[t].sum() * len(y) / sw.sum() for t in kfold_tests(len(y), 4)],
    )


def test_integer_weights_equal_repeated_rows(data):
    X, y = data
    sw = np.random.default_rng(4).integers(1, 4, len(y)).astype(float)
    foldid = np.arange(len(y)) % 4
    weighted = cv_path(X, y, cv=foldid, alphas=8, tol=TIGHT, sample_weight=sw)
    rows = np.repeat(np.arange(len(y)), sw.astype(int))
    repeated = cv_path(X[rows], y[rows], cv=foldid[rows], alphas=8, tol=TIGHT)
    # Both solve the same problems, each certified by its own duality gap.
    tests = [np.flatnonzero(foldid == f) for f in range(4)]
    expected, bound_w = brute_force_mse(
        X, y, tests, weighted.alphas, 1.0, sw, gaps=weighted.fold_gaps
    )
    _, bound_r = brute_force_mse(
        X, y, tests, weighted.alphas, 1.0, sw, gaps=repeated.fold_gaps
    )
    diff = np.abs(weighted.mse_path - repeated.mse_path)
    assert (diff <= bound_w + bound_r + 1e-12 * expected).all()


def test_ridge_folds_in_closed_form(data):
    X, y = data
    alphas = np.geomspace(10.0, 1e-3, 8)
    res = cv_path(X, y, l1_ratio=0.0, cv=4, alphas=alphas)
    expected = brute_force_mse(X, y, kfold_tests(len(y), 4), res.alphas, 0.0)
    np.testing.assert_allclose(res.mse_path, expected, rtol=1e-9)
    ref = reference.ridge_path(X, y, alphas=alphas)
    np.testing.assert_allclose(res.path.coefs, ref["coefs"], rtol=1e-9)
    assert (res.fold_gaps == 0).all()


def test_ridge_default_grid_starts_at_glmnet_alpha_max(data):
    X, y = data
    res = cv_path(X, y, l1_ratio=0.0, cv=4, alphas=8)
    amax = reference.alpha_max(X, y, l1_ratio=1.0) / 1e-3
    np.testing.assert_allclose(res.alphas[0], amax, rtol=1e-10)


def test_standardize_penalty_factor_and_box_match_the_path(data):
    # Feature 0 is unpenalized and unbounded: it is partialled out.
    X, y = data
    pf = np.array([0.0, 1, 1, 2, 1, 1, 0.5, 1])
    upper = np.r_[np.inf, np.full(7, 0.5)]
    kw = dict(
        l1_ratio=0.8,
        alphas=8,
        tol=TIGHT,
        standardize=True,
        penalty_factor=pf,
        upper_limits=upper,
    )
    res = cv_path(X, y, cv=4, **kw)
    full = enet_path(X, y, **kw)
    assert res.fold_converged.all() and res.path.converged.all()
    np.testing.assert_allclose(
        res.path.coefs, full.coefs, rtol=0, atol=1e-6 * np.abs(full.coefs).max()
    )
    expected = brute_force_mse(
        X,
        y,
        kfold_tests(len(y), 4),
        res.alphas,
        0.8,
        standardize=True,
        penalty_factor=pf,
        upper_limits=upper,
    )
    np.testing.assert_allclose(res.mse_path, expected, rtol=1e-6)


@pytest.mark.parametrize("mode", ["gram", "design"])
def test_working_sets_change_nothing(data, mode):
    X, y = data
    pf = np.array([0.0, 1, 1, 2, 1, 1, 0.5, 1])
    kw = dict(
        l1_ratio=0.9,
        cv=4,
        alphas=8,
        tol=TIGHT,
        mode=mode,
        penalty_factor=pf,
        lower_limits=np.r_[-np.inf, np.full(7, -0.3)],
    )
    screened = cv_path(X, y, screen="strong", **kw)
    plain = cv_path(X, y, screen="none", **kw)
    assert screened.fold_converged.all() and screened.path.converged.all()
    np.testing.assert_allclose(screened.mse_path, plain.mse_path, rtol=1e-7)
    expected = brute_force_mse(
        X,
        y,
        kfold_tests(len(y), 4),
        plain.alphas,
        0.9,
        penalty_factor=pf,
        lower_limits=np.r_[-np.inf, np.full(7, -0.3)],
    )
    np.testing.assert_allclose(screened.mse_path, expected, rtol=1e-6)


def test_column_constant_in_a_training_fold(data):
    # Feature 0 is non-zero only in the first fold, so it is constant on that
    # fold's training rows: it must get no coefficient there, even standardized.
    X, y = data
    X = X.copy()
    X[:, 0] = 0.0
    X[:16, 0] = np.linspace(1.0, 2.0, 16)
    res = cv_path(X, y, cv=4, alphas=8, tol=TIGHT, standardize=True)
    expected = brute_force_mse(
        X, y, kfold_tests(len(y), 4), res.alphas, 1.0, standardize=True
    )
    np.testing.assert_allclose(res.mse_path, expected, rtol=1e-6)


def test_fold_ids_splitter_and_pairs_agree(data):
    from sklearn.model_selection import GroupKFold, KFold

    X, y = data
    n = len(y)
    splitter = KFold(4, shuffle=True, random_state=0)
    pairs = list(splitter.split(X))
    foldid = np.empty(n, int)
    for f, (_, test) in enumerate(pairs):
        foldid[test] = f + 10  # any labels; folds follow their sorted order
    kw = dict(alphas=8, tol=TIGHT)
    by_splitter = cv_path(X, y, cv=splitter, **kw)
    by_pairs = cv_path(X, y, cv=pairs, **kw)
    by_ids = cv_path(X, y, cv=foldid, **kw)
    np.testing.assert_allclose(by_pairs.mse_path, by_splitter.mse_path, rtol=1e-12)
    np.testing.assert_allclose(by_ids.mse_path, by_splitter.mse_path, rtol=1e-12)
    expected = brute_force_mse(X, y, [t for _, t in pairs], by_ids.alphas, 1.0)
    np.testing.assert_allclose(by_ids.mse_path, expected, rtol=1e-7)

    groups = np.arange(n) // 8
    by_groups = cv_path(X, y, cv=GroupKFold(4), groups=groups, **kw)
    tests = [t for _, t in GroupKFold(4).split(X, y, groups)]
    expected = brute_force_mse(X, y, tests, by_groups.alphas, 1.0)
    np.testing.assert_allclose(by_groups.mse_path, expected, rtol=1e-7)


def test_int_cv_is_contiguous_kfold():
    train, test = fold_counts(3, None, None, 8)
    np.testing.assert_array_equal(test.argmax(axis=0), [0, 0, 0, 1, 1, 1, 2, 2])
    np.testing.assert_array_equal(train + test, np.ones((3, 8)))


def test_non_partition_splits(data):
    # Training sets that leave rows out (and a bootstrap-like repeat) are honoured.
    X, y = data
    n = len(y)
    pairs = [
        (np.r_[0:20, 0:5], np.arange(20, 40)),
        (np.arange(20, 50), np.arange(50, 64)),
    ]
    res = cv_path(X, y, cv=pairs, alphas=8, tol=TIGHT)
    for f, (train, test) in enumerate(pairs):
        counts = np.bincount(train, minlength=n).astype(float)
        keep = counts > 0
        ref = reference.enet_path(
            X[keep],
            y[keep],
            l1_ratio=1.0,
            alphas=res.alphas,
            sample_weight=counts[keep],
            tol=1e-13,
        )
        pred = X[test] @ ref["coefs"].T + ref["intercepts"]
        np.testing.assert_allclose(
            res.mse_path[:, f], ((y[test, None] - pred) ** 2).mean(axis=0), rtol=1e-7
        )


def test_select_1se_on_a_constructed_curve():
    # alphas decrease along the index; the minimum is at index 5.
    mse = np.array([9.0, 6.0, 4.2, 3.9, 3.1, 3.0, 3.05, 3.5])
    se = np.array([0.5, 0.5, 0.5, 0.5, 0.5, 0.95, 0.5, 0.5])
    assert select_1se(mse, se) == (5, 3)  # 3.9 <= 3.0 + 0.95 < 4.2
    assert select_1se(mse, np.zeros(8)) == (5, 5)
    assert select_1se(mse, np.full(8, np.nan)) == (5, 5)  # one fold: no se
    assert select_1se(np.r_[np.nan, mse[1:]], se) == (5, 3)
    assert select_1se([2.0, 1.0, 1.0], [0.0, 0.0, 0.0]) == (1, 1)  # ties: largest


def test_cv_result_rules_and_summary(data):
    X, y = data
    res = cv_path(X, y, cv=4, alphas=8)
    assert isinstance(res, CVResult)
    i_min = int(np.argmin(res.mse_mean))
    bound = res.mse_mean[i_min] + res.mse_se[i_min]
    assert res.index_min == i_min and res.alpha_min == res.alphas[i_min]
    assert res.index_1se == np.flatnonzero(res.mse_mean <= bound)[0]
    assert res.alpha_1se == res.alphas[res.index_1se] >= res.alpha_min
    np.testing.assert_array_equal(res.coef_1se, res.path.coefs[res.index_1se])
    assert res.mse_path.shape == res.r2_path.shape == (8, 4)
    assert "min" in res.summary() and "1se" in res.summary()
    assert "4 folds x 8 alphas" in repr(res)
    for value in (res.alphas, res.mse_mean, res.mse_path, res.path.coefs):
        assert type(value) is np.ndarray


def test_r2_path_is_the_held_out_r2(data):
    X, y = data
    res = cv_path(X, y, cv=4, alphas=8, tol=TIGHT)
    sst = np.array([np.mean((y[t] - y[t].mean()) ** 2) for t in kfold_tests(len(y), 4)])
    np.testing.assert_allclose(res.r2_path, 1.0 - res.mse_path / sst, rtol=1e-10)


def test_several_l1_ratios_share_the_folds(data):
    X, y = data
    ratios = [0.3, 1.0]
    seq = cv_paths(X, y, l1_ratio=ratios, cv=4, alphas=8, tol=TIGHT, l1_batch=False)
    batch = cv_paths(X, y, l1_ratio=ratios, cv=4, alphas=8, tol=TIGHT, l1_batch=True)
    for r, s, b in zip(ratios, seq, batch, strict=True):
        single = cv_path(X, y, l1_ratio=r, cv=4, alphas=8, tol=TIGHT)
        np.testing.assert_allclose(s.alphas, single.alphas, rtol=1e-12)
        np.testing.assert_allclose(s.mse_path, single.mse_path, rtol=1e-8)
        np.testing.assert_allclose(b.mse_path, single.mse_path, rtol=1e-8)
        assert s.l1_ratio == r


def test_multi_target_path_fits_targets_independently(data):
    X, y = data
    Y = np.c_[y, X[:, 1] - 2.0 * X[:, 2], -y]
    res = multi_target_path(X, Y, l1_ratio=0.6, alphas=8, tol=TIGHT)
    assert res.coefs.shape == (8, 3, X.shape[1])
    assert res.target_gaps.shape == (8, 3)
    for t in range(3):
        one = enet_path(X, Y[:, t], l1_ratio=0.6, alphas=res.alphas, tol=TIGHT)
        np.testing.assert_allclose(
            res.coefs[:, t], one.coefs, rtol=0, atol=1e-6 * np.abs(one.coefs).max()
        )
        np.testing.assert_allclose(
            res.intercepts[:, t],
            one.intercepts,
            rtol=0,
            atol=1e-6 * np.abs(Y[:, t]).max(),
        )
    np.testing.assert_array_equal(res.n_iter, res.target_n_iter.max(axis=1))


def test_float32(data):
    X, y = data
    res = cv_path(X.astype(np.float32), y, cv=4, alphas=8, tol=1e-5, dtype="float32")
    ref = cv_path(X, y, cv=4, alphas=8, tol=1e-12)
    assert res.path.coefs.dtype == np.float32
    assert res.fold_converged.all() and res.path.converged.all()
    np.testing.assert_allclose(res.mse_path, ref.mse_path, rtol=1e-3)


def test_nonconvergence_warns_and_names_the_folds(data):
    X, y = data
    with pytest.warns(
        ConvergenceWarning,
        match=r"cross-validation folds .* "
        r"duality gap .* Increase max_iter",
    ):
        cv_path(X, y, cv=4, alphas=8, tol=1e-12, max_iter=10, strategy="parallel")


def test_no_warning_when_converged(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cv_path(X, y, cv=4, alphas=8)


@pytest.mark.parametrize(
    "cv, error, match",
    [
        (1, ValueError, r"cv must be at least 2 folds, got 1\."),
        (100, ValueError, r"cv=100 folds need at least 100 samples, got 64\."),
        (True, TypeError, r"cv must be an int, a splitter or fold ids, got True\."),
        ("five", TypeError, r"cv must be an int, a splitter"),
        (
            np.zeros(10),
            ValueError,
            r"cv fold ids must have one id per sample, "
            r"shape \(64,\), got shape \(10,\)\.",
        ),
        (np.zeros(64), ValueError, r"cv fold ids must name at least 2 folds, got 1\."),
        (np.arange(64) / 7, ValueError, r"cv fold ids must be integers"),
        (
            [(np.arange(10), np.arange(10, 70))],
            ValueError,
            r"cv split 0 test must index 0\.\.63, got index 64\.",
        ),
        ([], ValueError, r"cv must give at least one \(train, test\) split"),
        (
            [(np.arange(10), np.array([0.5]))],
            ValueError,
            r"cv split 0 test must be a 1-D array of integer sample indices",
        ),
    ],
)
def test_bad_cv(data, cv, error, match):
    X, y = data
    with pytest.raises(error, match=match):
        cv_path(X, y, cv=cv, alphas=3)


def test_bad_arguments(data):
    X, y = data
    with pytest.raises(ValueError, match=r"l1_ratio must be in \[0, 1\], got 1\.5\."):
        cv_path(X, y, l1_ratio=1.5)
    with pytest.raises(
        ValueError,
        match=r"groups must have shape \(64,\), got "
        r"shape \(3,\)\.",
    ):
        cv_path(X, y, groups=[1, 2, 3])
    with pytest.raises(
        ValueError,
        match=r"check_every must be a positive integer, "
        r"got 0\.",
    ):
        cv_path(X, y, check_every=0)
    sw = np.ones(len(y))
    sw[:16] = 0.0
    with pytest.raises(
        ValueError,
        match=r"cv fold 0 has no held-out sample with "
        r"a positive weight\.",
    ):
        cv_path(X, y, cv=4, sample_weight=sw)
    with pytest.raises(
        ValueError,
        match=r"l1_ratio must be a non-empty 1-D "
        r"sequence, got \[\]\.",
    ):
        cv_paths(X, y, l1_ratio=[])
    with pytest.raises(ValueError, match=r"y must be 1-D, got shape"):
        cv_path(X, np.c_[y, y])
    with pytest.raises(ValueError, match=r"screen must be one of"):
        cv_path(X, y, screen="weak")
    with pytest.raises(ValueError, match=r"screen='strong' needs a single target"):
        multi_target_path(X, np.c_[y, y], screen="strong")
