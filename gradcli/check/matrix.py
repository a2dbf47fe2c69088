"""The cross-check of a Hessian or a Jacobian, entry by entry, against the exact one (SymEngine's,
or SymPy's where SymEngine cannot)."""
from __future__ import annotations

import numpy as np

from gradcli.check.cross import SYMPY_CAP, exactly, settled
from gradcli.check.policy import DEFAULT, EXACT, Check, skipped
from gradcli.check.tree import diff, element_symbols, to_tree
from gradcli.check.verdict import abs_error, close, explain


def matrix_check(kind: str, deriv, *, rtol: float = DEFAULT.rtol, atol: float = DEFAULT.atol,
                 timeout: float | None = DEFAULT.timeout, using: str = DEFAULT.using) -> Check:
    """Compare an engine Hessian or Jacobian with the exact one, entry by entry."""
    got = deriv.hessian if kind == "hessian" else deriv.jacobian
    names = deriv.expr.variables()
    total = sum(int(np.size(deriv.values[n])) for n in names)
    if total > SYMPY_CAP or got.size > SYMPY_CAP * 4:
        return skipped(f"{total} elements: too many for a symbolic {kind}")
    if got.size == 0:
        return skipped("no variable to differentiate")
    answer = exactly(lambda backend: exact_matrix(kind, deriv, names, backend, got), deriv.expr,
                     using=using, timeout=timeout, rtol=rtol, atol=atol,
                     settled=lambda found: settled(deriv.value, found[1], {kind: got}, {kind: found[0]}))
    if isinstance(answer, Check):
        return answer
    method, (want, reference, formulas) = answer
    agree = bool(np.all(close(got, want, rtol, atol)))
    check = Check("ok", method, abs_error(got, want), {kind: formulas}, {kind: want}, {kind: agree},
                  rtol=rtol, atol=atol)
    # As for gradients: a non-finite entry is never ok, and one where the reference's is finite and
    # the row's output is defined is a mismatch ([1/x, x] at 0: the second row's 0*inf).
    if agree and np.all(np.isfinite(got)) and np.all(np.isfinite(reference)):
        return check
    with np.errstate(invalid="ignore"):
        wrong = ~np.isfinite(got) & np.isfinite(want) & np.isfinite(reference)
    who = EXACT[method]
    if np.any(wrong):
        i, j = map(int, np.argwhere(wrong)[0])
        check.status = "mismatch"
        check.reason = (f"the engine's {kind} entry [{i}, {j}] is {fmt(got[i, j])} where {who}'s is "
                        f"{fmt(want[i, j])}, at a point where the expression is defined")
        return check
    conventions = explain(deriv, [(got, want)], reference)
    check.status = "nondifferentiable" if conventions else "mismatch"
    check.conventions = conventions
    check.reason = None if conventions else f"the engine's {kind} and {who}'s disagree"
    return check


def exact_matrix(kind: str, deriv, names, backend, got) -> tuple:
    """The exact entries at the point, the value of the output each row differentiates (whether
    the point is in its domain), and the entries' formulas."""
    from gradcli.check.backend import Unsupported
    sp = backend.module()
    symbols = {n: element_symbols(n, np.shape(deriv.values[n]), sp) for n in names}
    out = to_tree(deriv.expr, symbols, sp)
    point = backend.point_of(deriv.values, symbols)
    flat = [s for n in deriv.variables for s in np.ravel(symbols[n])]
    if kind == "hessian":
        f = out.reshape(-1)[0]
        first = [diff(f, s, sp) for s in flat]
        entries = [[diff(d, s, sp) for s in flat] for d in first]
        outputs = [f] * len(entries)
    else:
        outputs = list(out.reshape(-1))
        entries = [[diff(o, s, sp) for s in flat] for o in outputs]
    if not all(map(backend.exact, outputs)):
        raise Unsupported("an unevaluated derivative")
    want = np.array([[backend.evaluate_at(e, point) for e in row] for row in entries], dtype=np.float64)
    for i, j in zip(*np.nonzero(~close(got, want, DEFAULT.rtol, DEFAULT.atol))):     # is the reference settled?
        want[i, j] = backend.confirm(entries[i][j], point, want[i, j])
    reference = np.array([[backend.evaluate_at(o, point)] for o in outputs], dtype=np.float64)
    formulas = [[backend.to_text(e) for e in row] for row in entries]
    return want, reference, formulas


def fmt(x) -> str:
    from gradcli.render.numbers import fmt_num
    return fmt_num(x)
