"""The recorded graph: values that remember the op that made them.

A Node made by an op whose inputs require grad records a `Function` (its `grad_fn`): the
op-table row, the input nodes and static attrs. The graph is a DAG (an output points to its
inputs, never back). This layer knows ops only through the rows it is handed; `Ops` turns a
table of rows into the namespace F the rules are written with. The user-facing Tensor
(tensor.py) is a Node with operators.
"""
from __future__ import annotations

import contextlib

import numpy as np

_state = {"grad_enabled": True, "silenced": False}


class no_grad(contextlib.ContextDecorator):
    """Context manager (or decorator) under which no op is recorded."""
    enabled = False

    def __enter__(self):
        self.prev = _state["grad_enabled"]
        _state["grad_enabled"] = self.enabled
        return self

    def __exit__(self, *exc):
        _state["grad_enabled"] = self.prev
        return False


class enable_grad(no_grad):
    """Context manager under which ops are recorded (used for create_graph)."""
    enabled = True


def grad_enabled() -> bool:
    return _state["grad_enabled"]


def quiet():
    """IEEE results (inf, nan) without numpy's warnings (free after silence_numpy())."""
    return contextlib.nullcontext() if _state["silenced"] else np.errstate(all="ignore")


def silence_numpy() -> None:
    """Turn numpy's floating-point warnings off for this process, for good (the CLI reports
    non-finite values itself); quiet() is then free."""
    np.seterr(all="ignore")
    _state["silenced"] = True


def as_array(data) -> np.ndarray:
    """float64 numbers (a numpy scalar for a 0-d value) from a node, array, number or nested list."""
    if isinstance(data, Node):
        return data.data
    if isinstance(data, np.ndarray) and data.dtype == np.float64:
        return data
    if isinstance(data, (float, int)) and not isinstance(data, bool):
        return np.float64(data)
    arr = np.asarray(data, dtype=np.float64)
    return arr[()] if arr.ndim == 0 else arr


class Node:
    """A value in the graph: its numbers, whether it requires grad, the Function that made it."""
    # gradcli's own code reads and writes the `_grad` slot; Tensor's `grad` property is for users.
    __slots__ = ("data", "requires_grad", "_grad", "grad_fn", "_retains_grad", "__weakref__")

    def __init__(self, data, requires_grad: bool = False, grad_fn: "Function | None" = None):
        self.data = as_array(data)
        self.requires_grad = requires_grad
        self._grad = None
        self.grad_fn = grad_fn
        self._retains_grad = False

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size


def make(cls, data, requires_grad: bool = False, grad_fn=None) -> Node:
    """A node of class cls around an op's output (already float64), without __init__'s conversions."""
    t = cls.__new__(cls)
    t.data = data if type(data) in (np.ndarray, np.float64) else as_array(data)
    t.requires_grad = requires_grad
    t._grad = None
    t.grad_fn = grad_fn
    t._retains_grad = False
    return t


class AccumulateGrad:
    """The node that writes a leaf's .grad; what next_functions shows for a leaf."""
    __slots__ = ("variable",)
    next_functions = ()

    def __init__(self, variable: Node):
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    def __repr__(self) -> str:
        return "<AccumulateGrad>"


class Function:
    """A recorded op application: the backward node of a non-leaf tensor."""
    __slots__ = ("op", "inputs", "attrs", "freed")

    def __init__(self, op, inputs: tuple[Node, ...], attrs: dict):
        self.op = op
        self.inputs = inputs
        self.attrs = attrs
        self.freed = False

    def name(self) -> str:
        return self.op.grad_fn

    @property
    def next_functions(self) -> tuple:
        """(node, 0) per input: its grad_fn, AccumulateGrad for a leaf, None if no grad flows."""
        out = []
        for x in self.inputs:
            if x.grad_fn is not None:
                out.append((x.grad_fn, 0))
            elif x.requires_grad:
                out.append((AccumulateGrad(x), 0))
            else:
                out.append((None, 0))
        return tuple(out)

    def __repr__(self) -> str:
        return f"<{self.name()}>"


def apply(op, *inputs, **attrs) -> Node:
    """Run an op-table row forward on nodes, recording it if any input needs grad. The output
    is of the class of the first node among the inputs (a Tensor for Tensors)."""
    cls = next(type(x) for x in inputs if isinstance(x, Node))
    xs = tuple(x if isinstance(x, Node) else make(cls, as_array(x)) for x in inputs)
    data = op.forward(*[x.data for x in xs], **attrs)
    if _state["grad_enabled"]:
        for i, x in enumerate(xs):
            if x.requires_grad and (not op.stops or op.flows(i)):
                return make(cls, data, True, Function(op, xs, attrs))
    return make(cls, data)


def dispatcher(op):
    """F.<op>: records on nodes; on plain arrays and numbers it is the numpy forward alone."""
    forward = op.forward

    def call(*xs, **attrs):
        for x in xs:
            if isinstance(x, Node):
                return apply(op, *xs, **attrs)
        return forward(*xs, **attrs)
    call.__name__ = op.key
    return call


class Ops:
    """F: F.<key>(*inputs, **attrs) applies the row `key` of the table it is built from."""

    def __init__(self, table):
        for op in table:
            if op.forward is not None and op.arity != 0:
                setattr(self, op.key, dispatcher(op))
