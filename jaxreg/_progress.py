"""Terminal progress bars that stay quiet when output is not a terminal.

Two helpers, both writing to ``sys.stderr`` by default so that stdout stays clean for
results (``--json``):

- :class:`Progress` counts known steps (CV folds, benchmark runs, stages of a demo)::

      with Progress(total=5, desc="CV folds") as bar:
          for fold in folds:
              ...
              bar.update()

  or, for an iterable, ``for fold in progress(folds, desc="CV folds"): ...``.

- :func:`task` marks one long blocking call (a compiled path solve) with a spinner and
  the elapsed time, redrawn by a background thread while the call runs::

      with task("lasso path, 100 alphas"):
          result = jaxreg.lasso_path(X, y)

Both draw only when the stream is a terminal (``isatty()``); set the environment
variable ``JAXREG_PROGRESS=0`` to silence them, or ``=1`` to force them on.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator

__all__ = ["Progress", "enabled_for", "progress", "task"]

_SPINNER = "|/-\\"
_BAR_WIDTH = 24


def enabled_for(stream) -> bool:
    """Whether progress output should be drawn on ``stream``."""
    forced = os.environ.get("JAXREG_PROGRESS", "").strip().lower()
    if forced in ("0", "false", "no", "off"):
        return False
    if forced in ("1", "true", "yes", "on"):
        return True
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _format_seconds(s: float) -> str:
    if s < 60:
        return f"{s:.1f}s"
    m, s = divmod(int(s), 60)
    return f"{m}m{s:02d}s" if m < 60 else f"{m // 60}h{m % 60:02d}m"


def _format_count(x: float) -> str:
    """1234567 -> '1.23M'."""
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if x >= div:
            return f"{x / div:.3g}{suffix}"
    return f"{x:.0f}"


class Progress:
    """A counting progress bar: ``desc [#####-----] 3/5 1.2s``.

    Parameters
    ----------
    total : int or None
        Number of steps; None draws a counter without a bar.
    desc : str
        Text in front of the bar.
    stream : file-like, optional
        Where to draw (default ``sys.stderr``).
    enabled : bool, optional
        Force drawing on or off; by default it is on only for a terminal.
    unit : str, optional
        Counted things (e.g. ``"rows"``): adds their rate and the time left.
    delay : float, optional
        Seconds before the first line is drawn: a run that ends sooner draws
        nothing (a library call that is usually quick stays silent).
    """

    def __init__(
        self,
        total: int | None = None,
        desc: str = "",
        *,
        stream=None,
        enabled: bool | None = None,
        unit: str | None = None,
        delay: float = 0.0,
    ):
        if total is not None and (
            isinstance(total, bool) or not isinstance(total, int) or total < 0
        ):
            raise ValueError(
                f"total must be None or a non-negative int, got {total!r}."
            )
        self.total = total
        self.desc = desc
        self.unit = unit
        self.n = 0
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled_for(self.stream) if enabled is None else bool(enabled)
        self._start = time.perf_counter()
        self._last_len = 0
        self._closed = False
        self.delay, self._drawn = float(delay), False
        self._draw()

    def _line(self) -> str:
        seconds = time.perf_counter() - self._start
        elapsed = _format_seconds(seconds)
        head = f"{self.desc} " if self.desc else ""
        rate = ""
        if self.unit and seconds > 0 and self.n:
            speed = self.n / seconds
            rate = f" {_format_count(speed)} {self.unit}/s"
            if self.total and self.n < self.total:
                rate += f", {_format_seconds((self.total - self.n) / speed)} left"
        if self.total:
            filled = int(_BAR_WIDTH * min(self.n, self.total) / self.total)
            bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
            count = f"{_format_count(self.n)}/{_format_count(self.total)}"
            if not self.unit:
                count = f"{self.n}/{self.total}"
            return f"{head}[{bar}] {count} {elapsed}{rate}"
        return f"{head}{self.n} {elapsed}{rate}"

    def _draw(self, final: bool = False) -> None:
        if not self.enabled:
            return
        if not self._drawn and time.perf_counter() - self._start < self.delay:
            return  # not yet (and never, for a run that ends sooner)
        self._drawn = True
        line = self._line()
        pad = " " * max(0, self._last_len - len(line))
        self.stream.write("\r" + line + pad + ("\n" if final else ""))
        self.stream.flush()
        self._last_len = len(line)

    def set_description(self, desc: str) -> None:
        """Change the text in front of the bar (e.g. the current step's name)."""
        self.desc = desc
        self._draw()

    def update(self, n: int = 1) -> None:
        """Advance by ``n`` steps and redraw."""
        self.n += n
        self._draw()

    def close(self) -> None:
        """Finish the line (it stays on screen with the total time)."""
        if not self._closed:
            self._closed = True
            self._draw(final=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress(
    iterable: Iterable,
    desc: str = "",
    *,
    total: int | None = None,
    stream=None,
    enabled: bool | None = None,
) -> Iterator:
    """Iterate over ``iterable`` while drawing a :class:`Progress` bar."""
    if total is None:
        try:
            total = len(iterable)  # type: ignore[arg-type]
        except TypeError:
            total = None
    with Progress(total, desc, stream=stream, enabled=enabled) as bar:
        for item in iterable:
            yield item
            bar.update()


@contextlib.contextmanager
def task(desc: str, *, stream=None, enabled: bool | None = None, interval=0.2):
    """Show a spinner and the elapsed time while the ``with`` block runs.

    The line is redrawn by a daemon thread (JAX releases the GIL while a compiled
    computation runs, so the spinner keeps turning). On exit the line ends with
    ``done`` and the total time, or ``failed`` when the block raised.
    """
    stream = sys.stderr if stream is None else stream
    on = enabled_for(stream) if enabled is None else bool(enabled)
    if not on:
        yield
        return
    start = time.perf_counter()
    stop = threading.Event()
    lock = threading.Lock()
    width = [0]

    def draw(text: str, end: str = "") -> None:
        with lock:
            pad = " " * max(0, width[0] - len(text))
            stream.write("\r" + text + pad + end)
            stream.flush()
            width[0] = len(text)

    def spin() -> None:
        for ch in itertools.cycle(_SPINNER):
            if stop.wait(interval):
                return
            draw(f"{ch} {desc} {_format_seconds(time.perf_counter() - start)}")

    draw(f"{_SPINNER[0]} {desc}")
    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    status = "failed"
    try:
        yield
        status = "done"
    finally:
        stop.set()
        thread.join()
        draw(
            f"  {desc}: {status} in {_format_seconds(time.perf_counter() - start)}",
            end="\n",
        )
