"""SymPy expressions written back as gradcli syntax, which pastes into `gradcli eval`: ^ for
power, e, inf, exact float digits, and every function under its op-table row's name (Abs is
abs, Heaviside heaviside, Max(a, b, c) max(a, max(b, c))). LaTeX for `diff -f latex`."""
from __future__ import annotations

import sys
from contextlib import contextmanager

import numpy as np

from gradcli.ops import heads


def sympy():
    import sympy as sp
    return sp


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


def to_text(e) -> str:
    """gradcli syntax: ^ for power, abs, max, e, exact float digits; pastes back into eval."""
    with every_digit():
        return _printer().doprint(e)


def text_array(values: np.ndarray, text=to_text):
    """A string, or nested lists of strings, shaped like the array (text: the printer, SymPy's
    by default)."""
    if values.ndim == 0:
        return text(values[()])
    if values.ndim == 1:
        return [text(v) for v in values]
    return [text_array(row, text) for row in values]


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


_PRINTER = []


def _printer():
    if not _PRINTER:
        _PRINTER.append(_printer_class()())
    return _PRINTER[0]


def _printer_class():
    from sympy.printing.str import StrPrinter

    from gradcli.render.numbers import fmt_num

    class GradcliPrinter(StrPrinter):
        def _print_Pow(self, expr, rational=False):
            return super()._print_Pow(expr, rational).replace("**", "^")

        def _print_Float(self, expr):
            return fmt_num(float(expr))

        def _print_Exp1(self, expr):
            return "e"

        def _print_Infinity(self, expr):
            return "inf"

        def _print_NegativeInfinity(self, expr):
            return "-inf"

        def _print_Piecewise(self, expr):
            # Piecewise((a, c1), (b, c2), (d, True)) is where(c1, a, where(c2, b, d))
            *pieces, (last, cond) = expr.args
            text = self._print(last) if cond is sympy().true else "nan"
            if cond is not sympy().true:
                pieces.append((last, cond))
            for value, cond in reversed(pieces):
                condition = self._print(cond)
                if cond.is_Relational:
                    condition = condition[1:-1]
                text = f"where({condition}, {self._print(value)}, {text})"
            return text

        def _print_Relational(self, expr):
            return f"({self._print(expr.lhs)} {expr.rel_op} {self._print(expr.rhs)})"

        def _print_frac(self, expr):             # SymPy's fractional part, in gradcli's words
            return f"mod({self._print(expr.args[0])}, 1)"

        def _print_BooleanTrue(self, expr):
            return "1"

        def _print_BooleanFalse(self, expr):
            return "0"

    for head, op in heads().items():
        if head != op.symbol:           # SymPy names it otherwise: print the row's own name
            setattr(GradcliPrinter, f"_print_{head}", _spelled(op.symbol, op.arity))
    return GradcliPrinter


def _spelled(name: str, arity: int):
    """A print method writing name(args): Max(a, b, c) as max(a, max(b, c)) for a binary row."""
    def print_it(self, expr):
        args = [self._print(a) for a in expr.args]
        if arity != 2:
            return f"{name}({', '.join(args[:arity])})"
        text = args[-1]
        for a in reversed(args[:-1]):
            text = f"{name}({a}, {text})"
        return text
    return print_it
