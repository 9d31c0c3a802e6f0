"""glmnet's own Fortran solver as a benchmark peer, where python-glmnet cannot build.

python-glmnet compiles glmnet's Fortran at install time, which needs a Fortran
compiler. The ``glmnet_py`` wheel (``pip install glmnet_py``) ships the same
Fortran already compiled (``GLMnet.so``, glmnet 2017), linked against the old
``libgfortran.so.3``. That library needs only five runtime entry points from it;
``gfortran3_shim.c`` provides them (array packing for gfortran's pre-8 array
descriptor, and error reporting) and is compiled here with the system C compiler
into a library of that name, loaded before ``GLMnet.so``. The solver code itself
is glmnet's, called through ctypes exactly as glmnet_py calls it.

Only for the benchmarks: every result is validated by the caller (its duality gap
recomputed by :mod:`jaxreg.reference`), so a wrong binding cannot pass unseen.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import shutil
import subprocess
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
_LIB = None


class Unavailable(ImportError):
    """glmnet's Fortran library cannot be loaded here (the reason is the message)."""


def _library():
    global _LIB
    if _LIB is not None:
        return _LIB
    spec = importlib.util.find_spec("glmnet_py")
    if spec is None or not spec.submodule_search_locations:
        raise Unavailable("glmnet_py is not installed (pip install glmnet_py)")
    so = os.path.join(list(spec.submodule_search_locations)[0], "GLMnet.so")
    if not os.path.exists(so):
        raise Unavailable(f"{so} is missing")
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise Unavailable("no C compiler to build the libgfortran.so.3 shim")
    out = tempfile.mkdtemp(prefix="jaxreg-gfortran3-")
    vmap = os.path.join(out, "v.map")
    with open(vmap, "w") as f:
        names = ("internal_pack", "internal_unpack", "os_error", "runtime_error",
                 "runtime_error_at")  # fmt: skip
        body = " ".join(f"_gfortran_{n};" for n in names)
        f.write(f"GFORTRAN_1.0 {{ global: {body} local: *; }};\n")
    shim = os.path.join(out, "libgfortran.so.3")
    subprocess.run(
        [cc, "-O2", "-shared", "-fPIC", f"-Wl,--version-script={vmap}",
         "-Wl,-soname,libgfortran.so.3", "-o", shim,
         os.path.join(HERE, "gfortran3_shim.c")],
        check=True, capture_output=True,
    )  # fmt: skip
    ctypes.CDLL(shim, mode=ctypes.RTLD_GLOBAL)
    _LIB = ctypes.CDLL(so)
    return _LIB


def _ptr(a, ctype):
    return a.ctypes.data_as(ctypes.POINTER(ctype))


def _expand(lmu, nin, ia, ca, nlam, p):
    coefs = np.zeros((nlam, p))
    for k in range(lmu):
        m = nin[k]
        coefs[k, ia[:m] - 1] = ca[:m, k]
    return coefs


def elnet_path(X, y, alphas, l1_ratio=1.0, thresh=1e-7, max_iter=100_000):
    """glmnet's gaussian path (``elnet``) on jaxreg's objective: no
    standardization, an intercept; glmnet's early stops switched off.

    glmnet solves the elastic net on ``y/σ`` at ``λ/σ`` (σ: y's population sd),
    which changes the ridge part's weight; jaxreg's ``(alpha, l1_ratio)`` are
    mapped to glmnet's ``(λ, r)`` with ``c = 1/(σ(1 - l1_ratio) + l1_ratio)``,
    ``r = l1_ratio·c``, ``λ = alpha/c`` (the inverse of
    :func:`jaxreg.from_glmnet`), the identity for the lasso.
    Returns ``coefs, intercepts, seconds, info`` as :func:`lognet_path`.
    """
    lib = _library()
    D, I = ctypes.c_double, ctypes.c_int  # noqa: E741
    X = np.asarray(X, dtype=np.float64)
    n, p = X.shape
    x = np.array(X, order="F", copy=True)
    yy = np.array(y, dtype=np.float64)
    sigma = float(np.std(yy))
    c = 1.0 / (sigma * (1.0 - l1_ratio) + l1_ratio)
    ulam = np.asarray(alphas, dtype=np.float64) / c
    nlam = ulam.size
    w = np.ones(n)
    jd = np.zeros(1, np.int32)
    vp = np.ones(p)
    bounds = np.asfortranarray(np.tile([[-9.9e35], [9.9e35]], (1, p)))
    lmu, nlp, jerr = I(), I(), I()
    a0, rsq, alm = np.zeros(nlam), np.zeros(nlam), np.zeros(nlam)
    ca = np.zeros((p, nlam), order="F")
    ia = np.zeros(p, np.int32)
    nin = np.zeros(nlam, np.int32)
    lib.chg_fract_dev_(ctypes.byref(D(0.0)))
    lib.chg_dev_max_(ctypes.byref(D(1.0)))
    ka = 1 if p < 500 else 2  # glmnet's choice: covariance or naive updates

    def ref(v, t):
        return ctypes.byref(t(v))

    t0 = time.perf_counter()
    lib.elnet_(
        ref(ka, I), ref(l1_ratio * c, D), ref(n, I), ref(p, I), _ptr(x, D),
        _ptr(yy, D), _ptr(w, D), _ptr(jd, I), _ptr(vp, D), _ptr(bounds, D),
        ref(p + 1, I), ref(p, I), ref(nlam, I), ref(1.0, D), _ptr(ulam, D),
        ref(thresh, D), ref(0, I), ref(1, I), ref(max_iter, I), ctypes.byref(lmu),
        _ptr(a0, D), _ptr(ca, D), _ptr(ia, I), _ptr(nin, I), _ptr(rsq, D),
        _ptr(alm, D), ctypes.byref(nlp), ctypes.byref(jerr),
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    if jerr.value > 0:
        raise RuntimeError(f"glmnet elnet failed: jerr = {jerr.value}")
    coefs = _expand(lmu.value, nin, ia, ca, nlam, p)
    info = dict(n_alphas_solved=lmu.value, passes=nlp.value, jerr=jerr.value)
    return coefs, a0.copy(), seconds, info


def lognet_path(X, y, alphas, l1_ratio=1.0, thresh=1e-7, max_iter=100_000):
    """glmnet's binomial path on the given grid, without standardizing, with an
    intercept; glmnet's early stops (deviance ratio, fractional change) switched
    off so that every alpha is solved.

    Returns ``coefs (n_alphas, p), intercepts, seconds, info``; ``seconds`` times
    the Fortran call alone (the Fortran-ordered copy of X it centres in place is
    made before). A negative ``info["jerr"]`` is glmnet's early stop (maxit
    reached): the alphas it did not reach (``n_alphas_solved`` onwards) are left
    at 0, which the callers' validation reports.
    """
    lib = _library()
    D, I = ctypes.c_double, ctypes.c_int  # noqa: E741
    X = np.asarray(X, dtype=np.float64)
    n, p = X.shape
    x = np.array(X, order="F", copy=True)
    yy = np.asarray(y, dtype=np.float64)
    # glmnet's binomial response: the first column is the modelled class
    Y = np.asfortranarray(np.column_stack([yy, 1.0 - yy]))
    offset = np.zeros((n, 2), order="F")
    jd = np.zeros(1, np.int32)  # no excluded features
    vp = np.ones(p)  # penalty factors
    bounds = np.asfortranarray(np.tile([[-9.9e35], [9.9e35]], (1, p)))
    ulam = np.asarray(alphas, dtype=np.float64)
    nlam = ulam.size
    lmu, dev0, nlp, jerr = I(), D(), I(), I()
    a0 = np.zeros(nlam)
    ca = np.zeros((p, nlam), order="F")
    ia = np.zeros(p, np.int32)
    nin = np.zeros(nlam, np.int32)
    dev = np.zeros(nlam)
    alm = np.zeros(nlam)
    lib.chg_fract_dev_(ctypes.byref(D(0.0)))
    lib.chg_dev_max_(ctypes.byref(D(1.0)))

    def ref(v, t):
        return ctypes.byref(t(v))

    t0 = time.perf_counter()
    lib.lognet_(
        ref(l1_ratio, D), ref(n, I), ref(p, I), ref(1, I), _ptr(x, D), _ptr(Y, D),
        _ptr(offset, D), _ptr(jd, I), _ptr(vp, D), _ptr(bounds, D), ref(p + 1, I),
        ref(p, I), ref(nlam, I), ref(1.0, D), _ptr(ulam, D), ref(thresh, D),
        ref(0, I), ref(1, I), ref(max_iter, I), ref(0, I), ctypes.byref(lmu),
        _ptr(a0, D), _ptr(ca, D), _ptr(ia, I), _ptr(nin, I), ctypes.byref(dev0),
        _ptr(dev, D), _ptr(alm, D), ctypes.byref(nlp), ctypes.byref(jerr),
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    if jerr.value > 0:
        raise RuntimeError(f"glmnet lognet failed: jerr = {jerr.value}")
    coefs = _expand(lmu.value, nin, ia, ca, nlam, p)
    info = dict(n_alphas_solved=lmu.value, passes=nlp.value, jerr=jerr.value)
    return coefs, a0.copy(), seconds, info
