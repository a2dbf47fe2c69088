"""Numbers as people and scripts read them: the shortest exact text (fmt_num), arrays (fmt_value),
strict JSON (to_json, dumps) and TSV cells; and the fitting of a rendering to a terminal's width
(Digits, fitted), in which a number may lose digits, never its exponent, and is never cut."""
from __future__ import annotations

import io
import json
import math

import numpy as np


EDGE = 3                # elements shown at each end of a long axis
SUMMARIZE = 200         # arrays larger than this are shown with an ellipsis


def fmt_num(x: float, digits: int | None = None) -> str:
    """Shortest exact text: 10, 0.1, 1e-300, -inf, nan. With digits, at most that many
    significant digits, the exponent always kept (2.89e-22), when that is shorter."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == int(x) and abs(x) < 1e16:
        text = "-0" if x == 0 and math.copysign(1, x) < 0 else str(int(x))
    else:
        text = repr(x)
    if digits is not None:
        short = f"{x:.{digits}g}"
        if len(short) < len(text):
            return short
    return text


class Digits:
    """How one rendering shows numbers: at most `limit` significant digits (None: every digit),
    for a terminal `width` columns wide (None: no limit). It notes whether a number was shown
    with fewer digits than it has (`rounded`) and whether a table could not fit (`fits`)."""

    def __init__(self, limit: int | None = None, width: int | None = None):
        self.limit = limit
        self.width = width
        self.rounded = False
        self.fits = True

    def num(self, x) -> str:
        text = fmt_num(x, self.limit)
        if self.limit is not None and not self.rounded and text != fmt_num(x):
            self.rounded = True
        return text

    def value(self, v) -> str:
        return fmt_value(v, self)

    def cell(self, v, style: str = ""):
        """A table cell for a value: a number never wraps; an array wraps between its elements."""
        from rich.text import Text
        text = self.value(v)
        if np.ndim(v) == 0:
            return Text(text, style, no_wrap=True, overflow="fold")
        cell = _folding_text()(text, style, overflow="fold")
        cell.least = max(map(len, text.split()), default=0)    # it wraps between elements, never inside one
        return cell

    def text(self, text: str, value=None, style: str = ""):
        """A cell of text that may fold, ending in a value (`formula = 2.89e-22`) that never folds."""
        shown = "" if value is None else self.short(value)
        cell = _folding_text()(f"{text} = {shown}" if shown and text != shown else text, style, overflow="fold")
        cell.least = len(shown)
        return cell

    def short(self, v) -> str:
        """A value on one line."""
        text = fmt_value(v, self)
        return text if "\n" not in text else " ".join(text.split())

    def table(self, table):
        """Give the table's columns widths that fit `width`: the widest shrink first (their
        text wraps), none below its widest word or number, so nothing is cut; `fits` is False
        when even that is too wide."""
        if self.width is None:
            return table
        from rich.measure import Measurement
        console = _measuring_console()
        options = console.options
        lows, highs = [], []
        for column in table.columns:
            cells = [console.render_str(c) if isinstance(c, str) else c for c in (column.header, *column.cells)]
            sizes = [Measurement.get(console, options, c) for c in cells]
            high = max(m.maximum for m in sizes)
            lows.append(max(_least(column, c, m) for c, m in zip(cells, sizes)))
            highs.append(high)
        room = self.width - (Measurement.get(console, options, table).maximum - sum(highs))
        if sum(highs) <= room:
            return table
        if sum(lows) > room:
            self.fits = False
            return table
        level = _water_level(lows, highs, room)
        for column, low, high in zip(table.columns, lows, highs):
            column.width = max(low, min(high, level))
        return table


_FOLDING = []


def _folding_text():
    """Rich's Text with room for `least`, the width below which it may not fold (Text has slots)."""
    if not _FOLDING:
        from rich.text import Text

        class FoldingText(Text):
            least = 0
        _FOLDING.append(FoldingText)
    return _FOLDING[0]


FOLD_MIN = 12       # a text that may fold (a formula, a long name) gives way down to this width


def _least(column, cell, size) -> int:
    """The narrowest a cell can be: all of it if it may not wrap (a number: Rich's measure gives
    its longest word); a text that folds, FOLD_MIN, but never less than the number it holds
    (`least`, set by Digits.text)."""
    if column.no_wrap or getattr(cell, "no_wrap", None):
        return size.maximum
    if column.overflow == "fold":
        return max(getattr(cell, "least", 0), min(size.minimum, FOLD_MIN))
    return size.minimum


def _water_level(lows: list[int], highs: list[int], room: int) -> int:
    """The largest cap L with sum(clamp(L, low, high)) <= room: the widest columns give way first."""
    lo, hi = 0, max(highs)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if sum(max(low, min(high, mid)) for low, high in zip(lows, highs)) <= room:
            lo = mid
        else:
            hi = mid - 1
    return lo


LEVELS = (None, 15, 12, 10, 8, 6, 5, 4, 3)     # digit limits tried, most first, until a rendering fits
KEEP = 6                # a layout is given up for the next one rather than show fewer digits than this
UNLIMITED = 1 << 20


def _measuring_console():
    """A console of unlimited width: Rich clamps every measurement to the width it is given."""
    from rich.console import Console
    return Console(width=UNLIMITED, color_system=None, file=io.StringIO())


def fitted(width: int, *layouts):
    """The first layout that fits `width` columns with the most digits. A layout is build(Digits)
    -> renderable, or (build, least): it is tried from every digit down to `least` (KEEP by
    default, 3 for the last) before the next. Returns the renderable and its Digits; when nothing
    fits, the last layout with the fewest digits (its text and numbers then wrap: still never cut)."""
    from rich.measure import Measurement
    console = _measuring_console()

    def attempt(build, limit):
        digits = Digits(limit, width)
        renderable = build(digits)
        fits = digits.fits and Measurement.get(console, console.options, renderable).minimum <= width
        return fits, renderable, digits

    best = None
    for n, layout in enumerate(layouts):
        build, least = layout if isinstance(layout, tuple) else (layout, 3 if n == len(layouts) - 1 else KEEP)
        levels = LEVELS[:LEVELS.index(least) + 1]
        fits, renderable, digits = attempt(build, levels[0])
        if fits:
            return renderable, digits
        fits, renderable, digits = attempt(build, levels[-1])
        best = (renderable, digits)
        if not fits:
            continue
        lo, hi = 1, len(levels) - 1          # levels[hi] fits, levels[0] does not
        while lo < hi:
            mid = (lo + hi) // 2
            fits, renderable, digits = attempt(build, levels[mid])
            if fits:
                best, hi = (renderable, digits), mid
            else:
                lo = mid + 1
        return best
    return best


def fmt_value(v, digits: Digits | None = None) -> str:
    """A number, or an array as aligned nested brackets (summarized with … if large)."""
    num = fmt_num if digits is None else digits.num
    if np.ndim(v) == 0:
        return num(v)
    arr = np.asarray(v, dtype=np.float64)
    summarize = arr.size > SUMMARIZE

    def pick(n: int) -> list:
        if not summarize or n <= 2 * EDGE:
            return list(range(n))
        return [*range(EDGE), None, *range(n - EDGE, n)]

    def texts(a) -> list[str]:
        if a.ndim == 1:
            return [num(a[i]) for i in pick(len(a)) if i is not None]
        return [t for i in pick(len(a)) if i is not None for t in texts(a[i])]

    width = max(map(len, texts(arr)), default=1)

    def nest(a, depth: int) -> str:
        if a.ndim == 1:
            return "[" + ", ".join("…" if i is None else num(a[i]).rjust(width) for i in pick(len(a))) + "]"
        sep = ",\n" + "\n" * (a.ndim - 2) + " " * (depth + 1)
        return "[" + sep.join("…" if i is None else nest(a[i], depth + 1) for i in pick(len(a))) + "]"

    return nest(arr, 0) if arr.size else "[]"


def to_json(v):
    """A JSON-ready number or nested list; non-finite numbers become "nan", "inf", "-inf"."""
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if np.ndim(v) == 0:
        x = float(v)
        return x if math.isfinite(x) else fmt_num(x)
    arr = np.asarray(v, dtype=np.float64)
    if np.isfinite(arr).all():
        return arr.tolist()
    return [to_json(x) for x in arr]


# Characters that are valid in a JSON string but end a line for str.splitlines() and older
# JavaScript readers: written escaped, so one record stays one line for every reader.
_LINE_BREAKS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\u0085": "\\u0085"}


def dumps(obj) -> str:
    """Strict JSON (RFC 8259) on one line: never NaN or Infinity, never a line separator."""
    text = json.dumps(obj, allow_nan=False, ensure_ascii=False)
    if any(ch in text for ch in _LINE_BREAKS):
        for ch, escaped in _LINE_BREAKS.items():
            text = text.replace(ch, escaped)
    return text


def tsv_cell(v) -> str:
    """A TSV cell: a number, or an array as compact nested brackets."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if np.ndim(v) == 0:
        return fmt_num(v)
    return "[" + ",".join(tsv_cell(x) for x in np.asarray(v)) + "]"
