"""Results that stay symbolic: an expression with free variables (its value and gradients as
formulas, the bound values substituted), and `gradcli diff`'s simplified derivatives. SymPy, built
from gradcli's own graph (check/tree.py) and printed back as gradcli syntax (render/formulas.py)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradcli.binding import check_names, differentiated
from gradcli.check.deadline import CheckTimeout, deadline
from gradcli.check.policy import DEFAULT
from gradcli.render.formulas import latex_array, text_array, to_text
from gradcli.check.tree import diff, each, element_symbols, number, scalar_output, sympy, to_sympy
from gradcli.errors import BindError, GradcliError
from gradcli.lang.expr import Expr
from gradcli.values import read_value


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
                      timeout: float | None = DEFAULT.timeout) -> SymbolicResult:
    """Value and gradients with the unbound variables left as symbols (bound ones substituted)."""
    names = check_names(expr, values, wrt)
    bound = {n: read_value(v, f"value of {n}") for n, v in values.items()}
    free = [n for n in names if n not in bound]
    symbols = {n: element_symbols(n, np.shape(bound.get(n, 0.0))) for n in names}
    nice = {}
    for n in bound:
        vals = np.broadcast_to(np.asarray(bound[n], dtype=np.float64), symbols[n].shape)
        for idx in np.ndindex(vals.shape):
            nice[symbols[n][idx]] = number(float(vals[idx]))
    wanted = differentiated(names, wrt)
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

    def texts(self) -> dict:
        """name -> gradcli syntax of the derivative (nested lists for an array variable)."""
        return {n: text_array(g) for n, g in self.grad.items()}

    def latex(self) -> dict:
        """name -> LaTeX of the derivative (a bmatrix for an array variable)."""
        return {n: latex_array(g) for n, g in self.grad.items()}

    def function_latex(self) -> str:
        """The function's LaTeX, in parentheses when it is a sum (it is written after d/dx)."""
        f = sympy().latex(self.function)
        return f"\\left({f}\\right)" if self.function.is_Add else f


def derivatives(expr: Expr, wrt=None, *, shapes: dict | None = None, simplify: bool = True,
                timeout: float | None = DEFAULT.timeout) -> Derivation:
    """The SymPy derivatives of a scalar expression (every variable a symbol, or an array of
    symbols for those given a shape), simplified if that finishes within its own timeout."""
    shapes = shapes or {}
    names = check_names(expr, dict.fromkeys(shapes), wrt)
    wanted = differentiated(names, wrt)
    symbols = {n: element_symbols(n, tuple(shapes.get(n, ()))) for n in names}
    try:
        with deadline(timeout):
            out = to_sympy(expr, symbols)
            if out.size != 1:
                raise GradcliError(f"gradcli diff needs a scalar expression; this one has shape {out.shape}",
                                   expr.span, source=expr.source,
                                   hint="wrap it in sum(...), or use gradcli jacobian")
            f = out.reshape(-1)[0]
            grad = {n: each(symbols[n], lambda s: diff(f, s)) for n in wanted}
    except CheckTimeout as exc:
        raise GradcliError(f"the derivative took too long: {exc}", hint="raise --check-timeout") from None
    if simplify:
        try:
            with deadline(timeout):
                return Derivation(f, {n: each(d, simpler) for n, d in grad.items()}, True)
        except CheckTimeout:
            pass
    return Derivation(f, grad, False)


SIMPLIFY_POWER = 64         # simplify() expands (a+b)^n: with a larger integer n it would take n terms of memory


def simplifiable(d) -> bool:
    """Whether simplify() can work on d in bounded memory: no integer power beyond SIMPLIFY_POWER
    of a sum (SymPy's cancel() expands it into its binomial terms)."""
    return not any(p.exp.is_Integer and abs(int(p.exp)) > SIMPLIFY_POWER and not p.base.is_Atom
                   for p in d.atoms(sympy().Pow))


def simpler(d):
    """SymPy's simplify(d) if it prints shorter and still reads as gradcli syntax, else d."""
    from gradcli.errors import ParseError
    from gradcli.lang.parser import parse
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
