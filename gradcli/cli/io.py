"""The CLI's streams: results to stdout (whole records, flushed at once; a failure of stdout is one
OutputError), diagnostics to stderr, input from files or stdin, and what people see fitted to
their terminal."""
from __future__ import annotations

import io
import os
import sys
from contextlib import contextmanager

from gradcli.cli import interrupts
from gradcli.errors import GradcliError

MAX_FILE_WIDTH = 2000       # columns a table written to a file or pipe may take, for every digit


class OutputError(Exception):
    """A result could not be written: the stream (or file) and why."""

    def __init__(self, stream: str, reason: str):
        super().__init__(f"cannot write to {stream}: {reason}")


def emit(text: str) -> None:
    """Write to stdout and flush; a failure other than a closed pipe is an OutputError."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except (OSError, ValueError, AttributeError) as exc:     # ENOSPC, EIO; a closed or missing stdout
        raise OutputError("standard output", getattr(exc, "strerror", None) or "it is closed") from None


def out(text: str) -> None:
    emit(text + "\n")


def write(page) -> None:
    """What render.emit gave: a text (a machine format), or the layouts of a format for people."""
    if isinstance(page, str):
        out(page)
    else:
        show(*page)


class Stream:
    """Writes whole records to stdout, each flushed at once: a Ctrl-C or SIGTERM that arrives
    while one is being written takes effect when it is complete (see interrupts)."""

    def __init__(self, what: str = "job"):
        self.records = 0            # records written whole
        interrupts.report.update(done=lambda: self.records, what=what)

    def write(self, text: str, record: bool = True) -> None:
        with interrupts.writing():
            emit(text + "\n")
            self.records += record


def warn(notes) -> None:
    """The warnings of a computation, one line each, on stderr; on a terminal, a long one is
    wrapped at its spaces to the terminal's width (never inside a word or a number)."""
    width = _stderr_width() if notes else None
    for note in notes:
        line = f"warning: {getattr(note, 'message', note)}"
        if width and len(line) > width:
            import textwrap
            line = "\n".join(textwrap.wrap(line, width, subsequent_indent="  ", break_long_words=False,
                                           break_on_hyphens=False))
        sys.stderr.write(line + "\n")


def _stderr_width() -> int | None:
    """The width of the terminal standard error is, or None when it is a file or a pipe."""
    try:
        if not sys.stderr.isatty():
            return None
        columns = os.environ.get("COLUMNS", "")
        return int(columns) if columns.isdigit() and int(columns) > 0 else os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return None


def count(n: int, what: str) -> str:
    """1 job, 2 jobs."""
    return f"{n} {what}" + ("" if n == 1 else "s")


@contextmanager
def open_input(path: str):
    """A text stream for a path or '-' (stdin); undecodable bytes are kept, not fatal. Lines end
    at "\\n" alone (a lone "\\r" stays in its line)."""
    if path == "-":
        if sys.stdin is None:
            raise GradcliError("standard input is closed", hint="give a file, or pipe the jobs in")
        buffer = getattr(sys.stdin, "buffer", None)
        if buffer is None:
            yield sys.stdin
            return
        stream = io.TextIOWrapper(buffer, encoding="utf-8", errors="surrogateescape", newline="\n")
        try:
            yield stream
        finally:
            stream.detach()
        return
    try:
        stream = open(path, encoding="utf-8", errors="surrogateescape", newline="\n")
    except OSError as exc:
        raise GradcliError(f"cannot read {path!r}: {exc.strerror}") from None
    with stream:
        yield stream


def silence_stdout() -> None:
    """Stop writing, quietly: the reader went away (gradcli ... | head -1), or stdout failed.
    Whatever is still buffered then goes nowhere, so Python's flush at exit cannot fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        sys.stdout = open(os.devnull, "w")


def plain_terminal() -> bool:
    """NO_COLOR or TERM=dumb: no escape codes at all, not even bold."""
    return bool(os.environ.get("NO_COLOR")) or os.environ.get("TERM") == "dumb"


def console(stderr: bool = False):
    """A Rich console that never reads text as markup or emoji codes: what gradcli prints
    is the user's own text and numbers (and skipping both saves start-up time)."""
    from rich.console import Console
    plain = {"color_system": None} if plain_terminal() else {}
    return Console(stderr=stderr, highlight=False, markup=False, emoji=False, **plain)


def show(*layouts) -> None:
    """Print the first layout (a function of Digits) that fits. On a terminal it fits the width:
    numbers lose digits, never their exponent, before anything is cut, and a first line says so.
    To a file or a pipe (without COLUMNS) every digit is kept, and no line ends in blanks."""
    from rich.console import Console

    from gradcli.render.numbers import Digits, fitted
    screen = console()
    if screen.is_terminal or os.environ.get("COLUMNS"):
        renderable, digits = fitted(screen.width, *layouts)
    else:
        from rich.measure import Measurement
        digits = Digits()
        renderable = layouts[0](digits)
        natural = Measurement.get(screen, screen.options.update_width(MAX_FILE_WIDTH), renderable).maximum
        screen.width = max(screen.width, min(natural, MAX_FILE_WIDTH))
    # Rendered into a string by a console set up as this one, then written with emit(): a failing
    # stdout is an OutputError like any other.
    page = io.StringIO()
    into = Console(file=page, width=screen.width, force_terminal=screen.is_terminal,
                   color_system=screen.color_system, highlight=False, markup=False, emoji=False)
    if digits.rounded:
        into.print(f"numbers rounded to fit {screen.width} columns (-f json has every digit)", style="dim")
    into.print(renderable)
    text = page.getvalue()
    if not screen.is_terminal:
        text = "\n".join(line.rstrip() for line in text.split("\n"))
    emit(text)
