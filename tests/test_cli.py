"""The jaxreg command line, end to end on small files, and every error path."""

import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from jaxreg import _progress, cli
from jaxreg.path import enet_path, lasso_path

sklearn_lm = pytest.importorskip("sklearn.linear_model")

N, P = 50, 4
NAMES = ["a", "b", "c", "d"]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(N, P)) * [1.0, 3.0, 0.5, 1.0] + [0.0, 5.0, -2.0, 1.0]
    y = X @ [1.5, 0.0, -2.0, 0.5] + rng.normal(size=N) + 4.0
    w = rng.uniform(0.5, 2.0, size=N)
    return X, y, w


def _write_csv(path, X, y, w=None, delimiter=",", extra=None):
    cols = [*NAMES, "y"] + (["w"] if w is not None else [])
    extra = extra or {}
    with open(path, "w") as f:
        f.write(delimiter.join(cols + list(extra)) + "\n")
        for i in range(len(X)):
            row = [repr(float(v)) for v in X[i]] + [repr(float(y[i]))]
            if w is not None:
                row.append(repr(float(w[i])))
            row += [str(v[i]) for v in extra.values()]
            f.write(delimiter.join(row) + "\n")
    return path


@pytest.fixture(scope="module")
def files(data, tmp_path_factory):
    X, y, w = data
    d = tmp_path_factory.mktemp("cli")
    out = {
        "csv": _write_csv(d / "d.csv", X, y),
        "weighted": _write_csv(d / "dw.csv", X, y, w),
        "tsv": _write_csv(d / "d.tsv", X, y, delimiter="\t"),
        "text": _write_csv(d / "d.csv.txt", X, y, delimiter=";"),
        "npy": d / "d.npy",
        "npz": d / "d.npz",
        "mixed": _write_csv(
            d / "mixed.csv",
            X,
            y,
            None,
            extra={"city": ["paris"] * N, "name": ["x"] * N},
        ),
    }
    np.save(out["npy"], np.column_stack([X, y]))
    np.savez(out["npz"], X=X, y=y, feature_names=np.array(NAMES))
    return out


def run(capsys, *argv):
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def run_json(capsys, *argv):
    rc, out, err = run(capsys, *argv, "--json")
    assert rc == 0, err
    return json.loads(out)


def _png_size(path):
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    w, h = struct.unpack(">II", data[16:24])
    return w, h, len(data)


# ------------------------------------------------------------------------- path


def test_path_json_equals_the_api_and_scikit_learn(capsys, data, files):
    X, y, _ = data
    res = run_json(
        capsys,
        "path",
        files["csv"],
        "--target",
        "y",
        "--features",
        "a,b,c,d",
        "--alphas",
        "10",
        "--tol",
        "1e-14",
    )
    api = lasso_path(X, y, alphas=10, tol=1e-14)
    assert res["feature_names"] == NAMES and res["n_samples"] == N
    np.testing.assert_allclose(res["alphas"], api.alphas, rtol=1e-15)
    np.testing.assert_allclose(res["coefs"], api.coefs, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(res["intercepts"], api.intercepts, rtol=1e-12)
    assert res["df"] == api.df.tolist()
    # scikit-learn on the centred data gives the same coefficients.
    Xc, yc = X - X.mean(0), y - y.mean()
    _, sk, _ = sklearn_lm.lasso_path(
        Xc, yc, alphas=api.alphas, tol=1e-12, max_iter=100_000
    )
    np.testing.assert_allclose(res["coefs"], sk.T, atol=1e-6)
    # The selected alpha defaults to the smallest one.
    assert res["selected"]["index"] == 9
    assert set(res["selected"]["coefs"]) == {
        NAMES[j] for j in range(P) if api.coefs[9, j] != 0
    }


def test_path_elastic_net_explicit_alphas_and_feature_order(capsys, data, files):
    X, y, _ = data
    given = [0.05, 0.5, 0.1, 0.01, 1.0, 0.2, 0.02, 0.3, 0.005, 2.0]
    res = run_json(
        capsys,
        "path",
        files["csv"],
        "--target",
        "y",
        "--features",
        "d,c,b,a",
        "--l1-ratio",
        "0.5",
        "--alphas",
        ",".join(map(str, given)),
        "--tol",
        "1e-14",
    )
    assert res["feature_names"] == ["d", "c", "b", "a"]
    assert res["alphas"] == sorted(given, reverse=True)
    for i, a in enumerate(res["alphas"]):
        sk = sklearn_lm.ElasticNet(
            alpha=a, l1_ratio=0.5, tol=1e-12, max_iter=100_000
        ).fit(X[:, ::-1], y)
        np.testing.assert_allclose(res["coefs"][i], sk.coef_, atol=1e-6)
        np.testing.assert_allclose(res["intercepts"][i], sk.intercept_, atol=1e-6)


def test_path_standardize_and_sample_weight_column(capsys, data, files):
    X, y, w = data
    res = run_json(
        capsys,
        "path",
        files["weighted"],
        "--target",
        "y",
        "--sample-weight",
        "w",
        "--standardize",
        "--alphas",
        "10",
    )
    assert res["feature_names"] == NAMES  # the weight column is not a feature
    api = enet_path(X, y, l1_ratio=1.0, alphas=10, standardize=True, sample_weight=w)
    np.testing.assert_allclose(res["coefs"], api.coefs, rtol=1e-12, atol=1e-14)


def test_device_and_dtype_options_reach_the_api(capsys, data, files):
    X, y, _ = data
    res = run_json(
        capsys,
        "path",
        files["csv"],
        "--target",
        "y",
        "--alphas",
        "10",
        "--device",
        "cpu",
    )
    np.testing.assert_allclose(
        res["coefs"], lasso_path(X, y, alphas=10).coefs, rtol=1e-12, atol=1e-14
    )
    res32 = run_json(
        capsys,
        "path",
        files["csv"],
        "--target",
        "y",
        "--alphas",
        "10",
        "--dtype",
        "float32",
    )
    assert res32["dtype"] == "float32"
    api32 = lasso_path(X, y, alphas=10, dtype="float32")
    np.testing.assert_array_equal(np.float32(res32["coefs"]), api32.coefs)


def test_path_text_summary(capsys, data, files):
    X, y, _ = data
    rc, out, err = run(
        capsys,
        "path",
        files["csv"],
        "--target",
        "y",
        "--features",
        "a,b,c,d",
        "--alphas",
        "10",
        "--select",
        "0.3",
    )
    assert rc == 0, err
    api = lasso_path(X, y, alphas=10)
    i = int(np.argmin(np.abs(np.log(api.alphas) - np.log(0.3))))
    header = next(line for line in out.splitlines() if "alpha" in line and "df" in line)
    assert header.split() == ["i", "alpha", "df", "%dev", "gap"]
    assert f"Selected alpha = {api.alphas[i]:.5g} (index {i}" in out
    assert "<- selected" in out
    assert "Order in which features enter the path" in out
    coef_lines = out.split("Selected alpha")[1].splitlines()[1:]
    shown = {line.split()[0] for line in coef_lines if line.startswith("  ")}
    nonzero = {NAMES[j] for j in range(P) if api.coefs[i, j] != 0}
    assert shown == {"(intercept)"} | nonzero or shown == {"(intercept)", "("} | nonzero
    assert "100.00" not in out  # %dev is below 100 on noisy data
    assert err == ""


def test_input_formats_give_the_same_result(capsys, files, data, monkeypatch):
    ref = run_json(
        capsys,
        "path",
        files["csv"],
        "--target",
        "y",
        "--features",
        "a,b,c,d",
        "--alphas",
        "10",
    )["coefs"]
    for argv in (
        (files["tsv"], "--target", "y", "--features", "a,b,c,d"),
        (files["text"], "--target", "y", "--features", "a,b,c,d"),  # sniffed ';'
        (files["npy"], "--target", "-1"),
        (files["npy"], "--target", "x4", "--features", "x0,x1,x2,x3"),
        (files["npz"],),
    ):
        got = run_json(capsys, "path", *argv, "--alphas", "10")
        np.testing.assert_allclose(got["coefs"], ref, rtol=1e-13, atol=1e-15)
    assert (
        run_json(capsys, "path", files["npz"], "--alphas", "10")["feature_names"]
        == NAMES
    )
    monkeypatch.setattr(sys, "stdin", io.StringIO(Path(files["csv"]).read_text()))
    got = run_json(
        capsys, "path", "-", "--target", "y", "--features", "a,b,c,d", "--alphas", "10"
    )
    np.testing.assert_allclose(got["coefs"], ref, rtol=1e-13, atol=1e-15)


def test_parquet_input(capsys, files, data, tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    X, y, _ = data
    table = pa.table(
        {**{n: X[:, j] for j, n in enumerate(NAMES)}, "y": y, "city": ["x"] * N}
    )
    pq.write_table(table, tmp_path / "d.parquet")
    got = run_json(
        capsys,
        "path",
        tmp_path / "d.parquet",
        "--target",
        "y",
        "--features",
        "a,b,c,d",
        "--alphas",
        "10",
    )
    np.testing.assert_allclose(
        got["coefs"], lasso_path(X, y, alphas=10).coefs, rtol=1e-12, atol=1e-14
    )
    rc, _, err = run(capsys, "path", tmp_path / "d.parquet", "--target", "y")
    assert rc == 2 and "non-numeric column 'city' (type string)" in err


def test_parquet_without_pyarrow_says_what_to_install(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    (tmp_path / "d.parquet").write_bytes(b"PAR1")
    rc, _, err = run(capsys, "path", tmp_path / "d.parquet", "--target", "y")
    assert rc == 2
    assert "needs pyarrow" in err and "pip install pyarrow" in err


def test_out_coefs_csv_and_plot(capsys, files, tmp_path):
    pytest.importorskip("matplotlib")
    csv_out, png = tmp_path / "coefs.csv", tmp_path / "path.png"
    rc, out, err = run(
        capsys,
        "path",
        files["csv"],
        "--target",
        "y",
        "--features",
        "a,b,c,d",
        "--alphas",
        "10",
        "--out-coefs",
        csv_out,
        "--plot",
        png,
        "--standardize",
    )
    assert rc == 0, err
    assert f"wrote {csv_out}" in out and f"wrote {png}" in out
    table = np.genfromtxt(
        csv_out, delimiter=",", names=True, dtype=None, encoding="utf-8"
    )
    assert table.dtype.names == (
        "alpha",
        "df",
        "dev_ratio",
        "gap",
        "converged",
        "intercept",
        *NAMES,
    )
    res = run_json(
        capsys,
        "path",
        files["csv"],
        "--target",
        "y",
        "--features",
        "a,b,c,d",
        "--alphas",
        "10",
        "--standardize",
    )
    np.testing.assert_array_equal(table["alpha"], res["alphas"])
    np.testing.assert_array_equal(
        np.column_stack([table[n] for n in NAMES]), res["coefs"]
    )
    np.testing.assert_array_equal(table["df"], res["df"])
    # zeros are written 0.0, never -0.0 (the solver's zeros may carry a sign)
    assert "-0.0" not in csv_out.read_text().replace("\n", ",").split(",")
    assert res["options"] == {
        "family": "gaussian", "standardize": True, "tol": 1e-4, "eps": 1e-3,
        "max_iter": res["options"]["max_iter"], "positive": False,
        "fit_intercept": True,
    }  # fmt: skip
    w, h, size = _png_size(png)
    assert 600 <= w <= 2000 and 400 <= h <= 1500 and size > 15_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["coefs.csv", "path.png"]


# -------------------------------------------------------------------------- ridge


def test_ridge_matches_scikit_learn_and_brute_force_loo(capsys, files, data):
    X, y, _ = data
    alphas = [1.0, 0.1, 0.01]
    res = run_json(
        capsys,
        "ridge",
        files["csv"],
        "--target",
        "y",
        "--features",
        "a,b,c,d",
        "--alphas",
        ",".join(map(str, alphas)),
    )
    assert res["alphas"] == alphas
    loo = []
    for i, a in enumerate(alphas):
        sk = sklearn_lm.Ridge(alpha=N * a).fit(X, y)  # Ridge(alpha=a) is alpha=a/n
        np.testing.assert_allclose(res["coefs"][i], sk.coef_, rtol=1e-9)
        np.testing.assert_allclose(res["intercepts"][i], sk.intercept_, rtol=1e-9)
        # Leave-one-out by refitting without each sample (the penalty of the
        # full data, as documented).
        err = [
            y[k]
            - sklearn_lm.Ridge(alpha=N * a)
            .fit(np.delete(X, k, 0), np.delete(y, k))
            .predict(X[k : k + 1])[0]
            for k in range(N)
        ]
        loo.append(np.mean(np.square(err)))
        # Effective df: the trace of the centred hat matrix.
        Xc = X - X.mean(0)
        H = Xc @ np.linalg.solve(Xc.T @ Xc + N * a * np.eye(P), Xc.T)
        np.testing.assert_allclose(res["effective_df"][i], np.trace(H), rtol=1e-10)
    np.testing.assert_allclose(res["loo_mse"], loo, rtol=1e-9)
    assert res["index_loo"] == int(np.argmin(loo))


def test_ridge_standardize_is_ridge_on_scaled_columns(capsys, files, data):
    X, y, _ = data
    res = run_json(
        capsys,
        "ridge",
        files["csv"],
        "--target",
        "y",
        "--features",
        "a,b,c,d",
        "--alphas",
        "0.5,0.05,0.005",
        "--standardize",
    )
    sd = X.std(axis=0)
    for i, a in enumerate(res["alphas"]):
        sk = sklearn_lm.Ridge(alpha=N * a).fit(X / sd, y)
        np.testing.assert_allclose(res["coefs"][i], sk.coef_ / sd, rtol=1e-9)
        np.testing.assert_allclose(res["intercepts"][i], sk.intercept_, rtol=1e-9)


def test_ridge_default_grid_spans_the_effective_df(
    capsys, files, tmp_path, monkeypatch
):
    pytest.importorskip("matplotlib")
    from jaxreg.cli import commands

    drawn = []
    real = commands.plot_ridge
    monkeypatch.setattr(
        commands,
        "plot_ridge",
        lambda ax, rcv, **kw: drawn.append(kw) or real(ax, rcv, **kw),
    )
    png = tmp_path / "loo.png"
    res = run_json(
        capsys,
        "ridge",
        files["csv"],
        "--target",
        "y",
        "--features",
        "a,b,c,d",
        "--plot",
        png,
        "--alphas",
        "3",
    )
    assert len(res["alphas"]) == 3
    assert res["effective_df"][0] < 0.1 and res["effective_df"][-1] > P - 0.05
    assert np.all(np.diff(res["effective_df"]) > 0)
    w, h, size = _png_size(png)
    assert w >= 600 and size > 15_000
    assert drawn == [{"df": True}]  # the effective-df top axis, as in the demo
    assert res["options"] == {"standardize": False, "fit_intercept": True}


# ----------------------------------------------------------------------------- cv


def test_cv_matches_a_by_hand_k_fold(capsys, files, data):
    X, y, _ = data
    res = run_json(
        capsys,
        "cv",
        files["csv"],
        "--target",
        "y",
        "--features",
        "a,b,c,d",
        "--cv",
        "5",
        "--alphas",
        "10",
        "--tol",
        "1e-10",
    )
    alphas = np.array(res["alphas"])
    mse = np.empty((10, 5))
    for f in range(5):  # contiguous folds of 10 samples, as KFold(5)
        test = np.arange(10 * f, 10 * f + 10)
        train = np.setdiff1d(np.arange(N), test)
        for i, a in enumerate(alphas):
            m = sklearn_lm.Lasso(alpha=a, tol=1e-12, max_iter=100_000).fit(
                X[train], y[train]
            )
            mse[i, f] = np.mean((y[test] - m.predict(X[test])) ** 2)
    np.testing.assert_allclose(res["cv"]["mse_mean"], mse.mean(1), rtol=1e-6)
    np.testing.assert_allclose(
        res["cv"]["mse_se"], mse.std(1, ddof=1) / np.sqrt(5), rtol=1e-5
    )
    i_min = int(np.argmin(mse.mean(1)))
    assert res["cv"]["index_min"] == i_min
    assert res["selected"]["index"] == i_min and res["selected"]["rule"] == "min"


def test_cv_seed_shuffles_folds_and_1se_selection(capsys, files, data, tmp_path):
    pytest.importorskip("matplotlib")
    from jaxreg.cv import cv_path

    X, y, _ = data
    png = tmp_path / "cv.png"
    res = run_json(
        capsys,
        "cv",
        files["csv"],
        "--target",
        "y",
        "--features",
        "a,b,c,d",
        "--cv",
        "5",
        "--seed",
        "3",
        "--alphas",
        "10",
        "--select",
        "1se",
        "--plot",
        png,
    )
    foldid = np.random.default_rng(3).permutation(np.arange(N) % 5)
    api = cv_path(X, y, cv=foldid, alphas=10)
    np.testing.assert_allclose(res["cv"]["mse_mean"], api.mse_mean, rtol=1e-12)
    assert res["selected"]["index"] == api.index_1se
    assert _png_size(png)[2] > 15_000


def test_cv_text_report(capsys, files):
    rc, out, err = run(
        capsys,
        "cv",
        files["csv"],
        "--target",
        "y",
        "--features",
        "a,b,c,d",
        "--cv",
        "5",
        "--alphas",
        "10",
        "--rows",
        "0",
    )
    assert rc == 0, err
    assert "alpha_min = " in out and "alpha_1se = " in out
    assert "<- min" in out or "<- min = 1se" in out
    assert len([ln for ln in out.splitlines() if ln[:4].strip().isdigit()]) == 10


# ------------------------------------------------------------------------- errors


def _err_cases(files, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir(exist_ok=True)
    (bad / "ragged.csv").write_text("a,b,y\n1,2,3\n4,5\n")
    (bad / "dup.csv").write_text("a,a,y\n1,2,3\n4,5,6\n")
    (bad / "nan.csv").write_text("a,b,y\n1,2,3\n4,,6\n7,8,9\n")
    (bad / "empty.csv").write_text("")
    (bad / "header.csv").write_text("a,b,y\n")
    (bad / "x.xlsx").write_text("")
    np.save(bad / "one.npy", np.arange(5.0))
    np.savez(bad / "noy.npz", X=np.ones((3, 2)))
    c = files["csv"]
    return [
        (
            ["path", bad / "missing.csv", "--target", "y"],
            r"input file .*missing.csv "
            r"does not exist",
        ),
        (["path", c], r"--target is required for .*d.csv"),
        (
            ["path", c, "--target", "zz"],
            r"--target 'zz' is not a column of .*d.csv "
            r"\(columns: a, b, c, d, y\)",
        ),
        (["path", c, "--target", "y", "--features", "a,q"], r"--features 'q' is not"),
        (
            ["path", c, "--target", "y", "--features", "a,a"],
            r"lists 'a' more than once",
        ),
        (
            ["path", c, "--target", "y", "--features", "a,y"],
            r"must not include the "
            r"target",
        ),
        (["path", c, "--target", "y", "--features", "a,,b"], r"comma-separated list"),
        (
            ["path", files["mixed"], "--target", "y"],
            r"non-numeric columns 'city' \(line 2: 'paris'\); 'name' \(line 2: 'x'\)\. "
            r"Select numeric columns with --features",
        ),
        (
            ["path", bad / "ragged.csv", "--target", "y"],
            r"line 3 has 2 fields, the "
            r"header has 3",
        ),
        (["path", bad / "dup.csv", "--target", "y"], r"duplicate column names 'a'"),
        (
            ["path", bad / "nan.csv", "--target", "y"],
            r"column 'b' has 1 missing or "
            r"infinite value \(first in data "
            r"row 2\)",
        ),
        (["path", bad / "empty.csv", "--target", "y"], r"empty.csv is empty"),
        (["path", bad / "header.csv", "--target", "y"], r"no data rows"),
        (["path", bad / "x.xlsx", "--target", "y"], r"cannot tell the format"),
        (["path", bad / "one.npy", "--target", "0"], r"must hold a 2-D array"),
        (["path", bad / "noy.npz"], r"must contain arrays named X and y, missing y"),
        (
            ["path", files["npz"], "--target", "y"],
            r"--target and --sample-weight do "
            r"not apply to .npz",
        ),
        (
            ["path", c, "--target", "y", "--alphas", "abc"],
            r"--alphas must be a grid "
            r"size .* got 'abc'",
        ),
        (
            ["path", c, "--target", "y", "--alphas", "0"],
            r"--alphas must be a positive "
            r"grid size, got '0'",
        ),
        (
            ["path", c, "--target", "y", "--alphas=-1,2"],
            r"alphas must be a 1-D array "
            r"of non-negative finite "
            r"floats, got alphas\[0\] = "
            r"-1.0",
        ),
        (
            ["path", c, "--target", "y", "--l1-ratio", "1.5"],
            r"--l1-ratio must be a "
            r"number in \[0, 1\], got "
            r"'1.5'",
        ),
        (["path", c, "--target", "y", "--l1-ratio", "0"], r"use `jaxreg ridge`"),
        (
            ["path", c, "--target", "y", "--eps", "2"],
            r"--eps must be in \(0, 1\], "
            r"got '2'",
        ),
        (["path", c, "--target", "y", "--tol", "-1"], r"--tol must be positive"),
        (
            ["path", c, "--target", "y", "--max-iter", "0"],
            r"--max-iter must be a "
            r"positive integer",
        ),
        (
            ["path", c, "--target", "y", "--dtype", "float16"],
            r"invalid choice: "
            r"'float16'",
        ),
        (["path", c, "--target", "y", "--sample-weight", "y"], r"also the --target"),
        (
            ["path", files["weighted"], "--target", "y", "--sample-weight", "zz"],
            r"--sample-weight 'zz' is not a column",
        ),
        (
            ["cv", c, "--target", "y", "--cv", "1"],
            r"--cv must be between 2 and the "
            r"number of samples \(50\), got 1",
        ),
        (
            ["path", c, "--target", "y", "--plot", bad / "no" / "p.png"],
            r"cannot write .*p.png: folder .* does not exist",
        ),
        (["path", c, "--target", "y", "--out-coefs", bad], r"already exists"),
        (["frobnicate"], r"invalid choice: 'frobnicate'"),
        ([], r"the following arguments are required: COMMAND"),
        (["path", c, "--target", "y", "--bogus"], r"unrecognized arguments: --bogus"),
    ]


def test_every_error_is_one_line_exit_2(capsys, files, tmp_path):
    for argv, pattern in _err_cases(files, tmp_path):
        rc, out, err = run(capsys, *argv)
        assert rc == 2, (argv, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1, (argv, err)
        assert lines[0].startswith("jaxreg: error: "), err
        assert re.search(pattern, lines[0]), (pattern, lines[0])
        assert "Traceback" not in err and out == ""


def test_device_gpu_without_a_gpu(capsys, files):
    import jax

    if any(d.platform == "gpu" for d in jax.devices()):
        pytest.skip("a GPU is present")
    rc, _, err = run(capsys, "path", files["csv"], "--target", "y", "--device", "gpu")
    assert rc == 2 and "JAX finds no GPU" in err and len(err.splitlines()) == 1


def test_existing_output_is_kept_without_force(capsys, files, tmp_path):
    target = tmp_path / "coefs.csv"
    target.write_text("precious\n")
    argv = [
        "path",
        files["csv"],
        "--target",
        "y",
        "--alphas",
        "10",
        "--out-coefs",
        target,
    ]
    rc, _, err = run(capsys, *argv)
    assert rc == 2 and "coefs.csv already exists; pass --force" in err
    assert target.read_text() == "precious\n"
    rc, _, err = run(capsys, *argv, "--force")
    assert rc == 0, err
    assert target.read_text().startswith("alpha,df,dev_ratio,gap,converged,intercept,")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["coefs.csv"]


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    def broken(f):
        f.write(b"half of it")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        cli.atomic_write(tmp_path / "out.png", broken, force=False)
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_never_clobbers_a_file_that_appears_meanwhile(tmp_path):
    dest = tmp_path / "out.csv"

    def racing(f):
        f.write(b"new")
        dest.write_text("someone else's")  # appears after the early check

    with pytest.raises(cli.CLIError, match="already exists"):
        cli.atomic_write(dest, racing, force=False)
    assert dest.read_text() == "someone else's"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    cli.atomic_write(dest, lambda f: f.write(b"new"), force=True)
    assert dest.read_bytes() == b"new"
    assert oct(dest.stat().st_mode & 0o777) != oct(0o600)  # not mkstemp's private mode


def test_plot_without_matplotlib(capsys, files, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    rc, _, err = run(
        capsys, "path", files["csv"], "--target", "y", "--plot", tmp_path / "p.png"
    )
    assert rc == 2 and 'pip install "jaxreg[plot]"' in err
    assert list(tmp_path.iterdir()) == []


def test_debug_shows_the_traceback(files, tmp_path):
    with pytest.raises(cli.CLIError, match="does not exist"):
        cli.main(["path", str(tmp_path / "nope.csv"), "--target", "y", "--debug"])
    with pytest.raises(cli.CLIError, match="does not exist"):
        cli.main(["--debug", "path", str(tmp_path / "nope.csv"), "--target", "y"])


def test_a_bug_is_exit_1_with_one_line(capsys, files, monkeypatch):
    import jaxreg.path

    def boom(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(jaxreg.path, "enet_path", boom)
    rc, _, err = run(capsys, "path", files["csv"], "--target", "y")
    assert rc == 1
    assert err.strip() == (
        "jaxreg: internal error: RuntimeError: boom (rerun with "
        "--debug for the traceback)"
    )


def test_convergence_warning_is_one_line(capsys, tmp_path):
    # Wide and correlated: ten FISTA steps leave all 60 features nonzero, more
    # than the 20 samples can determine, so no support refinement can certify it.
    rng = np.random.default_rng(0)
    X = 0.9 * rng.normal(size=(20, 1)) + 0.44 * rng.normal(size=(20, 60))
    y = X[:, :5].sum(axis=1) + 0.1 * rng.normal(size=20)
    np.savez(tmp_path / "wide.npz", X=X, y=y)
    rc, out, err = run(
        capsys,
        "path",
        tmp_path / "wide.npz",
        "--alphas",
        "0.01",
        "--max-iter",
        "1",
        "--tol",
        "1e-12",
    )
    assert rc == 0
    warn = [ln for ln in err.splitlines() if ln.startswith("jaxreg: warning:")]
    assert len(warn) == 1 and "did not converge" in warn[0]
    assert "! duality gap above tol" in out


# --------------------------------------------------------------------- help, misc


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["path", "--help"],
        ["cv", "--help"],
        ["ridge", "--help"],
        ["demo", "--help"],
        ["bench", "--help"],
    ],
)
def test_help(capsys, argv):
    rc, out, _ = run(capsys, *argv)
    assert rc == 0 and out.startswith("usage: jaxreg")


def test_help_lists_the_options_of_the_api(capsys):
    _, out, _ = run(capsys, "path", "--help")
    for opt in (
        "--l1-ratio",
        "--alphas",
        "--eps",
        "--standardize",
        "--tol",
        "--device",
        "--dtype",
        "--json",
        "--out-coefs",
        "--plot",
        "--force",
        "--target",
        "--features",
    ):
        assert opt in out
    _, out, _ = run(capsys, "cv", "--help")
    assert "--cv K" in out


def test_version(capsys):
    from jaxreg import __version__

    rc, out, _ = run(capsys, "--version")
    assert rc == 0 and out.strip() == f"jaxreg {__version__}"


def test_signed_zeros_are_written_as_zeros():
    from jaxreg.cli import io as cli_io

    text = cli_io.coefs_csv(
        np.array([1.0]), np.array([[-0.0, 2.0]]), np.array([-0.0]), ["a", "b"],
        {"gap": np.array([-0.0])},
    ).decode()  # fmt: skip
    assert text.splitlines()[1] == "1.0,0.0,0.0,0.0,2.0"
    assert cli_io._jsonable({"c": np.array([-0.0, -1.5])}) == {"c": [0.0, -1.5]}
    assert str(cli_io._jsonable(-0.0)) == "0.0"


def test_entry_order_ties_and_never():
    coefs = np.array([[0, 0, 0, 0], [0, 0.1, -3.0, 0], [0.2, 0.1, -3.0, 0]])
    assert cli.entry_order(coefs, list("abcd")) == [("c", 1), ("b", 1), ("a", 2)]
    # A scale makes sizes comparable: b's 0.1 is 100 units of its own SD.
    assert cli.entry_order(coefs, list("abcd"), [1, 1000, 1, 1])[:2] == [
        ("b", 1),
        ("c", 1),
    ]


def test_load_table_reads_a_quoted_csv(tmp_path):
    (tmp_path / "q.csv").write_text('"x one",y\n"1.5",2\n3,NA\n')
    with pytest.raises(cli.CLIError, match="column 'y' has 1 missing"):
        cli.load_table(tmp_path / "q.csv", target="y")
    (tmp_path / "q.csv").write_text('\ufeff"x one",y\n"1.5",2\n\n3,4\n\n')
    t = cli.load_table(tmp_path / "q.csv", target="y")  # blank lines are skipped
    assert t.feature_names == ["x one"] and t.X.tolist() == [[1.5], [3.0]]
    assert t.y.tolist() == [2.0, 4.0]
    (tmp_path / "q.csv").write_text("x,y\n1,2\n\n3,4,5\n")
    with pytest.raises(cli.CLIError, match="line 4 has 3 fields"):  # file lines
        cli.load_table(tmp_path / "q.csv", target="y")


# ------------------------------------------------------------------------ progress


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_draws_on_a_terminal_only(monkeypatch):
    monkeypatch.delenv("JAXREG_PROGRESS", raising=False)
    tty, pipe = _Tty(), io.StringIO()
    for stream in (tty, pipe):
        with _progress.Progress(3, "folds", stream=stream) as bar:
            for _ in range(3):
                bar.update()
    assert pipe.getvalue() == ""
    last = tty.getvalue().split("\r")[-1]
    assert last.startswith("folds [" + "#" * 24 + "] 3/3") and last.endswith("\n")
    assert list(_progress.progress(range(4), "x", stream=pipe)) == [0, 1, 2, 3]
    assert pipe.getvalue() == ""
    monkeypatch.setenv("JAXREG_PROGRESS", "0")
    quiet = _Tty()
    with _progress.Progress(2, stream=quiet) as bar:
        bar.update(2)
    assert quiet.getvalue() == ""
    monkeypatch.setenv("JAXREG_PROGRESS", "1")
    forced = io.StringIO()
    list(_progress.progress([1, 2], "y", stream=forced))
    assert "2/2" in forced.getvalue()


def test_progress_after_a_delay_only():
    """A bar with a delay draws nothing for a run that ends sooner, and from
    its first update past the delay otherwise."""
    import time

    quick, slow = _Tty(), _Tty()
    with _progress.Progress(2, "quick", stream=quick, delay=60.0) as bar:
        bar.update(2)
    assert quick.getvalue() == ""
    with _progress.Progress(2, "slow", stream=slow, delay=0.02) as bar:
        bar.update()
        assert slow.getvalue() == ""
        time.sleep(0.03)
        bar.update()
    assert slow.getvalue().split("\r")[-1].startswith("slow [")
    assert slow.getvalue().endswith("\n")


def test_progress_rate_and_time_left(monkeypatch):
    import time

    tty = _Tty()
    with _progress.Progress(3_000_000, "rows", stream=tty, unit="rows") as bar:
        time.sleep(0.01)
        bar.update(1_000_000)
        mid = tty.getvalue().split("\r")[-1]
        bar.update(2_000_000)
    assert "1M/3M" in mid and "rows/s" in mid and "left" in mid
    last = tty.getvalue().split("\r")[-1]
    assert "3M/3M" in last and "left" not in last


def test_sufficient_stats_draws_progress(capsys):
    import numpy as np

    import jaxreg

    X = np.random.default_rng(0).normal(size=(5000, 3))
    jaxreg.sufficient_stats(X, X[:, 0], chunk_rows=1000, progress=True)
    err = capsys.readouterr().err
    assert "sufficient statistics" in err and "5k/5k" in err and "rows/s" in err


def test_progress_task_spinner(monkeypatch):
    monkeypatch.delenv("JAXREG_PROGRESS", raising=False)
    tty = _Tty()
    with _progress.task("solving", stream=tty, interval=0.01):
        import time

        time.sleep(0.05)
    assert "solving: done in" in tty.getvalue()
    assert tty.getvalue().endswith("\n")
    tty = _Tty()
    with pytest.raises(ZeroDivisionError), _progress.task("bad", stream=tty):
        1 / 0  # noqa: B018
    assert "bad: failed in" in tty.getvalue()
    pipe = io.StringIO()
    with _progress.task("quiet", stream=pipe):
        pass
    assert pipe.getvalue() == ""
    with pytest.raises(
        ValueError, match="total must be None or a non-negative int, got -1"
    ):
        _progress.Progress(-1, stream=pipe)


# ---------------------------------------------------------------------------- demo


def test_demo_writes_the_plots_and_reports_the_lars_entry_order(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    from jaxreg.datasets import load_diabetes

    out_dir = tmp_path / "demo"
    rc, out, err = run(capsys, "demo", "--out", out_dir, "--rows", "8", "--geometry")
    assert rc == 0, err
    names = ["coef_path.png", "cv_curve.png", "geometry.png", "ridge_loo.png"]
    assert sorted(p.name for p in out_dir.iterdir()) == names
    for name in names:
        w, h, size = _png_size(out_dir / name)
        assert w >= 600 and h >= 400 and size > 20_000
    assert f"Plots written to {out_dir}/" in out
    for section in (
        "1. Lasso path",
        "2. Lasso, 5-fold cross-validation",
        "3. Ridge, exact leave-one-out curve",
        "alpha_min",
        "alpha_1se",
    ):
        assert section in out
    # The order of entry equals the LARS order on the standardized data.
    X, y, feat = load_diabetes()
    Xs = (X - X.mean(0)) / X.std(0)
    _, _, lars = sklearn_lm.lars_path(Xs, y, method="lasso")
    first = [int(np.argmax(lars[j] != 0)) for j in range(10)]
    expected = [feat[j] for j in sorted(range(10), key=lambda j: first[j])]
    block = out.split("Order in which the features enter")[1].split("(Efron")[0]
    got = [ln.split()[1] for ln in block.splitlines() if ln[:4].strip().isdigit()]
    assert got == expected
    assert got == ["bmi", "s5", "bp", "s3", "sex", "s6", "s1", "s4", "s2", "age"]
    # A second run refuses to overwrite, before doing any work.
    rc, _, err = run(capsys, "demo", "--out", out_dir)
    assert rc == 2 and "coef_path.png already exists; pass --force" in err
    # Without matplotlib the demo still prints its summary, and says why there
    # are no plots (the solvers are compiled by now, so this is quick).
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(sys.modules, "matplotlib", None)
        rc, out2, err = run(capsys, "demo", "--out", tmp_path / "none")
    assert rc == 0 and "matplotlib is not installed" in err
    assert "Order in which the features enter" in out2 and "Plots written" not in out2
    assert not (tmp_path / "none").exists()


# ---------------------------------------------------------------- installed script


def _script():
    found = Path(sys.executable).parent / "jaxreg"
    if found.exists():
        return str(found)
    return shutil.which("jaxreg")


def test_installed_script(tmp_path):
    script = _script()
    if script is None:
        pytest.skip("the jaxreg console script is not installed")
    env = {**os.environ, "JAXREG_PROGRESS": "0"}
    r = subprocess.run(
        [script, "path", str(tmp_path / "missing.csv"), "--target", "y"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        f"jaxreg: error: input file {tmp_path / 'missing.csv'} does not exist."
    ]
    r = subprocess.run(
        [sys.executable, "-m", "jaxreg", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 0 and r.stdout.startswith("usage: jaxreg")
    assert "demo" in r.stdout


# ------------------------------------------------------- bad files and outputs (#13)


def test_broken_input_files_are_user_errors(capsys, files, tmp_path):
    # A truncated .npz (BadZipFile), a file of commas (IndexError) and junk named
    # .npz (numpy advised allow_pickle) ended as "internal error", exit 1.
    whole = files["npz"].read_bytes()
    (tmp_path / "cut.npz").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "commas.csv").write_text(",,,\n,,,\n")
    (tmp_path / "junk.npz").write_text("junk\n")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object))
    for name, pattern in [
        ("cut.npz", r"not a readable \.npz archive: the file is truncated or corrupt"),
        ("commas.csv", r"has no header line"),
        ("junk.npz", r"not a readable \.npz archive"),
        ("objects.npy", r"holds Python objects .* numeric arrays only"),
    ]:
        target = [] if name.endswith(".npz") else ["--target", "0"]
        rc, out, err = run(capsys, "path", tmp_path / name, *target)
        assert rc == 2, (name, err)
        line = err.strip()
        assert len(line.splitlines()) == 1 and re.search(pattern, line), line
        assert "allow_pickle" not in line


def test_unwritable_output_is_refused_before_any_work(capsys, files, monkeypatch):
    # A folder that refuses new files was found only after the computation
    # (PermissionError, "internal error").
    def refuse(folder):
        raise PermissionError(13, "Permission denied")

    def never(*args, **kwargs):
        raise AssertionError("the data was read before the outputs were checked")

    monkeypatch.setattr(cli.io, "_new_file", refuse)
    monkeypatch.setattr(cli.commands, "load_table", never)
    rc, out, err = run(
        capsys, "path", files["csv"], "--target", "y", "--out-coefs", "/tmp/x.csv"
    )
    assert rc == 2
    assert err.strip() == (
        "jaxreg: error: cannot write /tmp/x.csv: Permission denied in /tmp."
    )


def test_family_and_scoring(capsys, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] + 0.5 * rng.normal(size=120) > 0).astype(float)
    path = tmp_path / "b.csv"
    header = "a,b,c,y"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header=header, comments="")
    res = run_json(capsys, "path", path, "--target", "y", "--family", "binomial",
                   "--alphas", "5")  # fmt: skip
    api = lasso_path(X, y, family="binomial", alphas=5)
    np.testing.assert_allclose(res["coefs"], api.coefs, rtol=1e-10, atol=1e-12)
    rc, out, _ = run(capsys, "cv", path, "--target", "y", "--family", "binomial",
                     "--scoring", "auc", "--alphas", "5")  # fmt: skip
    assert rc == 0 and "CV auc" in out
