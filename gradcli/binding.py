"""Binding values to an expression's variables: which names it has, which are differentiated,
and their values, read; every mistake a BindError with a caret at the variable."""
from __future__ import annotations

import math

import numpy as np

from gradcli.errors import BindError, close_matches
from gradcli.lang.expr import Expr
from gradcli.ops import CONSTANTS, VAR
from gradcli.values import read_value


def check_names(expr: Expr, values: dict, wrt) -> list[str]:
    """Variables of expr; raises BindError for a constant or a name the expression lacks."""
    names = expr.variables()
    known = set(names)
    for name in list(values) + list(wrt or []):
        if name in CONSTANTS:
            raise BindError(f"'{name}' is a constant ({CONSTANTS[name]!r}); it cannot be given a value",
                            hint="rename the variable", name=name)
        if name not in known:
            close = close_matches(name, names, n=1)
            what = "--wrt names" if name not in values else "a value is given for"
            hint = f"did you mean '{close[0]}'?" if close else \
                (f"the expression's variables are {', '.join(names)}" if names else "the expression has no variables")
            raise BindError(f"{what} '{name}', which is not a variable of the expression", hint=hint, name=name)
    return names


def differentiated(names: list[str], wrt) -> list[str]:
    """The variables differentiated: those in wrt (all when wrt is None), in order of first appearance."""
    if wrt is None:
        return list(names)
    wanted = set(wrt)
    return [n for n in names if n in wanted]


def bind(expr: Expr, values: dict, wrt, what: str = "value",
         hint: str = "give it as --{name} VALUE or {name}=VALUE") -> tuple[list[str], dict]:
    """The variables of expr and their values, read; a BindError (with a caret at the
    variable) for a constant, a name the expression lacks, or a variable without a value."""
    names = check_names(expr, values, wrt)
    for name in names:
        if name not in values:
            node = next(n for n in expr.nodes() if n.op is VAR and n.kw["name"] == name)
            raise BindError(f"no {what} for '{name}'", node.span, source=expr.source, hint=hint.format(name=name))
    return names, {n: read_value(values[n], f"value of {n}") for n in names}


def finite(data) -> bool:
    if type(data) in (float, np.float64):
        return math.isfinite(data)
    return bool(np.isfinite(data).all())


def overflows(given: dict, bound: dict) -> list[str]:
    """Warnings for values written as finite numbers beyond a float's range (1e400): they are inf."""
    out = []
    for name, text in given.items():
        written = (isinstance(text, int) and not isinstance(text, bool)) or \
            (isinstance(text, str) and "inf" not in text.lower() and "nan" not in text.lower())
        if not written or finite(bound.get(name, 0.0)):     # arrays given as arrays: nothing to say
            continue
        if isinstance(text, int):
            digits = len(str(abs(text))) if abs(text).bit_length() < 14_000 else "thousands of"
            out.append(f"the value of {name} (an integer of {digits} digits) is beyond the range of a float: "
                       "it overflows to inf")
        else:
            out.append(f"the value of {name} ({text[:40]}) is beyond the range of a float: it overflows to inf")
    return out


