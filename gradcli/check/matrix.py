"""The cross-check of a Hessian or a Jacobian, entry by entry, against SymPy's."""
from __future__ import annotations

import numpy as np

from gradcli.check.cross import SYMPY_CAP, SYMPY_FAILS, failed
from gradcli.check.deadline import CheckTimeout, deadline
from gradcli.check.policy import DEFAULT, Check, skipped
from gradcli.check.precise import evaluate_at, point_of
from gradcli.check.printer import to_text
from gradcli.check.tree import diff, element_symbols, to_sympy
from gradcli.check.verdict import abs_error, close, explain


def matrix_check(kind: str, deriv, *, rtol: float = DEFAULT.rtol, atol: float = DEFAULT.atol,
                 timeout: float | None = DEFAULT.timeout) -> Check:
    """Compare an engine Hessian or Jacobian with SymPy's, entry by entry."""
    got = deriv.hessian if kind == "hessian" else deriv.jacobian
    names = deriv.expr.variables()
    total = sum(int(np.size(deriv.values[n])) for n in names)
    if total > SYMPY_CAP or got.size > SYMPY_CAP * 4:
        return skipped(f"{total} elements: too many for a symbolic {kind}")
    if got.size == 0:
        return skipped("no variable to differentiate")
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
    except SYMPY_FAILS as exc:
        return failed(exc, rtol, atol)
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
    conventions = explain(deriv, [(got, want)], reference)
    check.status = "nondifferentiable" if conventions else "mismatch"
    check.conventions = conventions
    check.reason = None if conventions else f"the engine's {kind} and SymPy's disagree"
    return check


def fmt(x) -> str:
    from gradcli.render.numbers import fmt_num
    return fmt_num(x)
