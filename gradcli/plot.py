"""A one-variable expression and its derivative, sampled and drawn in the terminal with Rich.

Rich draws it (no plotting package needed): each of the two curves is a row
of characters per column of the terminal, on one shared y scale.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradcli.errors import BindError
from gradcli.evaluate import evaluate_rows
from gradcli.parser import parse

F_MARK, D_MARK, BOTH = "●", "○", "◉"


@dataclass
class Samples:
    expr: object
    name: str
    x: np.ndarray
    f: np.ndarray
    df: np.ndarray
    constants: dict
    zeros: list = None

    def __post_init__(self):
        if self.zeros is None:
            self.zeros = self._zeros()

    def derivative(self, x: float) -> float:
        from gradcli.evaluate import evaluate
        return float(evaluate(self.expr, {**self.constants, self.name: x}, wrt=[self.name]).grad[self.name])

    def _zeros(self) -> list[float]:
        """Where the derivative is 0: exact zeros, and sign changes between neighbours, found by bisection."""
        out = []
        d, x = self.df, self.x
        for i in range(len(x)):
            if d[i] == 0:
                out.append(float(x[i]))
            elif i + 1 < len(x) and np.isfinite(d[i]) and np.isfinite(d[i + 1]) and d[i] * d[i + 1] < 0 \
                    and np.isfinite(self.f[i]) and np.isfinite(self.f[i + 1]):
                out.append(self._bisect(float(x[i]), float(x[i + 1]), float(d[i])))
        return out

    def _bisect(self, a: float, b: float, da: float) -> float:
        for _ in range(60):
            mid = 0.5 * (a + b)
            if mid in (a, b):
                break
            dm = self.derivative(mid)
            if dm == 0 or not np.isfinite(dm):
                return mid
            a, b, da = (mid, b, dm) if dm * da > 0 else (a, mid, da)
        return 0.5 * (a + b)

    @property
    def undefined(self) -> list[float]:
        """Where the value or the derivative is nan or infinite."""
        bad = ~(np.isfinite(self.f) & np.isfinite(self.df))
        return [float(v) for v in self.x[bad]]


def parse_range(text: str, name: str) -> tuple[float, float]:
    from gradcli.values import read_value
    lo_text, sep, hi_text = text.partition(":")
    if not sep:
        raise BindError(f"--{name} needs a range for plot, like --{name} -3:3")
    lo, hi = read_value(lo_text, f"start of --{name}"), read_value(hi_text, f"end of --{name}")
    if np.ndim(lo) or np.ndim(hi) or not lo < hi:
        raise BindError(f"--{name} {text}: the range must be two numbers, the first smaller")
    return float(lo), float(hi)


def sample(source, bindings: dict, points: int = 200) -> Samples:
    """f and f' on an even grid over the one variable given as a range A:B."""
    expr = parse(source) if isinstance(source, str) else source
    ranged = [n for n, v in bindings.items() if isinstance(v, str) and ":" in v]
    names = expr.variables()
    if len(ranged) != 1:
        free = [n for n in names if n not in bindings]
        hint = f"for example --{free[0] if free else 'x'} -3:3"
        raise BindError("plot needs exactly one variable given as a range A:B", hint=hint)
    name = ranged[0]
    if name not in names:
        raise BindError(f"'{name}' is not a variable of the expression")
    if points < 2 or points > 1_000_000:
        raise BindError("--points must be between 2 and 1,000,000")
    lo, hi = parse_range(bindings[name], name)
    x = np.linspace(lo, hi, points)
    constants = {k: v for k, v in bindings.items() if k != name}
    f, grads, _ = evaluate_rows(expr, {name: x}, constants, wrt=[name])
    return Samples(expr, name, x, np.asarray(f, dtype=np.float64), np.asarray(grads[name], dtype=np.float64),
                   constants)


def render(s: Samples, width: int = 72, height: int = 18):
    """Rich renderables: the two curves on one canvas, axis labels, zero and undefined markers."""
    from rich.console import Group
    from rich.text import Text

    from gradcli.render import fmt_num

    cols = max(10, width)
    edges = np.linspace(0, len(s.x), cols + 1).astype(int)
    picks = [(a + b - 1) // 2 for a, b in zip(edges[:-1], edges[1:])]
    f, d = s.f[picks], s.df[picks]
    finite = np.concatenate([f[np.isfinite(f)], d[np.isfinite(d)]])
    if finite.size == 0:
        return Text("nothing finite to draw", "yellow")
    lo, hi = np.percentile(finite, [2, 98]) if finite.size > 20 else (finite.min(), finite.max())
    if hi - lo < 1e-12:
        lo, hi = lo - 1, hi + 1
    pad = (hi - lo) * 0.05
    lo, hi = lo - pad, hi + pad

    def row(y):
        return int(round((hi - y) / (hi - lo) * (height - 1)))

    grid = [[" "] * cols for _ in range(height)]
    styles = [[None] * cols for _ in range(height)]
    if lo < 0 < hi:
        for c in range(cols):
            grid[row(0.0)][c], styles[row(0.0)][c] = "─", "dim"
    for c in range(cols):
        for y, mark, style in ((f[c], F_MARK, "cyan"), (d[c], D_MARK, "magenta")):
            if np.isfinite(y) and lo <= y <= hi:
                r = row(y)
                both = grid[r][c] in (F_MARK, D_MARK) and grid[r][c] != mark
                grid[r][c], styles[r][c] = (BOTH, "bold") if both else (mark, style)
    marks = [" "] * cols
    for z in s.zeros:
        c = min(cols - 1, int((z - s.x[0]) / (s.x[-1] - s.x[0]) * cols))
        marks[c] = "^"
    for u in s.undefined:
        c = min(cols - 1, int((u - s.x[0]) / (s.x[-1] - s.x[0]) * cols))
        marks[c] = "x"
    label_w = max(len(fmt_num(round(hi, 4))), len(fmt_num(round(lo, 4)))) + 1
    lines = []
    for r in range(height):
        label = fmt_num(round(hi, 4)) if r == 0 else fmt_num(round(lo, 4)) if r == height - 1 else ""
        t = Text(label.rjust(label_w) + " │", "dim")
        for c in range(cols):
            t.append(grid[r][c], styles[r][c])
        lines.append(t)
    lines.append(Text(" " * label_w + " └" + "─" * cols, "dim"))
    lines.append(Text(" " * (label_w + 2) + "".join(marks), "bold yellow"))
    left, right = fmt_num(round(s.x[0], 6)), fmt_num(round(s.x[-1], 6))
    lines.append(Text(" " * (label_w + 2) + left + (f"{s.name}".center(cols - len(left) - len(right))) + right, "dim"))
    legend = Text.assemble((F_MARK, "cyan"), f" {s.expr.source}   ", (D_MARK, "magenta"),
                           f" d/d{s.name}   ", ("^", "bold yellow"), f" d/d{s.name} = 0   ",
                           ("x", "bold yellow"), " undefined")
    notes = []
    if s.zeros:
        notes.append(Text("derivative zero at " + ", ".join(f"{s.name} = {fmt_num(z)}" for z in s.zeros[:8]), "dim"))
    if s.undefined:
        notes.append(Text(f"undefined at {len(s.undefined)} sample(s), first at {s.name} = {s.undefined[0]:.6g}",
                          "dim"))
    return Group(legend, *lines, *notes)


def record(s: Samples) -> dict:
    from gradcli.render import to_json
    return {"expr": s.expr.source, "variable": s.name, "x": to_json(s.x), "value": to_json(s.f),
            "derivative": to_json(s.df), "zeros": s.zeros, "undefined": s.undefined}
