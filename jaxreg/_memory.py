"""Estimate what a call needs before allocating, and refuse clearly when it won't fit.

An XLA out-of-memory error arrives as a long runtime traceback from deep inside a
compiled program; this check turns the common cases into one message that names the
size and what to do about it.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = [
    "InsufficientMemoryError",
    "available_bytes",
    "check_memory",
    "estimate_bytes",
    "fits",
]

# Leave room for XLA's temporaries and the rest of the process.
_HEADROOM = 0.8


class InsufficientMemoryError(MemoryError):
    """The problem would not fit in the memory of the chosen device."""


def available_bytes(device=None) -> int | None:
    """Free memory of ``device`` (default: JAX's default device), or None if unknown."""
    import jax

    dev = device if device is not None else jax.devices()[0]
    stats = None
    try:
        stats = dev.memory_stats()
    except Exception:  # not every backend reports memory
        stats = None
    if stats and "bytes_limit" in stats:
        return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def estimate_bytes(n, p, k, dtype, mode, *, batch=None, n_problems=1, extra=0) -> int:
    """Peak bytes of a path solve: the data, its centred copy, G, and the batch state.

    ``batch`` is the number of alphas solved at once (the chunk size); ``n_problems``
    counts problems solved side by side (CV folds); ``extra`` adds elements (e.g.
    a decomposition's factors).
    """
    item = np.dtype(dtype).itemsize
    batch = k if batch is None else batch
    data = 2 * n * p  # X on the device and its centred, weighted copy
    if mode == "gram":
        per_problem = p * p + 8 * batch * p
    else:
        per_problem = (
            n * p * (1 if n_problems > 1 else 0) + 8 * batch * p + 2 * batch * n
        )
    results = 3 * k * p
    return int(item * (data + n_problems * per_problem + results + extra))


def fits(need, device=None):
    """``(ok, free)``: whether ``need`` bytes fit in the free memory of
    ``device`` with room left for XLA's temporaries and the rest of the process
    (``ok`` when the free memory is unknown), and that free memory (or None)."""
    free = available_bytes(device)
    return free is None or need <= _HEADROOM * free, free


def check_memory(
    n, p, k, dtype, mode, device=None, *, batch=None, n_problems=1, extra=0
):
    need = estimate_bytes(
        n, p, k, dtype, mode, batch=batch, n_problems=n_problems, extra=extra
    )
    ok, free = fits(need, device)
    if ok:
        return need
    gib = 2.0**30
    remedies = []
    if np.dtype(dtype) == np.float64:
        remedies.append("dtype='float32' (half the memory)")
    if mode == "gram" and p > n:
        remedies.append("mode='design' (no p x p Gram matrix)")
    if batch is None or batch > 8:
        remedies.append("strategy='hybrid' with a small chunk (fewer alphas at once)")
    if n_problems > 1:
        remedies.append("fewer folds")
    remedies.append("a device with more memory")
    raise InsufficientMemoryError(
        f"This problem needs about {need / gib:.1f} GiB (n={n}, p={p}, {k} alphas, "
        f"{np.dtype(dtype).name}, {mode} mode) but only {free / gib:.1f} GiB is free "
        f"on the device. Try {', or '.join(remedies)}."
    )
