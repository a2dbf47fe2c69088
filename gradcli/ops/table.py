"""THE op table: every operator and function of gradcli, each defined once (see schema.py for
the fields of a row). Parser, engine, cross-check, renderer and tests all read it; none knows
an op by name. A VJP rule too long for one line is a named helper just above the table.

F.<key>(*inputs, **attrs) applies a row; the rules are written with it. Given tensors it records
the op; given plain arrays (the backward pass without create_graph) it is the numpy forward alone.
"""
from __future__ import annotations

import math
import operator

import numpy as np

from gradcli.graph import Node, Ops
from gradcli.ops import linalg as la
from gradcli.ops import numeric as nm
from gradcli.ops import symbolic as sy
from gradcli.ops.schema import (AXIS, BINARY, CONSTANT, FLAG, INTEGER, INTERNAL, LEAF, NUMBER, NUMBER_KW, REDUCE, SHAPE, UNARY,
                                VARIABLE, Caution, Domain, Fn, Infix, Kink, Op, Postfix, Prefix, cases, ew)

CONSTANTS = {"pi": math.pi, "e": math.e}
LN2, LN10 = math.log(2.0), math.log(10.0)


# -- helpers for rules too long for one line ---------------------------------
def _const(a) -> np.ndarray:
    """A constant (non-differentiable) array, e.g. a 0/1 mask; it combines with tensors and arrays alike."""
    return np.asarray(a, dtype=np.float64)


def _raw(x):
    """The numbers of a tensor or of a plain array (rules see either; see engine.backward)."""
    return x.data if isinstance(x, Node) else x


def _pow_grad_base(g, ans, a, b):
    # d/da a^b = b*a^(b-1), and 0 where b == 0 (as PyTorch), even at a == 0 where the formula is
    # 0*0^-1: there the exponent is moved to 0, which changes nothing else (b = 0 multiplies it).
    exponent = _raw(b)
    if not np.any(exponent == 0):       # the usual case, and a constant exponent stays a number
        return g * b * a ** (b - 1)     # (numpy squares and cubes an array fast; an array exponent is slow)
    both_zero = _const((_raw(a) == 0) & (exponent == 0))
    return g * b * a ** (b - 1 + both_zero)


def _pow_grad_exponent(g, ans, a, b):
    # d/db a^b = a^b log a; where a == 0 and b >= 0 the limit is taken as 0 (as PyTorch does).
    zero = (_raw(a) == 0) & (_raw(b) >= 0)
    return g * ans * F.log(a + _const(zero)) * _const(~zero)


def _concat_grad(g, ans, *xs, argnum, axis=0):
    # concat's gradient for input i: its own stretch of g along the axis
    ax = axis % ans.ndim
    start = sum(x.shape[ax] for x in xs[:argnum])
    return F.index(g, index=(nm.Slice(),) * ax + (nm.Slice(start, start + xs[argnum].shape[ax]),))


def _diag_grad(g, ans, x):
    if x.ndim == 1:                 # out = diag(x), a matrix: x's gradient is g's diagonal
        return F.diag(g)
    k = min(x.shape)                # out = x's diagonal: g goes back onto it
    return F.scatter(g, index=(tuple(range(k)), tuple(range(k))), shape=x.shape)


def _mT(x):
    return F.transpose(x, axes=tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2)) if x.ndim >= 2 else x


def _matvec(m, v):
    """m (..., p, q) @ v (..., q) -> (..., p), v a stack of vectors (numpy's matmul would read a
    2-D v as a matrix)."""
    if v.ndim == 1:
        return F.matmul(m, v)
    out = F.matmul(m, F.reshape(v, shape=v.shape + (1,)))
    return F.reshape(out, shape=out.shape[:-1])


def _matmul_grad_a(g, ans, a, b):
    # Batch axes broadcast: the engine sums the gradient down to a's shape.
    if b.ndim == 1:         # out[...i] = sum_k a[...i,k] b[k]: ga = outer(g, b)
        return F.reshape(g, shape=g.shape + (1,)) * b
    if a.ndim == 1:         # out[...j] = sum_k a[k] b[...k,j]: ga = b @ g
        return _matvec(b, g)
    return F.matmul(g, _mT(b))


def _matmul_grad_b(g, ans, a, b):
    if a.ndim == 1:
        if b.ndim == 1:
            return g * a
        return F.reshape(a, shape=a.shape + (1,)) * F.reshape(g, shape=g.shape[:-1] + (1, g.shape[-1]))
    if b.ndim == 1:         # out[...i] = sum_k a[...i,k] b[k]: gb = a^T @ g
        return _matvec(_mT(a), g)
    return F.matmul(_mT(a), g)


def _kept(g, x, axis=None, keepdims=False):
    """A reduction's output (or its gradient) with the reduced axes kept as size 1, so that it
    broadcasts against the input x."""
    if axis is None or keepdims:
        return g
    axes = (axis,) if isinstance(axis, int) else axis
    return F.reshape(g, shape=tuple(1 if (i in axes or i - x.ndim in axes) else n for i, n in enumerate(x.shape)))


def _tie_mask(g, ans, x, axis=None, keepdims=False):
    # max/min reduction: the gradient is split evenly among tied elements (as PyTorch does).
    mask = (_raw(x) == _raw(_kept(ans, x, axis, keepdims))).astype(np.float64)
    return _kept(g, x, axis, keepdims) * _const(mask / np.sum(mask, axis=axis, keepdims=True))


def _max_share(a, b):
    # elementwise max(a, b): a tie a == b splits the gradient evenly, 1/2 each (as PyTorch does).
    return _const((_raw(a) > _raw(b)) + 0.5 * (_raw(a) == _raw(b)))


def _chosen(cond):
    # where(cond, a, b): 1 where a is selected (cond != 0), 0 where b is.
    return _const(_raw(cond) != 0)


def _piecewise_compare(sp, relation, a, b, key: str):
    try:
        return sp.Piecewise((1, relation(sp, a, b)), (0, True))
    except TypeError:           # a constant that is not real: numpy's nan, for which only != holds
        return sp.Integer(int(key == "ne"))


def _condition(sp, c):
    """where's condition: the comparison itself when c is one (Piecewise((1, a < b), (0, True)))."""
    if type(c).__name__ == "Piecewise":
        args = c.args if len(c.args) == 4 else [x for pair in c.args for x in pair]    # SymEngine's, SymPy's
        if len(args) == 4 and args[0] == 1 and args[2] == 0 and args[3] == True:  # noqa: E712 (SymPy's true)
            return args[1]
    return sp.Ne(c, 0)


def _compare(symbol: str, key: str, forms, ufunc, relation, name: str) -> Op:
    """A comparison row: 1.0 where it holds, else 0.0; no gradient flows through it (as through
    PyTorch's bool tensors): a use of it is a constant, also at a tie, where it jumps."""
    return Op(key, tuple(Infix(t, 0, chains=False) for t in forms), 2, nm.compare(ufunc), (None, None),
              lambda sp, a, b: _piecewise_compare(sp, relation, a, b, key), symengine=False,   # Piecewise
              symbol=symbol, grad_fn=name, elementwise=True, domain=Domain(cases=cases(BINARY), away=0.1),
              kink=Kink(nm.tied, f"a {symbol} b jumps at a = b; no gradient flows through a comparison, there too"),
              saves="none")


def _prod_grad(g, ans, x, axis=None, keepdims=False):
    if np.all(_raw(x) != 0):
        return _kept(g, x, axis, keepdims) * _kept(ans, x, axis, keepdims) / x
    # With zeros, ans/x is 0/0: use the product of the other elements (first order only).
    return _kept(g, x, axis, keepdims) * _const(nm.others_product(_raw(x), axis))


def _sum_grad(g, ans, x, axis=None, keepdims=False):
    return F.broadcast_to(_kept(g, x, axis, keepdims), shape=x.shape)


def _mean_grad(g, ans, x, axis=None, keepdims=False):
    return F.broadcast_to(_kept(g, x, axis, keepdims) / nm.count(x.shape, axis), shape=x.shape)


def _norm_grad(g, ans, x, axis=None, keepdims=False):
    # norm at the zero vector: gradient 0 (the subgradient PyTorch uses).
    ans = _kept(ans, x, axis, keepdims)
    return _kept(g, x, axis, keepdims) * x / (ans + _const(_raw(ans) == 0))


def _logsumexp_grad(g, ans, x, axis=None, keepdims=False):
    return _kept(g, x, axis, keepdims) * F.exp(x - _kept(ans, x, axis, keepdims))


INV_SQRT2, INV_SQRT_2PI = 1 / math.sqrt(2.0), 1 / math.sqrt(2 * math.pi)


def _gelu_grad(g, ans, x):
    # d/dx x*Phi(x) = Phi(x) + x*phi(x), Phi(x) = erfc(-x/sqrt(2))/2, phi the normal density.
    return g * (0.5 * F.erfc(-x * INV_SQRT2) + x * F.exp(-0.5 * x * x) * INV_SQRT_2PI)


def _elu_grad(g, ans, x):
    # 1 for x > 0, exp(x) otherwise: 1 on both sides of 0 (alpha = 1), as PyTorch's x <= 0 branch gives.
    below = _const(_raw(x) <= 0)
    return g * (_const(_raw(x) > 0) + below * F.exp(x * below))


def _sinc_grad(g, ans, x):
    # (cos(pi x) - sinc(x))/x, and 0 at x = 0 (the limit; as PyTorch gives).
    zero = _const(_raw(x) == 0)
    return g * (F.cos(math.pi * x) - F.sinc(x)) / (x + zero) * (1 - zero)


def _leaky_relu_grad(g, ans, x, slope=0.01):
    # 1 for x > 0, slope for x <= 0: at 0 the slope, as PyTorch gives.
    above = _raw(x) > 0
    return g * _const(above + slope * ~above)


def _clip3_shares(x, lo, hi):
    # clip(x, lo, hi) = min(max(x, lo), hi): a tie splits the gradient evenly, as max and min do.
    inner = np.maximum(_raw(x), _raw(lo))
    return _max_share(hi, inner), inner


def _clip3_grad_x(g, ans, x, lo, hi):
    share, _ = _clip3_shares(x, lo, hi)
    return g * share * _max_share(x, lo)


def _clip3_grad_lo(g, ans, x, lo, hi):
    share, _ = _clip3_shares(x, lo, hi)
    return g * share * _max_share(lo, x)


def _clip3_grad_hi(g, ans, x, lo, hi):
    _, inner = _clip3_shares(x, lo, hi)
    return g * _max_share(inner, hi)


LEAKY_CASES = cases(UNARY) + ((((),), {"slope": 0.2}), (((3,),), {"slope": 1.5}))
CLIP_CASES = ((((),), {"lo": -1.0, "hi": 1.0}), (((3,),), {"lo": -0.5, "hi": 1.5}),
              (((2, 3),), {"lo": 0.25, "hi": 0.75}), (((3,),), {"lo": 1.0, "hi": -1.0}))
CLIP3_CASES = cases([((), (), ()), ((3,), (), ()), ((2, 3), (3,), (2, 1)), ((), (3,), (3,))])


MATMUL_CASES = cases([((2, 3), (3, 4)), ((3,), (3, 2)), ((2, 3), (3,)), ((3,), (3,))])
SUM_CASES = cases(REDUCE) + ((((2, 3),), {"axis": -1, "keepdims": True}), (((2, 3),), {"axis": 0}))

def _divisor(x, axis, ddof) -> np.float64:
    # var's divisor, as numpy's: max(n - ddof, 0); 0 makes var inf (or nan), and so its gradient
    return np.float64(max(nm.count(x.shape, axis) - ddof, 0))


def _var_grad(g, ans, x, axis=None, keepdims=False, ddof=0):
    centred = x - F.mean(x, axis=axis, keepdims=True)
    return _kept(g, x, axis, keepdims) * centred * (2.0 / _divisor(x, axis, ddof))


def _std_grad(g, ans, x, axis=None, keepdims=False, ddof=0):
    # std = sqrt(var): var's gradient over 2*std (0/0 = nan where every element is equal, as PyTorch)
    centred = x - F.mean(x, axis=axis, keepdims=True)
    return _kept(g, x, axis, keepdims) * centred / (_kept(ans, x, axis, keepdims) * _divisor(x, axis, ddof))


def _softmax_grad(g, ans, x, axis=-1):
    return ans * (g - F.sum(g * ans, axis=axis, keepdims=True))


def _reverse_cumsum(g, x, axis):
    """sum over j >= i of g[j] along axis (over the flattened x without one): cumsum's gradient."""
    if axis is None:                # g is over the flattened x: one axis
        flip = nm.flip(0, 1)
        return F.reshape(F.index(F.cumsum(F.index(g, index=flip)), index=flip), shape=x.shape)
    flip = nm.flip(axis, x.ndim)
    return F.index(F.cumsum(F.index(g, index=flip), axis=axis), index=flip)


def _cumprod_grad(g, ans, x, axis=None):
    if np.all(_raw(x) != 0):
        return _reverse_cumsum(g * ans, x, axis) / x
    return _const(nm.cumprod_grad(_raw(g), _raw(x), axis))      # with zeros: first order only


MATMUL_CASES = cases([((2, 3), (3, 4)), ((3,), (3, 2)), ((2, 3), (3,)), ((3,), (3,)), ((2, 2, 3), (2, 3, 4)),
                      ((2, 2, 3), (3, 4)), ((3,), (2, 3, 4)), ((2, 2, 3), (3,)), ((2, 1, 2, 3), (3, 3, 2))])
SQUARE = Domain(-1.0, 1.0, cases([((2, 2),), ((3, 3),), ((2, 2, 2),), ((2, 1, 2, 2),)]), shift=3.0)   # invertible
AXES = {"axis": AXIS, "keepdims": FLAG}
AXIS_CASES = ((((2, 3),), {"axis": 0}), (((2, 3),), {"axis": -1, "keepdims": True}), (((2, 3, 2),), {"axis": (0, 2)}),
              (((2, 3),), {"keepdims": True}))
SUM_CASES = cases(REDUCE) + AXIS_CASES


# -- the table ----------------------------------------------------------------
# Arithmetic forwards are Python's operators: on float64 arrays they are numpy's
# ufuncs, and on numpy scalars numpy's own (much cheaper) scalar path, same results.
# Leaves: numbers, the constants pi and e, and variables. They have no inputs.
TABLE: list[Op] = [
    Op("num",   LEAF, 0, lambda value: np.float64(value), sympy=sy.number, symbol="num", leaf=NUMBER),
    Op("const", LEAF, 0, lambda name: np.float64(CONSTANTS[name]), sympy=sy.constant, symbol="const", leaf=CONSTANT),
    Op("var",   LEAF, 0, None, symbol="var", leaf=VARIABLE),

    # Arithmetic. g is the incoming gradient, ans the op's output.
    Op("add", Infix("+", 1), 2, operator.add,
       (lambda g, ans, a, b: g,
        lambda g, ans, a, b: g),
       lambda sp, a, b: a + b, symbol="+", grad_fn="AddBackward0", elementwise=True,
       domain=Domain(cases=cases(BINARY)), saves="none",
       rule="sum rule", derivative=("1", "1"),
       pattern="add passes the gradient to both inputs unchanged"),
    Op("sub", (Infix("-", 1), Infix("−", 1)), 2, operator.sub,
       (lambda g, ans, a, b: g,
        lambda g, ans, a, b: -g),
       lambda sp, a, b: a - b, symbol="-", grad_fn="SubBackward0", elementwise=True,
       domain=Domain(cases=cases(BINARY)), saves="none",
       rule="difference rule", derivative=("1", "-1"),
       pattern="subtract passes the gradient to the first input unchanged and negated to the second"),
    Op("mul", (Infix("*", 3), Infix("×", 3), Infix("·", 3), Infix("⋅", 3)), 2, operator.mul,
       (lambda g, ans, a, b: g * b,
        lambda g, ans, a, b: g * a),
       lambda sp, a, b: a * b, symbol="*", grad_fn="MulBackward0", elementwise=True,
       domain=Domain(cases=cases(BINARY)), saves="inputs",
       rule="product rule", derivative=("y", "x"),
       pattern="multiply swaps its inputs: each gets the upstream gradient times the other"),
    Op("div", (Infix("/", 3), Infix("÷", 3)), 2, operator.truediv,
       (lambda g, ans, a, b: g / b,
        lambda g, ans, a, b: -g * ans / b),
       lambda sp, a, b: a / b, symbol="/", grad_fn="DivBackward0", elementwise=True,
       domain=Domain(cases=cases(BINARY), away=0.3), saves=("inputs", "all"),
       rule="quotient rule", derivative=("1/y", "-x/y^2")),
    Op("neg", (Prefix("-", 5), Prefix("−", 5)), 1, operator.neg,
       (lambda g, ans, x: -g,),
       lambda sp, x: -x, symbol="-", grad_fn="NegBackward0", elementwise=True, domain=Domain(), saves="none",
       rule="constant multiple rule", derivative=("-1",),
       pattern="negation passes the gradient back negated"),

    # Comparisons (looser than + -, not chaining) and selection.
    _compare("<", "lt", ("<",), np.less, lambda sp, a, b: sp.Lt(a, b), "LtBackward0"),
    _compare("<=", "le", ("<=", "≤"), np.less_equal, lambda sp, a, b: sp.Le(a, b), "LeBackward0"),
    _compare(">", "gt", (">",), np.greater, lambda sp, a, b: sp.Gt(a, b), "GtBackward0"),
    _compare(">=", "ge", (">=", "≥"), np.greater_equal, lambda sp, a, b: sp.Ge(a, b), "GeBackward0"),
    _compare("==", "eq", ("==",), np.equal, lambda sp, a, b: sp.Eq(a, b), "EqBackward0"),
    _compare("!=", "ne", ("!=", "≠"), np.not_equal, lambda sp, a, b: sp.Ne(a, b), "NeBackward0"),
    # where(cond, a, b): a where cond is not 0, else b; the gradient flows into the selected branch
    # only, and the branch not taken still computes its own (0 times an infinite local derivative
    # is nan there: the "NaN trap" of PyTorch and JAX, which gradcli explains when it happens).
    ew("where", "where", nm.where,
       (None,
        lambda g, ans, c, a, b: g * _chosen(c),
        lambda g, ans, c, a, b: g * (1.0 - _chosen(c))),
       lambda sp, c, a, b: sp.Piecewise((a, _condition(sp, c)), (b, True)), "WhereBackward0", arity=3,
       symengine=False, saves=("none", "inputs", "inputs"), masks=lambda c, a, b: (None, c == 0, c != 0),
       rule="selection rule", derivative=(None, "x != 0", "x == 0"),
       pattern="where routes the gradient to the branch taken"),
    Op("pow", (Infix("^", 7, right=True), Infix("**", 7, right=True), Fn("pow")), 2, operator.pow,
       (_pow_grad_base,
        _pow_grad_exponent),
       sy.power, symbol="^", grad_fn="PowBackward1", elementwise=True, domain=Domain(0.5, 2.0, cases(BINARY)),
       kink=Kink(nm.at_zero, "a^b at a = 0: d/da from b*a^(b-1), d/db taken as 0"), saves=("inputs", "all"),
       rule="power rule", rules={(1,): "exponential rule", (0, 1): "general power rule"},
       derivative=("y*x^(y-1)", "x^y*log(x)")),
    Op("matmul", (Infix("@", 3), Fn("matmul")), 2, nm.matmul,
       (_matmul_grad_a,
        _matmul_grad_b),
       sy.matmul, symbol="@", grad_fn="MmBackward0", domain=Domain(cases=MATMUL_CASES),
       hint="matmul takes vectors, matrices and stacks of matrices whose inner sizes agree: (...,n,k) @ (...,k,m)",
       saves="inputs",
       rule="matrix product rule", derivative=("g·yᵀ", "xᵀ·g"),     # an outer product, or g·y, for vectors
       pattern="matmul multiplies the gradient by the other input, transposed: the left input gets g times the right one's transpose, the right input the left one's transpose times g"),

    # Linear algebra: a matrix is the last two axes, the axes before them a stack (numpy's
    # batched semantics). A singular matrix gives IEEE values, never an exception: det 0, logdet
    # -inf, inv and solve adj/0 (+-inf, and nan where the adjugate is 0); see ops/linalg.py.
    Op("det", Fn("det"), 1, la.det, (lambda g, ans, m: la.det_grad(F, g, ans, m),),
       la.det_sym, symbol="det", grad_fn="LinalgDetBackward0", domain=SQUARE,
       hint="det takes an (n,n) matrix or an (...,n,n) stack of them", explain=la.explain(la.square_problem("det")),
       saves="all",     # a singular matrix: det 0, and its gradient the cofactors (no warning: both are right)
       rule="determinant rule", derivative=("g * det(x) * inv(x)'",)),
    Op("inv", Fn("inv"), 1, la.inv, (lambda g, ans, m: la.inv_grad(F, g, ans, m),),
       la.inv_sym, symbol="inv", grad_fn="LinalgInvExBackward0", domain=SQUARE,
       hint="inv takes an (n,n) matrix or an (...,n,n) stack of them", explain=la.explain(la.square_problem("inv")),
       saves="ans", caution=Caution(la.singular, "a singular (or nearly singular) matrix has no inverse: inv gives "
                                    "IEEE's inf and nan, or numbers dominated by rounding"),
       rule="inverse rule", derivative=("-inv(x)' @ g @ inv(x)'",)),
    Op("solve", Fn("solve"), 2, la.solve,
       (lambda g, ans, a, b: la.solve_grad_a(F, g, ans, a, b),
        lambda g, ans, a, b: la.solve_grad_b(F, g, ans, a, b)),
       la.solve_sym, symbol="solve", grad_fn="LinalgSolveExBackward0",
       domain=SQUARE._replace(cases=cases([((3, 3), (3,)), ((2, 2), (2, 3)), ((2, 3, 3), (3,)), ((2, 2, 2), (2, 2, 1)),
                                           ((2, 2), (3, 2, 2))])),
       hint="solve(A, b) takes A (n,n) or (...,n,n), and b (n,) or (...,n,k)", explain=la.explain(la.solve_problem),
       saves=("all", "inputs"), caution=Caution(la.singular, "a singular (or nearly singular) matrix A: solve(A, b) "
                                                "gives IEEE's inf and nan, or numbers dominated by rounding"),
       rule="solve rule", derivative=("-solve(x', g) @ solve(x, y)'", "solve(x', g)")),
    Op("logdet", Fn("logdet"), 1, la.logdet, (lambda g, ans, m: la.logdet_grad(F, g, ans, m),),
       la.logdet_sym, symengine=False,      # log(Abs(det)): SymEngine does not differentiate Abs
       symbol="logdet", grad_fn="LinalgSlogdetBackward0", domain=SQUARE,
       hint="logdet (log|det|) takes an (n,n) matrix or an (...,n,n) stack of them",
       explain=la.explain(la.square_problem("logdet")), saves="inputs",
       caution=Caution(la.singular, "a singular (or nearly singular) matrix: logdet is -inf, or all but"),
       rule="log-determinant rule", derivative=("g * inv(x)'",)),
    Op("cross", Fn("cross"), 2, la.cross,
       (lambda g, ans, a, b: F.cross(b, g),
        lambda g, ans, a, b: F.cross(g, a)),
       la.cross_sym, symbol="cross", grad_fn="LinalgCrossBackward0",
       domain=Domain(cases=cases([((3,), (3,)), ((2, 3), (3,)), ((2, 1, 3), (3, 3))])),
       hint="cross takes 3-vectors, or arrays of them along the last axis", explain=la.explain(la.cross_problem),
       saves="inputs",
       rule="cross product rule", derivative=("cross(y, g)", "cross(g, x)")),
    Op("kron", Fn("kron"), 2, la.kron,
       (lambda g, ans, a, b: la.kron_grad(F, g, ans, a, b, 0),
        lambda g, ans, a, b: la.kron_grad(F, g, ans, a, b, 1)),
       la.kron_sym, symbol="kron", grad_fn="KronBackward0",
       domain=Domain(cases=cases([((2,), (3,)), ((2, 2), (2, 3)), ((2, 3), (3, 2))])),
       hint="kron takes two vectors or two matrices", explain=la.explain(la.kron_problem), saves="inputs",
       rule="Kronecker product rule", derivative=("each element of x gets g's block for it, summed against y",
                                                    "each element of y gets g's matching elements of every block, weighted by x")),

    # Elementwise functions: key, names, numpy forward, VJP rule(s), SymPy builder, grad_fn, test domain.
    ew("sin",   "sin",   np.sin,    (lambda g, ans, x: g * F.cos(x),),                lambda sp, x: sp.sin(x),   "SinBackward0",
       head="sin", precise=lambda mp, x: mp.sin(x),
       rule="sine rule", derivative=("cos(x)",),
       confusions=("-cos(x)",)),
    ew("cos",   "cos",   np.cos,    (lambda g, ans, x: -g * F.sin(x),),               lambda sp, x: sp.cos(x),   "CosBackward0",
       head="cos", precise=lambda mp, x: mp.cos(x),
       rule="cosine rule", derivative=("-sin(x)",),
       confusions=("sin(x)",)),
    ew("tan",   "tan",   np.tan,    (lambda g, ans, x: g * (1 + ans * ans),),         lambda sp, x: sp.tan(x),   "TanBackward0",
       -1.2, 1.2, saves="ans", head="tan", precise=lambda mp, x: mp.tan(x),
       rule="tangent rule", derivative=("1 + tan(x)^2",),
       confusions=("1/cos(x)", "-1/cos(x)^2")),
    ew("asin",  ("asin", "arcsin"), np.arcsin, (lambda g, ans, x: g / F.sqrt(1 - x * x),), lambda sp, x: sp.asin(x), "AsinBackward0",
       -0.9, 0.9, head="asin", precise=lambda mp, x: mp.asin(x),
       rule="arcsine rule", derivative=("1/sqrt(1 - x^2)",),
       confusions=("1/(1 + x^2)", "-1/sqrt(1 - x^2)")),
    ew("acos",  ("acos", "arccos"), np.arccos, (lambda g, ans, x: -g / F.sqrt(1 - x * x),), lambda sp, x: sp.acos(x), "AcosBackward0",
       -0.9, 0.9, head="acos", precise=lambda mp, x: mp.acos(x),
       rule="arccosine rule", derivative=("-1/sqrt(1 - x^2)",),
       confusions=("1/sqrt(1 - x^2)",)),
    ew("atan",  ("atan", "arctan"), np.arctan, (lambda g, ans, x: g / (1 + x * x),),      lambda sp, x: sp.atan(x), "AtanBackward0",
       head="atan", precise=lambda mp, x: mp.atan(x),
       rule="arctangent rule", derivative=("1/(1 + x^2)",),
       confusions=("1/sqrt(1 - x^2)",)),
    ew("sinh",  "sinh",  np.sinh,   (lambda g, ans, x: g * F.cosh(x),),               lambda sp, x: sp.sinh(x),  "SinhBackward0",
       head="sinh", precise=lambda mp, x: mp.sinh(x),
       rule="hyperbolic sine rule", derivative=("cosh(x)",),
       confusions=("-cosh(x)",)),
    ew("cosh",  "cosh",  np.cosh,   (lambda g, ans, x: g * F.sinh(x),),               lambda sp, x: sp.cosh(x),  "CoshBackward0",
       head="cosh", precise=lambda mp, x: mp.cosh(x),
       rule="hyperbolic cosine rule", derivative=("sinh(x)",),
       confusions=("-sinh(x)",)),
    ew("tanh",  "tanh",  np.tanh,   (lambda g, ans, x: g * (1 - ans * ans),),         lambda sp, x: sp.tanh(x),  "TanhBackward0",
       saves="ans", head="tanh", precise=lambda mp, x: mp.tanh(x),
       rule="hyperbolic tangent rule", derivative=("1 - tanh(x)^2",),
       confusions=("1 + tanh(x)^2",)),
    ew("exp",   "exp",   np.exp,    (lambda g, ans, x: g * ans,),                     lambda sp, x: sp.exp(x),   "ExpBackward0",
       saves="ans", head="exp", precise=lambda mp, x: mp.exp(x),
       rule="exponential rule", derivative=("exp(x)",),
       confusions=("x*exp(x - 1)",)),
    ew("log",   ("log", "ln"), np.log, (lambda g, ans, x: g / x,),                    lambda sp, x: sp.log(x),   "LogBackward0",
       0.1, 3.0, head="log", precise=sy.log,
       rule="logarithm rule", derivative=("1/x",),
       confusions=("1/x^2", "-1/x")),
    ew("log2",  "log2",  np.log2,   (lambda g, ans, x: g / (x * LN2),),               lambda sp, x: sp.log(x, 2),  "Log2Backward0", 0.1, 3.0,
       rule="logarithm rule (base 2)", derivative=("1/(x*log(2))",)),
    ew("log10", "log10", np.log10,  (lambda g, ans, x: g / (x * LN10),),              lambda sp, x: sp.log(x, 10), "Log10Backward0", 0.1, 3.0,
       rule="logarithm rule (base 10)", derivative=("1/(x*log(10))",)),
    # sqrt'(0) = 1/(2*0) = inf, as PyTorch gives.
    ew("sqrt",  ("sqrt", Prefix("√", 5)), np.sqrt, (lambda g, ans, x: g / (2 * ans),), lambda sp, x: sp.sqrt(x), "SqrtBackward0",
       0.1, 3.0, kink=Kink(nm.at_zero, "sqrt'(0) = inf"), saves="ans",
       rule="square root rule", derivative=("1/(2*sqrt(x))",),
       confusions=("1/sqrt(x)", "sqrt(x)/2")),
    # abs'(0) = sign(0) = 0 (as PyTorch).
    ew("abs", ("abs", "absolute", "fabs"), np.abs, (lambda g, ans, x: g * _const(np.sign(_raw(x))),), lambda sp, x: sp.Abs(x),  "AbsBackward0",
       away=0.1, kink=Kink(nm.at_zero, "abs'(0) = 0"), symengine=False, head="Abs", precise=lambda mp, x: mp.fabs(x),
       rule="absolute value rule", derivative=("sign(x)",)),
    # sign and heaviside are steps: derivative 0 away from 0, and taken as 0 at 0 too.
    ew("sign",  "sign",  np.sign,   (lambda g, ans, x: g * 0,),                       lambda sp, x: sp.sign(x),  "SignBackward0",
       away=0.1, kink=Kink(nm.at_zero, "sign'(0) = 0"), saves="none", symengine=False, head="sign", precise=sy.sign,
       rule="step rule", derivative=("0",)),
    ew("heaviside", "heaviside", lambda x: np.heaviside(x, 0.5), (lambda g, ans, x: g * 0,), lambda sp, x: sp.Heaviside(x),
       "HeavisideBackward0", away=0.1, kink=Kink(nm.at_zero, "heaviside'(0) = 0 (and heaviside(0) = 1/2)"),
       saves="none", symengine=False, head="Heaviside", precise=sy.heaviside,
       rule="step rule", derivative=("0",)),
    ew("sigmoid", "sigmoid", nm.sigmoid, (lambda g, ans, x: g * ans * (1 - ans),), lambda sp, x: 1 / (1 + sp.exp(-x)),
       "SigmoidBackward0", -4.0, 4.0, saves="ans",
       rule="sigmoid rule", derivative=("sigmoid(x)*(1 - sigmoid(x))",),
       confusions=("sigmoid(x)*(1 + sigmoid(x))",)),
    # relu'(0) = 0 (as PyTorch): the mask is x > 0, strictly.
    ew("relu",  "relu",  lambda x: np.maximum(x, 0.0), (lambda g, ans, x: g * _const(_raw(x) > 0),), lambda sp, x: sp.Max(x, 0),
       "ReluBackward0", away=0.1, kink=Kink(nm.at_zero, "relu'(0) = 0"), symengine=False,
       rule="relu rule", derivative=("where(x > 0, 1, 0)",),
       pattern="relu lets the gradient through where the input is positive"),
    ew("softplus", "softplus", lambda x: np.logaddexp(0.0, x), (lambda g, ans, x: g * F.sigmoid(x),),
       lambda sp, x: sp.log(1 + sp.exp(x)), "SoftplusBackward0", -4.0, 4.0,
       rule="softplus rule", derivative=("sigmoid(x)",)),
    ew("erf",   "erf",   nm.erf, (lambda g, ans, x: g * (2 / math.sqrt(math.pi)) * F.exp(-x * x),), lambda sp, x: sp.erf(x),
       "ErfBackward0", head="erf", precise=lambda mp, x: mp.erf(x),
       rule="error function rule", derivative=("2/sqrt(pi)*exp(-x^2)",)),
    ew("atan2", "atan2", np.arctan2,
       (lambda g, ans, y, x: g * x / (x * x + y * y),
        lambda g, ans, y, x: -g * y / (x * x + y * y)),
       lambda sp, y, x: sp.atan2(y, x), "Atan2Backward0", away=0.3, arity=2,
       symengine=False,         # SymEngine differentiates it through atan(y/x): 0*inf at x = 0
       head="atan2", precise=lambda mp, y, x: mp.atan2(y, x),
       rule="atan2 rule", derivative=("y/(x^2 + y^2)", "-x/(x^2 + y^2)")),
    ew("maximum", ("max", "maximum"), np.maximum,
       (lambda g, ans, a, b: g * _max_share(a, b),
        lambda g, ans, a, b: g * _max_share(b, a)),
       lambda sp, a, b: sp.Max(a, b), "MaximumBackward0", arity=2,
       kink=Kink(nm.tied, "max(a, b) splits the gradient evenly on a tie a = b"),
       symengine=False, head="Max", precise=lambda mp, *a: max(a),
       rule="max rule", derivative=("heaviside(x - y)", "heaviside(y - x)"),
       pattern="max routes the gradient to the larger input"),
    ew("minimum", ("min", "minimum"), np.minimum,
       (lambda g, ans, a, b: g * _max_share(b, a),
        lambda g, ans, a, b: g * _max_share(a, b)),
       lambda sp, a, b: sp.Min(a, b), "MinimumBackward0", arity=2,
       kink=Kink(nm.tied, "min(a, b) splits the gradient evenly on a tie a = b"),
       symengine=False, head="Min", precise=lambda mp, *a: min(a),
       rule="min rule", derivative=("heaviside(y - x)", "heaviside(x - y)"),
       pattern="min routes the gradient to the smaller input"),

    # More elementwise functions. Conventions at the kinks are PyTorch's unless the row says otherwise.
    ew("log1p", "log1p", np.log1p, (lambda g, ans, x: g / (1 + x),), lambda sp, x: sp.log(1 + x), "Log1PBackward0",
       -0.5, 2.0,
       rule="log1p rule", derivative=("1/(1 + x)",)),
    ew("expm1", "expm1", np.expm1, (lambda g, ans, x: g * F.exp(x),), lambda sp, x: sp.exp(x) - 1, "Expm1Backward0",
       rule="exponential rule", derivative=("exp(x)",)),
    ew("exp2",  "exp2",  np.exp2,   (lambda g, ans, x: g * ans * LN2,),              lambda sp, x: sp.Integer(2) ** x,
       "Exp2Backward0", saves="ans",
       rule="exponential rule (base 2)", derivative=("2^x*log(2)",)),
    ew("asinh", ("asinh", "arcsinh"), np.arcsinh, (lambda g, ans, x: g / F.sqrt(x * x + 1),),     lambda sp, x: sp.asinh(x),
       "AsinhBackward0", head="asinh", precise=lambda mp, x: mp.asinh(x),
       rule="inverse hyperbolic sine rule", derivative=("1/sqrt(x^2 + 1)",)),
    ew("acosh", ("acosh", "arccosh"), np.arccosh, (lambda g, ans, x: g / F.sqrt(x * x - 1),),     lambda sp, x: sp.acosh(x),
       "AcoshBackward0", 1.1, 3.0, head="acosh", precise=lambda mp, x: mp.acosh(x),
       rule="inverse hyperbolic cosine rule", derivative=("1/sqrt(x^2 - 1)",)),
    ew("atanh", ("atanh", "arctanh"), np.arctanh, (lambda g, ans, x: g / (1 - x * x),),           lambda sp, x: sp.atanh(x),
       "AtanhBackward0", -0.9, 0.9, head="atanh", precise=lambda mp, x: mp.atanh(x),
       rule="inverse hyperbolic tangent rule", derivative=("1/(1 - x^2)",)),
    # cbrt is the real cube root (numpy's); cbrt'(0) = 1/(3*0^2) = inf, as sqrt'(0).
    ew("cbrt",  "cbrt",  np.cbrt,   (lambda g, ans, x: g / (3 * ans * ans),),        sy.cbrt, "CbrtBackward0",
       away=0.1, kink=Kink(nm.at_zero, "cbrt'(0) = inf"), saves="ans", symengine=False,
       rule="cube root rule", derivative=("1/(3*cbrt(x)^2)",)),
    ew("square", "square", np.square, (lambda g, ans, x: g * 2 * x,),               lambda sp, x: x ** 2, "PowBackward0",
       rule="power rule", derivative=("2*x",)),
    ew("erfc",  "erfc",  nm.erfc, (lambda g, ans, x: g * (-2 / math.sqrt(math.pi)) * F.exp(-x * x),),
       lambda sp, x: sp.erfc(x), "ErfcBackward0", head="erfc", precise=lambda mp, x: mp.erfc(x),
       rule="complementary error function rule", derivative=("-2/sqrt(pi)*exp(-x^2)",)),
    # gelu is the exact form x*Phi(x), Phi the normal CDF (erf), not the tanh approximation.
    ew("gelu",  "gelu",  nm.gelu, (_gelu_grad,), lambda sp, x: x * (1 + sp.erf(x / sp.sqrt(2))) / 2, "GeluBackward0",
       rule="gelu rule", derivative=("(1 + erf(x/sqrt(2)))/2 + x*exp(-x^2/2)/sqrt(2*pi)",)),
    # elu with alpha = 1: its derivative is 1 on both sides of 0; its second derivative jumps there.
    ew("elu",   "elu",   nm.elu, (_elu_grad,), lambda sp, x: sp.Piecewise((x, x > 0), (sp.exp(x) - 1, True)),
       "EluBackward0", symengine=False,
       kink=Kink(nm.at_zero, "elu'(0) = 1 from both sides; elu''(0) is taken from the x <= 0 side, exp(0) = 1"),
       rule="elu rule", derivative=("where(x > 0, 1, exp(x))",)),
    ew("silu",  "silu",  lambda x: x * nm.sigmoid(x),
       (lambda g, ans, x: g * F.sigmoid(x) * (1 + x * (1 - F.sigmoid(x))),), lambda sp, x: x / (1 + sp.exp(-x)),
       "SiluBackward0", -4.0, 4.0,
       rule="silu rule", derivative=("sigmoid(x)*(1 + x*(1 - sigmoid(x)))",)),
    ew("softsign", "softsign", lambda x: x / (1 + np.abs(x)),
       (lambda g, ans, x: g / ((1 + F.abs(x)) * (1 + F.abs(x))),), lambda sp, x: x / (1 + sp.Abs(x)),
       "SoftsignBackward0", away=0.1, symengine=False,
       kink=Kink(nm.at_zero, "softsign'(0) = 1; softsign''(0) is taken as 0 (sign(0) = 0), where it jumps"),
       rule="softsign rule", derivative=("1/(1 + abs(x))^2",)),
    # sinc(x) = sin(pi x)/(pi x), numpy's normalized sinc: sinc(0) = 1 and sinc'(0) = 0.
    ew("sinc",  "sinc",  nm.sinc, (_sinc_grad,),
       lambda sp, x: sp.Piecewise((1, sp.Eq(x, 0)), (sp.sin(sp.pi * x) / (sp.pi * x), True)), "SincBackward0",
       away=0.1, symengine=False,
       rule="sinc rule", derivative=("where(x == 0, 0, (cos(pi*x) - sinc(x))/x)",)),
    # hypot(a, b) = sqrt(a^2 + b^2); at the origin a/0 and b/0 are 0/0: nan, as PyTorch gives.
    ew("hypot", "hypot", np.hypot,
       (lambda g, ans, a, b: g * a / ans,
        lambda g, ans, a, b: g * b / ans),
       lambda sp, a, b: sp.sqrt(a * a + b * b), "HypotBackward0", arity=2, saves="all",
       kink=Kink(nm.at_origin, "hypot(a, b) at a = b = 0: gradient nan (0/0), as PyTorch gives"),
       rule="hypot rule", derivative=("x/hypot(x, y)", "y/hypot(x, y)")),
    ew("logaddexp", "logaddexp", np.logaddexp,
       (lambda g, ans, a, b: g * F.exp(a - ans),
        lambda g, ans, a, b: g * F.exp(b - ans)),
       lambda sp, a, b: sp.log(sp.exp(a) + sp.exp(b)), "LogaddexpBackward0", arity=2, saves="all",
       rule="logaddexp rule", derivative=("exp(x - logaddexp(x, y))", "exp(y - logaddexp(x, y))")),
    ew("leaky_relu", "leaky_relu", lambda x, slope=0.01: np.maximum(x, 0.0) + slope * np.minimum(x, 0.0),
       (_leaky_relu_grad,),
       lambda sp, x, slope=0.01: sp.Max(x, 0) + sy.number(sp, slope) * sp.Min(x, 0), "LeakyReluBackward0",
       away=0.1, kink=Kink(nm.at_zero, "leaky_relu'(0) = slope, as PyTorch gives"),
       keywords={"slope": NUMBER_KW}, symengine=False, tests=LEAKY_CASES,
       rule="leaky relu rule", derivative=("where(x > 0, 1, slope)",),
       pattern="leaky_relu lets the gradient through where the input is positive, and scales it by slope elsewhere"),
    # clip(x, lo, hi) with number bounds (statics): gradient 1 strictly inside, 0 at a bound and outside.
    ew("clip", ("clip", "clamp"), nm.clip,
       (lambda g, ans, x, lo=None, hi=None: g * _const((_raw(x) > lo) & (_raw(x) < hi)),),
       lambda sp, x, lo=None, hi=None: sp.Min(sp.Max(x, sy.number(sp, lo)), sy.number(sp, hi)),
       "ClampBackward1", statics=("lo", "hi"), keywords={"lo": NUMBER_KW, "hi": NUMBER_KW}, symengine=False,
       kink=Kink(nm.at_bound, "clip(x, lo, hi) with number bounds: gradient 0 at a bound"), tests=CLIP_CASES,
       rule="clip rule", derivative=("where(x > lo, where(x < hi, 1, 0), 0)",),
       pattern="clip lets the gradient through strictly between its bounds, and 0 outside"),
    # clip(x, lo, hi) with bounds that are expressions: min(max(x, lo), hi), ties split evenly.
    ew("clip3", ("clip", "clamp"), lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi),
       (_clip3_grad_x,
        _clip3_grad_lo,
        _clip3_grad_hi),
       lambda sp, x, lo, hi: sp.Min(sp.Max(x, lo), hi), "ClampBackward0", arity=3, symengine=False,
       kink=Kink(nm.clip_tied, "clip(x, lo, hi) splits the gradient evenly on a tie (x = lo, or "
                 "max(x, lo) = hi), as max and min do"), tests=CLIP3_CASES,
       rule="clip rule", derivative=("where(x > y, where(x < z, 1, 0), 0)",
                                         "where(y > x, where(y < z, 1, 0), 0)",
                                         "where(max(x, y) > z, 1, 0)"),
       pattern="clip routes the gradient to whichever of its value and its two bounds it returns"),
    # Steps: gradient 0, and taken as 0 at the jumps too (as PyTorch).
    ew("floor", "floor", np.floor, (lambda g, ans, x: g * 0,), lambda sp, x: sy.step(sp, "floor", x), "FloorBackward0",
       kink=Kink(nm.at_integer, "floor'(x) = 0 at an integer x (a jump)"), saves="none", symengine=False,
       head="floor", precise=lambda mp, x: mp.floor(x),
       rule="step rule", derivative=("0",)),
    ew("ceil", "ceil", np.ceil, (lambda g, ans, x: g * 0,), lambda sp, x: sy.step(sp, "ceiling", x), "CeilBackward0",
       kink=Kink(nm.at_integer, "ceil'(x) = 0 at an integer x (a jump)"), saves="none", symengine=False,
       head="ceiling", precise=lambda mp, x: mp.ceil(x),
       rule="step rule", derivative=("0",)),
    # round is numpy's: half to even (round(0.5) = 0, round(1.5) = 2).
    ew("round", "round", np.round, (lambda g, ans, x: g * 0,), lambda sp, x: sy.step(sp, "round_even", x),
       "RoundBackward0", kink=Kink(nm.at_half_integer, "round'(x) = 0 at a half-integer x (a jump)"), saves="none",
       symengine=False, head="round_even", precise=sy.round_even,
       rule="step rule", derivative=("0",)),
    ew("trunc", "trunc", np.trunc, (lambda g, ans, x: g * 0,), lambda sp, x: sy.step(sp, "trunc", x), "TruncBackward0",
       kink=Kink(nm.at_nonzero_integer, "trunc'(x) = 0 at a nonzero integer x (a jump)"), saves="none",
       symengine=False, head="trunc", precise=sy.trunc,
       rule="step rule", derivative=("0",)),
    # mod is numpy's (the sign of b): a - b*floor(a/b); where a/b is an integer, the gradients 1 and
    # -a/b of the formula, as PyTorch's remainder gives.
    ew("mod", ("mod", "remainder", Infix("%", 3)), np.mod,
       (lambda g, ans, a, b: g,
        lambda g, ans, a, b: -g * F.floor(a / b)),
       sy.mod, "RemainderBackward1", away=0.3, arity=2, saves=("none", "inputs"), symengine=False,
       kink=Kink(nm.divides, "mod(a, b) where a/b is an integer: gradients 1 and -a/b, as PyTorch's remainder"),
       rule="mod rule", derivative=("1", "-floor(x/y)")),


    # Reductions: to a scalar, or along axis= (an integer, negative from the end, or a tuple), keepdims=1.
    Op("sum", Fn("sum"), 1, lambda x, axis=None, keepdims=False: np.sum(x, axis=axis, keepdims=keepdims), (_sum_grad,),
       sy.total, symbol="sum", grad_fn="SumBackward0", domain=Domain(cases=SUM_CASES), saves="shape", keywords=AXES,
       rule="sum rule", derivative=("g, copied to every element of x",),
       pattern="sum copies the gradient to every element"),
    Op("mean", Fn("mean"), 1, nm.mean,
       (_mean_grad,), sy.reduction(sy.mean), symbol="mean", grad_fn="MeanBackward0",
       domain=Domain(cases=cases(REDUCE) + AXIS_CASES), saves="shape", keywords=AXES,
       rule="mean rule", derivative=("g/n, copied to every element of x (n: the number of elements averaged)",),
       pattern="mean spreads the gradient evenly: g/n to every element"),
    # prod: g * prod(others); see _prod_grad for zeros.
    Op("prod", Fn("prod"), 1, lambda x, axis=None, keepdims=False: np.prod(x, axis=axis, keepdims=keepdims), (_prod_grad,),
       sy.reduction(lambda sp, v: sp.Mul(*v)), symbol="prod", grad_fn="ProdBackward0",
       domain=Domain(0.5, 2.0, cases(REDUCE) + AXIS_CASES), saves="all", keywords=AXES,
       rule="product rule", derivative=("g * prod(x)/x: each element gets g times the product of the others",)),
    Op("norm", Fn("norm"), 1, lambda x, axis=None, keepdims=False: np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims)),
       (_norm_grad,), sy.norm, symbol="norm", grad_fn="LinalgVectorNormBackward0",
       domain=Domain(cases=cases(REDUCE) + AXIS_CASES),
       kink=Kink(nm.all_zero, "norm has gradient 0 at the zero vector"), saves="all", keywords=AXES,
       rule="norm rule", derivative=("g * x/norm(x)",)),
    Op("amax", Fn("max"), 1, lambda x, axis=None, keepdims=False: np.max(x, axis=axis, keepdims=keepdims),
       (lambda g, ans, x, **axes: _tie_mask(g, ans, x, **axes),),
       sy.reduce("Max"), symengine=False, symbol="max", grad_fn="MaxBackward1",
       domain=Domain(cases=cases(REDUCE) + AXIS_CASES),
       kink=Kink(nm.has_max_ties, "max(x) splits the gradient evenly among tied elements"), saves="all", keywords=AXES,
       rule="max rule", derivative=("g to the largest element(s) of x, split evenly on a tie; 0 to the rest",),
       pattern="max routes the gradient to the largest element"),
    Op("amin", Fn("min"), 1, lambda x, axis=None, keepdims=False: np.min(x, axis=axis, keepdims=keepdims),
       (lambda g, ans, x, **axes: _tie_mask(g, ans, x, **axes),),
       sy.reduce("Min"), symengine=False, symbol="min", grad_fn="MinBackward1",
       domain=Domain(cases=cases(REDUCE) + AXIS_CASES),
       kink=Kink(nm.has_min_ties, "min(x) splits the gradient evenly among tied elements"), saves="all", keywords=AXES,
       rule="min rule", derivative=("g to the smallest element(s) of x, split evenly on a tie; 0 to the rest",),
       pattern="min routes the gradient to the smallest element"),
    Op("logsumexp", Fn("logsumexp"), 1, nm.logsumexp, (_logsumexp_grad,),
       sy.logsumexp, symbol="logsumexp", grad_fn="LogsumexpBackward0", domain=Domain(cases=cases(REDUCE) + AXIS_CASES),
       saves="all", keywords=AXES,
       rule="logsumexp rule", derivative=("g * softmax(x)",)),
    # var and std as numpy defines them: ddof 0 (divide by n) unless ddof=1 (n - 1), as torch's correction.
    Op("variance", Fn("var"), 1, nm.var, (_var_grad,), sy.reduction(sy.variance), symbol="var", grad_fn="VarBackward0",
       domain=Domain(cases=cases(REDUCE) + AXIS_CASES + ((((4,),), {"ddof": 1}),)), saves="inputs",
       keywords={**AXES, "ddof": INTEGER},
       rule="variance rule", derivative=("g * 2*(x - mean(x))/(n - ddof)",)),
    Op("std", Fn("std"), 1, nm.std, (_std_grad,),
       sy.reduction(lambda sp, v, ddof=0: sp.sqrt(sy.variance(sp, v, ddof))), symbol="std", grad_fn="StdBackward0",
       domain=Domain(cases=cases(REDUCE) + AXIS_CASES + ((((4,),), {"ddof": 1}),)), saves="all",
       kink=Kink(nm.no_spread, "std where the elements are all equal: sqrt'(0), gradient 0/0 = nan (as PyTorch)"),
       keywords={**AXES, "ddof": INTEGER},
       rule="standard deviation rule", derivative=("g * (x - mean(x))/((n - ddof)*std(x))",)),
    Op("softmax", Fn("softmax"), 1, nm.softmax, (_softmax_grad,),
       sy.softmax, symbol="softmax", grad_fn="SoftmaxBackward0",
       domain=Domain(cases=cases(REDUCE) + ((((2, 3),), {"axis": 0}),)), saves="ans", keywords={"axis": INTEGER},
       rule="softmax rule", derivative=("s * (g - sum(g*s)), s = softmax(x), the sum along the axis",)),
    # cumsum and cumprod as numpy's: along axis=, or over the flattened array without it.
    Op("cumsum", Fn("cumsum"), 1, nm.cumulative(np.cumsum), (lambda g, ans, x, axis=None: _reverse_cumsum(g, x, axis),),
       sy.cumulative(operator.add), symbol="cumsum", grad_fn="CumsumBackward0",
       domain=Domain(cases=cases(REDUCE) + ((((2, 3),), {"axis": 0}), (((2, 3),), {"axis": -1}))), saves="shape",
       keywords={"axis": INTEGER},
       rule="cumulative sum rule", derivative=(
           "the cumulative sum of g taken backwards: element i gets the sum of g[j] for j >= i",)),
    Op("cumprod", Fn("cumprod"), 1, nm.cumulative(np.cumprod), (_cumprod_grad,),
       sy.cumulative(operator.mul), symbol="cumprod", grad_fn="CumprodBackward0",
       domain=Domain(0.5, 2.0, cases(REDUCE) + ((((2, 3),), {"axis": 0}), (((2, 3),), {"axis": -1}))), saves="all",
       keywords={"axis": INTEGER},
       rule="cumulative product rule", derivative=("the backward cumulative sum of g*cumprod(x), over x",)),
    # dot is numpy's: the inner product of vectors, the matrix product of vectors and matrices, the
    # product with a number (an array of 3 or more axes is @'s, whose stacks numpy's dot does not have).
    Op("dot", Fn("dot"), 2, nm.dot,
       (lambda g, ans, a, b: g * b if a.ndim == 0 or b.ndim == 0 else _matmul_grad_a(g, ans, a, b),
        lambda g, ans, a, b: g * a if a.ndim == 0 or b.ndim == 0 else _matmul_grad_b(g, ans, a, b)),
       lambda sp, a, b: a * b if a.ndim == 0 or b.ndim == 0 else np.matmul(a, b), symbol="dot", grad_fn="DotBackward0",
       domain=Domain(cases=cases([((3,), (3,)), ((2, 3), (3, 4)), ((2, 3), (3,)), ((3,), (3, 2)), ((), (3,)),
                                  ((2, 2), ())])),
       hint="dot(a, b) is numpy's: vectors and matrices whose inner sizes agree, or a number; for stacks use a @ b",
       saves="inputs",
       rule="dot product rule", derivative=("g * y (a number), or g @ y' (matrices)",
                                                "g * x (a number), or x' @ g (matrices)")),
    # transpose(x) and x' reverse the axes (a matrix's rows become columns).
    Op("transpose", (Fn("transpose"), Postfix("'", 9)), 1, lambda x, axes=None: np.transpose(x, axes),
       (lambda g, ans, x, axes=None: F.transpose(g, axes=None if axes is None else tuple(np.argsort(axes))),),
       sy.transpose, symbol="transpose", grad_fn="TBackward0",
       domain=Domain(cases=((((2, 3),), {}), (((3,),), {}), (((2, 3, 2),), {"axes": (1, 0, 2)}))), saves="none",
       keywords={"axes": SHAPE}, explain=lambda shapes, axes=None: f"axes {axes} do not reorder the axes of shape {shapes[0]}",
       hint="axes lists every axis once, in the new order: transpose(x, axes=(1, 0, 2))",
       rule="transpose rule", derivative=("g'",),
       pattern="transpose passes the gradient back transposed"),
    Op("index", Postfix("[", 9), 1, nm.index,
       (lambda g, ans, x, index: F.scatter(g, index=index, shape=x.shape),),
       sy.index, symbol="[]", grad_fn="SelectBackward0",
       domain=Domain(cases=((((3,),), {"index": (1,)}), (((2, 3),), {"index": (-1,)}), (((2, 3),), {"index": (1, 2)}),
                            (((4,),), {"index": (nm.Slice(1, 3),)}), (((5,),), {"index": (nm.Slice(None, None, -2),)}),
                            (((2, 3),), {"index": (nm.Slice(), 0)}), (((3, 3),), {"index": (nm.Slice(1), nm.Slice(None, 2))}))),
       saves="shape", hint="indices count from 0; -1 is the last element; a slice is start:stop:step",
       explain=nm.explain_index,
       rule="index rule", derivative=("g at the elements picked, 0 at the rest",),
       pattern="index routes the gradient back to the elements picked"),
    # An array literal [a, b] is stack(a, b): along a new first axis, or axis=.
    Op("stack", Fn("stack"), None, nm.stack,
       lambda g, ans, *xs, argnum, axis=0: F.index(g, index=(nm.Slice(),) * (axis % ans.ndim) + (argnum,)),
       sy.stack, symbol="[…]", grad_fn="StackBackward0",
       domain=Domain(cases=cases([((), (), ()), ((2,), (2,))]) + ((((2, 3), (2, 3)), {"axis": 1}),
                                                                   (((2,), (2,)), {"axis": -1}))),
       hint="the elements of an array must all have the same shape", saves="none", keywords={"axis": INTEGER},
       explain=nm.explain_stack,
       rule="stack rule", derivative=("g's slice for x along the stacked axis",),
       pattern="stack hands each input its own slice of the gradient"),

    # Shapes: each a rearrangement of elements, its gradient the same rearrangement undone.
    Op("reshape", Fn("reshape"), 1, lambda x, shape: np.reshape(x, shape),
       (lambda g, ans, x, shape: F.reshape(g, shape=x.shape),),
       sy.reshape, symbol="reshape", grad_fn="ViewBackward0",
       domain=Domain(cases=((((2, 3),), {"shape": (3, 2)}), (((),), {"shape": (1,)}), (((2, 3),), {"shape": (-1,)}))),
       saves="shape", keywords={"shape": SHAPE}, statics=("shape",),
       hint="the new shape must hold as many elements; one size may be -1 (worked out)",
       explain=lambda shapes, shape: f"cannot reshape shape {shapes[0]} ({nm.count(shapes[0], None)} elements) "
                                     f"into {shape}",
       rule="reshape rule", derivative=("g reshaped to x's shape",),
       pattern="reshape passes the gradient back in its input's shape"),
    Op("flatten", Fn("flatten"), 1, lambda x: np.reshape(x, -1),
       (lambda g, ans, x: F.reshape(g, shape=x.shape),),
       lambda sp, x: np.reshape(x, -1), symbol="flatten", grad_fn="ReshapeAliasBackward0",
       domain=Domain(cases=cases([((2, 3),), ((),)])), saves="shape",
       rule="reshape rule", derivative=("g reshaped to x's shape",),
       pattern="flatten passes the gradient back in its input's shape"),
    Op("concat", (Fn("concat"), Fn("concatenate"), Fn("cat")), None, nm.concat, _concat_grad,
       lambda sp, *xs, axis=0: np.concatenate([np.asarray(x, dtype=object) for x in xs], axis=axis),
       symbol="concat", grad_fn="CatBackward0",
       domain=Domain(cases=cases([((2,), (3,)), ((2, 3), (1, 3), (2, 3))]) + ((((2, 3), (2, 1)), {"axis": 1}),)),
       saves="shape", keywords={"axis": INTEGER}, explain=nm.explain_concat,
       hint="arrays are joined along one axis; their other sizes must agree",
       rule="concatenation rule", derivative=("g's stretch of the axis that x fills",),
       pattern="concat hands each input its own stretch of the gradient"),
    Op("outer", Fn("outer"), 2, nm.outer,
       (lambda g, ans, a, b: F.reshape(F.matmul(g, F.reshape(b, shape=(-1,))), shape=a.shape),
        lambda g, ans, a, b: F.reshape(F.matmul(F.reshape(a, shape=(-1,)), g), shape=b.shape)),
       lambda sp, a, b: np.outer(a, b), symbol="outer", grad_fn="OuterBackward0",
       domain=Domain(cases=cases([((3,), (2,)), ((2,), (2,)), ((), (3,))])), saves="inputs",
       rule="outer product rule", derivative=("g @ y", "x @ g")),
    # diag(v) of a vector is the diagonal matrix, diag(M) of a matrix its diagonal (as numpy).
    Op("diag", Fn("diag"), 1, nm.diag, (_diag_grad,),
       sy.diag, symbol="diag", grad_fn="DiagBackward0",
       domain=Domain(cases=cases([((3,),), ((3, 3),), ((2, 3),)])), saves="shape",
       hint="diag takes a vector (the diagonal matrix) or a matrix (its diagonal)",
       explain=lambda shapes: f"diag takes a vector or a matrix; this has shape {shapes[0]}",
       rule="diagonal rule", derivative=(
           "the diagonal of g (x a vector), or g on x's diagonal and 0 off it (x a matrix)",)),
    Op("trace", Fn("trace"), 1, nm.trace, (lambda g, ans, x: g * _const(np.eye(*x.shape)),),
       lambda sp, x: np.trace(x), symbol="trace", grad_fn="TraceBackward0",
       domain=Domain(cases=cases([((3, 3),), ((2, 3),)])), saves="shape", hint="trace takes a matrix",
       explain=lambda shapes: f"trace takes a matrix; this has shape {shapes[0]}",
       rule="trace rule", derivative=("g * I, the identity of x's shape",),
       pattern="trace passes the gradient to the diagonal only"),

    # Internal ops the VJP rules are written with; they never appear in the grammar.
    Op("sum_to", INTERNAL, 1, nm.sum_to, (lambda g, ans, x, shape: F.broadcast_to(g, shape=x.shape),),
       symbol="sum_to", grad_fn="SumToBackward0",
       domain=Domain(cases=((((2, 3),), {"shape": (3,)}), (((2, 3),), {"shape": (2, 1)}))), saves="shape",
       rule="broadcast rule", derivative=("g broadcast back to x's shape",)),
    Op("broadcast_to", INTERNAL, 1, lambda x, shape: np.broadcast_to(x, shape),
       (lambda g, ans, x, shape: F.sum_to(g, shape=x.shape),),
       symbol="broadcast_to", grad_fn="ExpandBackward0",
       domain=Domain(cases=((((3,),), {"shape": (2, 3)}), (((),), {"shape": (2,)}))), saves="shape",
       rule="broadcast rule", derivative=("g summed down to x's shape",),
       pattern="broadcasting sums the gradient over the copies"),
    Op("scatter", INTERNAL, 1, nm.scatter, (lambda g, ans, x, index, shape: F.index(g, index=index),),
       symbol="scatter", grad_fn="IndexPutBackward0", domain=Domain(cases=((((),), {"index": (1,), "shape": (3,)}),)),
       saves="none",
       rule="scatter rule", derivative=("g at the index",)),
]

F = Ops(TABLE)
