"""The check's time limit: SymPy (and finite differences) past it are abandoned."""
from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager

MAX_TIMEOUT = 1e6           # seconds; a longer --check-timeout is no limit (the timer cannot count that far)


class CheckTimeout(Exception):
    """The reference did not finish within the check timeout."""


@contextmanager
def deadline(seconds: float | None):
    """Raise CheckTimeout in this block after `seconds` (main thread, POSIX; otherwise no limit)."""
    usable = (seconds is not None and 0 < seconds <= MAX_TIMEOUT and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def expire(signum, frame):
        raise CheckTimeout(f"SymPy took longer than {seconds:g} s")

    # Inside another deadline: never past the outer one, which runs on afterwards for what is left.
    outer_left, outer_interval = signal.getitimer(signal.ITIMER_REAL)
    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, expire)
    # Again every 50 ms after the first: code inside SymPy that catches Exception may swallow
    # one CheckTimeout, but not all of them.
    signal.setitimer(signal.ITIMER_REAL, min(seconds, outer_left) if outer_left > 0 else seconds, 0.05)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_left > 0:
            left = outer_left - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001), outer_interval)
