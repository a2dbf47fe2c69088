"""Linear algebra for the op table: det, inv, solve, logdet, cross and kron.

The numpy forwards (shapes checked first, so that a shape error says what is wrong), the VJP
rules (as HIPS autograd and PyTorch define them; written with the table's namespace F, given as
the first argument, so that they differentiate again), the SymPy builders (one for both
backends), the messages of shape errors, and `singular`, the predicate the forward pass asks
to warn about a singular matrix.

Singular matrices give IEEE results, never an exception: det 0, logdet -inf, and inv and solve
adj(M)/det(M) with det(M) = 0: +-inf where the adjugate (times b, for solve) is not 0, nan where
it is. numpy raises LinAlgError there (a ValueError, which the forward pass would take for a
shape error): the forwards here catch it.
"""
from __future__ import annotations

import numpy as np

from gradcli.graph import Node

EPS = 2.0 ** -52        # float64 machine epsilon (np.finfo costs 2 ms of start-up)


# -- shapes: one check per op, read by the forward (ValueError) and by the error message ---------
def _not_square(name: str, shape: tuple) -> str | None:
    if len(shape) < 2 or shape[-1] != shape[-2]:
        return (f"{name} takes a square matrix or a stack of them: shape {shape} is "
                f"{'not a matrix' if len(shape) < 2 else 'not square'}")
    return None


def _batch(name: str, *shapes) -> str | None:
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        return f"{name}: the stack axes {' and '.join(map(str, shapes))} do not broadcast"
    return None


def square_problem(name: str):
    """The shape check of an op on one square matrix (or a stack of them)."""
    return lambda shapes: _not_square(name, shapes[0])


def solve_problem(shapes) -> str | None:
    a, b = shapes
    problem = _not_square("solve(A, b)", a)
    if problem:
        return problem
    n = a[-1]
    if len(b) == 0:
        return "solve(A, b) takes a vector or a matrix b: b is a number"
    if len(b) == 1:
        return None if b[0] == n else f"solve(A, b): A is {n}x{n} but b has {b[0]} elements"
    if b[-2] != n:
        return f"solve(A, b): A is {n}x{n} but b's rows number {b[-2]} (b is (..., n, k); a vector b is 1-D)"
    return _batch("solve(A, b)", a[:-2], b[:-2])


def cross_problem(shapes) -> str | None:
    a, b = shapes
    if len(a) == 0 or len(b) == 0 or a[-1] != 3 or b[-1] != 3:
        return f"cross takes 3-vectors along the last axis: shapes {a} and {b}"
    return _batch("cross", a[:-1], b[:-1])


def kron_problem(shapes) -> str | None:
    a, b = shapes
    if (len(a), len(b)) not in ((1, 1), (2, 2)):
        return f"kron takes two vectors or two matrices: shapes {a} and {b}"
    return None


def explain(problem):
    """A row's `explain`: the message of its shape check, from the inputs' shapes."""
    def message(shapes, **attrs):
        return problem(shapes) or f"shapes {' and '.join(map(str, shapes))} do not fit"
    return message


def _check(problem, *xs):
    message = problem([np.shape(x) for x in xs])
    if message:
        raise ValueError(message)


# -- forwards --------------------------------------------------------------------------------------
_det_problem, _inv_problem, _logdet_problem = square_problem("det"), square_problem("inv"), square_problem("logdet")


def det(m):
    _check(_det_problem, m)
    with np.errstate(all="ignore"):
        return np.linalg.det(m)


def logdet(m):
    """log|det m|, slogdet's logabsdet: -inf at a singular matrix."""
    _check(_logdet_problem, m)
    with np.errstate(all="ignore"):
        return np.linalg.slogdet(m).logabsdet


def _adjugate(m: np.ndarray) -> np.ndarray:
    """adj(m) of one n x n matrix: the transposed cofactors."""
    n = m.shape[-1]
    if n == 1:
        return np.ones((1, 1))
    minors = np.empty((n, n, n - 1, n - 1))
    for i in range(n):
        rows = np.delete(m, i, axis=0)
        for j in range(n):
            minors[i, j] = np.delete(rows, j, axis=1)
    signs = (-1.0) ** np.add.outer(np.arange(n), np.arange(n))
    with np.errstate(all="ignore"):
        return (signs * np.linalg.det(minors)).T


def _over_zero(x: np.ndarray) -> np.ndarray:
    """x / det where det = 0: +-inf, and nan where x is 0 (IEEE division)."""
    with np.errstate(all="ignore"):
        return x / np.float64(0.0)


def inv(m):
    _check(_inv_problem, m)
    try:
        return np.linalg.inv(m)
    except np.linalg.LinAlgError:           # a singular matrix in the stack: each matrix alone
        out = np.empty(m.shape)
        for idx in np.ndindex(m.shape[:-2]):
            try:
                out[idx] = np.linalg.inv(m[idx])
            except np.linalg.LinAlgError:
                out[idx] = _over_zero(_adjugate(m[idx]))
        return out


def solve(a, b):
    """x with a @ x = b, numpy 2's way: b is a vector only when 1-D, else (..., n, k)."""
    _check(solve_problem, a, b)
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:           # a singular matrix in the stack: each system alone
        if b.ndim == 1:
            batch = a.shape[:-2]
            aa, bb = a, np.broadcast_to(b, batch + b.shape)
        else:
            batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
            aa, bb = np.broadcast_to(a, batch + a.shape[-2:]), np.broadcast_to(b, batch + b.shape[-2:])
        out = np.empty(bb.shape)
        for idx in np.ndindex(batch):
            try:
                out[idx] = np.linalg.solve(aa[idx], bb[idx])
            except np.linalg.LinAlgError:
                out[idx] = _over_zero(_adjugate(aa[idx]) @ bb[idx])
        return out


def cross(a, b):
    _check(cross_problem, a, b)
    return np.cross(a, b)


def kron(a, b):
    _check(kron_problem, a, b)
    return np.kron(a, b)


def singular(*inputs) -> bool:
    """Whether a matrix of the first input's stack is singular, numerically: det == 0 or
    cond > 1/eps. False for what is not a stack of square matrices, and for non-finite entries
    (the result is non-finite because the input is)."""
    m = np.asarray(_raw(inputs[0]), dtype=np.float64)
    if m.ndim < 2 or m.shape[-1] != m.shape[-2] or m.size == 0 or not np.all(np.isfinite(m)):
        return False
    with np.errstate(all="ignore"):
        if np.any(np.linalg.det(m) == 0):
            return True
        try:
            cond = np.linalg.cond(m)
        except np.linalg.LinAlgError:
            return True
    return bool(np.any(~(cond <= 1 / EPS)))


# -- VJP rules: F is the table's namespace ---------------------------------------------------------
def _raw(x):
    """The numbers of a tensor or of a plain array (rules see either)."""
    return x.data if isinstance(x, Node) else x


def _mT(F, x):
    return F.transpose(x, axes=tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2))


def _as_matrices(F, x):
    """x (...) -> (..., 1, 1): a number per matrix of a stack, to scale it."""
    return F.reshape(x, shape=np.shape(x) + (1, 1))


def adjugate(F, m):
    """adj(M) of every matrix of a stack, with F (so it differentiates again), by Faddeev-LeVerrier:
    M_1 = I, M_(k+1) = A M_k + c_k I with c_k = -tr(A M_k)/k, and adj(A) = (-1)^(n+1) M_n. A
    polynomial in M: defined at singular matrices too."""
    n = m.shape[-1]
    eye = np.eye(n)
    mk = eye
    for k in range(1, n):
        am = F.matmul(m, mk)
        mk = am - F.sum(am * eye, axis=(-2, -1), keepdims=True) / k * eye
    return mk if n % 2 else -mk


def det_grad(F, g, ans, m):
    # HIPS autograd: g * det(M) * inv(M)^T. Where a det is 0 that is 0 * inf: there the
    # cofactors adj(M)^T, which det(M) * inv(M)^T equals elsewhere.
    if np.any(_raw(ans) == 0):
        return _as_matrices(F, g) * _mT(F, adjugate(F, m))
    return _as_matrices(F, g) * _as_matrices(F, ans) * _mT(F, F.inv(m))


def logdet_grad(F, g, ans, m):
    # d log|det M| = inv(M)^T
    return _as_matrices(F, g) * _mT(F, F.inv(m))


def inv_grad(F, g, ans, m):
    # -inv^T @ g @ inv^T
    t = _mT(F, ans)
    return -F.matmul(F.matmul(t, g), t)


def _solve_grad_b(F, g, a, b):
    at = _mT(F, a)
    if b.ndim == 1:         # a stack of vectors: solve them as columns
        return F.reshape(F.solve(at, F.reshape(g, shape=g.shape + (1,))), shape=g.shape)
    return F.solve(at, g)


def solve_grad_a(F, g, ans, a, b):
    # gA = -gb x^T (an outer product for a vector b); x is ans
    gb = _solve_grad_b(F, g, a, b)
    if b.ndim == 1:
        return -(F.reshape(gb, shape=gb.shape + (1,)) * F.reshape(ans, shape=ans.shape[:-1] + (1, ans.shape[-1])))
    return -F.matmul(gb, _mT(F, ans))


def solve_grad_b(F, g, ans, a, b):
    # gb = solve(A^T, g)
    return _solve_grad_b(F, g, a, b)


def kron_grad(F, g, ans, a, b, argnum):
    # kron(a, b)[i*p + j] = a[i] b[j] (and for matrices [(i*p + j), (k*q + l)] = A[i,k] B[j,l])
    if a.ndim == 1:
        (m,), (p,) = a.shape, b.shape
        g2 = F.reshape(g, shape=(m, p))
        if argnum == 0:
            return F.sum(g2 * F.reshape(b, shape=(1, p)), axis=1)
        return F.sum(g2 * F.reshape(a, shape=(m, 1)), axis=0)
    (m, n), (p, q) = a.shape, b.shape
    g4 = F.reshape(g, shape=(m, p, n, q))
    if argnum == 0:
        return F.sum(g4 * F.reshape(b, shape=(1, p, 1, q)), axis=(1, 3))
    return F.sum(g4 * F.reshape(a, shape=(m, 1, n, 1)), axis=(0, 2))


# -- SymPy builders (sp is SymPy's module or SymEngine's) -------------------------------------------
def _per_matrix(m: np.ndarray, fn, shape: tuple) -> np.ndarray:
    """fn of every matrix of a stack m, each result of `shape`: an object array (a scalar for a
    single matrix's number)."""
    batch = m.shape[:-2]
    out = np.empty(batch + shape, dtype=object)
    for idx in np.ndindex(batch):
        out[idx] = fn(m[idx])
    return out[()] if out.shape == () else out


def det_sym(sp, m):
    return _per_matrix(m, lambda x: sp.Matrix(x.tolist()).det(), ())


def inv_sym(sp, m):
    n = m.shape[-1]
    return _per_matrix(m, lambda x: np.array(sp.Matrix(x.tolist()).inv().tolist(), dtype=object).reshape(n, n),
                       (n, n))


def solve_sym(sp, a, b):
    return np.matmul(inv_sym(sp, a), b)


def logdet_sym(sp, m):
    d = det_sym(sp, m)
    return np.vectorize(lambda x: sp.log(sp.Abs(x)), otypes=[object])(d) if isinstance(d, np.ndarray) \
        else sp.log(sp.Abs(d))


def cross_sym(sp, a, b):
    return np.cross(a, b)


def kron_sym(sp, a, b):
    return np.kron(a, b)
