"""The ledger (gradcli explain): the backward pass as a ledger a learner can follow.

One forward pass (forward.py) and one backward pass (engine.backward.backprop), the ledger written
from what backprop itself tells its observer, edge by edge, as it passes a gradient on: the
upstream gradient ∂out/∂node, the op row's local derivative (its formula in the inputs' own
text), the contribution that flows into the input (summed back to its shape where broadcasting
grew it) and the input's running total. Nothing is computed a second way: the contributions
into a variable add up, in backprop's order, to exactly the gradient evaluate() gives.

    >>> ledger = explain("a*b + c", a=2, b=3, c=4)
    >>> ledger.grad["a"]
    3.0

The ledger of a recorded Tensor graph (Tensor.backward(explain=True)) is built the same way; its
nodes have no text, so they are named t0, t1, ... and shown with their grad_fn names.
"""
from __future__ import annotations

import numpy as np

from gradcli.engine.ledger import FD_ELEMENTS, Ledger, Step, _edges, atomic

TEXT = 120                      # characters of a node's text the ledger keeps


# -- an expression ----------------------------------------------------------------------------------
def explain(source, values: dict | None = None, *, wrt=None, grad_output=None, **named) -> Ledger:
    """The ledger of an expression (text or parsed Expr) at a point: values as a dict and/or by
    name (explain("a*b + c", a=2, b=3, c=4)); wrt and grad_output as for evaluate."""
    from gradcli.lang.expr import paused_gc
    from gradcli.lang.parser import parse
    expr = parse(source) if isinstance(source, str) else source
    with paused_gc():
        return _explain(expr, {**(values or {}), **named}, wrt, grad_output)


def _explain(expr, values: dict, wrt, grad_output) -> Ledger:
    from gradcli.binding import bind, differentiated, finite, overflows
    from gradcli.evaluation import (Note, _plain, _seed, _through_expression, caution_notes, leaf_gradients,
                                    numeric_notes)
    from gradcli.forward import forward, gradient_paths
    from gradcli.graph import quiet

    names, bound = bind(expr, values, wrt)
    wrt_names = differentiated(names, wrt)
    nodes = expr.nodes()
    edges = []
    with quiet():
        needs = gradient_paths(nodes, set(wrt_names))
        run = forward(nodes, bound, needs=needs, kinks=True)     # every value kept: the ledger shows them all
        data = run.values[nodes[-1].id]
        seed = _seed(data, expr, grad_output)
        start = (np.float64(1.0) if np.ndim(data) == 0 else np.ones_like(data)) if seed is None else seed
        values_of = dict(run.values)                     # the backward pass lets values go as it passes them
        found = _through_expression(run, nodes, needs, start, observe=lambda *edge: edges.append(edge))
        notes = [Note(message) for message in overflows(values, bound)]
        if not finite(data):
            notes += numeric_notes(nodes, [values_of[n.id] for n in nodes])
        notes += caution_notes(run.cautions)
        # at a kink the gradient is a convention, and a finite difference straddles it: no estimate of it
        notes += [Note(f"not differentiable here: {convention}, at '{node.excerpt(60)}'; the finite difference "
                       "beside its gradient averages the two sides", node.span) for node, convention in run.kinks]
        grads = leaf_gradients(wrt_names, bound, found, notes, nodes)
        index = {node: i for i, node in enumerate(nodes)}
        forward_rows = [Step(i, _name(node), excerpt(node), node.op.symbol, [index[a] for a in node.args],
                             _plain(values_of[node.id]), _ref(node)) for i, node in enumerate(nodes)]

        def describe(node):
            return node.op, node.kw, [values_of[a.id] for a in node.args], values_of[node.id]
        backward = _edges(edges, index, forward_rows, describe)
        estimates = {n: _finite_difference(expr, bound, n, seed) for n in wrt_names}
    output = forward_rows[-1].name if getattr(nodes[-1], "label", None) else "out"
    return Ledger(expr.source, _plain(data), seed, forward_rows, backward, grads, estimates, output, notes)


def excerpt(node, limit: int = TEXT) -> str:
    """The node's text, or its first characters and " …" when longer than limit: cut between
    tokens, never inside a name or a number (x14*x1… would read as a number cut short)."""
    display = getattr(node, "display", None)          # a node a function's call made: its own text
    if display is not None:
        return display if len(display) <= limit else display[:limit - 2].rstrip() + " …"
    start, end = node.span.start, node.span.end
    if end - start <= limit:
        return node.source[start:end]
    cut = start + limit - 2
    word = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")
    source = node.source
    while cut > start and source[cut] in word and source[cut - 1] in word:      # inside a token: back off
        cut -= 1
    return source[start:cut].rstrip() + " …"


def _name(node) -> str | None:
    """A variable's name, or a named step's (y = a*b); None for the rest."""
    label = getattr(node, "label", None)
    if label:
        return label
    return node.kw["name"] if node.op.is_variable else None


def _ref(node) -> str:
    name = _name(node)
    if name:
        return name
    text = " ".join(excerpt(node).split())
    return text if atomic(text) else f"({text})"


def _finite_difference(expr, bound: dict, name: str, seed):
    """Central differences (Richardson extrapolated, check.finite's steps) of sum(out * seed) in
    each element of the variable: an array of estimates, NaN where not estimated (past
    FD_ELEMENTS elements)."""
    from gradcli.check.finite import _directional
    from gradcli.evaluation import evaluate
    weights = None if seed is None else np.asarray(seed, dtype=np.float64)

    def f(point):
        out = evaluate(expr, point, grad=False).value
        return float(np.sum(out * weights)) if weights is not None else float(np.sum(out))

    x = np.asarray(bound[name], dtype=np.float64)
    flat = x.ravel()
    est = np.full(flat.shape, np.nan)
    for j in range(min(flat.size, FD_ELEMENTS)):
        h = 1e-4 * (1.0 + abs(float(flat[j])))

        def along(t, j=j):
            moved = flat.copy()
            moved[j] += t
            return f({**bound, name: moved.reshape(x.shape) if x.ndim else float(moved[0])})
        est[j] = _directional(along, h)[0]
    return float(est[0]) if x.ndim == 0 else est.reshape(x.shape)
