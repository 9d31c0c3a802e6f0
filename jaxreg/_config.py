"""Compute settings applied around every public entry point.

jaxreg never flips the user's global JAX configuration, with one exception the user
can turn off: JAX's persistent compilation cache, pointed at a per-user folder
unless one is set (:func:`compilation_cache`). Instead each public call runs
inside a context that turns on 64-bit types when float64 is asked for (the default),
forces full-precision matmuls (JAX's default lets NVIDIA GPUs use TF32, which ruins
lasso paths) and optionally pins a device. These settings are part of JAX's jit cache
key, so nothing leaks into the user's own code.
"""

from __future__ import annotations

import contextlib
import functools

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "compute_context",
    "resolve_device",
    "backend_of",
    "vmap",
    "serial_blas",
    "array_module",
    "auto_axes",
    "by_features",
    "spread",
]


def resolve_device(device):
    """``None``, ``"cpu"``, ``"gpu"`` (or ``"cuda"``) or a ``jax.Device``."""
    if device is None or isinstance(device, jax.Device):
        return device
    if not isinstance(device, str):
        raise TypeError(
            f"device must be None, 'cpu', 'gpu' or a jax.Device, got {device!r}."
        )
    name = device.lower()
    if name == "cuda":
        name = "gpu"
    if name not in ("cpu", "gpu"):
        raise ValueError(f"device must be 'cpu' or 'gpu', got {device!r}.")
    try:
        return jax.devices(name)[0]
    except RuntimeError:
        raise ValueError(
            f"device={device!r} was asked for but JAX finds no {name.upper()} "
            f"(available: {', '.join(sorted({d.platform for d in jax.devices()}))}). "
            "Install a CUDA-enabled jaxlib or use device='cpu'."
        ) from None


@contextlib.contextmanager
def compute_context(dtype, device=None):
    """x64 on for float64, highest matmul precision, optional default device."""
    compilation_cache()
    with contextlib.ExitStack() as stack:
        if np.dtype(dtype) == np.float64:
            stack.enter_context(jax.enable_x64(True))
        stack.enter_context(jax.default_matmul_precision("highest"))
        if device is not None:
            stack.enter_context(jax.default_device(device))
        yield


# Compiles shorter than this are not worth a cache file (JAX's default is 1 s;
# most of jaxreg's programs compile in 0.3-1 s on a 2-core CPU).
CACHE_MIN_COMPILE_SECONDS = 0.2


@functools.cache
def compilation_cache():
    """JAX's persistent compilation cache in a per-user folder, once per process,
    so that a new process reuses the programs compiled by earlier ones.

    Left alone when the user set ``jax_compilation_cache_dir`` (or
    ``JAX_COMPILATION_CACHE_DIR``). ``JAXREG_COMPILATION_CACHE=0`` turns it off;
    a path there is used as the folder. The default folder is
    ``$XDG_CACHE_HOME/jaxreg/jax`` (``~/.cache/jaxreg/jax``). Returns the folder
    in use, or None.
    """
    import os

    current = jax.config.jax_compilation_cache_dir
    folder = cache_folder(os.environ, current)
    if folder is None or folder == current:
        return folder
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return None  # not writable: compile as before
    jax.config.update("jax_compilation_cache_dir", folder)
    if jax.config.jax_persistent_cache_min_compile_time_secs == 1.0:  # the default
        jax.config.update(
            "jax_persistent_cache_min_compile_time_secs", CACHE_MIN_COMPILE_SECONDS
        )
    return folder


def cache_folder(env, current):
    """The compilation cache's folder for the environment ``env`` when JAX's is
    ``current`` (see :func:`compilation_cache`): None when turned off."""
    import os

    setting = env.get("JAXREG_COMPILATION_CACHE", "").strip()
    if setting.lower() in ("0", "false", "off", "no"):
        return None
    if current:
        return current
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return setting or os.path.join(base, "jaxreg", "jax")


def array_module(a):
    """NumPy for host arrays (host-side numbers and certificates, nothing to
    compile), else jax.numpy."""
    return np if isinstance(a, np.ndarray) else jnp


@functools.cache
def _blas_threads():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # optional (scikit-learn brings it)
        return None
    return ThreadpoolController()


def serial_blas():
    """A context in which the host BLAS runs on one thread (with threadpoolctl).

    For many small LAPACK calls between XLA computations: OpenBLAS wakes its
    threads for a 100 x 100 product, and they spin (about 0.1 s) after it, taking
    the cores from XLA's next loop. Measured on a 2-core CPU: the support
    refinement of a 1000 x 100 lasso path cost 5 ms in one thread and slowed the
    path from 0.044 s to about 0.1 s with OpenBLAS's default threads.
    """
    ctl = _blas_threads()
    if ctl is None:
        return contextlib.nullcontext()
    return ctl.limit(limits=1, user_api="blas")


def backend_of(device) -> str:
    return device.platform if device is not None else jax.default_backend()


def vmap(fn, in_axes, size):
    """``jax.vmap(fn, in_axes)`` over a batch of ``size``; for a batch of one, a
    plain call on the squeezed arguments (a vmapped while loop costs tracing and
    compile time even over one member: most calls have one member, one target and
    one l1_ratio)."""
    if size > 1:
        return jax.vmap(fn, in_axes=in_axes)

    def squeeze(axis, tree):
        if axis is None:
            return tree
        return jax.tree_util.tree_map(lambda a: jnp.squeeze(a, axis), tree)

    def call(*args):
        args = jax.tree_util.tree_map(
            squeeze, tuple(in_axes), args, is_leaf=lambda x: x is None
        )
        return jax.tree_util.tree_map(lambda a: a[None], fn(*args))

    return call


def spread(X) -> bool:
    """Whether ``X`` is a jax.Array laid over several devices (sharded)."""
    return isinstance(X, jax.Array) and len(X.sharding.device_set) > 1


def by_features(X) -> bool:
    """Whether ``X`` is a jax.Array sharded over its features (columns)."""
    spec = getattr(getattr(X, "sharding", None), "spec", None)
    return spread(X) and spec is not None and len(spec) > 1 and spec[1] is not None


def auto_axes(X):
    """``X`` on its mesh with Auto axes (the same devices and layout, no copy).

    On a mesh with Explicit axes (``jax.make_mesh``'s default), every contraction
    over a sharded axis must name its output sharding; with Auto axes XLA chooses
    it, and the solvers' products (``A·w`` over sharded features, the gap's
    ``max|Aᵀr|``) compile as they are.
    """
    from jax.sharding import AxisType, Mesh, NamedSharding

    sh = getattr(X, "sharding", None)
    if not spread(X):
        return X
    if not X.is_fully_addressable:
        raise ValueError(
            "X is a jax.Array spread across processes: paths take arrays within one "
            "process. Reduce rows across processes with jaxreg.sufficient_stats(X, "
            "y, folds=...) and pass the statistics."
        )
    if not isinstance(sh, NamedSharding):
        return X
    mesh = sh.mesh
    auto = (AxisType.Auto,) * len(mesh.axis_names)
    if tuple(mesh.axis_types) == auto:
        return X
    mesh = Mesh(mesh.devices, mesh.axis_names, axis_types=auto)
    return jax.device_put(X, NamedSharding(mesh, sh.spec))
