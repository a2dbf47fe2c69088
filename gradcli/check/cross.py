"""The cross-check of one gradient: SymPy's derivative of sum(seed * output) by each variable's
element, at the point, against the engine's; finite differences above SYMPY_CAP elements."""
from __future__ import annotations

import numpy as np

from gradcli.check.deadline import CheckTimeout, deadline
from gradcli.check.finite import finite_difference_check
from gradcli.check.policy import DEFAULT, Check, skipped
from gradcli.check.precise import evaluate_at, point_of
from gradcli.check.printer import text_array
from gradcli.check.tree import diff, element_symbols, scalar_output, to_sympy
from gradcli.check.verdict import compare

SYMPY_CAP = 256             # per-element symbols for at most this many elements in all
SYMPY_FAILS = (RecursionError, MemoryError, ValueError, TypeError, ArithmeticError, AttributeError)


def cross_check(result, *, rtol: float = DEFAULT.rtol, atol: float = DEFAULT.atol,
                timeout: float | None = DEFAULT.timeout) -> Check:
    """Compare the engine's gradients in `result` with SymPy's (or finite differences)."""
    if result.grad is None:
        return skipped("--no-grad")
    if not result.wrt:
        return skipped("no variable to differentiate")
    total = sum(int(np.size(result.values[n])) for n in result.variables)
    if total > SYMPY_CAP:
        check = finite_difference_check(result, rtol=rtol, atol=atol, timeout=timeout)
        check.reason = check.reason or f"{total} elements: more than {SYMPY_CAP} for per-element symbols"
        return check
    try:
        with deadline(timeout):
            expected, formulas, reference = sympy_gradient(result)
    except CheckTimeout as exc:
        return Check("timeout", "sympy", reason=f"{exc}; raise --check-timeout to wait longer", rtol=rtol, atol=atol)
    except SYMPY_FAILS as exc:
        return failed(exc, rtol, atol)
    return compare(result, expected, "sympy", formulas, rtol, atol, reference)


def failed(exc: Exception, rtol: float, atol: float) -> Check:
    return Check("error", "sympy", reason=f"SymPy failed: {type(exc).__name__}: {exc}"[:300], rtol=rtol, atol=atol)


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
