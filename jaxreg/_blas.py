"""One BLAS thread for the host solvers, whose calls are many and small.

The active-set solver (:mod:`jaxreg.solvers.active_set`) makes thousands of
LAPACK and BLAS calls on blocks of at most a few hundred rows, between lines of
Python. OpenBLAS spreads each of them over its threads; on a 2-core machine
with JAX's own threads alive, that made whole paths about twice as slow as one
thread (500 × 20,000 lasso path, 100 alphas: 7.2 s against 3.9 s; 100 × 5,000:
0.71 s against 0.35 s). :func:`single_threaded` sets this thread's OpenBLAS
thread count to one while a host solve runs (OpenBLAS's thread-local setting
where the library has it, else the global one, restored on exit). Libraries
other than OpenBLAS, or platforms without ``/proc/self/maps``, are left as they
are: the solver is then only as fast as before.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools

__all__ = ["single_threaded"]

# (getter, setter) of the global thread count, by the names OpenBLAS builds use
_GLOBAL = (
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
    ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
    ("openblas_get_num_threads", "openblas_set_num_threads"),
)


def _loaded_openblas():
    """Paths of the OpenBLAS libraries loaded in this process (NumPy and SciPy
    bundle one each); empty where the process map cannot be read."""
    try:
        with open("/proc/self/maps") as f:
            names = {line.split()[-1] for line in f if "/" in line}
    except OSError:
        return ()
    return tuple(sorted(p for p in names if "openblas" in p.rsplit("/", 1)[-1]))


@functools.cache
def _controls(path):
    """``(set_local, get, set)`` of one library (each None where missing)."""
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return None, None, None
    local = getattr(lib, "openblas_set_num_threads_local", None)
    if local is not None:
        local.argtypes, local.restype = [ctypes.c_int], ctypes.c_int
        return local, None, None
    for get_name, set_name in _GLOBAL:
        get, put = getattr(lib, get_name, None), getattr(lib, set_name, None)
        if get is not None and put is not None:
            get.restype, put.argtypes = ctypes.c_int, [ctypes.c_int]
            return None, get, put
    return None, None, None


@contextlib.contextmanager
def single_threaded():
    """Run the block with every loaded OpenBLAS on one thread, then restore."""
    undo = []
    try:
        for path in _loaded_openblas():
            local, get, put = _controls(path)
            if local is not None:
                undo.append((local, local(1)))
            elif put is not None:
                undo.append((put, get()))
                put(1)
    except (OSError, ValueError, AttributeError):  # the speed only, never the result
        pass
    try:
        yield
    finally:
        for put, before in reversed(undo):
            put(before)
