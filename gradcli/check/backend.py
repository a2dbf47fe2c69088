"""The two symbolic backends behind one interface, and which one checks an expression.

SymEngine (check/symengine_tree.py) builds, differentiates and evaluates in C++: about a thousand
times SymPy's pace, and (numpy loaded) `import symengine` adds a fifth of numpy's import. SymPy (tree.py,
precise.py, render/formulas.py) does what SymEngine cannot do exactly: derivatives of abs, sign,
heaviside, max and min (the rows with `symengine=False`), exact powers it would evaluate digit by
digit, and anything whose SymEngine derivative is left unevaluated. With `--check-with auto` an
expression goes to SymEngine unless it needs SymPy; `symengine` or `sympy` ask for one of them.
"""
from __future__ import annotations

import sys
from functools import lru_cache
from typing import Callable, NamedTuple

from gradcli.check.symengine_tree import Unsupported


class Backend(NamedTuple):
    name: str                   # as check.method says it
    module: Callable            # () -> what the op table's builders get as sp
    point_of: Callable          # (values, symbols) -> {symbol: value}
    evaluate_at: Callable       # (expression, point) -> float, at high precision
    confirm: Callable           # (expression, point, value) -> the value, or nan where the precision does not settle it
    to_text: Callable           # expression -> gradcli syntax
    exact: Callable             # a built tree -> whether it and its derivatives can be trusted (no Derivative left)


@lru_cache(maxsize=None)
def _sympy_backend() -> Backend:
    from gradcli.check import precise, tree
    from gradcli.render import formulas
    return Backend("sympy", tree.sympy, precise.point_of, precise.evaluate_at, precise.confirm,
                   formulas.to_text, lambda d: True)


@lru_cache(maxsize=None)
def _symengine_backend() -> Backend | None:
    """SymEngine's backend, or None where symengine cannot be imported (said once, on stderr)."""
    try:
        import symengine as se
    except ImportError as exc:
        sys.stderr.write(f"gradcli: symengine cannot be imported ({exc}); the check uses SymPy\n")
        return None
    from gradcli.check import symengine_tree as st
    module = st.Module(se)
    return Backend("symengine", lambda: module, lambda values, symbols: st.point_of(se, values, symbols),
                   st.evaluate_at, st.confirm, st.to_text, st.exact)


def prepare(using: str = "auto") -> None:
    """Import what the check will use (before forking workers, so that each need not)."""
    if using == "sympy" or _symengine_backend() is None:
        _sympy_backend().module()


def backends(expr, using: str = "auto") -> list[Backend]:
    """The backends to try for expr, in order: SymEngine then SymPy for auto (SymPy alone where a
    row needs it), the one asked for otherwise. Unsupported: SymEngine was asked for and cannot."""
    if using == "sympy":
        return [_sympy_backend()]
    fast = _symengine_backend()
    if fast is None:
        return [_sympy_backend()]
    needs = sorted({node.op.symbol for node in expr.nodes() if not node.op.symengine})
    if using == "symengine":
        if needs:
            raise Unsupported(f"SymEngine does not differentiate {', '.join(needs)}; --check-with auto uses SymPy for it")
        return [fast]
    return [_sympy_backend()] if needs else [fast, _sympy_backend()]


# What a SymEngine attempt may raise that means, under auto: let SymPy do it.
NOT_EXACT = (Unsupported, RuntimeError, NotImplementedError)
