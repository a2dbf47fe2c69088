"""numpy forwards too long for one line of the table, and the points where ops have kinks."""
from __future__ import annotations

import math

import numpy as np


def matmul(a, b):
    if a.ndim not in (1, 2) or b.ndim not in (1, 2):
        raise ValueError("matmul takes vectors and matrices")
    return np.matmul(a, b)


def dot(a, b):
    if a.shape != b.shape:
        raise ValueError("shapes differ")
    return np.vdot(a, b)


def sum_to(x, shape):
    """Sum x down to `shape` (the inverse of broadcasting): leading axes, and axes of size 1."""
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and x.shape[i + lead] != 1)
    out = np.sum(x, axis=axes, keepdims=True) if axes else x
    return np.reshape(out, shape)


def scatter(g, index, shape):
    """Zeros of `shape` with g at `index`: the gradient of x[index]."""
    out = np.zeros(shape)
    out[index] = g
    return out


def stack(*xs):
    return np.stack(xs)


def softmax(x):
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def logsumexp(x):
    m = np.max(x)
    if not np.isfinite(m):
        return np.float64(m) if m == -np.inf or np.isnan(m) else np.log(np.sum(np.exp(x)))
    return m + np.log(np.sum(np.exp(x - m)))


def sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))[()]


_erf = np.vectorize(math.erf, otypes=[np.float64])


def erf(x):
    return np.float64(math.erf(x)) if np.ndim(x) == 0 else _erf(x)


_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def erfc(x):
    return np.float64(math.erfc(x)) if np.ndim(x) == 0 else _erfc(x)


def gelu(x):
    """x * Phi(x), the exact form: Phi(x) = erfc(-x/sqrt(2))/2 (no cancellation for negative x)."""
    return x * 0.5 * erfc(-x * (1 / math.sqrt(2.0)))


def elu(x):
    """x for x > 0, exp(x) - 1 otherwise (alpha = 1)."""
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))[()]


def sinc(x):
    """numpy's normalized sinc, sin(pi x)/(pi x), 1 at 0."""
    return np.sinc(x)[()]


def clip(x, lo=None, hi=None):
    """clip with number bounds (the row's statics): min(max(x, lo), hi)."""
    if lo is None or hi is None:
        raise ValueError("clip(x, lo, hi) takes x and both bounds")
    return np.minimum(np.maximum(x, lo), hi)


# -- kinks: where(*input arrays, **attrs) is true at a point where the op is not differentiable ------------
# The forward pass asks at every such op: bool() for a number, since np.any costs microseconds there.
def _any(mask) -> bool:
    return bool(mask.any()) if isinstance(mask, np.ndarray) else bool(mask)


def at_zero(x, *rest, **attrs):
    return _any(x == 0)


def tied(a, b):
    return _any(a == b)


def has_max_ties(x):
    return np.count_nonzero(x == np.max(x)) > 1


def has_min_ties(x):
    return np.count_nonzero(x == np.min(x)) > 1


def all_zero(x):
    return not _any(x != 0)


def at_integer(x, **attrs):
    return _any(x == np.floor(x))


def at_nonzero_integer(x, **attrs):
    return _any((x == np.floor(x)) & (x != 0))


def at_half_integer(x, **attrs):
    return _any(x - np.floor(x) == 0.5)


def at_origin(a, b):
    return _any((a == 0) & (b == 0))


def at_bound(x, lo=None, hi=None):
    return _any((x == lo) | (x == hi))


def clip_tied(x, lo, hi):
    return _any((x == lo) | (np.maximum(x, lo) == hi))


def divides(a, b):
    with np.errstate(invalid="ignore", divide="ignore"):
        return _any(np.mod(a, b) == 0)
