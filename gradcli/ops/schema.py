"""The row of the op table, and the forms a row is written in.

A row (`Op`) has these fields; the first six may be given by position, the rest by keyword:

    key      unique id ('mul'); F.<key>(...) applies the row to tensors
    syntax   how the parser finds it: Fn('sin') | Infix('*', 3) | Prefix('-', 5)
             | Postfix("'", 9), or a tuple of these for aliases (x' and
             transpose(x) are one row); LEAF (numbers, constants, variables);
             INTERNAL (not written by the user: array literals, and the ops
             VJP rules are written with)
    arity    number of inputs; None for any number >= 1 (array literals)
    forward  numpy: input arrays (+ keyword attrs) -> output array
    grads    one VJP rule per input, rule(g, ans, *xs, **attrs) -> gradient,
             written with F so it can itself be differentiated; g is the gradient
             of the output ans; the engine sums away broadcast axes, so a rule may
             return any shape that broadcasts to xs[i]. None: no gradient flows to that
             input (a comparison, where's condition: as PyTorch's bool tensors, not a 0). For a variadic row, a
             single rule that also takes argnum=i.
    sympy    SymPy builder (sp, *args, **attrs) -> expr. For an elementwise row
             the args are SymPy scalars; otherwise numpy object arrays of them.
    symengine  whether the sympy builder serves SymEngine too (the same builder, given
             symengine's module): False for the rows SymEngine cannot differentiate
             exactly (abs, sign, heaviside, max, min), which the check leaves to SymPy
    head     the name of the SymPy function the builder makes ("sin", "Abs",
             "Max"), where it makes one: derivatives SymPy writes with it are
             evaluated with `precise` and printed back under the row's own name
    precise  mpmath evaluation of that function, precise(mp, *args), for the
             check's high-precision values
    symbol   display symbol in trees and S-expressions
    grad_fn  PyTorch-style name of the backward node (MulBackward0)
    elementwise  applies element by element with numpy broadcasting
    domain   where the table-driven tests sample: Domain(lo, hi, cases, away, shift)
    saves    what the VJP rules read, so the forward pass may drop the rest as soon
             as it is used (PyTorch's "saved tensors"): none | shape (only the
             inputs' shapes) | inputs | ans | all (inputs and ans); or a tuple,
             one entry per input, for what that input's gradient alone reads
    hint, explain  what a shape error says: a hint, and a message from the shapes
    kink     Kink(where, convention) for an op not differentiable everywhere:
             where(*input arrays, **attrs) is true at such a point, and convention says
             which gradient gradcli uses there (the cross-check reports these
             points as nondifferentiable rather than as a mismatch)
    leaf     for the rows without inputs: NUMBER, CONSTANT or VARIABLE
    keywords the keyword arguments a call may give, name -> kind: {"axis": AXIS,
             "keepdims": FLAG}; kinds are AXIS (an integer or a tuple of them, negative
             counting from the end), FLAG (0 or 1), INTEGER, NUMBER, SHAPE. Their values
             are literals, fixed when parsed; they reach forward, the rules and the builder
             as keyword attrs. A default is the forward's own: a call that leaves a
             keyword out is the call without it.
    caution  Caution(where, message): where(*input arrays) is true where the result is IEEE's
             inf or nan rather than an answer (inv of a singular matrix); the forward pass
             notes it once per node, and the message becomes a warning
    masks    for a selection (where): masks(*input arrays) -> for each input, the elements
             the selection does not take (a boolean array), or None for an input that gets
             no gradient; a nan gradient from a branch not taken is explained (traps.py)
    statics  names of positional arguments after the `arity` inputs that are literals
             too (reshape(x, (2, 3)): ("shape",)); a row with statics is chosen only
             when those arguments are literals, so clip(x, 0, 1) and clip(x, lo, hi) can
             be two rows of one name; their kinds are in `keywords` (a static may also be
             given by its name)
    rule     the name of the rule the derivative follows, in words: "product rule", "sine rule",
             "power rule"; None for a row no gradient flows through
    rules    where the rule's name depends on which inputs vary: a tuple of those inputs -> the
             name (pow: {(1,): "exponential rule", (0, 1): "general power rule"}); read with
             rule_of(varying)
    derivative  one text per input. Elementwise: the partial derivative of the output with
             respect to that input, a formula in gradcli's language in terms of x, y, z (the
             first, second, third input) and the row's keyword attrs (slope, lo, hi): mul
             ("y", "x"), sin ("cos(x)",); the steps of `gradcli diff --steps` and the explain
             command read it with the parser. Other rows: the VJP as display text in terms of g,
             the upstream gradient: matmul ("g·yᵀ", "xᵀ·g"). None for an input no gradient
             flows to; a variadic row has one text, for every input
    pattern  the gradient's pattern at this gate, in words, where there is one a learner should
             hear ("add passes the gradient to both inputs unchanged")
    confusions  for a function of one input: derivatives people wrongly give it, as formulas in x
             (sin: ("-cos(x)",)); `gradcli diff --claim` names a claim that makes one of them

Binding powers: loosest first, comparisons < <= > >= == != (0, not chaining) < + - (1) < * / @ (3) < unary - and √ (5) < ^
(right, 7) < postfix ' and [] (9).
"""
from __future__ import annotations

from typing import Callable, NamedTuple


# The forms are plain classes and Domain and Kink NamedTuples: a dataclass costs a third of a
# millisecond to define, which every start-up pays.
class Fn:
    """A function: sin(x)."""
    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name


class Infix:
    """An infix operator with its binding power: a * b."""
    __slots__ = ("token", "bp", "right", "chains")

    def __init__(self, token: str, bp: int, right: bool = False, chains: bool = True):
        self.token, self.bp = token, bp
        self.right = right      # right-associative: binding powers (bp+1, bp) instead of (bp, bp+1)
        self.chains = chains    # False: a < b < c is an error, not (a < b) < c


class Prefix:
    """A prefix operator: -x, √x."""
    __slots__ = ("token", "bp")

    def __init__(self, token: str, bp: int):
        self.token, self.bp = token, bp


class Postfix:
    """A postfix operator: x'."""
    __slots__ = ("token", "bp")

    def __init__(self, token: str, bp: int):
        self.token, self.bp = token, bp


AXIS, FLAG, INTEGER, NUMBER_KW, SHAPE = "axis", "flag", "integer", "number", "shape"   # kinds of keyword values

LEAF = "leaf"
INTERNAL = "internal"
NUMBER, CONSTANT, VARIABLE = "number", "constant", "variable"

UNARY = [((),), ((3,),), ((2, 3),)]
BINARY = [((), ()), ((3,), (3,)), ((2, 3), (3,)), ((), (2, 2)), ((2, 1), (1, 3))]
TERNARY = [((), (), ()), ((3,), (3,), (3,)), ((2, 3), (3,), ())]
REDUCE = [((3,),), ((2, 3),)]


def cases(shapes) -> tuple:
    """Test cases without attrs, one per tuple of input shapes."""
    return tuple((s, {}) for s in shapes)


class Domain(NamedTuple):
    """Where tests sample inputs: uniform in [lo, hi], |x| >= away, one case per (shapes, attrs);
    shift is added to the diagonal of every square matrix of a sample (its last two axes, when
    they are equal): with shift > (n-1) * max(|lo|, |hi|) the matrices are diagonally dominant,
    so invertible and well-conditioned (det, inv, solve)."""
    lo: float = -2.0
    hi: float = 2.0
    cases: tuple = cases(UNARY)
    away: float = 0.0
    shift: float = 0.0


class Kink(NamedTuple):
    """Where an op is not differentiable, and the gradient gradcli uses there."""
    where: Callable
    convention: str


class Caution(NamedTuple):
    """Where an op's result is IEEE's rather than an answer (a singular matrix), and what to say."""
    where: Callable
    message: str


class Op:
    """A row of the table (the fields are described above). A plain class: a dataclass of this
    many fields costs a millisecond to define, which every start-up would pay."""
    __slots__ = ("key", "syntax", "arity", "forward", "grads", "sympy", "symengine", "head", "precise", "symbol",
                 "grad_fn", "elementwise", "domain", "hint", "explain", "kink", "saves", "leaf", "keywords",
                 "statics", "masks", "caution", "rule", "rules", "derivative", "pattern", "confusions", "stops",
                 "watched", "variadic")

    def __init__(self, key: str, syntax, arity: int | None, forward: Callable | None, grads: tuple | Callable = (),
                 sympy: Callable | None = None, *, symengine: bool = True, head: str | None = None,
                 precise: Callable | None = None, symbol: str = "", grad_fn: str = "", elementwise: bool = False,
                 domain: Domain | None = None, hint: str = "", explain: Callable | None = None,
                 kink: Kink | None = None, saves: str | tuple = "all", leaf: str | None = None,
                 keywords: dict | None = None, statics: tuple = (), masks: Callable | None = None,
                 caution: Caution | None = None, rule: str | None = None, derivative: tuple | None = None,
                 pattern: str | None = None, confusions: tuple = (), rules: dict | None = None):
        self.key, self.syntax, self.arity, self.forward, self.grads, self.sympy = key, syntax, arity, forward, grads, sympy
        self.symengine, self.head, self.precise, self.symbol, self.grad_fn = symengine, head, precise, symbol, grad_fn
        self.elementwise, self.domain, self.hint, self.explain, self.kink = elementwise, domain, hint, explain, kink
        self.saves, self.leaf, self.keywords, self.statics = saves, leaf, keywords, statics
        self.masks, self.caution = masks, caution
        self.rule, self.derivative, self.pattern, self.confusions = rule, derivative, pattern, confusions
        self.rules = rules
        # variadic: one rule for every input (given argnum); stops: some input gets no gradient (a
        # rule of None). The hot loops ask these first.
        self.variadic = callable(grads)
        self.stops = not self.variadic and any(r is None for r in grads)
        # watched: the forward pass asks this row where its kinks or cautions are
        self.watched = kink is not None or caution is not None

    @property
    def is_variable(self) -> bool:
        return self.leaf == VARIABLE

    @property
    def is_number(self) -> bool:
        return self.leaf == NUMBER

    @property
    def is_constant(self) -> bool:
        return self.leaf == CONSTANT

    def reads(self, i: int) -> str:
        """What the gradient of input i reads (see `saves`)."""
        return self.saves[i] if isinstance(self.saves, tuple) else self.saves

    def rule_of(self, varying) -> str | None:
        """The rule's name when the inputs `varying` (their indices) depend on the variable."""
        return (self.rules or {}).get(tuple(varying), self.rule)

    def flows(self, i: int) -> bool:
        """Whether a gradient flows to input i (a rule of None: none does, as into a comparison)."""
        return self.variadic or self.grads[i] is not None

    def vjp(self, i: int, g, ans, xs: tuple, attrs: dict):
        """Gradient flowing to input i."""
        if self.variadic:
            return self.grads(g, ans, *xs, argnum=i, **attrs)
        return self.grads[i](g, ans, *xs, **attrs)

    @property
    def forms(self) -> tuple:
        """Every syntax that reaches this row (x' and transpose(x) are one row)."""
        return self.syntax if isinstance(self.syntax, tuple) else (self.syntax,)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.forms if isinstance(f, Fn))

    def __repr__(self) -> str:
        return f"Op({self.key!r})"


def ew(key, name, forward, grads, sympy, grad_fn, lo=-2.0, hi=2.0, away=0.0, arity=1, tests=None, **more) -> Op:
    """An elementwise function row; name is its function name, or a tuple of names and other
    forms (aliases, a prefix sign), the first of which is how it is shown. tests: the test
    cases ((shapes, attrs) pairs), for rows with attrs; by default one per shape of its arity."""
    forms = tuple(Fn(n) if isinstance(n, str) else n for n in ((name,) if isinstance(name, str) else name))
    more.setdefault("saves", "inputs")
    tests = tests or cases({1: UNARY, 2: BINARY}.get(arity, TERNARY))
    return Op(key, forms if len(forms) > 1 else forms[0], arity, forward, grads, sympy, symbol=forms[0].name,
              grad_fn=grad_fn, elementwise=True, domain=Domain(lo, hi, tests, away), **more)
