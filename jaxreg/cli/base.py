"""What every part of the command line shares: the error type, warnings as
one-line messages, optional modules and the device label."""

from __future__ import annotations

import contextlib
import importlib
import sys
import warnings

PROG = "jaxreg"


class CLIError(Exception):
    """A user mistake: reported as one line on stderr, exit status 2."""


@contextlib.contextmanager
def warnings_as_lines():
    """Collect warnings and print each as one ``jaxreg: warning:`` line.

    User-facing warnings (``UserWarning`` such as ``ConvergenceWarning``, and
    ``RuntimeWarning``) are shown once each; deprecation notices of the libraries
    underneath are for developers and are dropped.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            seen = set()
            for w in caught:
                if not issubclass(w.category, (UserWarning, RuntimeWarning)):
                    continue
                text = str(w.message).replace("\n", " ")
                if text not in seen:
                    seen.add(text)
                    print(f"{PROG}: warning: {text}", file=sys.stderr)


def import_optional(module: str, what: str):
    """Import a part of jaxreg, or say (as a CLIError) that it is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if exc.name != module:
            raise
        raise CLIError(
            f"{what} is not available in this jaxreg installation ({module} is "
            "missing)."
        ) from None


def device_label(device) -> str:
    """The device asked for, or JAX's default backend."""
    import jax

    return device or jax.default_backend()
