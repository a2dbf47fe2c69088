"""SymEngine, the C++ symbolic core from the SymPy project, as the check's fast backend: the
module the op table's builders get (symengine's own, with the two differences spelled out), the
value of a derivative at a point in 100-bit MPFR arithmetic, and derivatives written back as
gradcli syntax. Its trees are built from gradcli's graph, never from text (symengine's sympify
reads a variable named e as Euler's number).

SymEngine does not differentiate abs, sign, heaviside, max or min (it answers with an unevaluated
Derivative); the rows of those ops say so (`symengine=False`) and the check leaves them to SymPy.
"""
from __future__ import annotations

import math
from decimal import Decimal

from gradcli.check.policy import settled
from gradcli.render.formulas import every_digit

BITS = 100                  # MPFR precision of the values at the point: about 30 decimal digits


class Unsupported(Exception):
    """A construct SymEngine has no exact form for here; SymPy does it instead."""


class Module:
    """What a builder calls `sp` when it builds for SymEngine: symengine's functions, with a float
    kept as its exact binary value at BITS (a RealDouble would pull the arithmetic down to double),
    and no unevaluated powers (SymEngine always evaluates; SymPy keeps 9^9^9 unevaluated)."""

    def __init__(self, se):
        self._se = se

    def __getattr__(self, name):
        return getattr(self._se, name)

    def Float(self, value):
        return mpfr(self._se, value)

    def Pow(self, a, b, evaluate=True):
        if not evaluate:
            raise Unsupported("a power SymEngine would evaluate digit by digit")
        return self._se.Pow(a, b)

    def Heaviside(self, x):
        raise Unsupported("heaviside")

    def Piecewise(self, *pieces):
        # SymEngine evaluates every branch at the point, the one not taken too (nan in sinc's
        # branch for x = 0, and in where(x != 0, sin(x)/x, 1) at 0): rows built with Piecewise
        # (comparisons, where, elu, sinc) are SymPy's.
        raise Unsupported("piecewise")


def mpfr(se, value: float, bits: int = BITS):
    """A finite float as an MPFR number holding exactly its binary value."""
    return se.RealMPFR(str(Decimal(value)), bits)


def point_of(se, values: dict, symbols: dict) -> dict:
    """{symbol: the value as an exact MPFR number (or oo, -oo, nan)} for every bound element."""
    import numpy as np
    out = {}
    for name, syms in symbols.items():
        if name in values and syms.shape == ():
            out[syms[()]] = _number_at(se, float(values[name]))
        elif name in values:
            vals = np.broadcast_to(np.asarray(values[name], dtype=np.float64), syms.shape)
            for idx in np.ndindex(syms.shape):
                out[syms[idx]] = _number_at(se, float(vals[idx]))
    return out


def _number_at(se, v: float):
    return mpfr(se, v) if math.isfinite(v) else se.nan if math.isnan(v) else se.oo if v > 0 else -se.oo


SPECIAL = {"Infinity": math.inf, "NegativeInfinity": -math.inf, "ComplexInfinity": math.inf, "NaN": math.nan}


def evaluate_at(e, point: dict, bits: int = BITS) -> float:
    """e's value at the point, in `bits`-bit arithmetic; nan where it is not real."""
    if any(v.is_zero for v in point.values()):
        point = {**point, **_constants(e, bits)}
    value = e.subs(point) if point else e
    kind = type(value).__name__
    if kind == "RealMPFR":                      # the usual case: every function evaluated on the way
        return float(value)
    if kind in SPECIAL:
        return SPECIAL[kind]
    try:
        value = value.n(bits, real=False)
    except RuntimeError:
        # SymEngine evaluates erf of a number only: erf(sqrt(2)*x/2) is "Not Implemented" while
        # sqrt(2) stays symbolic. With the constants as MPFR numbers first, it is a number.
        value = e.subs({**point, **_constants(e, bits)}).n(bits, real=False)
    kind = type(value).__name__
    if kind in SPECIAL:
        return SPECIAL[kind]
    if kind.startswith("Complex"):
        re, im = float(value.real_part()), float(value.imaginary_part())
        return math.nan if abs(im) > abs(re) * 1e-25 + 1e-300 else re
    return float(value)


def _constants(e, bits: int) -> dict:
    """{constant subexpression: its value} (log(2), sqrt(pi), pi, e): substituted with a zero, a
    symbolic constant would let SymEngine fold 0*log(2) to an exact 0, and then 0*(1/0) to 0
    where the value is nan."""
    import symengine as se
    constant = type(se.pi).__mro__[1]           # Constant, the class of pi and e (symengine does not export it)
    found = {c for c in e.atoms(se.Function, se.Pow, constant) if not c.free_symbols}
    return {c: c.n(bits) for c in found}


def confirm(e, point: dict, value: float) -> float:
    """e at the point more surely than evaluate_at gave `value`: at four and at eight times the
    precision. Where those two agree, their value (cos of a huge argument needs more than 100 bits);
    where they do not, nan: the formula cancels there and no precision settles it (at a = 0.5,
    1 - log(a)^2/log(2)^2 is 0 and its square root's reciprocal infinite; at 100 bits it is 3e15).
    Asked only where the engine and the reference disagree."""
    import symengine as se
    finer, finest = ({s: mpfr(se, float(v), bits) if type(v).__name__ == "RealMPFR" else v for s, v in point.items()}
                     for bits in (4 * BITS, 8 * BITS))
    return settled(evaluate_at(e, finer, 4 * BITS), evaluate_at(e, finest, 8 * BITS), value)


def exact(e) -> bool:
    """Whether SymEngine can be trusted with a tree it built and with every derivative of it: no
    function it does not differentiate (abs, max, min, sign: their derivatives would be unevaluated
    Derivatives), no Derivative or Subs, and no zoo or nan made while building (SymEngine folds
    a/0 to zoo, dropping a, and then differentiates zoo to 0; SymPy keeps zoo*a)."""
    import symengine as se
    return not e.atoms(se.Abs, se.Max, se.Min, se.sign, se.Derivative, se.Subs, type(se.zoo), type(se.nan))


# -- gradcli syntax --------------------------------------------------------------------------------
ATOM, POWER, NEG, PRODUCT, SUM = 9, 7, 5, 3, 1
CONSTANT_TEXT = {"Exp1": "e", "Pi": "pi", "Infinity": "inf", "NegativeInfinity": "-inf", "NaN": "nan",
                 "ComplexInfinity": "inf"}


MEMO_SIZE = 50_000          # subexpressions whose text is kept (a derivative repeats its subtrees)
_MEMO: dict = {}


def to_text(e) -> str:
    """A SymEngine expression in gradcli syntax (^, e, inf, exact float digits); it pastes back into eval."""
    if len(_MEMO) > MEMO_SIZE:
        _MEMO.clear()
    return _text(e)[0]


def _text(e) -> tuple[str, int]:
    """The text and its binding power (how tightly it holds together), each subtree spelled once."""
    found = _MEMO.get(e)
    if found is None:
        found = _MEMO[e] = _spell(e)
    return found


def _spell(e) -> tuple[str, int]:
    kind = type(e).__name__
    if e.is_Symbol:
        return e.name, ATOM
    if kind == "ImaginaryUnit" or kind.startswith("Complex") and kind != "ComplexInfinity":
        raise Unsupported("a complex constant (gradcli has no i)")     # x*sqrt(-2) is sqrt(2)*I*x
    if kind in CONSTANT_TEXT:
        text = CONSTANT_TEXT[kind]
        return text, NEG if text.startswith("-") else ATOM
    if e.is_Number:
        return _number(e)
    if e.is_Add:
        return _sum(e)
    if e.is_Mul:
        return _product(e)
    if e.is_Pow:
        return _power(e)
    if e.is_Function:
        return f"{kind}({', '.join(_text(a)[0] for a in e.args)})", ATOM
    raise Unsupported(f"no gradcli spelling for {kind}")



def _number(e) -> tuple[str, int]:
    from gradcli.render.numbers import fmt_num
    if e.is_Integer:
        text = _digits(int(e))
    elif e.is_Rational:
        text = f"{_digits(int(e.p))}/{_digits(int(e.q))}"
    else:
        text = fmt_num(float(e))
    if text.startswith("-"):
        return text, NEG
    return text, PRODUCT if "/" in text else ATOM


def _digits(n: int) -> str:
    """Every digit, however many (Python refuses to write more than 4,300 by default)."""
    try:
        return str(n)
    except ValueError:
        with every_digit():
            return str(n)


def _wrap(part: tuple[str, int], at_least: int) -> str:
    text, power = part
    return text if power >= at_least else f"({text})"


def _sum(e) -> tuple[str, int]:
    terms = sorted((_signed(t) for t in e.args), key=lambda st: (st[0], st[1]))
    text = ""
    for negative, body in terms:
        if not text:
            text = f"-{body}" if negative else body
        else:
            text += f" - {body}" if negative else f" + {body}"
    return text, SUM


def _signed(term) -> tuple[bool, str]:
    """(negative, the text of |term|): a sum writes a - b, not a + -b."""
    if term.is_Mul:
        coeff = term.args[0]
        if coeff.is_Number and coeff.is_negative:
            rest = -term
            return True, _wrap(_text(rest), PRODUCT)
    if term.is_Number and term.is_negative:
        return True, _wrap(_text(-term), PRODUCT)
    return False, _wrap(_text(term), PRODUCT)


def _product(e) -> tuple[str, int]:
    coeff, factors = None, []
    for f in e.args:
        if f.is_Number and coeff is None and type(f).__name__ not in CONSTANT_TEXT:
            coeff = f
        else:
            factors.append(f)
    factors.sort(key=lambda f: type(f).__name__ not in CONSTANT_TEXT)       # pi*x, as written
    if coeff is not None and coeff.is_negative:
        text, _ = _product_of(-coeff, factors)
        return f"-{text}", NEG
    return _product_of(coeff, factors)


def _product_of(coeff, factors) -> tuple[str, int]:
    top, bottom = [], []
    if coeff is not None and coeff != 1:
        if coeff.is_Rational and not coeff.is_Integer:
            if coeff.p != 1:
                top.append(_digits(int(coeff.p)))
            bottom.append(_digits(int(coeff.q)))
        else:
            top.append(_wrap(_text(coeff), POWER))
    for f in factors:
        if f.is_Pow and f.args[1].is_Number and f.args[1].is_negative:
            bottom.append(_wrap(_text(f.args[0] ** -f.args[1]), POWER))
        else:
            top.append(_wrap(_text(f), POWER))
    numerator = "*".join(top) or "1"
    if not bottom:
        return numerator, PRODUCT if len(top) > 1 else POWER
    denominator = bottom[0] if len(bottom) == 1 else f"({'*'.join(bottom)})"
    return f"{numerator}/{denominator}", PRODUCT


def _power(e) -> tuple[str, int]:
    base, exp = e.args
    if type(base).__name__ == "Exp1":
        return f"exp({_text(exp)[0]})", ATOM
    if exp.is_Rational and not exp.is_Integer and exp.q == 2 and exp.p in (1, -1):
        root = f"sqrt({_text(base)[0]})"
        return (root, ATOM) if exp.p == 1 else (f"1/{root}", PRODUCT)
    if exp.is_Number and exp.is_negative:
        return f"1/{_wrap(_text(base ** -exp), POWER)}", PRODUCT
    return f"{_wrap(_text(base), ATOM)}^{_wrap(_text(exp), POWER)}", POWER
