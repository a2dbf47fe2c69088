"""Spans, the GradcliError family, and the plain-text caret renderer.

Every error the library raises for bad input is a GradcliError with structured
fields (message, span, source, hint); the CLI turns them into exit code 2.
"""
from __future__ import annotations


# How much of a long source line is shown around the caret.
WINDOW = 72


class Span:
    """Half-open character range [start, end) in a source text."""
    __slots__ = ("start", "end")

    def __init__(self, start: int, end: int):
        self.start = start
        self.end = end

    def __eq__(self, other) -> bool:
        return isinstance(other, Span) and (self.start, self.end) == (other.start, other.end)

    def __hash__(self) -> int:
        return hash((self.start, self.end))

    def __repr__(self) -> str:
        return f"Span({self.start}, {self.end})"


class GradcliError(Exception):
    """A problem with the user's input; carries where it is and what to do."""
    kind = "error"

    def __init__(self, message: str, span: Span | None = None, *, source: str | None = None,
                 hint: str | None = None, where: str | None = None, name: str | None = None):
        super().__init__(message)
        self.message = message
        self.span = span
        self.source = source
        self.hint = hint
        self.where = where          # e.g. "value of --x": names the text the span points into
        self.name = name            # the variable the error is about, if any

    @property
    def column(self) -> int | None:
        """1-based column of the span's start, or None."""
        return None if self.span is None else self.span.start + 1

    def at(self, span: Span | None, source: str | None, where: str | None = None) -> "GradcliError":
        """Attach a position if the error has none yet; returns self."""
        if self.span is None and span is not None:
            self.span, self.source = span, source
            self.where = where or self.where
        return self

    def render(self) -> str:
        return render_error(self)

    def __str__(self) -> str:
        return self.message


class ParseError(GradcliError):
    """The text is not a well-formed expression or value."""
    kind = "parse"


class BindError(GradcliError):
    """A variable binding is wrong: unknown name, constant, missing or bad value."""
    kind = "bind"


class ShapeError(GradcliError):
    """Array shapes do not fit an operation."""
    kind = "shape"


class GradOutputError(GradcliError, RuntimeError):
    """backward() was asked for something it cannot do (PyTorch raises RuntimeError)."""
    kind = "grad"


def position(source: str, start: int) -> str:
    """Where a position is, in words: column 12, or line 2, column 1 in a program of lines."""
    column = start - (source.rfind("\n", 0, start) + 1) + 1
    if "\n" not in source.rstrip("\n"):
        return f"column {column}"
    return f"line {source.count(chr(10), 0, start) + 1}, column {column}"


def caret_lines(source: str, span: Span) -> list[str]:
    """The source (or a window of it, if long) with a caret line under the span; of a program
    of several lines, the line the span starts on, named by its number."""
    if "\n" in source.rstrip("\n"):
        first = source.rfind("\n", 0, min(span.start, len(source))) + 1
        last = source.find("\n", first)
        last = len(source) if last < 0 else last
        number = source.count("\n", 0, first) + 1
        lines = caret_lines(source[first:last], Span(span.start - first, min(span.end, last) - first))
        return [f"  line {number}:", *lines]
    start = min(span.start, len(source))
    width = max(1, min(span.end, len(source)) - start)
    lo, hi = 0, len(source)
    if len(source) > WINDOW:
        lo = max(0, start - WINDOW // 2)
        hi = min(len(source), lo + WINDOW)
    excerpt = "".join(" " if ch in "\t\r\n\v\f" else ch for ch in source[lo:hi])
    prefix = "…" if lo > 0 else ""
    suffix = "…" if hi < len(source) else ""
    caret = " " * (len(prefix) + start - lo) + "^" * max(1, min(width, hi - start))
    return [f"  {prefix}{excerpt}{suffix}", f"  {caret}"]


def render_error(err: GradcliError) -> str:
    """error: message / source with caret / hint: next step."""
    lines = [f"error: {err.message}"]
    if err.span is not None and err.source is not None:
        if err.where:
            lines.append(f"  in {err.where}:")
        lines.extend(caret_lines(err.source, err.span))
    if err.hint:
        lines.append(f"hint: {err.hint}")
    return "\n".join(lines)


def close_matches(word: str, candidates, n: int = 3, cutoff: float = 0.6) -> list[str]:
    """The known names closest to a misspelt one, for "did you mean ...?" hints."""
    import difflib              # only an error message needs it
    return difflib.get_close_matches(word, list(candidates), n=n, cutoff=cutoff)
