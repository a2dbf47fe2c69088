"""Read a variable's value: 2, -1.5e-3, pi/2, [1,2,3], 1,2,3, [[1,2],[3,4]].

A value is a constant expression in gradcli's own language, parsed by the
parser and computed by the engine (never by Python's eval). A top-level comma
list `1,2,3` is read as the vector [1,2,3].
"""
from __future__ import annotations

import math
import numbers
import re

import numpy as np

from gradcli.errors import BindError, GradcliError, ParseError, ShapeError

MAX_ELEMENTS = 10_000_000


# A plain decimal number needs no parser (the common case in batch lines), nor does a
# vector of plain numbers (1,2,3 or [1, 2, 3]), however long.
_PLAIN = re.compile(r"\s*[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\s*", re.ASCII)
_NUMERIC = re.compile(r"\s*\[?[-+0-9.eE,\s]*\]?\s*", re.ASCII)


def read_value(text, where: str = "value"):
    """A float or float64 ndarray from a value's text (or a number / nested list)."""
    if isinstance(text, str):
        if _PLAIN.fullmatch(text):
            return float(text)
        if _NUMERIC.fullmatch(text):
            vector = _read_vector(text, where)
            if vector is not None:
                return vector
        return _read_text(text, where)
    if isinstance(text, bool) or text is None:
        raise BindError(f"{where} must be a number or an array of numbers, not {text!r}")
    if isinstance(text, numbers.Real):
        try:
            return float(text)
        except OverflowError:           # an integer beyond float range, as 1e400 is: inf
            return math.inf if text > 0 else -math.inf
    try:
        arr = np.asarray(text, dtype=np.float64)
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise BindError(f"{where} must be a number or an array of numbers of one shape (each within "
                        "float range)", hint=str(exc).split("\n")[0][:200]) from None
    if arr.size > MAX_ELEMENTS:
        raise BindError(f"{where} has {arr.size:,} elements; the limit is {MAX_ELEMENTS:,}")
    return float(arr) if arr.ndim == 0 else arr


def _read_vector(text: str, where: str) -> np.ndarray | None:
    """A vector of plain numbers (1,2,3 or [1, 2, 3]), read piece by piece with float(), so
    that ten million elements take seconds, not minutes; None if a piece is not a plain number
    (the parser then reads the text and points at what is wrong)."""
    inner = text.strip()
    bracketed = inner.startswith("[")
    if bracketed != inner.endswith("]"):
        return None
    inner = inner[1:-1] if bracketed else inner
    size = inner.count(",") + 1
    if size == 1 and not bracketed:
        return None
    if size > MAX_ELEMENTS:
        raise BindError(f"{where} has {size:,} elements; the limit is {MAX_ELEMENTS:,}")
    out = np.empty(size)
    done = 0
    for block in _blocks(inner):
        pieces = block.split(",")
        try:                # on these characters float() accepts exactly the plain numbers
            out[done:done + len(pieces)] = list(map(float, pieces))
        except ValueError:
            return None
        done += len(pieces)
    return out if done == size else None


def _blocks(text: str, size: int = 1 << 20):
    """text in pieces of about `size` characters, cut at commas (which are dropped)."""
    start = 0
    while start < len(text):
        end = text.find(",", start + size)
        if end < 0:
            yield text[start:]
            return
        yield text[start:end]
        start = end + 1


def _read_text(text: str, where: str):
    from gradcli.graph import quiet
    from gradcli.forward import forward
    from gradcli.lang.parser import MAX_LENGTH, parse

    stripped = text.strip()
    source = f"[{text}]" if len(text) <= MAX_LENGTH and _top_level_comma(stripped) else text
    shift = 1 if source is not text else 0
    try:
        expr = parse(source)
        names = expr.variables()
        if names:
            node = next(n for n in expr.nodes() if n.op.is_variable)
            raise BindError(f"{where} must be a constant; '{names[0]}' is not known here",
                            node.span, source=source, hint="a value may use numbers, pi, e, operators and functions")
        with quiet():
            value = forward(expr.nodes(), {}).values[expr.id]
        value = float(value) if np.ndim(value) == 0 else np.array(value, dtype=np.float64)
    except GradcliError as err:
        if err.span is not None and shift:
            err.span = type(err.span)(max(0, err.span.start - shift), max(0, err.span.end - shift))
            err.source = text
        err.where = where
        if isinstance(err, ParseError) and not err.hint:
            err.hint = "write a number (2, -1.5e-3, pi/2) or an array ([1,2,3], 1,2,3, [[1,2],[3,4]])"
        raise
    if np.ndim(value) and np.size(value) > MAX_ELEMENTS:
        raise ShapeError(f"{where} has {np.size(value):,} elements; the limit is {MAX_ELEMENTS:,}")
    return value


def _top_level_comma(text: str) -> bool:
    depth = 0
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            return True
    return False
