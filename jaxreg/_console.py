"""The ``jaxreg`` program's entry point: Ctrl-C handling first, then the rest.

This module imports nothing heavy, so the interrupt handler is in place before
NumPy, JAX or the command line load (an interrupt during those imports is then
one line and status 130, not a traceback).
"""

import contextlib
import os
import signal
import sys
import threading

PROG = "jaxreg"


def console() -> None:
    """The ``jaxreg`` program: :func:`jaxreg.cli.main`, with Ctrl-C exiting with
    status 130 and one line, wherever it lands."""
    _exit_on_interrupt()
    from jaxreg.cli.main import main

    sys.exit(main())


def _exit_on_interrupt() -> None:
    """Ctrl-C prints one line and ends the process at once (``os._exit``).

    A KeyboardInterrupt raised in Python code may land inside a JAX callback
    (where it is ignored) or unwind the interpreter while XLA's threads still run
    (which can crash at exit). So the program never raises it: the handler exits
    directly, and a watcher thread woken by the signal's wakeup fd does the same
    when the main thread is busy inside a compiled computation.
    """
    done = threading.Lock()

    def stop(*_):
        if done.acquire(blocking=False):
            with contextlib.suppress(OSError):
                os.write(2, f"{PROG}: interrupted\n".encode())
            os._exit(130)

    read, write = os.pipe()
    os.set_blocking(write, False)
    signal.signal(signal.SIGINT, stop)
    signal.set_wakeup_fd(write, warn_on_full_buffer=False)

    def watch():
        while True:
            if signal.SIGINT in os.read(read, 64):
                stop()

    threading.Thread(target=watch, name="jaxreg-interrupt", daemon=True).start()
