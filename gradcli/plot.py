"""A one-variable expression and its derivative, sampled on an even grid over a range A:B, with
the derivative's zeros (found by bisection) and the points where either is undefined. render/plot.py
draws them."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gradcli.errors import BindError
from gradcli.lang.parser import parse
from gradcli.points import evaluate_rows


def opposite(a: float, b: float) -> bool:
    """a and b are non-zero and of opposite signs. Not a * b < 0: the product overflows
    for large derivatives and underflows to 0 for tiny ones, hiding a sign change."""
    return (a < 0 < b) or (b < 0 < a)


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
        from gradcli.evaluation import evaluate
        return float(evaluate(self.expr, {**self.constants, self.name: x}, wrt=[self.name]).grad[self.name])

    def _zeros(self) -> list[float]:
        """Where the derivative is 0: exact zeros, and sign changes between neighbours, found by bisection."""
        out = []
        d, x = self.df, self.x
        for i in range(len(x)):
            if d[i] == 0:
                out.append(float(x[i]))
            elif i + 1 < len(x) and np.isfinite(d[i]) and np.isfinite(d[i + 1]) and opposite(d[i], d[i + 1]) \
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
            a, b, da = (a, mid, da) if opposite(da, dm) else (mid, b, dm)
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
    if not math.isfinite(float(hi) - float(lo)):
        raise BindError(f"--{name} {text}: the range must be finite, and narrower than the largest float")
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
    missing = [n for n in names if n != name and n not in constants]
    if missing:
        raise BindError(f"no value for '{missing[0]}'", hint=f"give it as --{missing[0]} VALUE; plot varies "
                        f"--{name} alone")
    from gradcli.evaluation import evaluate
    shape = np.shape(evaluate(expr, {**constants, name: lo}, grad=False).value)
    if shape != ():
        raise BindError(f"plot draws one number for each {name}; this expression has shape {shape}",
                        hint="plot one element of it, as (...)[0], or its sum(...)")
    f, grads, _ = evaluate_rows(expr, {name: x}, constants, wrt=[name])
    return Samples(expr, name, x, np.asarray(f, dtype=np.float64), np.asarray(grads[name], dtype=np.float64),
                   constants)
