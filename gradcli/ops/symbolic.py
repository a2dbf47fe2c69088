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
    # initial: the sum of no elements (an empty slice) is SymPy's 0, not Python's
    return np.sum(x, axis=axis, keepdims=keepdims, initial=sp.Integer(0))


def along(x, axis, keepdims, fn) -> np.ndarray:
    """A reduction of an object array along axis (all axes for None): fn(list of elements)
    for each slice, as numpy's reductions shape their results (keepdims too)."""
    x = np.asarray(x, dtype=object)
    if x.ndim == 0:                     # a number: its one element (numpy allows axis 0 and -1)
        return np.asarray(fn([x[()]]), dtype=object)
    axes = tuple(range(x.ndim)) if axis is None else tuple(a % x.ndim for a in ((axis,) if isinstance(axis, int) else axis))
    rest = [a for a in range(x.ndim) if a not in axes]
    moved = np.transpose(x, rest + list(axes))
    flat = moved.reshape(moved.shape[:len(rest)] + (-1,))
    out = np.empty(flat.shape[:-1], dtype=object)
    for idx in np.ndindex(out.shape):
        out[idx] = fn(list(flat[idx]))
    if keepdims:
        out = out.reshape(tuple(1 if a in axes else n for a, n in enumerate(x.shape)))
    return out


def reduction(fn):
    """A builder from fn(sp, elements): the reduction along axis= with keepdims=."""
    return lambda sp, x, axis=None, keepdims=False, **more: along(x, axis, keepdims, lambda v: fn(sp, v, **more))


def softmax(sp, x, axis=-1):
    e = np.vectorize(sp.exp, otypes=[object])(x)
    return e / np.sum(e, axis=axis, keepdims=True)


def mean(sp, v):
    return sp.Add(*v) / len(v)


def variance(sp, v, ddof=0):
    """numpy's var: the squared deviations over max(n - ddof, 0) (a sum over 0 is inf or nan)."""
    m = sp.Add(*v) / len(v)
    squares = sp.Add(*[(e - m) ** 2 for e in v])
    divisor = max(len(v) - ddof, 0)
    return squares / divisor if divisor else squares * sp.zoo


def cumulative(combine):
    """cumsum and cumprod of an object array: along an axis, or over the flattened array."""
    def build(sp, x, axis=None):
        x = np.asarray(x, dtype=object)
        if x.ndim == 0 and axis is not None:
            return x
        if axis is None:
            x, axis = x.reshape(-1), 0
        out = np.empty(x.shape, dtype=object)
        moved, target = np.moveaxis(x, axis, -1), np.moveaxis(out, axis, -1)
        for idx in np.ndindex(moved.shape[:-1]):
            total = None
            for k in range(moved.shape[-1]):
                total = moved[idx + (k,)] if total is None else combine(total, moved[idx + (k,)])
                target[idx + (k,)] = total
        return out
    return build


def index(sp, x, index):
    from gradcli.ops.numeric import numpy_index
    return x[numpy_index(index)]


def stack(sp, *xs, axis=0):
    return np.stack([np.asarray(x, dtype=object) for x in xs], axis=axis)


def diag(sp, x):
    """numpy's diag on an object array, with exact zeros off the diagonal of a vector's matrix."""
    if np.ndim(x) == 1:
        out = np.full((len(x), len(x)), sp.Integer(0), dtype=object)
        for i, v in enumerate(x):
            out[i, i] = v
        return out
    return np.diag(x)


def reshape(sp, x, shape):
    return np.reshape(x, shape)


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
    """numpy's mod (the sign of b): a - b*floor(a/b); nan for b = 0, as numpy's (the formula
    would fold 0*floor(a/0) to 0 and give a)."""
    if b == 0:
        return sp.nan
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


norm = reduction(lambda sp, v: sp.sqrt(sp.Add(*[e ** 2 for e in v])))
logsumexp = reduction(lambda sp, v: sp.log(sp.Add(*[sp.exp(e) for e in v])))


def reduce(fn: str):
    """max(x) or min(x) of an array (along axis=): SymPy's Max or Min of the elements."""
    return reduction(lambda sp, v: getattr(sp, fn)(*v))
