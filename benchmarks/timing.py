"""Wall-clock timing with the compilation (first call) reported apart.

JAX dispatches asynchronously, so a timer stopped when a jitted call returns may
stop before the device has finished. Every timed call here therefore ends with
:func:`block`, which waits on any JAX array in the result. jaxreg's public
functions return NumPy arrays (copied from the device), so their results are
already synchronised and :func:`block` is a no-op for them; it matters for the
raw jitted functions.
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
import time

__all__ = ["Timing", "block", "time_call"]


def block(result):
    """Wait until every JAX array in ``result`` (any pytree) is computed.

    JAX is not imported for this: when it has not been imported by the caller no
    JAX array can exist, and peers' processes stay free of it.
    """
    jax = sys.modules.get("jax")
    if jax is not None:
        jax.block_until_ready(result)
    return result


@dataclasses.dataclass(frozen=True)
class Timing:
    """Timing of one implementation on one case.

    Attributes
    ----------
    first_s : float
        The first call (includes compilation for JAX code).
    times_s : tuple of float
        The calls used for the statistics.
    median_s, min_s : float
        Median and minimum of ``times_s``.
    compile_s : float or None
        ``max(first_s - median_s, 0)``, the cost of compiling and tracing (and of
        any other first-call work such as loading a library); None when the first
        call is counted as a steady-state call (implementations that do not
        compile).
    """

    first_s: float
    times_s: tuple
    median_s: float
    min_s: float
    compile_s: float | None


def time_call(fn, *, repeats: int, budget_s: float, compiles: bool):
    """Call ``fn()`` once, then up to ``repeats`` more times, and time each call.

    Parameters
    ----------
    fn : callable
        No arguments; its result is passed through :func:`block`.
    repeats : int
        Calls after the first one. At least one is made when ``compiles`` is true
        (the first call cannot serve as a steady-state sample then).
    budget_s : float
        Repeats stop once the samples have taken this long in total.
    compiles : bool
        True for JIT-compiled code: the first call is reported as ``first_s``
        and ``compile_s`` and excluded from the median. False: the first call is
        a sample like the others.

    Returns
    -------
    result
        The result of the last call.
    Timing
    """
    if repeats < 0:
        raise ValueError(f"repeats must be >= 0, got {repeats!r}.")
    t0 = time.perf_counter()
    result = block(fn())
    first = time.perf_counter() - t0
    samples = [] if compiles else [first]
    # A first call that is a sample counts against the budget too, so a slow peer
    # is not run twice just to fill the repeats.
    spent = 0.0 if compiles else first
    wanted = max(repeats, 1) if compiles else repeats
    while len(samples) < wanted + (0 if compiles else 1):
        if spent >= budget_s and samples:
            break
        t0 = time.perf_counter()
        result = block(fn())
        dt = time.perf_counter() - t0
        samples.append(dt)
        spent += dt
    median = statistics.median(samples)
    return result, Timing(
        first_s=first,
        times_s=tuple(samples),
        median_s=median,
        min_s=min(samples),
        compile_s=max(first - median, 0.0) if compiles else None,
    )
