"""gradcli's graph as a symbolic expression, built through the op table's builders (user text
never reaches a symbolic parser), and its derivatives. Every function takes the module the
builders are given, `sp`: SymPy's (the default), or SymEngine's (check/symengine_tree.py).

An array variable gets one real symbol per element (`x[0]`, `M[1,0]`).
"""
from __future__ import annotations

import numpy as np

from gradcli.forward import located
from gradcli.lang.expr import Expr
from gradcli.ops import NUM


def sympy():
    import sympy as sp
    return sp


def element_symbols(name: str, shape: tuple, sp=None) -> np.ndarray:
    """Real symbols for a variable: x, or x[0], x[1], ... or M[0,1], as an object array. Whatever
    the name (e, E, I, N, pi, lambda), a plain symbol: never the constant the module has by it."""
    sp = sp or sympy()
    if shape == ():
        return np.asarray(sp.Symbol(name, real=True), dtype=object)
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(shape):
        out[idx] = sp.Symbol(f"{name}[{','.join(map(str, idx))}]", real=True)
    return out


def number(value: float, sp=None):
    """A float as a symbolic number: an Integer when whole, else the exact binary Float."""
    return NUM.sympy(sp or sympy(), value=value)


def to_sympy(expr: Expr, env: dict) -> np.ndarray:
    """SymPy value of expr (an object array, 0-d for a scalar); env: name -> object array."""
    return to_tree(expr, env, sympy())


def to_tree(expr: Expr, env: dict, sp) -> np.ndarray:
    """The symbolic value of expr in module sp (an object array, 0-d for a scalar)."""
    return node_values(expr, env, sp)[expr.id]


def node_values(expr: Expr, env: dict, sp) -> dict:
    """The symbolic value of every node of expr: node id -> object array (0-d for a scalar)."""
    memo: dict[int, np.ndarray] = {}
    for node in expr.nodes():
        op, kw = node.op, node.kw
        if op.is_variable:
            value = env[kw["name"]]
        elif not node.args:
            value = op.sympy(sp, **kw)
        else:                   # shapes that do not fit are a ShapeError at the node, as in evaluate
            args = [memo[a.id] for a in node.args]
            try:
                value = _apply(sp, op, args, kw)
            except (ValueError, IndexError) as exc:
                raise located(node, args, exc) from None
        memo[node.id] = np.asarray(value, dtype=object)
    return memo


def _apply(sp, op, args: list, kw: dict):
    if op.elementwise:
        return np.frompyfunc(lambda *xs: op.sympy(sp, *xs, **kw), len(args), 1)(*args)
    return op.sympy(sp, *args, **kw)


def scalar_output(out: np.ndarray, seed, sp=None) -> object:
    """sum(seed * out): the scalar whose gradient backward(seed) computes."""
    sp = sp or sympy()
    if seed is None:
        return out[()] if out.ndim == 0 else out.reshape(-1)[0]
    weights = np.broadcast_to(np.asarray(seed, dtype=np.float64), out.shape)
    return sp.Add(*[number(float(w), sp) * o for w, o in zip(weights.reshape(-1), out.reshape(-1)) if w != 0])


_TERMS: dict = {"of": None, "by": {}}     # the last sum differentiated: symbol -> the terms holding it


def diff(f, symbol, sp=None):
    """The derivative; terms of a sum that do not contain the symbol are skipped (they give 0).
    Which terms hold which symbol is worked out once per sum, so that differentiating a sum of N
    terms by each of its N symbols takes time in N, not N^2."""
    if not f.is_Add:
        return f.diff(symbol)
    if _TERMS["of"] is not f:
        by: dict = {}
        for term in f.args:
            for s in term.free_symbols:
                by.setdefault(s, []).append(term)
        _TERMS.update(of=f, by=by)
    return (sp or sympy()).Add(*[term.diff(symbol) for term in _TERMS["by"].get(symbol, ())])


def each(array: np.ndarray, fn) -> np.ndarray:
    """fn of every element of an object array, as an object array of the same shape."""
    out = np.empty(array.shape, dtype=object)
    for idx in np.ndindex(array.shape):
        out[idx] = fn(array[idx])
    return out
