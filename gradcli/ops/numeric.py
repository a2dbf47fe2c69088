"""numpy forwards too long for one line of the table, and the points where ops have kinks."""
from __future__ import annotations

import math

import numpy as np


class Slice(tuple):
    """start:stop:step of an index, as a hashable value (an Expr's attrs are hashed). A tuple
    subclass, not a NamedTuple: one of those takes a fifth of a millisecond of start-up."""
    __slots__ = ()

    def __new__(cls, start: int | None = None, stop: int | None = None, step: int | None = None):
        return tuple.__new__(cls, (start, stop, step))

    start = property(lambda self: self[0])
    stop = property(lambda self: self[1])
    step = property(lambda self: self[2])

    def __repr__(self) -> str:
        return f"Slice({self[0]}, {self[1]}, {self[2]})"


def numpy_index(index: tuple) -> tuple:
    """An index attr as numpy takes it: integers, slices, and ... (Ellipsis)."""
    return tuple(slice(*i) if isinstance(i, Slice) else i for i in index)


def index_text(index: tuple) -> str:
    """An index attr as written: [1:3, 0], [::-1]."""
    def one(i):
        if not isinstance(i, Slice):
            return "..." if i is Ellipsis else str(i)
        text = f"{'' if i.start is None else i.start}:{'' if i.stop is None else i.stop}"
        return text + ("" if i.step is None else f":{i.step}")
    return "[" + ", ".join(map(one, index)) + "]"


def explain_index(shapes, index) -> str:
    shape = shapes[0]
    if shape == ():
        return f"a number cannot be indexed: {index_text(index)} needs an array"
    positions = sum(1 for i in index if i is not Ellipsis)
    if positions > len(shape):
        axes = f"{len(shape)} ax{'is' if len(shape) == 1 else 'es'}"
        return f"index {index_text(index)} has {positions} positions, but shape {shape} has {axes}"
    return f"index {index_text(index)} is out of range for shape {shape}"


def flip(axis: int, ndim: int) -> tuple:
    """The index that reverses one axis: x[..., ::-1, :] for axis -2 (nothing for a number)."""
    if ndim == 0:
        return ()
    a = axis % ndim
    return (Slice(),) * a + (Slice(None, None, -1),)


def matmul(a, b):
    """numpy's matmul: vectors, matrices, and stacks of matrices (3-D and up) whose batch axes broadcast."""
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul takes vectors, matrices and stacks of matrices")
    return np.matmul(a, b)


def dot(a, b):
    """numpy's dot on numbers, vectors and matrices."""
    if np.ndim(a) > 2 or np.ndim(b) > 2:
        raise ValueError("dot takes numbers, vectors and matrices")
    return np.dot(a, b)[()]


def sum_to(x, shape):
    """Sum x down to `shape` (the inverse of broadcasting): leading axes, and axes of size 1."""
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and x.shape[i + lead] != 1)
    out = np.sum(x, axis=axes, keepdims=True) if axes else x
    return np.reshape(out, shape)


def scatter(g, index, shape):
    """Zeros of `shape` with g at `index`: the gradient of x[index]."""
    out = np.zeros(shape)
    out[numpy_index(index)] = g
    return out


def index(x, index):
    return x[numpy_index(index)]


def stack(*xs, axis=0):
    return np.stack(xs, axis=axis)


def explain_stack(shapes, axis=0) -> str:
    if len(set(shapes)) > 1:
        return f"stacked arrays must have one shape; these have {', '.join(map(str, shapes))}"
    return f"axis {axis} is out of range for stacking arrays of shape {shapes[0]}"


def concat(*xs, axis=0):
    if any(np.ndim(x) == 0 for x in xs):
        raise ValueError("concat joins arrays, not numbers")
    return np.concatenate(xs, axis=axis)


def explain_concat(shapes, axis=0) -> str:
    if any(s == () for s in shapes):
        return "concat joins arrays along an axis; a number has none (use [a, b] or stack for numbers)"
    if len({len(s) for s in shapes}) > 1:
        return f"concat joins arrays with the same number of axes; these have shapes {', '.join(map(str, shapes))}"
    ndim = len(shapes[0])
    if not -ndim <= axis < ndim:
        return f"axis {axis} is out of range for shapes with {ndim} ax{'is' if ndim == 1 else 'es'}"
    return (f"concat along axis {axis} needs the other sizes to agree; the shapes are "
            f"{', '.join(map(str, shapes))}")


def outer(a, b):
    return np.outer(a, b)


def diag(x):
    if np.ndim(x) not in (1, 2):
        raise ValueError("diag takes a vector or a matrix")
    return np.diag(x)


def trace(x):
    if np.ndim(x) != 2:
        raise ValueError("trace takes a matrix")
    return np.float64(np.trace(x))


def compare(ufunc):
    """a < b and its kin as 1.0 and 0.0 (a number for numbers)."""
    def forward(a, b):
        out = ufunc(a, b)
        return np.float64(out) if isinstance(out, np.bool_) else out.astype(np.float64)
    return forward


def where(c, a, b):
    return np.where(c != 0, a, b)[()]


def softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    shift = np.where(np.isfinite(m), m, 0.0)        # an infinite or nan maximum: no shift
    out = np.log(np.sum(np.exp(x - shift), axis=axis, keepdims=True)) + shift
    out = np.where(np.isnan(m), m, out)
    return (out if keepdims else np.squeeze(out, axis=tuple(range(np.ndim(x))) if axis is None else axis))[()]


def count(shape: tuple, axis) -> int:
    """How many elements a reduction along axis takes together (all of them for None)."""
    if axis is None or shape == ():
        return int(np.prod(shape))
    axes = (axis,) if isinstance(axis, int) else axis
    return int(np.prod([shape[a] for a in axes]))


def number_axis(x, axis):
    """A number's axis 0 (or -1) as no axis, as PyTorch takes it (numpy's sum and max do, its mean
    and var do not): a reduction of a number along it is the number."""
    if np.ndim(x) == 0 and axis is not None and axis in (0, -1, (0,), (-1,)):
        return None
    return axis


def mean(x, axis=None, keepdims=False):
    return np.mean(x, axis=number_axis(x, axis), keepdims=keepdims)[()]


def var(x, axis=None, keepdims=False, ddof=0):
    return np.var(x, axis=number_axis(x, axis), keepdims=keepdims, ddof=ddof)[()]


def std(x, axis=None, keepdims=False, ddof=0):
    return np.std(x, axis=number_axis(x, axis), keepdims=keepdims, ddof=ddof)[()]


def cumulative(fn):
    """cumsum and cumprod as numpy's: along an axis, or over the flattened array without one; a
    number along its axis 0 (or -1) is itself, as in PyTorch."""
    def forward(x, axis=None):
        if np.ndim(x) == 0 and axis is not None:
            if axis not in (0, -1):
                raise np.exceptions.AxisError(axis, 0)
            return x
        return fn(x, axis=axis)
    return forward


def cumprod_grad(g, x, axis=None):
    """The gradient of cumprod(x, axis) given g, from products alone (zeros allowed): for each i,
    the sum over j >= i of g[j] times the product of x[k] for k <= j, k != i."""
    x = np.asarray(x, dtype=np.float64)
    shape = x.shape
    if axis is None:
        x, g, axis = x.reshape(-1), np.reshape(g, -1), 0
    xm, gm = np.moveaxis(x, axis, -1), np.moveaxis(np.broadcast_to(g, x.shape), axis, -1)
    out = np.zeros(xm.shape)
    n = xm.shape[-1]
    for i in range(n):
        others = xm.copy()
        others[..., i] = 1.0
        partial = np.cumprod(others, axis=-1)
        out[..., i] = np.sum((gm * partial)[..., i:], axis=-1)
    return np.moveaxis(out, -1, axis).reshape(shape)


def others_product(x, axis=None):
    """For each element, the product of the others along axis (numbers, no division: zeros
    allowed): the gradient of prod(x, axis)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0:
        return np.float64(1.0)
    axes = tuple(range(x.ndim)) if axis is None else tuple(a % x.ndim for a in ((axis,) if isinstance(axis, int) else axis))
    rest = [a for a in range(x.ndim) if a not in axes]
    moved = np.transpose(x, rest + list(axes))
    flat = moved.reshape(moved.shape[:len(rest)] + (-1,))
    ones = np.ones(flat.shape[:-1] + (1,))
    left = np.concatenate((ones, np.cumprod(flat[..., :-1], axis=-1)), axis=-1)
    right = np.concatenate((np.cumprod(flat[..., :0:-1], axis=-1)[..., ::-1], ones), axis=-1)
    out = (left * right).reshape(moved.shape)
    return np.transpose(out, np.argsort(rest + list(axes)))


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


def tied(a, b, *rest):
    return _any(a == b)


def has_max_ties(x, axis=None, keepdims=False):
    return bool(np.any(np.count_nonzero(x == np.max(x, axis=axis, keepdims=True), axis=axis) > 1))


def has_min_ties(x, axis=None, keepdims=False):
    return bool(np.any(np.count_nonzero(x == np.min(x, axis=axis, keepdims=True), axis=axis) > 1))


def no_spread(x, axis=None, keepdims=False, ddof=0):
    return bool(np.any(np.ptp(x, axis=number_axis(x, axis)) == 0))


def all_zero(x, axis=None, keepdims=False):
    return bool(np.any(np.all(x == 0, axis=axis)))


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
