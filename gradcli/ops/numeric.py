"""numpy forwards too long for one line of the table, and the points where ops have kinks."""
from __future__ import annotations

import math

import numpy as np


def matmul(a, b):
    """numpy's matmul: vectors, matrices, and stacks of matrices (3-D and up) whose batch axes broadcast."""
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul takes vectors, matrices and stacks of matrices")
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


# -- kinks: where(*input arrays) is true at a point where the op is not differentiable ------------
# The forward pass asks at every such op: bool() for a number, since np.any costs microseconds there.
def _any(mask) -> bool:
    return bool(mask.any()) if isinstance(mask, np.ndarray) else bool(mask)


def at_zero(x, *rest):
    return _any(x == 0)


def tied(a, b):
    return _any(a == b)


def has_max_ties(x):
    return np.count_nonzero(x == np.max(x)) > 1


def has_min_ties(x):
    return np.count_nonzero(x == np.min(x)) > 1


def all_zero(x):
    return not _any(x != 0)
