"""A SymPy expression's value at a point, to PRECISION decimal digits: the tree is walked with
mpmath (no substitution, no code generation); the functions of the op table's rows are evaluated
with each row's own `precise`."""
from __future__ import annotations

import math

import numpy as np

from gradcli.check.policy import settled
from gradcli.check.tree import number, sympy
from gradcli.ops import heads

PRECISION = 30              # decimal digits for evaluating SymPy's derivative at the point


def point_of(values: dict, symbols: dict) -> dict:
    """{symbol: exact Float of the value}, for every bound element."""
    sp = sympy()
    out = {}
    for name, syms in symbols.items():
        if name in values:
            vals = np.broadcast_to(np.asarray(values[name], dtype=np.float64), syms.shape)
            for idx in np.ndindex(syms.shape):
                v = float(vals[idx])
                out[syms[idx]] = sp.Float(v, PRECISION) if math.isfinite(v) else number(v)
    return out


def evaluate_at(e, point: dict, digits: int = PRECISION) -> float:
    """e's value at the point, computed to `digits` digits; nan if not real. A node of a kind
    the mpmath walk does not know falls back to SymPy's own evalf."""
    import mpmath
    try:
        with mpmath.workdps(digits):
            value = _value(e, point, {})
            if isinstance(value, mpmath.mpc):
                return math.nan if abs(value.imag) > abs(value.real) * 1e-25 + 1e-300 else float(value.real)
            return float(value)
    except (ValueError, ZeroDivisionError, OverflowError, TypeError, _Unknown):
        return _evalf_at(e, point, digits)


def confirm(e, point: dict, value: float) -> float:
    """e at the point more surely than evaluate_at gave `value`: at four and at eight times the
    digits. Where those two agree, their value (sinc(sinc(a)) at a = 1 is sinc at a number
    within 1e-31 of 0, where its formula cancels to 30 digits); where they do not, nan.
    Asked only where the engine and the reference disagree."""
    return settled(evaluate_at(e, point, 4 * PRECISION), evaluate_at(e, point, 8 * PRECISION), value)


class _Unknown(Exception):
    """A node kind the mpmath walk does not know."""


_FUNCTIONS: dict = {}


def _functions() -> dict:
    """SymPy function name -> mpmath evaluation: the rows' own, and the few that SymPy's
    derivatives bring with them (cot, sec, csc) that no row makes."""
    if not _FUNCTIONS:
        import mpmath as mp
        _FUNCTIONS.update({name: (lambda fn: lambda *a: fn(mp, *a))(op.precise) for name, op in heads().items()
                           if op.precise})
        _FUNCTIONS.update(cot=mp.cot, sec=mp.sec, csc=mp.csc)
    return _FUNCTIONS


def _value(e, point: dict, memo: dict):
    """The value of a SymPy tree at the point, with mpmath; shared subtrees computed once."""
    import mpmath as mp
    found = memo.get(e)
    if found is not None:
        return found
    if e.is_Symbol:
        value = mp.mpf(point[e])
    elif e.is_Number:
        if e.is_Integer:
            value = mp.mpf(int(e))
        elif e.is_Rational:
            value = mp.mpf(int(e.p)) / int(e.q)
        elif e.is_Float:
            value = mp.mpf(e._mpf_)
        else:
            raise _Unknown(e)
    elif e.is_Add:
        value = mp.fsum(_value(a, point, memo) for a in e.args)
    elif e.is_Mul:
        value = mp.fprod(_value(a, point, memo) for a in e.args)
    elif e.is_Pow:
        base, exp = (_value(a, point, memo) for a in e.args)
        if base == 0 and exp < 0:
            raise ZeroDivisionError
        if base != 0 and abs(base) != 1 and mp.mag(exp) > mp.mp.prec + 64:
            # 9^(9^9^9): past 2^(prec+64) the exponent is an even integer and the power is
            # infinite or zero at any precision; computing it would take every digit.
            value = mp.inf if (abs(base) > 1) == (exp > 0) else mp.mpf(0)
        else:
            value = mp.power(base, exp) if base >= 0 or exp == int(exp) else mp.power(mp.mpc(base), exp)
    elif e.is_Relational or e.is_Boolean:
        value = mp.mpf(int(_holds(e, point, memo)))
    elif e.is_Piecewise:
        value = next((_value(piece, point, memo) for piece, cond in e.args
                      if cond is sympy().true or (cond is not sympy().false and _holds(cond, point, memo))), None)
        if value is None:
            raise _Unknown(e)
    elif type(e).__name__ in _functions():
        value = _functions()[type(e).__name__](*(_value(a, point, memo) for a in e.args))
    elif e is sympy().pi:
        value = +mp.pi
    elif e is sympy().E:
        value = mp.e + 0
    else:
        raise _Unknown(e)
    memo[e] = value
    return value


_RELATIONS = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
              ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


def _holds(e, point: dict, memo: dict) -> bool:
    """A condition at the point, as numpy decides a comparison: with a value not real (nan,
    complex), every comparison is false but !=. SymPy may fold comparisons of comparisons into
    ITE, And, Or and Not."""
    import mpmath as mp
    sp = sympy()
    if e is sp.true or e is sp.false:
        return bool(e)
    kind = type(e).__name__
    if kind == "ITE":
        cond, then, other = e.args
        return _holds(then if _holds(cond, point, memo) else other, point, memo)
    if kind in ("And", "Or"):
        found = (_holds(a, point, memo) for a in e.args)
        return all(found) if kind == "And" else any(found)
    if kind == "Not":
        return not _holds(e.args[0], point, memo)
    if not e.is_Relational:
        raise _Unknown(e)
    try:
        a, b = (_value(x, point, memo) for x in e.args)
    except (ValueError, ZeroDivisionError, OverflowError):     # a side with no value (0/0): nan
        return e.rel_op == "!="
    if any(isinstance(v, mp.mpc) and v.imag != 0 or mp.isnan(v) for v in (a, b)):
        return e.rel_op == "!="
    return _RELATIONS[e.rel_op](mp.re(a), mp.re(b))


def _evalf_at(e, point: dict, digits: int = PRECISION) -> float:
    sp = sympy()
    try:
        value = e.xreplace(point).evalf(digits)
    except TypeError:           # a comparison SymPy cannot make at the point (with nan): no value
        return math.nan
    if value in (sp.oo, -sp.oo, sp.zoo):
        return _special(value)
    if value.is_real is False or value.has(sp.I):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return _special(value)


def _special(value) -> float:
    sp = sympy()
    if value == sp.oo:
        return math.inf
    if value == -sp.oo:
        return -math.inf
    if value == sp.zoo:
        return math.inf                 # complex infinity: infinite, of no sign
    return math.nan
