"""Beyond one gradient: Hessians (reverse over reverse) and Jacobians (one VJP per output row).

Variables are flattened in order of first appearance, an array variable
contributing its elements in C order; `labels` names each flattened entry
(`x`, `v[0]`, `M[1,0]`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gradcli.binding import bind, differentiated
from gradcli.engine.backward import grad
from gradcli.graph import enable_grad
from gradcli.engine.tensor import Tensor
from gradcli.errors import GradOutputError, ShapeError
from gradcli.evaluation import numeric_notes
from gradcli.forward import forward, gradient_paths
from gradcli.lang.expr import Expr
from gradcli.lang.parser import parse


@dataclass
class Derivatives:
    expr: Expr
    variables: list             # names differentiated, in order of first appearance
    labels: list                # one per flattened entry: x, v[0], M[1,0]
    values: dict                # every variable's value
    value: object               # the expression's value
    grad: dict | None = None    # name -> gradient (Hessian only)
    hessian: np.ndarray | None = None
    jacobian: np.ndarray | None = None
    notes: list = field(default_factory=list)
    kinks: list = field(default_factory=list)     # (node, convention): non-differentiable points passed


def labels_of(names: list[str], values: dict) -> list[str]:
    out = []
    for name in names:
        shape = np.shape(values[name])
        if shape == ():
            out.append(name)
        else:
            out.extend(f"{name}[{','.join(map(str, idx))}]" for idx in np.ndindex(shape))
    return out


def _graph(source, values: dict, wrt):
    """Parse, bind and record the graph with the wrt variables requiring grad; returns the pieces."""
    expr = parse(source) if isinstance(source, str) else source
    names, bound = bind(expr, values, wrt)
    wanted = differentiated(names, wrt)
    leaves = {n: Tensor(bound[n], requires_grad=n in wanted) for n in names}
    nodes = expr.nodes()
    with enable_grad(), np.errstate(all="ignore"):
        run = forward(nodes, bound, leaves=leaves, needs=gradient_paths(nodes, set(wanted)), kinks=True)
    out = run.values[expr.id]
    notes = [] if np.isfinite(out.data).all() else numeric_notes(nodes, [run.values[n.id].data for n in nodes])
    return expr, bound, wanted, leaves, out, notes, run.kinks


def _row(output: Tensor, inputs: list[Tensor], retain: bool = True) -> np.ndarray:
    """d output / d inputs, flattened and concatenated."""
    if not output.requires_grad:
        return np.zeros(sum(t.data.size for t in inputs))
    gs = grad(output, inputs, retain_graph=retain)
    return np.concatenate([np.ravel(g.data) for g in gs]) if gs else np.zeros(0)


def _entries(t: Tensor) -> list[Tensor]:
    """The elements of a tensor as scalar tensors (recorded index ops), C order."""
    if t.ndim == 0:
        return [t]
    return [t[idx] for idx in np.ndindex(t.shape)]


MAX_ENTRIES = 1_000_000     # entries of a Hessian or Jacobian (8 MB of float64)


def _limit(kind: str, rows: int, cols: int, expr: Expr) -> None:
    if rows * cols > MAX_ENTRIES:
        raise ShapeError(f"the {kind} would have {rows:,} x {cols:,} = {rows * cols:,} entries; "
                         f"the limit is {MAX_ENTRIES:,}", expr.span, source=expr.source,
                         hint="differentiate with respect to fewer variables (--wrt), or use gradcli eval "
                              "for one vector-Jacobian product")


def hessian(source, values: dict, wrt=None) -> Derivatives:
    """The Hessian of a scalar expression: the gradient, differentiated again by the engine."""
    expr, bound, wanted, leaves, out, notes, kinks = _graph(source, values, wrt)
    if out.data.size != 1:
        raise GradOutputError(f"a Hessian needs a scalar expression; this one has shape {out.shape}",
                              expr.span, source=expr.source, hint="use gradcli jacobian for a vector output")
    inputs = [leaves[n] for n in wanted]
    labels = labels_of(wanted, bound)
    _limit("Hessian", len(labels), len(labels), expr)
    with np.errstate(all="ignore"):
        if out.requires_grad:
            first = grad(out, inputs, create_graph=True)
        else:
            first = [Tensor(np.zeros_like(t.data)) for t in inputs]
        components = [e for g in first for e in _entries(g)]
        rows = [_row(c, inputs) for c in components]
    h = np.array(rows, dtype=np.float64).reshape(len(labels), len(labels))
    grads = {n: (float(g.data) if g.ndim == 0 else np.array(g.data)) for n, g in zip(wanted, first)}
    return Derivatives(expr, wanted, labels, bound, _plain(out.data), grads, hessian=h, notes=notes, kinks=kinks)


def jacobian(source, values: dict, wrt=None) -> Derivatives:
    """The Jacobian of a (vector) expression: one vector-Jacobian product per output element."""
    expr, bound, wanted, leaves, out, notes, kinks = _graph(source, values, wrt)
    inputs = [leaves[n] for n in wanted]
    labels = labels_of(wanted, bound)
    _limit("Jacobian", out.data.size, len(labels), expr)
    with np.errstate(all="ignore"):
        rows = [_row(e, inputs) for e in _entries(out)]
    j = np.array(rows, dtype=np.float64).reshape(out.data.size, len(labels))
    return Derivatives(expr, wanted, labels, bound, _plain(out.data), jacobian=j, notes=notes, kinks=kinks)


def _plain(data):
    return float(data) if np.ndim(data) == 0 else np.array(data)
