"""Ctrl-C and SIGTERM: the run stops, no line is left half written, and it says how far it got.

main() installs the handlers before anything else is imported, so a signal at any moment,
even inside numpy's import, stops the run cleanly: SIGINT raises KeyboardInterrupt, SIGTERM
raises Terminated (both BaseExceptions, so no `except Exception` can swallow them). While a
record is being written (`writing()`), a signal waits until the record is whole; a second one
then stops at once. A command that writes records says, through `report`, how many.
"""
from __future__ import annotations

import _thread
import os
import signal
from contextlib import contextmanager

EXIT_INTERRUPT, EXIT_TERMINATED = 130, 143


class Terminated(BaseException):
    """SIGTERM arrived."""


_state = {"writing": 0, "pending": None, "received": None}
report = {"done": None, "what": "job"}     # done() -> how many records are whole: "stopped after N jobs"


def _raise(signum, frame):
    _state["received"] = signum
    exc = KeyboardInterrupt() if signum == signal.SIGINT else Terminated()
    if _state["writing"] and _state["pending"] is None:
        _state["pending"] = exc         # the record being written is finished first
        return
    raise exc


def install() -> None:
    """Our handlers for SIGINT and SIGTERM (main thread only, as Python requires), and a hook for
    a signal whose exception lands where Python cannot raise it (a callback of the import
    system's locks): instead of Python's "Exception ignored" report, the signal comes again."""
    import sys
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, _raise)
    except ValueError:          # not the main thread: leave the signals to the caller
        return
    default = sys.unraisablehook

    def again(unraisable):
        if isinstance(unraisable.exc_value, (KeyboardInterrupt, Terminated)):
            # sent from another thread, so that it arrives once this hook has returned
            sig = signal.SIGINT if isinstance(unraisable.exc_value, KeyboardInterrupt) else signal.SIGTERM
            _thread.start_new_thread(os.kill, (os.getpid(), sig))
            return
        default(unraisable)
    sys.unraisablehook = again


def exit_quietly(code: int) -> None:
    """Once the run is over a signal just ends the process, with the code it stands for."""
    def leave(signum, frame):
        os._exit(EXIT_INTERRUPT if signum == signal.SIGINT else EXIT_TERMINATED)
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, leave)
    except ValueError:
        pass


def leave(code: int) -> None:
    """End the process now with `code`, its output flushed (no finalization to change the code)."""
    import sys
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


@contextmanager
def writing():
    """A record is being written: a signal takes effect when it is whole."""
    _state["writing"] += 1
    try:
        yield
    finally:
        _state["writing"] -= 1
        if not _state["writing"] and _state["pending"] is not None:
            pending, _state["pending"] = _state["pending"], None
            raise pending


def received() -> int | None:
    """The signal that arrived, if one did: code that turned its exception into another (an
    import inside C code makes an ImportError of it) still stopped because of it."""
    return _state["received"]


def stopped_message() -> str | None:
    done = report["done"]
    if done is None:
        return None
    n, what = done(), report["what"]
    return f"stopped after {n} {what}{'' if n == 1 else 's'}; every record written is complete"
