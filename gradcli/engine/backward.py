"""Reverse mode: the one backward pass, for every caller.

`backprop` walks a DAG in reverse topological order and returns a fresh dict node -> gradient:
a gradient reaching a node by several paths is summed, and a node's gradient is passed to its
inputs through the op-table row's VJP rules. It serves the recorded Tensor graph
(Tensor.backward, gradcli.grad, and through them Hessians and Jacobians) and evaluate's pass
straight over the expression DAG; each caller says, with small functions, how to read its graph.
"""
from __future__ import annotations

from typing import Callable, Container, Hashable, Sequence

import numpy as np

from gradcli.graph import Node, as_array, enable_grad, make, no_grad, quiet
from gradcli.errors import GradOutputError
from gradcli.ops import F

FREED = ("Trying to backward through the graph a second time (or directly access saved tensors after "
         "they have already been freed). Specify retain_graph=True if you need to backward through the "
         "graph a second time.")


def summed_to(gi, shape: tuple):
    """A VJP rule's result summed over the axes broadcasting added, back to the input's shape."""
    return gi if getattr(gi, "shape", ()) == shape else F.sum_to(gi, shape=shape)


def backprop(order: Sequence[Hashable], seed, *, step: Callable, needs: Container, keep: Container,
             done: Callable | None = None, record: bool = False, observe: Callable | None = None) -> dict:
    """{node: gradient} for every node in keep, seed being the gradient of order[-1].

    order: nodes in topological order (inputs first), the output last. step(node) is None for a
    leaf, else (op, attrs, input nodes, their values, the node's value, the inputs' shapes);
    needs holds the nodes a gradient flows to; done(node) is told when a node's gradient has
    been passed on (its values may go). record: the rules run on Tensors, so the gradient is
    itself a graph (create_graph); otherwise on plain arrays, where F is numpy.
    observe(node, i, input, upstream, raw, contribution, accumulated) is told of every edge as
    it is passed: the node's gradient, what input i's VJP rule gave, that summed back to the
    input's shape (what is added), and the input's running total after the addition (ledger.py
    writes its ledger from this; None costs nothing).
    """
    pending = {order[-1]: seed}
    result = {}
    with (enable_grad() if record else no_grad()), quiet():
        for node in reversed(order):
            g = pending.pop(node, None)
            if g is None:
                continue
            if node in keep:
                result[node] = g
            found = step(node)
            if found is not None:
                op, attrs, inputs, values, ans, shapes = found
                for i, x in (enumerate(inputs) if not op.stops else
                             [(i, x) for i, x in enumerate(inputs) if op.flows(i)]):   # a < b: none to a, b
                    if x in needs:
                        raw = op.vjp(i, g, ans, values, attrs)
                        gi = summed_to(raw, shapes[i])
                        prev = pending.get(x)
                        pending[x] = gi if prev is None else prev + gi
                        if observe is not None:
                            observe(node, i, x, g, raw, gi, pending[x])
            if done is not None:
                done(node)
    return result


# -- the recorded graph -----------------------------------------------------------------------
def topological(root: Node) -> list[Node]:
    """Nodes that require grad and reach root, inputs before outputs (iterative DFS), each op's
    inputs taken left to right (a, b, a*b, c, a*b + c: in the order the code made them).

    A node is appended once all of its inputs are: it is marked when first expanded, not
    when pushed, so one reached by several paths waits for all.
    """
    order: list[Node] = []
    expanded: set[int] = set()
    stack = [(root, False)]
    while stack:
        t, finished = stack.pop()
        if finished:
            order.append(t)
            continue
        if id(t) in expanded:
            continue
        expanded.add(id(t))
        stack.append((t, True))
        if t.grad_fn is not None:         # the first input on top: inputs come left to right
            stack.extend((x, False) for x in reversed(t.grad_fn.inputs) if x.requires_grad and id(x) not in expanded)
    return order


def seed_of(root: Node, gradient) -> Node:
    """The gradient of the output to start from: 1 for a scalar, else the given one (checked)."""
    if gradient is None:
        if root.data.size != 1:
            raise GradOutputError("grad can be implicitly created only for scalar outputs",
                                  hint="pass a gradient of the output's shape: y.backward(grad_output)")
        return make(type(root), np.float64(1.0) if root.data.ndim == 0 else np.ones_like(root.data))
    g = gradient if isinstance(gradient, Node) else make(type(root), as_array(gradient))
    if g.shape != root.shape:
        raise GradOutputError(f"Mismatch in shape: grad_output has a shape of {list(g.shape)} "
                              f"and output has a shape of {list(root.shape)}")
    return g


def kept(t: Node) -> bool:
    """Whose gradient backward() keeps: leaves, and non-leaves that retain_grad()."""
    return t.grad_fn is None or t._retains_grad


def gradients(root: Node, gradient=None, *, retain_graph: bool = False, create_graph: bool = False,
              keep: Container | None = None, order: list[Node] | None = None,
              observe: Callable | None = None) -> dict[Node, Node]:
    """{tensor: d(root·gradient)/d tensor} for every tensor in keep (by default the ones backward()
    keeps: see kept). Pure: writes no .grad.

    The VJP rules run on the tensors when create_graph is set, so the gradient is itself a graph;
    otherwise on their plain arrays (F is then numpy), the same arithmetic without the bookkeeping.
    observe: see backprop.
    """
    order = topological(root) if order is None else order      # a caller may know it already
    seed = seed_of(root, gradient)
    record = bool(create_graph)

    def step(t):
        fn = t.grad_fn
        if fn is None:
            return None
        if fn.freed:
            raise GradOutputError(FREED)
        inputs = fn.inputs
        values = inputs if record else tuple([x.data for x in inputs])
        return fn.op, fn.attrs, inputs, values, (t if record else t.data), [x.data.shape for x in inputs]

    def done(t):
        if not retain_graph and t.grad_fn is not None:
            t.grad_fn.freed = True

    keep = {t for t in order if kept(t)} if keep is None else keep
    found = backprop(order, seed if record else seed.data, step=step, needs=set(order), keep=keep,
                     done=done, record=record, observe=observe)
    cls = type(root)
    return found if record else {t: make(cls, g) for t, g in found.items()}


def grad(outputs: Node, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False) -> tuple[Node, ...]:
    """Functional gradient, like torch.autograd.grad: d outputs / d each input."""
    single = isinstance(inputs, Node)
    inputs = (inputs,) if single else tuple(inputs)
    grads = gradients(outputs, grad_outputs, create_graph=create_graph,
                      retain_graph=create_graph if retain_graph is None else retain_graph, keep=set(inputs))
    cls = type(outputs)
    return tuple(grads.get(x, make(cls, np.zeros_like(x.data))) for x in inputs)
