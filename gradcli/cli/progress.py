"""The progress display on stderr: done/total (total where known), only on a terminal, and only
once a run passes PROGRESS_DELAY. It never touches stdout."""
from __future__ import annotations

import os
import sys
import time

from gradcli.cli.io import plain_terminal

PROGRESS_DELAY = 1.0        # seconds a run takes before its progress shows; GRADCLI_PROGRESS_DELAY overrides


class Progress:
    """done/total (total where known) on stderr, only when stderr is a terminal and only once a
    run passes PROGRESS_DELAY. It never touches stdout; and it stays off while results stream
    to a terminal on stdout, where the records themselves show the progress."""

    def __init__(self, what: str, total: int | None = None, streams: bool = False):
        self.what, self.total = what, total
        self.start = time.monotonic()
        self.delay = _progress_delay()
        self.enabled = sys.stderr.isatty() and not (streams and sys.stdout.isatty())
        self.bar = self.task = None
        self.pending = 0

    def __enter__(self):
        return self

    def advance(self, n: int = 1, label: str | None = None) -> None:
        if not self.enabled:
            return
        if label is not None:
            self.what = label
        if self.bar is None:
            if time.monotonic() - self.start < self.delay:
                self.pending += n
                return
            self._start()
        self.bar.update(self.task, advance=n, description=self.what)

    def _start(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, SpinnerColumn, \
            TextColumn, TimeElapsedColumn
        columns = [SpinnerColumn(), TextColumn("{task.description}")]
        columns += [BarColumn(), MofNCompleteColumn()] if self.total else [TextColumn("{task.completed}")]
        console = Console(stderr=True, color_system=None) if plain_terminal() else Console(stderr=True)
        self.bar = Bar(*columns, TimeElapsedColumn(), console=console, transient=True,
                       redirect_stdout=False, redirect_stderr=False)
        self.bar.start()
        self.task = self.bar.add_task(self.what, total=self.total, completed=self.pending)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False


def _progress_delay() -> float:
    try:
        return max(0.0, float(os.environ.get("GRADCLI_PROGRESS_DELAY", PROGRESS_DELAY)))
    except ValueError:
        return PROGRESS_DELAY
