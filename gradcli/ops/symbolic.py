"""SymPy builders too long for one line of the table.

A builder gets the SymPy module first (sp), then the inputs: SymPy scalars for an
elementwise row, numpy object arrays of them otherwise.
"""
from __future__ import annotations

import math

import numpy as np

EXACT_POWER_BITS = 12_000       # larger exact powers stay unevaluated (and print as 2^20000, not 6,000 digits)


def number(sp, value):
    # Whole numbers become exact Integers; others the exact binary value of the float.
    if math.isnan(value):
        return sp.nan
    if math.isinf(value):
        return sp.oo if value > 0 else -sp.oo
    if value == int(value) and abs(value) < 2 ** 53:
        return sp.Integer(int(value))
    return sp.Float(value)


def constant(sp, name):
    return {"pi": sp.pi, "e": sp.E}[name]


def power(sp, a, b):
    # An exact power whose digits would run past EXACT_POWER_BITS (9^9^9, 1e308^4096) is left
    # unevaluated: SymPy would compute every digit, in one uninterruptible integer operation.
    if a.is_Rational and b.is_Integer and abs(b) > 1:
        size = max(int(a.p).bit_length(), int(a.q).bit_length())
        if size * abs(int(b)) > EXACT_POWER_BITS:
            return sp.Pow(a, b, evaluate=False)
    elif a.is_Number and not b.is_Number and not b.free_symbols:
        return sp.Pow(a, b, evaluate=False)         # a constant exponent such as 9^9^9: no evaluation
    return a ** b


def matmul(sp, a, b):
    return np.matmul(a, b)


def total(sp, x, axis=None, keepdims=False):
    return np.sum(x, axis=axis, keepdims=keepdims)


def softmax(sp, x):
    e = np.vectorize(sp.exp, otypes=[object])(x)
    return e / np.sum(e, axis=-1, keepdims=True)


def norm(sp, x):
    return sp.sqrt(sum(v ** 2 for v in np.ravel(x)))


def logsumexp(sp, x):
    return sp.log(sum(sp.exp(v) for v in np.ravel(x)))


def reduce(fn: str):
    """max(x) or min(x) of an array: SymPy's Max or Min of its elements."""
    return lambda sp, x: getattr(sp, fn)(*np.ravel(x))


def index(sp, x, index):
    return x[index]


def stack(sp, *xs):
    return np.stack([np.asarray(x, dtype=object) for x in xs])


def transpose(sp, x, axes=None):
    return np.transpose(x, axes)


# floor, ceil, round and trunc for SymPy: its own floor and ceiling leave their derivative an
# unevaluated Derivative, so these say what it is: 0 between the jumps, nan (none) at a jump.
_STEPS: dict = {}
# name -> (the function of SymPy it extends, or None; where its jumps are: frac(x + shift) == 0)
STEP_FUNCTIONS = {"floor": ("floor", 0), "ceiling": ("ceiling", 0), "round_even": (None, "1/2"), "trunc": (None, 0)}


def step(sp, name: str, x):
    """The step function `name` of x: SymPy's with its derivative; SymEngine's own floor and ceiling
    (and trunc and round through them), whose derivatives SymEngine leaves unevaluated."""
    if getattr(sp, "__name__", "") != "sympy":
        if name == "trunc":
            return sp.sign(x) * sp.floor(sp.Abs(x))
        return sp.floor(x + sp.Rational(1, 2)) if name == "round_even" else getattr(sp, name)(x)
    if not _STEPS:
        _STEPS.update({n: _step_class(sp, n, *spec) for n, spec in STEP_FUNCTIONS.items()})
    return _STEPS[name](x)


def _step_class(sp, name: str, base, shift):
    def fdiff(self, argindex=1):
        y = self.args[0] + sp.S(shift)
        if name == "trunc":         # trunc is continuous at 0: its jumps are the other integers
            return sp.Piecewise((sp.nan, sp.And(sp.Eq(sp.frac(y), 0), sp.Ne(y, 0))), (0, True))
        return sp.Piecewise((sp.nan, sp.Eq(sp.frac(y), 0)), (0, True))

    if base is not None:
        return type(name, (getattr(sp, base),), {"fdiff": fdiff})

    def eval(cls, x):
        if x.is_Number and x.is_finite:
            if name == "trunc":
                return sp.sign(x) * sp.floor(abs(x))
            n = sp.floor(x)
            half = x - n - sp.Rational(1, 2)
            return n + 1 if half > 0 or (half == 0 and n % 2) else n
        return None

    return type(name, (sp.Function,), {"fdiff": fdiff, "eval": classmethod(eval)})


def mod(sp, a, b):
    """numpy's mod (the sign of b): a - b*floor(a/b)."""
    return a - b * step(sp, "floor", a / b)


def cbrt(sp, x):
    """The real cube root (negative for negative x), as numpy's cbrt."""
    return sp.sign(x) * sp.Abs(x) ** sp.Rational(1, 3)


# -- high precision: mpmath for the SymPy functions the rows make ------------------------------------
def heaviside(mp, x, h0=None):
    return mp.mpf(0.5) if x == 0 else (mp.mpf(1) if x > 0 else mp.mpf(0))


def sign(mp, x):
    return mp.mpf(0) if x == 0 else mp.mpf(1) if x > 0 else mp.mpf(-1)


def log(mp, x, base=None):
    if x == 0:
        raise ZeroDivisionError
    return mp.log(x) if base is None else mp.log(x) / mp.log(base)


def round_even(mp, x):
    n = mp.floor(x)
    half = x - n - mp.mpf(0.5)
    return n + 1 if half > 0 or (half == 0 and int(n) % 2) else n


def trunc(mp, x):
    return mp.floor(x) if x >= 0 else mp.ceil(x)
