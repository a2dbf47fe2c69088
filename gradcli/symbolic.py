"""Expr -> SymPy, symbolic derivatives, and the cross-check of the engine's gradients.

The SymPy expression is built from gradcli's own graph through the op table's
SymPy builders; user text never reaches SymPy's parser. Array variables get one
real symbol per element (`x[0]`, `M[1,0]`) up to SYMPY_CAP elements in all;
above that the check is a randomized directional finite difference.

SymPy is imported here, lazily: only commands that need it pay for it.
"""
from __future__ import annotations

import math
import signal
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from gradcli.errors import BindError, GradcliError
from gradcli.evaluation import Check, guarded, skipped_check
from gradcli.expr import Expr

SYMPY_CAP = 256             # per-element symbols for at most this many elements in all
PRECISION = 30              # decimal digits for evaluating SymPy's derivative at the point
FD_DIRECTIONS = 3
FD_RTOL = 1e-6              # what central differences with Richardson extrapolation can promise


MAX_TIMEOUT = 1e6           # seconds; a longer --check-timeout is no limit (the timer cannot count that far)


class CheckTimeout(Exception):
    """SymPy did not finish within the check timeout."""


def sympy():
    import sympy as sp
    return sp


@contextmanager
def deadline(seconds: float | None):
    """Raise CheckTimeout in this block after `seconds` (main thread, POSIX; otherwise no limit)."""
    usable = (seconds is not None and 0 < seconds <= MAX_TIMEOUT and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def expire(signum, frame):
        raise CheckTimeout(f"SymPy took longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    # Again every 50 ms after the first: code inside SymPy that catches Exception may swallow
    # one CheckTimeout, but not all of them.
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.05)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- Expr -> SymPy ---------------------------------------------------------------
def element_symbols(name: str, shape: tuple) -> np.ndarray:
    """Real symbols for a variable: x, or x[0], x[1], ... or M[0,1], as an object array."""
    sp = sympy()
    if shape == ():
        return np.asarray(sp.Symbol(name, real=True), dtype=object)
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(shape):
        out[idx] = sp.Symbol(f"{name}[{','.join(map(str, idx))}]", real=True)
    return out


def number(value: float):
    """A float as SymPy: an Integer when whole, else the exact binary Float."""
    from gradcli.ops import OPS
    return OPS["num"].sympy(sympy(), value=value)


def to_sympy(expr: Expr, env: dict) -> np.ndarray:
    """SymPy value of expr (an object array, 0-d for a scalar); env: name -> object array."""
    sp = sympy()
    memo: dict[int, np.ndarray] = {}
    for node in expr.nodes():
        op, kw = node.op, node.kw
        if op.key == "var":
            value = env[kw["name"]]
        elif not node.args:
            value = op.sympy(sp, **kw)
        else:                   # shapes that do not fit are a ShapeError at the node, as in evaluate
            args = [memo[a.id] for a in node.args]
            value = guarded(node, args, lambda: _sympy_apply(sp, op, args, kw))
        memo[node.id] = np.asarray(value, dtype=object)
    return memo[expr.id]


def _sympy_apply(sp, op, args: list, kw: dict):
    if op.elementwise:
        return np.frompyfunc(lambda *xs: op.sympy(sp, *xs), len(args), 1)(*args)
    return op.sympy(sp, *args, **kw)


# -- SymPy -> numbers ------------------------------------------------------------
def evaluate_at(e, point: dict) -> float:
    """A SymPy expression's value at the point, computed to PRECISION digits; nan if not real.

    The expression tree is walked with mpmath (no substitution, no code generation);
    a node of a kind not listed in _MP falls back to SymPy's own evalf.
    """
    import mpmath
    try:
        with mpmath.workdps(PRECISION):
            value = _mp_value(e, point, {})
            if isinstance(value, mpmath.mpc):
                return math.nan if abs(value.imag) > abs(value.real) * 1e-25 + 1e-300 else float(value.real)
            return float(value)
    except (ValueError, ZeroDivisionError, OverflowError, TypeError, _NotMp):
        return _evalf_at(e, point)


class _NotMp(Exception):
    """A node kind the mpmath walk does not know."""


def _mp_table():
    import mpmath as mp
    sp = sympy()

    def heaviside(x, h0=None):
        return mp.mpf(0.5) if x == 0 else (mp.mpf(1) if x > 0 else mp.mpf(0))

    def sign(x):
        return mp.mpf(0) if x == 0 else mp.mpf(1) if x > 0 else mp.mpf(-1)

    def log(x, base=None):
        if x == 0:
            raise ZeroDivisionError
        return mp.log(x) if base is None else mp.log(x) / mp.log(base)
    return {sp.sin: mp.sin, sp.cos: mp.cos, sp.tan: mp.tan, sp.asin: mp.asin, sp.acos: mp.acos,
            sp.atan: mp.atan, sp.sinh: mp.sinh, sp.cosh: mp.cosh, sp.tanh: mp.tanh, sp.exp: mp.exp,
            sp.log: log, sp.Abs: mp.fabs, sp.sign: sign, sp.Heaviside: heaviside, sp.erf: mp.erf,
            sp.atan2: mp.atan2, sp.Max: lambda *a: max(a), sp.Min: lambda *a: min(a),
            sp.cot: mp.cot, sp.sec: mp.sec, sp.csc: mp.csc}


_MP = None


def _mp_value(e, point: dict, memo: dict):
    """The value of a SymPy tree at the point, with mpmath; shared subtrees computed once."""
    import mpmath as mp
    global _MP
    if _MP is None:
        _MP = _mp_table()
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
            raise _NotMp(e)
    elif e.is_Add:
        value = mp.fsum(_mp_value(a, point, memo) for a in e.args)
    elif e.is_Mul:
        value = mp.fprod(_mp_value(a, point, memo) for a in e.args)
    elif e.is_Pow:
        base, exp = (_mp_value(a, point, memo) for a in e.args)
        if base == 0 and exp < 0:
            raise ZeroDivisionError
        if base != 0 and abs(base) != 1 and mp.mag(exp) > mp.mp.prec + 64:
            # 9^(9^9^9): past 2^(prec+64) the exponent is an even integer and the power is
            # infinite or zero at any precision; computing it would take every digit.
            value = mp.inf if (abs(base) > 1) == (exp > 0) else mp.mpf(0)
        else:
            value = mp.power(base, exp) if base >= 0 or exp == int(exp) else mp.power(mp.mpc(base), exp)
    elif e.func in _MP:
        value = _MP[e.func](*(_mp_value(a, point, memo) for a in e.args))
    elif e is sympy().pi:
        value = +mp.pi
    elif e is sympy().E:
        value = mp.e + 0
    else:
        raise _NotMp(e)
    memo[e] = value
    return value


def _evalf_at(e, point: dict) -> float:
    sp = sympy()
    value = e.xreplace(point).evalf(PRECISION)
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


# -- printing ---------------------------------------------------------------------
def to_text(e) -> str:
    """gradcli syntax: ^ for power, abs, max, e, exact float digits; pastes back into eval."""
    with every_digit():
        return _printer().doprint(e)


@contextmanager
def every_digit():
    """Print exact integers of any length (Python refuses to write more than 4,300 digits)."""
    limit = getattr(sys, "get_int_max_str_digits", lambda: 0)()
    if limit:
        sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        if limit:
            sys.set_int_max_str_digits(limit)


_PRINTER = None


def _printer():
    global _PRINTER
    if _PRINTER is None:
        from sympy.printing.str import StrPrinter

        class GradcliPrinter(StrPrinter):
            def _print_Pow(self, expr, rational=False):
                return super()._print_Pow(expr, rational).replace("**", "^")

            def _print_Float(self, expr):
                value = float(expr)
                from gradcli.render import fmt_num
                return fmt_num(value)

            def _print_Exp1(self, expr):
                return "e"

            def _print_Abs(self, expr):
                return f"abs({self._print(expr.args[0])})"

            def _print_Heaviside(self, expr):
                return f"heaviside({self._print(expr.args[0])})"

            def _print_MinMaxBase(self, expr):
                name = "max" if type(expr).__name__ == "Max" else "min"
                args = [self._print(a) for a in expr.args]
                text = args[-1]
                for a in reversed(args[:-1]):
                    text = f"{name}({a}, {text})"
                return text

            _print_Max = _print_MinMaxBase
            _print_Min = _print_MinMaxBase

            def _print_Infinity(self, expr):
                return "inf"

            def _print_NegativeInfinity(self, expr):
                return "-inf"

        _PRINTER = GradcliPrinter()
    return _PRINTER


def text_array(values: np.ndarray):
    """A string, or nested lists of strings, shaped like the array."""
    if values.ndim == 0:
        return to_text(values[()])
    if values.ndim == 1:
        return [to_text(v) for v in values]
    return [text_array(row) for row in values]


# -- derivatives -------------------------------------------------------------------
_TERMS: dict = {"of": None, "by": {}}     # the last sum differentiated: symbol -> the terms holding it


def diff(f, symbol):
    """SymPy's derivative; terms of a sum that do not contain the symbol are skipped (they give 0).
    Which terms hold which symbol is worked out once per sum, so that differentiating a sum of N
    terms by each of its N symbols takes time in N, not N^2."""
    sp = sympy()
    if not f.is_Add:
        return f.diff(symbol)
    if _TERMS["of"] is not f:
        by: dict = {}
        for term in f.args:
            for s in term.free_symbols:
                by.setdefault(s, []).append(term)
        _TERMS.update(of=f, by=by)
    return sp.Add(*[term.diff(symbol) for term in _TERMS["by"].get(symbol, ())])


def scalar_output(out: np.ndarray, seed) -> object:
    """sum(seed * out): the scalar whose gradient backward(seed) computes."""
    sp = sympy()
    if seed is None:
        return out[()] if out.ndim == 0 else out.reshape(-1)[0]
    weights = np.broadcast_to(np.asarray(seed, dtype=np.float64), out.shape)
    return sp.Add(*[number(float(w)) * o for w, o in zip(weights.reshape(-1), out.reshape(-1)) if w != 0])


# -- the cross-check -----------------------------------------------------------------
def cross_check(result, *, rtol: float = 1e-9, atol: float = 1e-12, timeout: float | None = 5.0) -> Check:
    """Compare the engine's gradients in `result` with SymPy's (or finite differences)."""
    if result.grad is None:
        return skipped_check("--no-grad")
    if not result.wrt:
        return skipped_check("no variable to differentiate")
    total = sum(int(np.size(result.values[n])) for n in result.variables)
    if total > SYMPY_CAP:
        check = finite_difference_check(result, rtol=rtol, atol=atol, timeout=timeout)
        check.reason = check.reason or f"{total} elements: more than {SYMPY_CAP} for per-element symbols"
        return check
    try:
        with deadline(timeout):
            expected, formulas, reference = sympy_gradient(result)
    except CheckTimeout as exc:
        return Check("timeout", "sympy", reason=f"{exc}; raise --check-timeout to wait longer",
                     rtol=rtol, atol=atol)
    except (RecursionError, MemoryError, ValueError, TypeError, ArithmeticError, AttributeError) as exc:
        return Check("error", "sympy", reason=f"SymPy failed: {type(exc).__name__}: {exc}"[:300],
                     rtol=rtol, atol=atol)
    return compare(result, expected, "sympy", formulas, rtol, atol, reference)


def sympy_gradient(result) -> tuple[dict, dict, float]:
    """SymPy's gradient of sum(seed * output) at the point: values and formula texts per variable,
    and the value of sum(seed * output) itself (nan where it is not real)."""
    symbols = {n: element_symbols(n, np.shape(result.values[n])) for n in result.variables}
    out = to_sympy(result.expr, symbols)
    f = scalar_output(out, result.seed)
    point = point_of(result.values, symbols)
    expected, formulas = {}, {}
    for name in result.wrt:
        syms = symbols[name]
        derivs = np.empty(syms.shape, dtype=object)
        values = np.empty(syms.shape, dtype=np.float64)
        for idx in np.ndindex(syms.shape):
            derivs[idx] = diff(f, syms[idx])
            values[idx] = evaluate_at(derivs[idx], point)
        expected[name] = float(values) if values.ndim == 0 else values
        formulas[name] = text_array(derivs)
    return expected, formulas, evaluate_at(f, point)


def close(got, want, rtol: float, atol: float) -> np.ndarray:
    """Elementwise agreement: |got - want| <= atol + rtol*|want|; equal infinities and NaN == NaN agree."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        return np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True) | (got == want)


def abs_error(got, want) -> float:
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(got - want)
    err = np.where((got == want) | (np.isnan(got) & np.isnan(want)), 0.0, err)
    return float(np.max(err)) if err.size else 0.0


def compare(result, expected: dict, method: str, formulas, rtol: float, atol: float, reference=None) -> Check:
    """The verdict on the engine's gradients against the reference's (`reference`: the reference's
    own value of the output, which says whether the point is in the expression's domain)."""
    agree = {n: bool(np.all(close(result.grad[n], expected[n], rtol, atol))) for n in expected}
    err = max((abs_error(result.grad[n], expected[n]) for n in expected), default=0.0)
    check = Check("ok", method, err, formulas, expected, agree, rtol=rtol, atol=atol)
    value = result.value if reference is None else reference
    # A gradient that is nan or inf is never "ok", even where SymPy says the same; nor is any
    # gradient where the expression itself is not finite (not real, or infinite).
    unequal = [n for n, ok in agree.items() if not ok]
    suspect = unequal or [n for n in expected if not np.all(np.isfinite(np.asarray(result.grad[n], dtype=np.float64)))]
    if not suspect and _finite(value):
        return check
    wrong = [n for n in suspect if wrongly_not_finite(result.grad[n], expected[n], value)]
    conventions = [] if wrong else explain(result, [(result.grad[n], expected[n]) for n in suspect], value)
    return _verdict(check, conventions, wrong, unequal, method)


def explain(result, pairs, value) -> list[str]:
    """Why the point is not differentiable: where the expression itself is not finite, that (a pole,
    not real); else the convention of a kink it passed through; else why the derivative is not finite."""
    if not _finite(value):
        return singular(pairs, value)
    return kinks(result) or singular(pairs, value)


def _verdict(check: Check, conventions: list, wrong: list, unequal: list, method: str) -> Check:
    """nondifferentiable where a convention or a singular point explains the disagreement; else mismatch."""
    if conventions:
        check.status = "nondifferentiable"
        check.conventions = conventions
        check.reason = "the point is not differentiable; gradcli uses the conventions listed"
    else:
        check.status = "mismatch"
        if wrong:
            check.reason = (f"the engine's gradient with respect to {', '.join(wrong)} is not finite where "
                            f"{method}'s is, at a point where the expression is defined")
        else:
            check.reason = f"the engine and {method} disagree on {', '.join(unequal)}"
    return check


def _finite(value) -> bool:
    return bool(np.all(np.isfinite(np.asarray(value, dtype=np.float64))))


def wrongly_not_finite(got, want, value) -> bool:
    """The engine gives nan or inf where the reference's finite value is right: the output is
    finite there (no convention excuses a gradient like 0*0^-1 or 0*inf)."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if not np.all(np.isfinite(np.asarray(value, dtype=np.float64))):
        return False
    with np.errstate(invalid="ignore"):
        return bool(np.any(~np.isfinite(got) & np.isfinite(want)))


NOT_REAL = "the expression is not real here (nan), so it has no derivative; gradcli reports the IEEE result"
POLE = "the expression is infinite here (a pole, or an overflow), and so is its derivative; gradcli reports the IEEE result"
INFINITE = "the derivative is infinite here (a vertical tangent); gradcli reports the IEEE result"
UNDEFINED = ("the derivative is nan here (not real, or 0*inf or inf-inf in its formula); "
             "gradcli reports the IEEE result")


def singular(pairs, value=0.0) -> list[str]:
    """Why the point has no finite derivative, if it has none: the expression is not real there,
    or infinite; or, where the engine and the reference disagree, either is infinite or nan."""
    value = np.asarray(value, dtype=np.float64)
    if np.any(np.isnan(value)):
        return [NOT_REAL]
    if np.any(np.isinf(value)):
        return [POLE]
    for got, want in pairs:
        got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
        if not (np.all(np.isfinite(got)) and np.all(np.isfinite(want))):
            return [INFINITE] if np.any(np.isinf(got)) or np.any(np.isinf(want)) else [UNDEFINED]
    return []


def kinks(result) -> list[str]:
    """Conventions used at non-differentiable points the computation passed through."""
    found = []
    for node, t in zip(result.nodes, result.traced()):
        kink = node.op.kink
        if kink is not None and t.requires_grad and kink.where(*(a.data for a in t.grad_fn.inputs)):
            found.append(f"{kink.convention}, at '{node.text}'")
    return found


def finite_difference_check(result, *, rtol: float, atol: float, seed: int = 0,
                            timeout: float | None = None) -> Check:
    """<grad, v> against central differences of the output along random directions v: first in
    the space of all the differentiated variables at once (a few evaluations however many there
    are), and variable by variable only where that disagrees, to say which. Within `timeout`."""
    tol = max(rtol, FD_RTOL)
    if not _finite(result.value):           # no finite derivative to compare with
        return Check("nondifferentiable", "finite-difference", None, None, {}, {n: False for n in result.wrt},
                     reason="the point is not differentiable", conventions=singular([], result.value),
                     rtol=tol, atol=atol)
    rng = np.random.default_rng(seed)
    try:
        with deadline(timeout):
            ok, worst = _directions(result, result.wrt, rng, tol, atol)
            agree = dict.fromkeys(result.wrt, True)
            if not ok:
                for name in result.wrt:
                    agree[name], err = _directions(result, [name], rng, tol, atol)
                    worst = max(worst, err)
    except CheckTimeout as exc:
        return Check("timeout", "finite-difference", reason=f"{exc}; raise --check-timeout to wait longer",
                     rtol=tol, atol=atol)
    check = Check("ok", "finite-difference", worst, None, {}, agree, rtol=tol, atol=atol)
    if not all(agree.values()):
        bad = [n for n, ok in agree.items() if not ok]
        _verdict(check, explain(result, [(result.grad[n], 0.0) for n in bad], result.value), [], bad,
                 "finite differences")
    return check


def _directions(result, names: list, rng, tol: float, atol: float) -> tuple[bool, float]:
    """Whether the engine's gradient along FD_DIRECTIONS random directions in the space of `names`
    matches central differences, and the largest error."""
    from gradcli.evaluation import evaluate
    weights = None if result.seed is None else np.asarray(result.seed, dtype=np.float64)

    def f(point: dict) -> float:
        out = evaluate(result.expr, point, grad=False).value
        return float(np.sum(out * weights)) if weights is not None else float(np.sum(out))

    xs = {n: np.asarray(result.values[n], dtype=np.float64) for n in names}
    gs = {n: np.asarray(result.grad[n], dtype=np.float64) for n in names}
    size = max(float(np.max(np.abs(x))) if x.size else 0.0 for x in xs.values())
    ok, worst = True, 0.0
    for _ in range(FD_DIRECTIONS):
        v = {n: rng.normal(size=x.shape) for n, x in xs.items()}
        norm_v = math.sqrt(sum(float(np.sum(d * d)) for d in v.values()))
        h = 1e-4 * (1.0 + size) / max(1.0, norm_v)

        def along(t, v=v):
            return f({**result.values, **{n: xs[n] + t * v[n] for n in xs}})

        numeric, step, level = _directional(along, h)
        analytic = sum(float(np.sum(gs[n] * v[n])) for n in xs)
        norm_g = math.sqrt(sum(float(np.sum(g * g)) for g in gs.values()))
        scale = norm_g * norm_v + abs(numeric)
        noise = 64 * np.finfo(float).eps * level / step      # rounding in f's values, divided by the step
        err = abs(analytic - numeric)
        if not (math.isfinite(analytic) and math.isfinite(numeric)):
            err = 0.0 if analytic == numeric or (math.isnan(analytic) and math.isnan(numeric)) else math.inf
        worst = max(worst, err)
        ok = ok and err <= atol + tol * scale + noise
    return ok, worst


def _directional(along, h: float) -> tuple[float, float, float]:
    """d/dt along(t) at 0 by central differences with Richardson extrapolation, the step used and
    the size of the values seen; the step shrinks near a domain edge (asin at 0.99999) and where
    the curve bends sharply (near a pole)."""
    best, level = math.nan, 0.0
    for _ in range(20):
        samples = [along(t) for t in (h, -h, h / 2, -h / 2)]
        if not all(math.isfinite(y) for y in samples):
            h /= 4
            continue
        level = max(abs(y) for y in samples)
        d1 = (samples[0] - samples[1]) / (2 * h)
        d2 = (samples[2] - samples[3]) / h
        best = (4 * d2 - d1) / 3                   # Richardson: error O(h^4)
        if abs(d1 - d2) <= 1e-7 * max(abs(d2), 1.0) or h < 1e-9:
            break
        h /= 8
    return best, h, level


# -- free variables ---------------------------------------------------------------------
@dataclass
class SymbolicResult:
    """A result with free variables: value and gradients are SymPy expressions."""
    expr: Expr
    value: object           # object array (0-d for a scalar)
    grad: dict              # name -> object array
    values: dict            # bound name -> value
    variables: list
    free: list
    wrt: list

    def value_text(self):
        return text_array(self.value)

    def grad_text(self) -> dict:
        return {n: text_array(g) for n, g in self.grad.items()}


def symbolic_evaluate(expr: Expr, values: dict, *, wrt=None, grad_output=None, grad: bool = True,
                      timeout: float | None = 5.0) -> SymbolicResult:
    """Value and gradients with the unbound variables left as symbols (bound ones substituted)."""
    from gradcli.evaluation import check_names
    from gradcli.values import read_value

    names = check_names(expr, values, wrt)
    bound = {n: read_value(v, f"value of {n}") for n, v in values.items()}
    free = [n for n in names if n not in bound]
    symbols = {n: element_symbols(n, np.shape(bound.get(n, 0.0))) for n in names}
    nice = {}
    for n in bound:
        vals = np.broadcast_to(np.asarray(bound[n], dtype=np.float64), symbols[n].shape)
        for idx in np.ndindex(vals.shape):
            nice[symbols[n][idx]] = number(float(vals[idx]))
    wanted = names if wrt is None else [n for n in names if n in set(wrt)]
    try:
        with deadline(timeout):
            out = to_sympy(expr, symbols)
            value = np.frompyfunc(lambda e: e.xreplace(nice), 1, 1)(out) if out.ndim else \
                np.asarray(out[()].xreplace(nice), dtype=object)
            grads = {}
            if grad:
                seed = None if grad_output is None else read_value(grad_output, "--grad-output")
                if out.size != 1 and seed is None:
                    raise GradcliError("the output is not a scalar: give --grad-output",
                                       expr.span, source=expr.source)
                if seed is not None and np.shape(seed) != out.shape:
                    raise BindError(f"--grad-output has shape {np.shape(seed)}, but the output has shape "
                                    f"{out.shape}", hint="the seed gradient must have the output's shape")
                f = scalar_output(out, seed)
                for n in wanted:
                    syms = symbols[n]
                    d = np.empty(syms.shape, dtype=object)
                    for idx in np.ndindex(syms.shape):
                        d[idx] = diff(f, syms[idx]).xreplace(nice)
                    grads[n] = d
    except CheckTimeout as exc:
        raise GradcliError(f"the symbolic result took too long: {exc}",
                           hint="give every variable a value, or raise --check-timeout") from None
    return SymbolicResult(expr, np.asarray(value, dtype=object), grads, bound, names, free, wanted)


@dataclass
class Derivation:
    """A scalar expression's symbolic gradient: name -> object array of derivatives (0-d for a
    scalar variable, one per element of an array variable given a shape)."""
    function: object
    grad: dict
    simplified: bool


def derivatives(expr: Expr, wrt=None, *, shapes: dict | None = None, simplify: bool = True,
                timeout: float | None = 5.0) -> Derivation:
    """The SymPy derivatives of a scalar expression (every variable a symbol, or an array of
    symbols for those given a shape), simplified if that finishes within its own timeout."""
    from gradcli.evaluation import check_names
    shapes = shapes or {}
    names = check_names(expr, dict.fromkeys(shapes), wrt)
    wanted = names if wrt is None else [n for n in names if n in set(wrt)]
    symbols = {n: element_symbols(n, tuple(shapes.get(n, ()))) for n in names}
    try:
        with deadline(timeout):
            out = to_sympy(expr, symbols)
            if out.size != 1:
                raise GradcliError(f"gradcli diff needs a scalar expression; this one has shape {out.shape}",
                                   expr.span, source=expr.source,
                                   hint="wrap it in sum(...), or use gradcli jacobian")
            f = out.reshape(-1)[0]
            grad = {n: _each(symbols[n], lambda s: diff(f, s)) for n in wanted}
    except CheckTimeout as exc:
        raise GradcliError(f"the derivative took too long: {exc}", hint="raise --check-timeout") from None
    if simplify:
        try:
            with deadline(timeout):
                return Derivation(f, {n: _each(d, simpler) for n, d in grad.items()}, True)
        except CheckTimeout:
            pass
    return Derivation(f, grad, False)


def _each(array: np.ndarray, fn) -> np.ndarray:
    out = np.empty(array.shape, dtype=object)
    for idx in np.ndindex(array.shape):
        out[idx] = fn(array[idx])
    return out


def latex_array(values: np.ndarray) -> str:
    """LaTeX of a derivative: a formula, or a bmatrix for a vector or a matrix of them."""
    with every_digit():
        return _latex_array(values)


def _latex_array(values: np.ndarray) -> str:
    sp = sympy()
    if values.ndim == 0:
        return sp.latex(values[()])
    if values.ndim <= 2:
        return sp.latex(sp.Matrix(values if values.ndim == 2 else values.reshape(-1, 1)).T
                        if values.ndim == 1 else sp.Matrix(values))
    return "\\left[" + ", ".join(_latex_array(v) for v in values) + "\\right]"


SIMPLIFY_POWER = 64         # simplify() expands (a+b)^n: with a larger integer n it would take n terms of memory


def simplifiable(d) -> bool:
    """Whether simplify() can work on d in bounded memory: no integer power beyond SIMPLIFY_POWER
    of a sum (SymPy's cancel() expands it into its binomial terms)."""
    return not any(p.exp.is_Integer and abs(int(p.exp)) > SIMPLIFY_POWER and not p.base.is_Atom
                   for p in d.atoms(sympy().Pow))


def simpler(d):
    """SymPy's simplify(d) if it prints shorter and still reads as gradcli syntax, else d."""
    from gradcli.errors import ParseError
    from gradcli.parser import parse
    if not simplifiable(d):
        return d
    s = sympy().simplify(d)
    text = to_text(s)
    if len(text) >= len(to_text(d)):
        return d
    try:
        parse(text)
    except ParseError:
        return d
    return s


# -- Hessians and Jacobians ----------------------------------------------------------------
def matrix_check(kind: str, deriv, *, rtol: float = 1e-9, atol: float = 1e-12,
                 timeout: float | None = 5.0) -> Check:
    """Compare an engine Hessian or Jacobian with SymPy's, entry by entry."""
    got = deriv.hessian if kind == "hessian" else deriv.jacobian
    names = deriv.expr.variables()
    total = sum(int(np.size(deriv.values[n])) for n in names)
    if total > SYMPY_CAP or got.size > SYMPY_CAP * 4:
        return skipped_check(f"{total} elements: too many for a symbolic {kind}")
    if got.size == 0:
        return skipped_check("no variable to differentiate")
    try:
        with deadline(timeout):
            symbols = {n: element_symbols(n, np.shape(deriv.values[n])) for n in names}
            out = to_sympy(deriv.expr, symbols)
            point = point_of(deriv.values, symbols)
            flat = [s for n in deriv.variables for s in np.ravel(symbols[n])]
            if kind == "hessian":
                f = out.reshape(-1)[0]
                first = [diff(f, s) for s in flat]
                entries = [[diff(d, s) for s in flat] for d in first]
                outputs = [f] * len(entries)
            else:
                outputs = list(out.reshape(-1))
                entries = [[diff(o, s) for s in flat] for o in outputs]
            want = np.array([[evaluate_at(e, point) for e in row] for row in entries], dtype=np.float64)
            # SymPy's value of the output each row differentiates: whether the point is in its domain
            reference = np.array([[evaluate_at(o, point)] for o in outputs], dtype=np.float64)
            formulas = [[to_text(e) for e in row] for row in entries]
    except CheckTimeout as exc:
        return Check("timeout", "sympy", reason=f"{exc}; raise --check-timeout to wait longer", rtol=rtol, atol=atol)
    except (RecursionError, MemoryError, ValueError, TypeError, ArithmeticError, AttributeError) as exc:
        return Check("error", "sympy", reason=f"SymPy failed: {type(exc).__name__}: {exc}"[:300], rtol=rtol, atol=atol)
    agree = bool(np.all(close(got, want, rtol, atol)))
    check = Check("ok", "sympy", abs_error(got, want), {kind: formulas}, {kind: want}, {kind: agree},
                  rtol=rtol, atol=atol)
    # As for gradients: a non-finite entry is never ok, and one where SymPy's is finite and the
    # row's output is defined is a mismatch ([1/x, x] at 0: the second row's 0*inf).
    if agree and np.all(np.isfinite(got)) and np.all(np.isfinite(reference)):
        return check
    with np.errstate(invalid="ignore"):
        wrong = ~np.isfinite(got) & np.isfinite(want) & np.isfinite(reference)
    if np.any(wrong):
        i, j = map(int, np.argwhere(wrong)[0])
        check.status = "mismatch"
        check.reason = (f"the engine's {kind} entry [{i}, {j}] is {fmt(got[i, j])} where SymPy's is "
                        f"{fmt(want[i, j])}, at a point where the expression is defined")
        return check
    from gradcli.evaluation import evaluate
    conventions = explain(evaluate(deriv.expr, deriv.values, grad=True, grad_output=_ones_like_output(deriv)),
                          [(got, want)], reference)
    check.status = "nondifferentiable" if conventions else "mismatch"
    check.conventions = conventions
    check.reason = None if conventions else f"the engine's {kind} and SymPy's disagree"
    return check


def fmt(x) -> str:
    from gradcli.render import fmt_num
    return fmt_num(x)


def _ones_like_output(deriv):
    return None if np.ndim(deriv.value) == 0 else np.ones(np.shape(deriv.value))
