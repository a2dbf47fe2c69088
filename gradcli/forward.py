"""The one forward pass over an expression's DAG, for every caller.

Plain values (evaluate, values, points), the recorded Tensor graph (--tree, --retain-grad,
gradcli graph, Hessians and Jacobians) and the case where every value is a number all run
this loop; the arguments choose. It notes, as it goes, the kinks it passes through (an op at
a point where it is not differentiable), so that the cross-check never needs to evaluate again.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from gradcli.graph import apply, make
from gradcli.errors import GradcliError, ShapeError
from gradcli.lang.expr import Expr
from gradcli.ops import VAR


class Pass(NamedTuple):
    """What the forward pass leaves: every node's value (Tensors when recorded; with drop, the
    ones no gradient reads are let go), their shapes, and the kinks met."""
    values: dict                    # node id -> value
    shapes: dict | None             # node id -> shape; None when every value is a number
    kinks: list                     # (node, convention)
    cautions: list                  # (node, message): results that are IEEE's (a singular matrix)

    def shape(self, node: Expr) -> tuple:
        return () if self.shapes is None else self.shapes.get(node.id, ())


def forward(nodes: list[Expr], bound: dict, *, leaves: dict | None = None, needs: set | None = None,
            drop: bool = False, kinks: bool = False) -> Pass:
    """Every node's value, inputs first (nodes is a topological order; the output is last).

    bound: variable name -> value. leaves: name -> Tensor, to record the graph (the values are
    then Tensors). needs: the nodes a gradient flows to. drop: let a value go as soon
    as its last consumer has run, unless a gradient reads it (the rows' `saves`); one whose shape
    alone is read stays as a zero-size stand-in. kinks: note the kinks on the nodes in needs.
    Shape errors get the node's span.
    """
    read, shape_only, uses = _reads(nodes, needs) if drop else (set(), set(), {})
    if leaves is not None:
        from gradcli.engine.tensor import Tensor    # recorded only: plain values start faster without it
    values: dict[int, object] = {}
    shapes: dict[int, tuple] = {}
    numbers = True
    recorded = leaves is not None
    met, cautions = [], []
    root = nodes[-1].id
    for node in nodes:
        op, args = node.op, node.args
        if args:
            inputs = [values[a.id] for a in args]
            try:
                v = apply(op, *inputs, **node.kw) if recorded else op.forward(*inputs, **node.kw)
            except (ValueError, IndexError, MemoryError, GradcliError) as exc:
                raise located(node, inputs, exc) from None
            if op.watched:
                data = [a.data for a in inputs] if recorded else inputs
                if op.caution is not None and op.caution.where(*data):
                    cautions.append((node, op.caution.message))
                if kinks and op.kink is not None and (needs is None or node in needs or
                                                      (op.stops and any(a in needs for a in args))):   # a < b
                    if op.kink.where(*data, **node.kw):
                        met.append((node, op.kink.convention))
            if drop:
                for a in args:
                    uses[a.id] -= 1
                    if uses[a.id] == 0 and a.args and a.id != root and a.id not in read:
                        values[a.id] = np.broadcast_to(np.float64(0.0), shapes.get(a.id, ())) \
                            if a.id in shape_only else None
        elif op is VAR:
            name = node.kw["name"]
            v = leaves[name] if recorded else bound[name]
            if type(v) is float:
                v = np.float64(v)
        else:
            v = op.forward(**node.kw)
            if recorded:
                v = make(Tensor, v)
        values[node.id] = v
        if numbers:         # while every value is a number, no shape needs noting (all are ())
            if type(v.data if recorded else v) is np.float64:
                continue
            numbers = False
        shapes[node.id] = np.shape(v.data if recorded else v)
    return Pass(values, None if numbers else shapes, met, cautions)


def _reads(nodes: list[Expr], needs: set | None) -> tuple[set, set, dict]:
    """Which values a gradient reads (whole, or its shape alone), and how many consumers each has."""
    uses: dict[int, int] = {}
    read: set[int] = set()
    shape_only: set[int] = set()
    for node in nodes:
        for i, a in enumerate(node.args):
            uses[a.id] = uses.get(a.id, 0) + 1
            if needs is not None and a not in needs:
                continue
            saves = node.op.reads(i)
            if saves in ("ans", "all"):
                read.add(node.id)
            if saves in ("inputs", "all"):
                read.update(b.id for b in node.args)
            elif saves == "shape":
                shape_only.update(b.id for b in node.args)
    return read, shape_only, uses


def gradient_paths(nodes: list[Expr], wanted: set) -> set[Expr]:
    """The nodes a gradient flows to: those that depend on a wanted variable."""
    needs: set[Expr] = set()
    for node in nodes:
        if node.op is VAR:
            if node.kw["name"] in wanted:
                needs.add(node)
            continue
        if node.op.stops:               # a < b: no gradient flows into a comparison
            if any(a in needs and node.op.flows(i) for i, a in enumerate(node.args)):
                needs.add(node)
            continue
        for a in node.args:
            if a in needs:
                needs.add(node)
                break
    return needs


def located(node: Expr, args: list, exc: Exception) -> GradcliError:
    """numpy's complaint about an op's inputs, as an error pointing at the node."""
    if isinstance(exc, GradcliError):
        return exc.at(node.span, node.source)
    shapes = [tuple(np.shape(getattr(a, "data", a))) for a in args]
    if isinstance(exc, MemoryError):
        return ShapeError(f"'{node.op.symbol}' on shapes {' and '.join(map(str, shapes))} needs more memory "
                          "than there is", node.span, source=node.source)
    op = node.op
    message = op.explain(shapes, **node.kw) if op.explain else \
        f"shapes {' and '.join(map(str, shapes))} do not fit '{op.symbol}'"
    hint = op.hint or ("arrays must have equal shapes or shapes that broadcast (numpy rules)"
                       if op.elementwise else None)
    span = node.span
    text = str(exc)
    if "duplicate value in 'axis'" in text or "repeated axis" in text:
        message, hint = f"axis {node.kw.get('axis')} names an axis twice", "each axis once: axis=(0, 1)"
        return ShapeError(message, (getattr(node, "parts", None) or {}).get("axis", span), source=node.source, hint=hint)
    if "zero-size array" in text:
        message = f"'{op.symbol}' of an empty array (shape {shapes[0]}) has no value"
        return ShapeError(message, span, source=node.source, hint="a slice past the end is empty: x[5:] of 3 elements")
    if isinstance(exc, np.exceptions.AxisError) or message.startswith("axis"):     # under the axis= written
        ndim = len(shapes[0]) if shapes else 0
        if not op.explain:
            message = f"axis {node.kw.get('axis')} is out of range for shape {shapes[0]} ({ndim} ax{'is' if ndim == 1 else 'es'})"
        hint = ("a number has no axes" if ndim == 0 else "its one axis is 0 (or -1)" if ndim == 1 else
                f"axes count from 0 to {ndim - 1}, or from -1 (the last) back to -{ndim}")
        span = (getattr(node, "parts", None) or {}).get("axis", span)
    return ShapeError(message, span, source=node.source, hint=hint)
