"""The cross-check of one gradient: the exact derivative of sum(seed * output) by each variable's
element (SymEngine's, or SymPy's where SymEngine cannot; see backend.py), at the point, against
the engine's; finite differences above SYMBOLIC_CAP elements."""
from __future__ import annotations

import numpy as np

from gradcli.check.backend import NOT_EXACT, Unsupported, backends
from gradcli.check.deadline import CheckTimeout, deadline
from gradcli.check.finite import finite_difference_check
from gradcli.check.policy import DEFAULT, EXACT, Check, skipped
from gradcli.render.formulas import text_array
from gradcli.check.tree import diff, element_symbols, scalar_output, to_tree
from gradcli.check.verdict import agrees, all_finite, compare

SYMPY_CAP = 256             # per-element symbols for at most this many elements in all
SYMPY_FAILS = (RecursionError, MemoryError, ValueError, TypeError, ArithmeticError, AttributeError)


def cross_check(result, *, rtol: float = DEFAULT.rtol, atol: float = DEFAULT.atol,
                timeout: float | None = DEFAULT.timeout, using: str = DEFAULT.using) -> Check:
    """Compare the engine's gradients in `result` with the exact ones (or finite differences)."""
    if result.grad is None:
        return skipped("--no-grad")
    if not result.wrt:
        return skipped("no variable to differentiate")
    total = sum(int(np.size(result.values[n])) for n in result.variables)
    if total > SYMPY_CAP:
        check = finite_difference_check(result, rtol=rtol, atol=atol, timeout=timeout)
        check.reason = check.reason or f"{total} elements: more than {SYMPY_CAP} for per-element symbols"
        return check
    answer = exactly(lambda backend: symbolic_gradient(result, backend), result.expr,
                     using=using, timeout=timeout, rtol=rtol, atol=atol,
                     settled=lambda found: settled(result.value, found[2], result.grad, found[0]))
    if isinstance(answer, Check):
        return answer
    method, (expected, formulas, reference) = answer
    return compare(result, expected, method, formulas, rtol, atol, reference)


def exactly(work, expr, *, using: str, timeout: float | None, rtol: float, atol: float, settled):
    """(the backend's name, work(backend)) from the first backend for expr that answers exactly,
    all within one deadline; or the Check that says why none did (timeout, error, skipped).
    Under auto, an answer that is not settled(answer) goes to SymPy too, and SymPy's is the verdict
    (SymEngine's stands if SymPy then fails or runs out of time)."""
    try:
        tried = backends(expr, using)
    except Unsupported as exc:
        return skipped(str(exc))
    name, unsettled = tried[0].name, None
    try:
        with deadline(timeout):
            for backend in tried[:-1]:
                try:
                    found = work(backend)
                except NOT_EXACT + SYMPY_FAILS:
                    continue
                if settled(found):
                    return backend.name, found
                unsettled = backend.name, found
            name = tried[-1].name
            return name, work(tried[-1])
    except Unsupported as exc:                  # SymEngine alone was asked for
        return skipped(f"SymEngine cannot do this exactly: {exc}; --check-with auto uses SymPy for it")
    except CheckTimeout:
        return unsettled or Check("timeout", name, reason=f"{EXACT[name]} took longer than {timeout:g} s; raise "
                                  "--check-timeout to wait longer", rtol=rtol, atol=atol)
    except NOT_EXACT + SYMPY_FAILS as exc:
        return unsettled or failed(exc, rtol, atol, name)


def settled(value, reference, got: dict, want: dict) -> bool:
    """Whether SymEngine's answer stands: unless the output is finite and a gradient, the engine's
    or SymEngine's, is not. There SymPy decides, for its real assumptions may remove a singularity
    (sqrt(x^2) is abs(x), with derivative sign(x), where SymEngine's x/sqrt(x^2) is 0/0) and its
    branch cuts are the ones the check has always used (((-a)^a)^a at a = 1). Two finite gradients
    that disagree are a mismatch SymEngine can say (evaluated again at four and eight times the
    precision)."""
    if not (all_finite(value) or all_finite(reference)):
        return True
    return all(all_finite(got[n]) and all_finite(w) for n, w in want.items())


def failed(exc: Exception, rtol: float, atol: float, method: str = "sympy") -> Check:
    return Check("error", method, reason=f"{EXACT[method]} failed: {type(exc).__name__}: {exc}"[:300], rtol=rtol, atol=atol)


def symbolic_gradient(result, backend) -> tuple[dict, dict, float]:
    """The exact gradient of sum(seed * output) at the point: values and formula texts per
    variable, and the value of sum(seed * output) itself (nan where it is not real)."""
    sp = backend.module()
    symbols = {n: element_symbols(n, np.shape(result.values[n]), sp) for n in result.variables}
    out = to_tree(result.expr, symbols, sp)
    f = scalar_output(out, result.seed, sp)
    if not backend.exact(f):            # then no derivative of it is either (see symengine_tree.exact)
        raise Unsupported(f"no exact form for {result.expr.source}")
    point = backend.point_of(result.values, symbols)
    expected, formulas = {}, {}
    for name in result.wrt:
        syms = symbols[name]
        if syms.shape == ():                            # one number, without arrays
            d = diff(f, syms[()], sp)
            value = backend.evaluate_at(d, point)
            if not agrees(result.grad[name], value, DEFAULT.rtol, DEFAULT.atol):
                value = backend.confirm(d, point, value)
            expected[name], formulas[name] = value, backend.to_text(d)
            continue
        derivs = np.empty(syms.shape, dtype=object)
        values = np.empty(syms.shape, dtype=np.float64)
        for idx in np.ndindex(syms.shape):
            derivs[idx] = d = diff(f, syms[idx], sp)
            values[idx] = backend.evaluate_at(d, point)
        engine = np.broadcast_to(np.asarray(result.grad[name], dtype=np.float64), syms.shape)
        for idx in np.ndindex(syms.shape):              # where they disagree: is the reference settled?
            if not agrees(float(engine[idx]), float(values[idx]), DEFAULT.rtol, DEFAULT.atol):
                values[idx] = backend.confirm(derivs[idx], point, values[idx])
        expected[name], formulas[name] = values, text_array(derivs, backend.to_text)
    return expected, formulas, backend.evaluate_at(f, point)
