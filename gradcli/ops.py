"""THE op table: every operator and function of gradcli, each defined once.

Parser, engine, SymPy bridge, renderer and tests all read this table; none
knows an op by name. A row (`Op`) has these fields:

    key      unique id ('mul'); `F.<key>(...)` applies the row to tensors
    syntax   how the parser finds it: Fn('sin') | Infix('*', 3) | Prefix('-', 5)
             | Postfix("'", 9), or a tuple of these for aliases (x' and
             transpose(x) are one row); LEAF (numbers, constants, variables);
             INTERNAL (not written by the user: array literals, and the ops
             VJP rules are written with)
    arity    number of inputs; None for any number >= 1 (array literals)
    forward  numpy: input arrays (+ keyword attrs) -> output array
    grads    one VJP rule per input, rule(g, ans, *xs, **attrs) -> gradient,
             written with engine ops so it can itself be differentiated; g is
             the gradient of the output ans; the engine sums away broadcast
             axes, so a rule may return any shape that broadcasts to xs[i].
             For a variadic row, a single rule that also takes argnum=i.
    sympy    SymPy builder (sp, *args, **attrs) -> expr. For an elementwise row
             the args are SymPy scalars; otherwise numpy object arrays of them.
    symbol   display symbol in trees and S-expressions
    grad_fn  PyTorch-style name of the backward node (MulBackward0)
    elementwise  applies element by element with numpy broadcasting
    domain   where the table-driven tests sample: Domain(lo, hi, cases, away)
    saves    what the VJP rules read, so the forward pass may drop the rest as soon
             as it is used (PyTorch's "saved tensors"): none | shape (only the
             inputs' shapes) | inputs | ans | all (inputs and ans); or a tuple,
             one entry per input, for what that input's gradient alone reads
    hint, explain  what a shape error says: a hint, and a message from the shapes
    kink     Kink(where, convention) for an op not differentiable everywhere:
             where(*input arrays) is true at such a point, and convention says
             which gradient gradcli uses there (the cross-check reports these
             points as nondifferentiable rather than as a mismatch)

Binding powers: loosest first, + - (1) < * / @ (3) < unary - (5) < ^ (right,
7) < postfix ' and [] (9). A comment marks every subgradient choice.
"""
from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from gradcli import engine
from gradcli.engine import F, Tensor


# -- row schema ---------------------------------------------------------------
@dataclass(frozen=True, eq=False, repr=False)
class Fn:
    name: str


@dataclass(frozen=True, eq=False, repr=False)
class Infix:
    token: str
    bp: int
    right: bool = False     # right-associative: binding powers (bp+1, bp) instead of (bp, bp+1)


@dataclass(frozen=True, eq=False, repr=False)
class Prefix:
    token: str
    bp: int


@dataclass(frozen=True, eq=False, repr=False)
class Postfix:
    token: str
    bp: int


LEAF = "leaf"
INTERNAL = "internal"

UNARY = [((),), ((3,),), ((2, 3),)]
BINARY = [((), ()), ((3,), (3,)), ((2, 3), (3,)), ((), (2, 2)), ((2, 1), (1, 3))]
REDUCE = [((3,),), ((2, 3),)]


@dataclass(frozen=True, eq=False, repr=False)
class Domain:
    """Where tests sample inputs: uniform in [lo, hi], |x| >= away, one case per (shapes, attrs)."""
    lo: float = -2.0
    hi: float = 2.0
    cases: tuple = tuple((s, {}) for s in UNARY)
    away: float = 0.0


@dataclass(frozen=True, eq=False, repr=False)
class Op:
    key: str
    syntax: object
    arity: int | None
    forward: Callable | None
    grads: tuple | Callable = ()
    sympy: Callable | None = None
    symbol: str = ""
    grad_fn: str = ""
    elementwise: bool = False
    domain: Domain | None = field(default=None, compare=False)
    hint: str = ""          # what the shapes must be, shown on a shape error
    explain: Callable | None = field(default=None, compare=False)   # (shapes, **attrs) -> shape error message
    kink: "Kink | None" = field(default=None, compare=False)
    saves: str | tuple = "all"

    def reads(self, i: int) -> str:
        """What the gradient of input i reads (see `saves`)."""
        return self.saves[i] if isinstance(self.saves, tuple) else self.saves

    def vjp(self, i: int, g: Tensor, ans: Tensor, xs: tuple, attrs: dict) -> Tensor:
        """Gradient flowing to input i."""
        if callable(self.grads):
            return self.grads(g, ans, *xs, argnum=i, **attrs)
        return self.grads[i](g, ans, *xs, **attrs)

    @property
    def forms(self) -> tuple:
        """Every syntax that reaches this row (x' and transpose(x) are one row)."""
        return self.syntax if isinstance(self.syntax, tuple) else (self.syntax,)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.forms if isinstance(f, Fn))


@dataclass(frozen=True, eq=False, repr=False)
class Kink:
    """Where an op is not differentiable, and the gradient gradcli uses there."""
    where: Callable
    convention: str


def ew(key, name, forward, grads, sympy, grad_fn, lo=-2.0, hi=2.0, away=0.0, arity=1, kink=None, saves="inputs"):
    """An elementwise function row; name is its function name, or a tuple of names and other
    forms (aliases, a prefix sign), the first of which is how it is shown."""
    cases = tuple((s, {}) for s in (UNARY if arity == 1 else BINARY))
    forms = tuple(Fn(n) if isinstance(n, str) else n for n in ((name,) if isinstance(name, str) else name))
    return Op(key, forms if len(forms) > 1 else forms[0], arity, forward, grads, sympy, forms[0].name, grad_fn, True,
              Domain(lo, hi, cases, away), kink=kink, saves=saves)


def _at_zero(x, *rest):
    return np.any(x == 0)


def _tied(a, b):
    return np.any(a == b)


def _has_ties(x):
    return np.count_nonzero(x == np.max(x)) > 1


def _has_min_ties(x):
    return np.count_nonzero(x == np.min(x)) > 1


def _pow_kink(a, b):
    return np.any(a == 0)


# -- helpers for rules too long for one line ---------------------------------
def _const(a) -> np.ndarray:
    """A constant (non-differentiable) array, e.g. a 0/1 mask; it combines with tensors and arrays alike."""
    return np.asarray(a, dtype=np.float64)


def _raw(x):
    """The numbers of a tensor or of a plain array (rules see either; see engine.gradients)."""
    return x.data if isinstance(x, Tensor) else x


def _pow_grad_base(g, ans, a, b):
    # d/da a^b = b*a^(b-1), and 0 where b == 0 (as PyTorch), even at a == 0 where the formula is
    # 0*0^-1: there the exponent is moved to 0, which changes nothing else (b = 0 multiplies it).
    both_zero = _const((_raw(a) == 0) & (_raw(b) == 0))
    return g * b * a ** (b - 1 + both_zero)


def _pow_grad_exponent(g, ans, a, b):
    # d/db a^b = a^b log a; where a == 0 and b >= 0 the limit is taken as 0 (as PyTorch does).
    zero = (_raw(a) == 0) & (_raw(b) >= 0)
    return g * ans * F.log(a + _const(zero)) * _const(~zero)


def _mT(x):
    return F.transpose(x, axes=tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2)) if x.ndim >= 2 else x


def _matmul_grad_a(g, ans, a, b):
    if b.ndim == 1:         # out[...i] = sum_k a[i,k] b[k]: ga = outer(g, b)
        return F.reshape(g, shape=g.shape + (1,)) * b
    if a.ndim == 1:         # out[j] = sum_k a[k] b[k,j]: ga = b @ g
        return F.matmul(b, g)
    return F.matmul(g, _mT(b))


def _matmul_grad_b(g, ans, a, b):
    if a.ndim == 1:
        if b.ndim == 1:
            return g * a
        return F.reshape(a, shape=a.shape + (1,)) * F.reshape(g, shape=(1,) + g.shape)
    return F.matmul(_mT(a), g)


def _matmul_forward(a, b):
    if a.ndim not in (1, 2) or b.ndim not in (1, 2):
        raise ValueError("matmul takes vectors and matrices")
    return np.matmul(a, b)


def _tie_mask(x, ans):
    # max/min reduction: the gradient is split evenly among tied elements (as PyTorch does).
    mask = (_raw(x) == _raw(ans)).astype(np.float64)
    return _const(mask / mask.sum())


def _max_share(a, b):
    # elementwise max(a, b): a tie a == b splits the gradient evenly, 1/2 each (as PyTorch does).
    return _const((_raw(a) > _raw(b)) + 0.5 * (_raw(a) == _raw(b)))


def _prod_grad(g, ans, x):
    if np.all(_raw(x) != 0):
        return g * ans / x
    # With zeros, ans/x is 0/0: use the product of the other elements (first order only).
    flat = np.ravel(_raw(x))
    left = np.concatenate(([1.0], np.cumprod(flat[:-1])))
    right = np.concatenate((np.cumprod(flat[::-1][:-1])[::-1], [1.0]))
    return g * _const((left * right).reshape(x.shape))


def _sum_grad(g, ans, x, axis=None, keepdims=False):
    if axis is not None and not keepdims:
        axes = (axis,) if isinstance(axis, int) else axis
        kept = tuple(1 if (i in axes or i - x.ndim in axes) else n for i, n in enumerate(x.shape))
        g = F.reshape(g, shape=kept)
    return F.broadcast_to(g, shape=x.shape)


def _sum_to_forward(x, shape):
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and x.shape[i + lead] != 1)
    out = np.sum(x, axis=axes, keepdims=True) if axes else x
    return np.reshape(out, shape)


def _scatter_forward(g, index, shape):
    out = np.zeros(shape)
    out[index] = g
    return out


def _stack_forward(*xs):
    return np.stack(xs)


def _softmax_forward(x):
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def _logsumexp_forward(x):
    m = np.max(x)
    if not np.isfinite(m):
        return np.float64(m) if m == -np.inf or np.isnan(m) else np.log(np.sum(np.exp(x)))
    return m + np.log(np.sum(np.exp(x - m)))


def _sigmoid_forward(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))[()]


_erf = np.vectorize(math.erf, otypes=[np.float64])


def _erf_forward(x):
    return np.float64(math.erf(x)) if np.ndim(x) == 0 else _erf(x)


def _norm_grad(g, ans, x):
    # norm at the zero vector: gradient 0 (the subgradient PyTorch uses).
    return g * x / (ans + _const(_raw(ans) == 0))


def _softmax_grad(g, ans, x):
    return ans * (g - F.sum(g * ans, axis=-1, keepdims=True))


def _index_sympy(sp, x, index):
    return x[index]


def _sp_sum(sp, x, axis=None, keepdims=False):
    out = np.sum(x, axis=axis, keepdims=keepdims)
    return out


def _sp_softmax(sp, x):
    e = np.vectorize(sp.exp, otypes=[object])(x)
    return e / np.sum(e, axis=-1, keepdims=True)


def _sp_norm(sp, x):
    return sp.sqrt(sum(v ** 2 for v in np.ravel(x)))


def _sp_reduce(fn):
    return lambda sp, x: getattr(sp, fn)(*np.ravel(x))


def _sp_number(sp, value):
    # Whole numbers become exact Integers; others the exact binary value of the float.
    if math.isnan(value):
        return sp.nan
    if math.isinf(value):
        return sp.oo if value > 0 else -sp.oo
    if value == int(value) and abs(value) < 2 ** 53:
        return sp.Integer(int(value))
    return sp.Float(value)


EXACT_POWER_BITS = 12_000       # larger exact powers stay unevaluated (and print as 2^20000, not 6,000 digits)


def _sp_pow(sp, a, b):
    # An exact power whose digits would run past EXACT_POWER_BITS (9^9^9, 1e308^4096) is left
    # unevaluated: SymPy would compute every digit, in one uninterruptible integer operation.
    if a.is_Rational and b.is_Integer and abs(b) > 1:
        size = max(int(a.p).bit_length(), int(a.q).bit_length())
        if size * abs(int(b)) > EXACT_POWER_BITS:
            return sp.Pow(a, b, evaluate=False)
    elif a.is_Number and not b.is_Number and not b.free_symbols:
        return sp.Pow(a, b, evaluate=False)         # a constant exponent such as 9^9^9: no evaluation
    return a ** b


def _sp_matmul(sp, a, b):
    return np.matmul(a, b)


ATAN2_CASES = tuple((s, {}) for s in BINARY)
MATMUL_CASES = tuple((s, {}) for s in [((2, 3), (3, 4)), ((3,), (3, 2)), ((2, 3), (3,)), ((3,), (3,))])

LN2, LN10 = math.log(2.0), math.log(10.0)

# -- the table ----------------------------------------------------------------
# Arithmetic forwards are Python's operators: on float64 arrays they are numpy's
# ufuncs, and on numpy scalars numpy's own (much cheaper) scalar path, same results.
# Leaves: numbers, the constants pi and e, and variables. They have no inputs.
TABLE: list[Op] = [
    Op("num",   LEAF, 0, lambda value: np.float64(value), (), _sp_number, "num", ""),
    Op("const", LEAF, 0, lambda name: np.float64(CONSTANTS[name]), (), lambda sp, name: {"pi": sp.pi, "e": sp.E}[name], "const", ""),
    Op("var",   LEAF, 0, None, (), None, "var", ""),

    # Arithmetic. g is the incoming gradient, ans the op's output.
    Op("add", Infix("+", 1), 2, operator.add,
       (lambda g, ans, a, b: g,
        lambda g, ans, a, b: g),
       lambda sp, a, b: a + b, "+", "AddBackward0", True, Domain(cases=tuple((s, {}) for s in BINARY)), saves="none"),
    Op("sub", (Infix("-", 1), Infix("−", 1)), 2, operator.sub,
       (lambda g, ans, a, b: g,
        lambda g, ans, a, b: -g),
       lambda sp, a, b: a - b, "-", "SubBackward0", True, Domain(cases=tuple((s, {}) for s in BINARY)), saves="none"),
    Op("mul", (Infix("*", 3), Infix("×", 3), Infix("·", 3)), 2, operator.mul,
       (lambda g, ans, a, b: g * b,
        lambda g, ans, a, b: g * a),
       lambda sp, a, b: a * b, "*", "MulBackward0", True, Domain(cases=tuple((s, {}) for s in BINARY)), saves="inputs"),
    Op("div", (Infix("/", 3), Infix("÷", 3)), 2, operator.truediv,
       (lambda g, ans, a, b: g / b,
        lambda g, ans, a, b: -g * ans / b),
       lambda sp, a, b: a / b, "/", "DivBackward0", True, Domain(cases=tuple((s, {}) for s in BINARY), away=0.3), saves=("inputs", "all")),
    Op("neg", (Prefix("-", 5), Prefix("−", 5)), 1, operator.neg,
       (lambda g, ans, x: -g,),
       lambda sp, x: -x, "-", "NegBackward0", True, Domain(), saves="none"),
    Op("pow", (Infix("^", 7, right=True), Infix("**", 7, right=True), Fn("pow")), 2, operator.pow,
       (_pow_grad_base,
        _pow_grad_exponent),
       _sp_pow, "^", "PowBackward1", True, Domain(0.5, 2.0, tuple((s, {}) for s in BINARY)),
       kink=Kink(_pow_kink, "a^b at a = 0: d/da from b*a^(b-1), d/db taken as 0"), saves=("inputs", "all")),
    Op("matmul", (Infix("@", 3), Fn("matmul")), 2, _matmul_forward,
       (_matmul_grad_a,
        _matmul_grad_b),
       _sp_matmul, "@", "MmBackward0", False, Domain(cases=MATMUL_CASES),
       hint="matmul takes vectors and matrices whose inner sizes agree: (n,k) @ (k,m)", saves="inputs"),

    # Elementwise functions.
    ew("sin",   "sin",   np.sin,    (lambda g, ans, x: g * F.cos(x),),                lambda sp, x: sp.sin(x),   "SinBackward0"),
    ew("cos",   "cos",   np.cos,    (lambda g, ans, x: -g * F.sin(x),),               lambda sp, x: sp.cos(x),   "CosBackward0"),
    ew("tan",   "tan",   np.tan,    (lambda g, ans, x: g * (1 + ans * ans),),         lambda sp, x: sp.tan(x),   "TanBackward0", -1.2, 1.2, saves="ans"),
    ew("asin",  ("asin", "arcsin"), np.arcsin, (lambda g, ans, x: g / F.sqrt(1 - x * x),),       lambda sp, x: sp.asin(x),  "AsinBackward0", -0.9, 0.9),
    ew("acos",  ("acos", "arccos"), np.arccos, (lambda g, ans, x: -g / F.sqrt(1 - x * x),),      lambda sp, x: sp.acos(x),  "AcosBackward0", -0.9, 0.9),
    ew("atan",  ("atan", "arctan"), np.arctan, (lambda g, ans, x: g / (1 + x * x),),             lambda sp, x: sp.atan(x),  "AtanBackward0"),
    ew("sinh",  "sinh",  np.sinh,   (lambda g, ans, x: g * F.cosh(x),),               lambda sp, x: sp.sinh(x),  "SinhBackward0"),
    ew("cosh",  "cosh",  np.cosh,   (lambda g, ans, x: g * F.sinh(x),),               lambda sp, x: sp.cosh(x),  "CoshBackward0"),
    ew("tanh",  "tanh",  np.tanh,   (lambda g, ans, x: g * (1 - ans * ans),),         lambda sp, x: sp.tanh(x),  "TanhBackward0", saves="ans"),
    ew("exp",   "exp",   np.exp,    (lambda g, ans, x: g * ans,),                     lambda sp, x: sp.exp(x),   "ExpBackward0", saves="ans"),
    ew("log",   ("log", "ln"), np.log,    (lambda g, ans, x: g / x,),                       lambda sp, x: sp.log(x),   "LogBackward0", 0.1, 3.0),
    ew("log2",  "log2",  np.log2,   (lambda g, ans, x: g / (x * LN2),),               lambda sp, x: sp.log(x, 2),  "Log2Backward0", 0.1, 3.0),
    ew("log10", "log10", np.log10,  (lambda g, ans, x: g / (x * LN10),),              lambda sp, x: sp.log(x, 10), "Log10Backward0", 0.1, 3.0),
    # sqrt'(0) = 1/(2*0) = inf, as PyTorch gives.
    ew("sqrt",  ("sqrt", Prefix("√", 5)), np.sqrt,   (lambda g, ans, x: g / (2 * ans),),               lambda sp, x: sp.sqrt(x),  "SqrtBackward0", 0.1, 3.0,
       kink=Kink(_at_zero, "sqrt'(0) = inf"), saves="ans"),
    # abs'(0) = sign(0) = 0 (as PyTorch).
    ew("abs",   "abs",   np.abs,    (lambda g, ans, x: g * _const(np.sign(_raw(x))),), lambda sp, x: sp.Abs(x),   "AbsBackward0", away=0.1,
       kink=Kink(_at_zero, "abs'(0) = 0")),
    # sign and heaviside are steps: derivative 0 away from 0, and taken as 0 at 0 too.
    ew("sign",  "sign",  np.sign,   (lambda g, ans, x: g * 0,),                       lambda sp, x: sp.sign(x),  "SignBackward0", away=0.1,
       kink=Kink(_at_zero, "sign'(0) = 0"), saves="none"),
    ew("heaviside", "heaviside", lambda x: np.heaviside(x, 0.5), (lambda g, ans, x: g * 0,), lambda sp, x: sp.Heaviside(x),
       "HeavisideBackward0", away=0.1, kink=Kink(_at_zero, "heaviside'(0) = 0 (and heaviside(0) = 1/2)"), saves="none"),
    ew("sigmoid", "sigmoid", _sigmoid_forward, (lambda g, ans, x: g * ans * (1 - ans),), lambda sp, x: 1 / (1 + sp.exp(-x)), "SigmoidBackward0", -4.0, 4.0, saves="ans"),
    # relu'(0) = 0 (as PyTorch): the mask is x > 0, strictly.
    ew("relu",  "relu",  lambda x: np.maximum(x, 0.0), (lambda g, ans, x: g * _const(_raw(x) > 0),), lambda sp, x: sp.Max(x, 0), "ReluBackward0", away=0.1,
       kink=Kink(_at_zero, "relu'(0) = 0")),
    ew("softplus", "softplus", lambda x: np.logaddexp(0.0, x), (lambda g, ans, x: g * F.sigmoid(x),), lambda sp, x: sp.log(1 + sp.exp(x)), "SoftplusBackward0", -4.0, 4.0),
    ew("erf",   "erf",   _erf_forward, (lambda g, ans, x: g * (2 / math.sqrt(math.pi)) * F.exp(-x * x),), lambda sp, x: sp.erf(x), "ErfBackward0"),
    ew("atan2", "atan2", np.arctan2,
       (lambda g, ans, y, x: g * x / (x * x + y * y),
        lambda g, ans, y, x: -g * y / (x * x + y * y)),
       lambda sp, y, x: sp.atan2(y, x), "Atan2Backward0", away=0.3, arity=2),
    ew("maximum", "max", np.maximum,
       (lambda g, ans, a, b: g * _max_share(a, b),
        lambda g, ans, a, b: g * _max_share(b, a)),
       lambda sp, a, b: sp.Max(a, b), "MaximumBackward0", arity=2,
       kink=Kink(_tied, "max(a, b) splits the gradient evenly on a tie a = b")),
    ew("minimum", "min", np.minimum,
       (lambda g, ans, a, b: g * _max_share(b, a),
        lambda g, ans, a, b: g * _max_share(a, b)),
       lambda sp, a, b: sp.Min(a, b), "MinimumBackward0", arity=2,
       kink=Kink(_tied, "min(a, b) splits the gradient evenly on a tie a = b")),

    # Reductions to a scalar, and array functions.
    Op("sum", Fn("sum"), 1, lambda x, axis=None, keepdims=False: np.sum(x, axis=axis, keepdims=keepdims),
       (_sum_grad,), _sp_sum, "sum", "SumBackward0", False, Domain(cases=tuple((s, {}) for s in REDUCE) + ((((2, 3),), {"axis": -1, "keepdims": True}), (((2, 3),), {"axis": 0}))), saves="shape"),
    Op("mean", Fn("mean"), 1, np.mean,
       (lambda g, ans, x: F.broadcast_to(g / x.size, shape=x.shape),),
       lambda sp, x: np.sum(x) / x.size, "mean", "MeanBackward0", False, Domain(cases=tuple((s, {}) for s in REDUCE)), saves="shape"),
    # prod: g * prod(others); see _prod_grad for zeros.
    Op("prod", Fn("prod"), 1, np.prod, (_prod_grad,),
       lambda sp, x: sp.Mul(*np.ravel(x)), "prod", "ProdBackward0", False, Domain(0.5, 2.0, tuple((s, {}) for s in REDUCE)), saves="all"),
    Op("norm", Fn("norm"), 1, lambda x: np.sqrt(np.sum(x * x)), (_norm_grad,),
       _sp_norm, "norm", "LinalgVectorNormBackward0", False, Domain(cases=tuple((s, {}) for s in REDUCE)),
       kink=Kink(lambda x: not np.any(x), "norm has gradient 0 at the zero vector"), saves="all"),
    Op("amax", Fn("max"), 1, np.max, (lambda g, ans, x: g * _tie_mask(x, ans),),
       _sp_reduce("Max"), "max", "MaxBackward1", False, Domain(cases=tuple((s, {}) for s in REDUCE)),
       kink=Kink(_has_ties, "max(x) splits the gradient evenly among tied elements"), saves="all"),
    Op("amin", Fn("min"), 1, np.min, (lambda g, ans, x: g * _tie_mask(x, ans),),
       _sp_reduce("Min"), "min", "MinBackward1", False, Domain(cases=tuple((s, {}) for s in REDUCE)),
       kink=Kink(_has_min_ties, "min(x) splits the gradient evenly among tied elements"), saves="all"),
    Op("logsumexp", Fn("logsumexp"), 1, _logsumexp_forward, (lambda g, ans, x: g * F.exp(x - ans),),
       lambda sp, x: sp.log(sum(sp.exp(v) for v in np.ravel(x))), "logsumexp", "LogsumexpBackward0", False,
       Domain(cases=tuple((s, {}) for s in REDUCE)), saves="all"),
    Op("softmax", Fn("softmax"), 1, _softmax_forward, (_softmax_grad,),
       _sp_softmax, "softmax", "SoftmaxBackward0", False, Domain(cases=tuple((s, {}) for s in REDUCE)), saves="ans"),
    Op("dot", Fn("dot"), 2, lambda a, b: np.vdot(a, b) if a.shape == b.shape else _raise_shape(),
       (lambda g, ans, a, b: g * b,
        lambda g, ans, a, b: g * a),
       lambda sp, a, b: np.sum(a * b), "dot", "DotBackward0", False, Domain(cases=(((((3,), (3,))), {}),)),
       hint="dot takes two arrays of the same shape", saves="inputs"),
    # transpose(x) and x' reverse the axes (a matrix's rows become columns).
    Op("transpose", (Fn("transpose"), Postfix("'", 9)), 1, lambda x, axes=None: np.transpose(x, axes),
       (lambda g, ans, x, axes=None: F.transpose(g, axes=None if axes is None else tuple(np.argsort(axes))),),
       lambda sp, x, axes=None: np.transpose(x, axes), "transpose", "TBackward0", False,
       Domain(cases=((((2, 3),), {}), (((3,),), {}), (((2, 3, 2),), {"axes": (1, 0, 2)}))), saves="none"),
    Op("index", Postfix("[", 9), 1, lambda x, index: x[index],
       (lambda g, ans, x, index: F.scatter(g, index=index, shape=x.shape),),
       _index_sympy, "[]", "SelectBackward0", False,
       Domain(cases=((((3,),), {"index": (1,)}), (((2, 3),), {"index": (-1,)}), (((2, 3),), {"index": (1, 2)}))),
       saves="shape", hint="indices count from 0; -1 is the last element",
       explain=lambda shapes, index: f"index {list(index)} is out of range for shape {shapes[0]}"),
    Op("stack", INTERNAL, None, _stack_forward,
       lambda g, ans, *xs, argnum: F.index(g, index=(argnum,)),
       lambda sp, *xs: np.stack([np.asarray(x, dtype=object) for x in xs]), "[…]", "StackBackward0", False,
       Domain(cases=((((), (), ()), {}), (((2,), (2,)), {}))),
       hint="the elements of an array must all have the same shape", saves="none"),

    # Internal ops the VJP rules are written with; they never appear in the grammar.
    Op("sum_to", INTERNAL, 1, _sum_to_forward,
       (lambda g, ans, x, shape: F.broadcast_to(g, shape=x.shape),),
       None, "sum_to", "SumToBackward0", False, Domain(cases=((((2, 3),), {"shape": (3,)}), (((2, 3),), {"shape": (2, 1)}))), saves="shape"),
    Op("broadcast_to", INTERNAL, 1, lambda x, shape: np.broadcast_to(x, shape),
       (lambda g, ans, x, shape: F.sum_to(g, shape=x.shape),),
       None, "broadcast_to", "ExpandBackward0", False, Domain(cases=((((3,),), {"shape": (2, 3)}), (((),), {"shape": (2,)}))), saves="shape"),
    Op("reshape", INTERNAL, 1, lambda x, shape: np.reshape(x, shape),
       (lambda g, ans, x, shape: F.reshape(g, shape=x.shape),),
       None, "reshape", "ViewBackward0", False, Domain(cases=((((2, 3),), {"shape": (3, 2)}), (((),), {"shape": (1,)}))), saves="shape"),
    Op("scatter", INTERNAL, 1, _scatter_forward,
       (lambda g, ans, x, index, shape: F.index(g, index=index),),
       None, "scatter", "IndexPutBackward0", False, Domain(cases=((((),), {"index": (1,), "shape": (3,)}),)),
       saves="none"),
]

CONSTANTS = {"pi": math.pi, "e": math.e}

OPS: dict[str, Op] = {op.key: op for op in TABLE}


def _raise_shape():
    raise ValueError("shapes differ")


def functions() -> dict[str, list[Op]]:
    """Function name -> rows (max and min have a 1- and a 2-argument row)."""
    out: dict[str, list[Op]] = {}
    for op in TABLE:
        for name in op.names:
            out.setdefault(name, []).append(op)
    return out


# F.<key>(*inputs, **attrs) applies a row; the VJP rules above and Tensor's
# operators are written with it. Given tensors it records the op; given plain
# arrays (the backward pass without create_graph) it is just the numpy forward.
for _op in TABLE:
    if _op.forward is not None and _op.syntax is not LEAF:
        setattr(F, _op.key, engine.dispatcher(_op))

# Every function of the expression language is also gradcli.<name>(x, ...) and x.<name>(...)
# (x.sin(), x.max() and x.max(y), x.sum(axis=0)); a name the Tensor class defines itself wins.
TENSOR_FUNCTIONS: dict[str, Callable] = {name: engine.function(name, rows) for name, rows in functions().items()}
for _name, _fn in TENSOR_FUNCTIONS.items():
    if _name not in vars(Tensor):
        setattr(Tensor, _name, _fn)
