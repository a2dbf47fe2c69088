"""A tensor's repr in PyTorch's layout (torch/_tensor_str.py): one number format for all its
elements, rows aligned under the first, long tensors summarized."""
from __future__ import annotations

import math

import numpy as np

LINE_WIDTH, THRESHOLD, EDGE = 80, 1000, 3     # more than THRESHOLD numbers: EDGE at each end


class _Numbers:
    """One format for every number of a tensor, as PyTorch chooses it: whole numbers as `3.`,
    others with 4 decimals, scientific when the magnitudes span more than 1000x or leave
    [1e-4, 1e8]; right-aligned to the widest (zeros, inf and nan do not take part)."""

    def __init__(self, shown: np.ndarray):
        vals = shown[np.isfinite(shown) & (shown != 0)]
        self.style, self.width = ".0f", 1
        if vals.size:
            big, small = np.max(np.abs(vals)), np.min(np.abs(vals))
            whole = bool(np.all(vals == np.ceil(vals)))
            if big / 1000 > small or big > 1e8 or (not whole and small < 1e-4):   # big/small overflows
                self.style = ".4e"
            elif not whole:
                self.style = ".4f"
            self.width = max(len(self.text(v)) for v in vals.tolist())

    def text(self, v: float) -> str:
        out = format(v, self.style)
        return out + "." if self.style == ".0f" and math.isfinite(v) else out

    def __call__(self, v: float) -> str:
        return self.text(v).rjust(self.width)


def _shown(a: np.ndarray, summarize: bool) -> np.ndarray:
    """The numbers a repr shows, flat: all, or when summarizing the first and last EDGE of each axis."""
    if not summarize or a.ndim == 0:
        return np.ravel(a)
    if a.shape[0] > 2 * EDGE:
        a = np.concatenate((a[:EDGE], a[-EDGE:]))
    return np.concatenate([_shown(row, True) for row in a]) if a.ndim > 1 else a


def _nested(a: np.ndarray, indent: int, fmt: _Numbers, summarize: bool) -> str:
    """Rows aligned under the first: each level of nesting indents one more column; a vector
    wraps at LINE_WIDTH; blocks of a 3-D (or more) tensor are parted by blank lines."""
    if a.ndim == 0:
        return fmt(float(a))
    def each(part):
        return [fmt(v) for v in part.tolist()] if a.ndim == 1 else \
            [_nested(row, indent + 1, fmt, summarize) for row in part]
    cut = summarize and a.shape[0] > 2 * EDGE
    parts = each(a[:EDGE]) + [" ..." if a.ndim == 1 else "..."] + each(a[-EDGE:]) if cut else each(a)
    if a.ndim > 1:
        return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(parts) + "]"
    per_line = max(1, (LINE_WIDTH - indent) // (fmt.width + 2))
    lines = [", ".join(parts[i:i + per_line]) for i in range(0, len(parts), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def tensor_str(a: np.ndarray, prefix: str, suffixes: list[str]) -> str:
    """prefix + the numbers + ", suffix" each (on a line of its own if it would pass LINE_WIDTH) + ")"."""
    indent = len(prefix)
    if a.size == 0:
        out = prefix + "[]"
    else:
        summarize = a.size > THRESHOLD
        out = prefix + _nested(a, indent, _Numbers(_shown(a, summarize)), summarize)
    last = len(out) - out.rfind("\n") + 1        # the last line's length + 2, as PyTorch counts it
    for suffix in suffixes:
        if last + len(suffix) + 2 > LINE_WIDTH:
            out += ",\n" + " " * indent + suffix
            last = indent + len(suffix)
        else:
            out += ", " + suffix
            last += len(suffix) + 2
    return out + ")"
