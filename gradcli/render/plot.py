"""plot's drawing: f and its derivative on one canvas of characters, drawn with Rich (no plotting
package needed): each sample is a character in the column of its x and the row of its y, on one
shared y scale, clipped (and said so) where a pole or a steep slope would flatten the rest."""
from __future__ import annotations

import math

import numpy as np

F_MARK, D_MARK, BOTH = "●", "○", "◉"


# The y range is clipped only when a few values lie this many bulk-widths beyond the bulk (the
# middle 80% of the values): exp on 0:20 and x^10 on -2:2 stay whole, a pole on a fine grid does not.
BULK, FENCE, MARGIN = 0.10, 20.0, 0.5
MIN_COLS = 10
WIDEST = 112    # wider than this, a curve of the default 200 samples is drawn as scattered dots


def y_range(values: np.ndarray) -> tuple[float, float, bool]:
    """The y range to draw: all the finite values, or, when a pole puts a few far beyond the
    bulk, the bulk widened by MARGIN of its width on each side. Returns (lo, hi, clipped)."""
    lo, hi = float(values.min()), float(values.max())
    q_lo, q_hi = (float(q) for q in np.quantile(values, [BULK, 1 - BULK]))
    bulk = q_hi - q_lo
    if bulk > 0 and (lo < q_lo - FENCE * bulk or hi > q_hi + FENCE * bulk):
        return max(lo, q_lo - MARGIN * bulk), min(hi, q_hi + MARGIN * bulk), True
    if lo == hi:        # a constant: centre it
        half = max(1.0, abs(lo))
        return lo - half, hi + half, False
    return lo, hi, False


SLOPE_ROOM = 3.0    # the derivative may reach this many of f's spans beyond f's range before it is clipped


def derivative_range(f: np.ndarray, df: np.ndarray) -> tuple[float, float, bool]:
    """y_range of f and its derivative together, narrowed, when the derivative shoots off (a
    vertical tangent, as sqrt(1-x^2) has at ±1), to SLOPE_ROOM spans of f beyond f's own range:
    the slope must not flatten f itself."""
    lo, hi, clipped = y_range(np.concatenate([f, df]))
    f_lo, f_hi = float(f.min()), float(f.max())
    span = f_hi - f_lo
    if span > 0:
        room_lo, room_hi = f_lo - SLOPE_ROOM * span, f_hi + SLOPE_ROOM * span
        if lo < room_lo or hi > room_hi:
            lo, hi, clipped = max(lo, min(room_lo, f_lo)), min(hi, max(room_hi, f_hi)), True
    return lo, hi, clipped


def round_out(lo: float, hi: float) -> tuple[float, float, float]:
    """lo and hi rounded outward to a step of about 1e-4 of their distance, and that step:
    the labels then show the range exactly, in a few digits."""
    # For a range of subnormals (1e-320 * x) the step would underflow to 0: the smallest float instead.
    step = max(10.0 ** (math.floor(math.log10(hi / 2 - lo / 2) + math.log10(2)) - 4), math.ulp(0.0))
    a, b = math.floor(lo / step) * step, math.ceil(hi / step) * step
    # Near the largest float, rounding outward would overflow: keep the range as it is.
    return (a, b, step) if math.isfinite(a) and math.isfinite(b) else (lo, hi, step)


def tick(v: float, step: float) -> str:
    """v, a multiple of step, in as many digits as step needs and no more: 15.75, -8.125, 1e+16."""
    if v == 0:
        return "0"
    digits = math.floor(math.log10(abs(v))) - math.floor(math.log10(step) + 1e-9) + 1
    return f"{v:.{max(1, digits)}g}"


def x_label(v: float) -> str:
    """An end of the x range as the user typed it, or in 6 digits if its exact text is long (pi)."""
    from gradcli.render.numbers import fmt_num
    text = fmt_num(v)
    return text if len(text) <= 8 else f"{v:.6g}"


def cells(v: np.ndarray, lo: float, hi: float, n: int) -> np.ndarray:
    """The cell of each v among n cells spanning [lo, hi]: lo is cell 0, hi cell n - 1.
    Halves first, so that hi - lo cannot overflow."""
    return np.rint((v / 2 - lo / 2) / (hi / 2 - lo / 2) * (n - 1)).astype(np.int64)


def scatter(grid: list, styles: list, x: np.ndarray, y: np.ndarray, mark: str, style: str, box: tuple) -> None:
    """Put mark at every (x, y) sample that is finite and inside box = (x lo, x hi, y lo, y hi);
    where the other curve already has a mark, the cell shows both."""
    x_lo, x_hi, y_lo, y_hi = box
    keep = np.isfinite(y) & (y >= y_lo) & (y <= y_hi)
    cols = cells(x[keep], x_lo, x_hi, len(grid[0]))
    rows = (len(grid) - 1) - cells(y[keep], y_lo, y_hi, len(grid))
    for r, c in set(zip(rows.tolist(), cols.tolist())):
        both = grid[r][c] in (F_MARK, D_MARK, BOTH) and grid[r][c] != mark
        grid[r][c], styles[r][c] = (BOTH, "bold") if both else (mark, style)


def marker_row(s, cols: int) -> str:
    """^ under each zero of the derivative, x under each undefined sample (x wins a shared column)."""
    marks = [" "] * cols
    lo, hi = float(s.x[0]), float(s.x[-1])
    for where, mark in ((s.zeros, "^"), (s.undefined, "x")):
        for c in set(cells(np.asarray(where, dtype=np.float64), lo, hi, cols).tolist()):
            marks[c] = mark
    return "".join(marks)


def x_axis(s, cols: int) -> str:
    """The two ends of the x range under the first and the last column, the variable between."""
    left, right = x_label(s.x[0]), x_label(s.x[-1])
    room = cols - len(left) - len(right)
    middle = s.name.center(room) if room >= len(s.name) + 2 else " " * max(1, room)
    return left + middle + right


def draw(s, width: int = 80, height: int = 18):
    """Rich renderables, at most width characters wide: the two curves on one canvas (sample i
    in column round((x_i - lo) / (hi - lo) * (cols - 1))), axis labels, zero and undefined markers."""
    from rich.console import Group
    from rich.text import Text

    from gradcli.render.numbers import fmt_num

    f = s.f[np.isfinite(s.f)]
    df = s.df[np.isfinite(s.df) & np.isfinite(s.f)]          # no slope is drawn where f is undefined
    finite = np.concatenate([f, df])
    if finite.size == 0:
        return Text("nothing finite to draw", "yellow")
    y_lo, y_hi, clipped = derivative_range(f, df) if f.size else y_range(df)
    y_lo, y_hi, step = round_out(y_lo, y_hi)
    top, bottom = tick(y_hi, step), tick(y_lo, step)
    label_w = max(len(top), len(bottom)) + 1
    cols = max(MIN_COLS, width - label_w - 2)

    grid = [[" "] * cols for _ in range(height)]
    styles = [[None] * cols for _ in range(height)]
    if y_lo <= 0 <= y_hi:
        zero = (height - 1) - int(cells(np.zeros(1), y_lo, y_hi, height)[0])
        grid[zero], styles[zero] = ["─"] * cols, ["dim"] * cols
    box = (float(s.x[0]), float(s.x[-1]), y_lo, y_hi)
    scatter(grid, styles, s.x, s.f, F_MARK, "cyan", box)
    scatter(grid, styles, s.x, np.where(np.isfinite(s.f), s.df, np.nan), D_MARK, "magenta", box)

    lines = []
    for r in range(height):
        label = top if r == 0 else bottom if r == height - 1 else ""
        t = Text(label.rjust(label_w) + " │", "dim")
        for c in range(cols):
            t.append(grid[r][c], styles[r][c])
        lines.append(t)
    lines.append(Text(" " * label_w + " └" + "─" * cols, "dim"))
    lines.append(Text(" " * (label_w + 2) + marker_row(s, cols), "bold yellow"))
    lines.append(Text(" " * (label_w + 2) + x_axis(s, cols), "dim"))
    legend = Text.assemble((F_MARK, "cyan"), f" {s.expr.source}   ", (D_MARK, "magenta"),
                           f" d/d{s.name}   ", ("^", "bold yellow"), f" d/d{s.name} = 0   ",
                           ("x", "bold yellow"), " undefined")
    notes = []
    if clipped:
        notes.append(Text(clip_note(finite, y_lo, y_hi, top, bottom), "yellow"))
    if s.zeros:
        notes.append(Text("derivative zero at " + ", ".join(f"{s.name} = {fmt_num(z)}" for z in s.zeros[:8]), "dim"))
    if s.undefined:
        n = len(s.undefined)
        notes.append(Text(f"undefined at {n} sample{'' if n == 1 else 's'}, first at {s.name} = {s.undefined[0]:.6g}",
                          "dim"))
    return Group(legend, *lines, *notes)


def clip_note(finite: np.ndarray, y_lo: float, y_hi: float, top: str, bottom: str) -> str:
    """What the clipped y range leaves out, and how far out it goes."""
    out = finite[(finite < y_lo) | (finite > y_hi)]
    return f"y clipped to [{bottom}, {top}]: {out.size} values, from {out.min():.4g} to {out.max():.4g}, are off the chart"
