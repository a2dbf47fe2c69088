"""evaluate(): an expression's value and gradients at a point, as a Result.

One forward pass (forward.py) and one backward pass (engine.backward): straight over the
expression DAG with plain numpy values, or, when the graph is to be shown (--tree,
--retain-grad), through recorded Tensors, the way PyTorch keeps it.
"""
from __future__ import annotations

from contextlib import nullcontext

import numpy as np

from gradcli.binding import bind, differentiated, finite, overflows
from gradcli.engine.backward import backprop, gradients
from gradcli.graph import no_grad, quiet
from gradcli.errors import BindError, GradOutputError, Span, position
from gradcli.forward import forward, gradient_paths
from gradcli.lang.expr import Expr, paused_gc
from gradcli.lang.parser import parse
from gradcli.ops import VAR
from gradcli.values import read_value

GRAPH_TEXT = 120            # characters of a node's text the graph keeps (tree, DOT, Mermaid and JSON show it)


# Plain classes, not dataclasses: defining these three as dataclasses took a millisecond of
# every start-up. Equal when their fields are (as dataclasses are).
class _Record:
    __slots__ = ()

    def __eq__(self, other):
        return type(other) is type(self) and all(getattr(self, f) == getattr(other, f) for f in self.__slots__)

    __hash__ = None


class Note(_Record):
    """A warning about the computation (not an error): message and where."""
    __slots__ = ("message", "span", "trap")

    def __init__(self, message: str, span: Span | None = None, trap: dict | None = None):
        self.message = message
        self.span = span
        self.trap = trap            # a nan gradient from a branch not taken (traps.py): its node id and fix

    def __repr__(self) -> str:
        return f"Note({self.message!r})"


class GraphNode(_Record):
    """One node of the computational graph, as the renderers show it."""
    __slots__ = ("id", "op", "text", "value", "shape", "is_leaf", "requires_grad", "grad", "grad_fn", "inputs",
                 "retained", "name")

    def __init__(self, id: int, op: str, text: str, value, shape: tuple, is_leaf: bool, requires_grad: bool,
                 grad, grad_fn: str | None, inputs: list[int], retained: bool = False, name: str | None = None):
        self.id = id
        self.op = op                    # display symbol: '*', 'sin', 'var', 'num'
        self.text = text                # what the user typed for it (its first GRAPH_TEXT characters)
        self.value = value              # float or ndarray
        self.shape = shape
        self.is_leaf = is_leaf
        self.requires_grad = requires_grad
        self.grad = grad                # float or ndarray; None where freed or not required
        self.grad_fn = grad_fn
        self.inputs = inputs
        self.retained = retained        # a non-leaf whose grad was kept (--retain-grad)
        self.name = name                # a program's name for it: a step (y) or a call (f(a))

    @property
    def shown(self) -> str:
        """How a person reads it: y = a*b for a named step, else its text."""
        return self.text if self.name is None else f"{self.name} = {self.text}"

    def __repr__(self) -> str:
        return f"GraphNode({self.id}, {self.op!r}, {self.text!r})"


class Result(_Record):
    """An expression's value and gradients at a point, and what was met on the way."""
    __slots__ = ("expr", "value", "grad", "values", "variables", "wrt", "notes", "seed", "nodes", "tensors",
                 "options", "kinks")

    def __init__(self, expr: Expr, value, grad: dict | None, values: dict | None = None,
                 variables: list | None = None, wrt: list | None = None, notes: list | None = None, seed=None,
                 nodes: list | None = None, tensors: list | None = None, options: tuple = (None, None, True),
                 kinks: list | None = None):
        self.expr = expr
        self.value = value                          # float or ndarray
        self.grad = grad                            # name -> float or ndarray, in order of first appearance
        self.values = {} if values is None else values              # name -> bound value
        self.variables = [] if variables is None else variables     # every variable, in order of first appearance
        self.wrt = [] if wrt is None else wrt
        self.notes = [] if notes is None else notes
        self.seed = seed                            # the grad_output used (None: the output is a scalar)
        self.nodes = [] if nodes is None else nodes
        self.tensors = tensors                      # the recorded graph, when it was recorded
        self.options = options                      # (wrt, grad_output, grad) as given
        self.kinks = [] if kinks is None else kinks     # (node, convention): non-differentiable points passed

    def __repr__(self) -> str:
        return f"Result(expr={self.expr!r}, value={self.value!r}, grad={self.grad!r})"

    @property
    def shape(self) -> tuple:
        return np.shape(self.value)

    @property
    def graph(self) -> list[GraphNode]:
        """The nodes in topological order, each with its value, grad_fn and (kept) gradient.
        A result computed without recording its graph records it now, to show it."""
        if self.tensors is None:
            wrt, grad_output, grad = self.options
            self.tensors = _evaluate(self.expr, self.values, wrt, grad_output, grad, False, True).tensors
        index = {node.id: i for i, node in enumerate(self.nodes)}
        out = []
        for i, (node, t) in enumerate(zip(self.nodes, self.tensors)):
            g = t._grad if (t.is_leaf or t.retains_grad) else None
            out.append(GraphNode(
                id=i, op=node.op.symbol, text=node.excerpt(GRAPH_TEXT), value=_plain(t.data), shape=t.shape,
                is_leaf=t.is_leaf, requires_grad=t.requires_grad,
                grad=None if g is None else _plain(g.data),
                grad_fn=None if t.grad_fn is None else t.grad_fn.name(),
                inputs=[index[a.id] for a in node.args], retained=t.retains_grad,
                name=getattr(node, "label", None)))
        return out


def _plain(data):
    """float for a scalar, a (writeable) ndarray otherwise."""
    if np.ndim(data) == 0:
        return float(data)
    return data if data.flags.writeable else np.array(data)


def evaluate(source, values: dict | None = None, *, wrt=None, grad_output=None, grad: bool = True,
             retain_grad: bool | list = False, trace: bool = False) -> Result:
    """Value and gradients of an expression (text or parsed Expr) at the given values.

    values: name -> number, nested list, ndarray or value text ("pi/2", "1,2,3").
    wrt: names to differentiate (default: every variable); the others are constants.
    grad_output: seed gradient for a non-scalar output, as in y.backward(grad_output).
    grad=False evaluates under no_grad. retain_grad keeps every node's gradient, or (a list of
    names) those of a program's steps named so.
    trace records the Tensor graph during the computation (Result.graph would otherwise
    record it afterwards, computing again); retain_grad implies it.
    """
    expr = parse(source) if isinstance(source, str) else source
    values = dict(values or {})
    with paused_gc():
        result = _evaluate(expr, values, wrt, grad_output, grad, retain_grad, trace)
    result.notes[:0] = [Note(message) for message in overflows(values, result.values)]
    return result


def _evaluate(expr: Expr, values: dict, wrt, grad_output, grad: bool, retain_grad, trace: bool) -> Result:
    if retain_grad and retain_grad is not True:
        retain_grad = _steps(expr, retain_grad)
    names, bound = bind(expr, values, wrt)
    wrt_names = differentiated(names, wrt) if grad else []
    nodes = expr.nodes()
    record = trace or retain_grad
    with quiet():
        needs = gradient_paths(nodes, set(wrt_names))
        if record:
            from gradcli.engine.tensor import Tensor    # recorded only: plain values start faster without it
            leaves = {n: Tensor(bound[n], requires_grad=n in wrt_names) for n in names}
            with nullcontext() if grad else no_grad():
                run = forward(nodes, bound, leaves=leaves, needs=needs, kinks=grad)
        else:       # numbers alone have nothing to drop
            drop = not all(type(v) is float for v in bound.values())
            run = forward(nodes, bound, needs=needs, drop=drop, kinks=grad)
        root = run.values[nodes[-1].id]
        data = root.data if record else root
        notes = [] if finite(data) else _first_not_finite(nodes, bound, run if record else None)
        if run.cautions:
            notes[:0] = caution_notes(run.cautions)
        grads = seed = None
        if grad:
            seed = _seed(data, expr, grad_output)
            ones = np.float64(1.0) if np.ndim(data) == 0 else np.ones_like(data)
            start = ones if seed is None else seed
            found = _through_tensors(run, nodes, leaves, retain_grad, start) if record else \
                _through_expression(run, nodes, needs, start)
            grads = leaf_gradients(wrt_names, bound, found, notes, nodes)
    return Result(expr=expr, value=_plain(data), grad=grads, values=bound, variables=names, wrt=wrt_names,
                  notes=notes, seed=seed, nodes=nodes,
                  tensors=[run.values[n.id] for n in nodes] if record else None,
                  options=(wrt, grad_output, grad), kinks=run.kinks)


def caution_notes(cautions: list) -> list[Note]:
    """The forward pass's cautions (an IEEE result rather than an answer: a singular matrix) as
    notes that name the node and where it is."""
    return [Note(f"{message}, at '{node.excerpt(60)}' ({position(node.source, node.span.start)})", node.span)
            for node, message in cautions]


def leaf_gradients(wrt_names: list, bound: dict, found: dict, notes: list, nodes: list) -> dict:
    """The variables' gradients from a backward pass's; each one not finite is noted, with the
    where whose branch not taken made it nan, if one did (traps.py)."""
    noted = len(notes)
    grads = _leaf_grads(wrt_names, bound, found, notes)
    if len(notes) > noted:
        from gradcli.traps import find
        notes.extend(Note(t.message, t.node.span, t.record()) for t in find(nodes, bound, wrt_names))
    return grads


def _through_expression(run, nodes: list[Expr], needs: set, seed, observe=None) -> dict:
    """Reverse mode straight over the expression, on plain arrays: variable name -> gradient.
    A node's value is let go once the pass is past it, so memory falls as it runs.
    observe: told of every edge as backprop passes it (see backprop; ledger.py)."""
    values, shapes, root = run.values, run.shapes, nodes[-1]

    def step(node):
        args = node.args
        if not args:
            return None
        return (node.op, node.kw, args, [values[a.id] for a in args], values[node.id],
                ((),) * len(args) if shapes is None else [shapes.get(a.id, ()) for a in args])

    def done(node):
        if node is not root:
            values.pop(node.id, None)       # every consumer of this value is behind us

    if root not in needs:
        return {}
    found = backprop(nodes, seed, step=step, needs=needs, keep={n for n in needs if n.op is VAR},
                     done=None if shapes is None else done,     # numbers take no memory worth freeing
                     observe=observe)
    return {node.kw["name"]: g for node, g in found.items()}


def _steps(expr: Expr, names: list) -> set:
    """The ids of the nodes --retain-grad y,z names: a program's steps (a variable's gradient is
    kept anyway)."""
    steps = getattr(expr, "program", None) or {}
    variables = set(expr.variables())
    found = set()
    for name in names:
        if name in steps:
            found.add(steps[name].id)
        elif name not in variables:
            known = ", ".join(steps) if steps else None
            raise BindError(f"--retain-grad {name}: no step is named {name}",
                            hint=f"the named steps are {known}" if known else
                            "name a step in the expression, as in y = a*b; y + c, or write --retain-grad alone for all",
                            name=name)
    return found


def _through_tensors(run, nodes: list[Expr], leaves: dict, retain_grad, seed) -> dict:
    """Reverse mode through the recorded Tensors: each keeps its .grad, as after y.backward().
    retain_grad: True keeps every node's, a set of node ids those nodes'."""
    from gradcli.engine.tensor import Tensor
    tensors = [run.values[n.id] for n in nodes]
    root = tensors[-1]
    if not root.requires_grad:
        return {}
    if retain_grad:
        for n, t in zip(nodes, tensors):
            if t.requires_grad and not t.is_leaf and (retain_grad is True or n.id in retain_grad):
                t.retain_grad()
    # The nodes are already in topological order: no need to sort the graph again.
    order = [t for t in dict.fromkeys(tensors) if t.requires_grad]
    found = gradients(root, Tensor(seed), order=order)
    for t, g in found.items():
        t._grad = g
    return {n: found[t].data for n, t in leaves.items() if t in found}


def _seed(root, expr: Expr, grad_output):
    """The given grad_output, read and checked against the output's shape; None for a scalar output."""
    if grad_output is None and type(root) is np.float64:
        return None
    shape = np.shape(root)
    if grad_output is None:
        if np.size(root) != 1:
            example = ",".join(["1"] * np.size(root)) if len(shape) == 1 and np.size(root) <= 8 else None
            raise GradOutputError(
                f"the output has shape {shape}, not a scalar: grad can be implicitly created only "
                "for scalar outputs",
                expr.span, source=expr.source,
                hint=f"give the seed gradient with --grad-output (grad_output=...), an array of shape {shape}"
                     + (f" such as --grad-output {example}" if example else "")
                     + ", or use `gradcli jacobian` for the whole Jacobian")
        return None
    seed = read_value(grad_output, "--grad-output")
    if np.shape(seed) != shape:
        raise BindError(f"--grad-output has shape {np.shape(seed)}, but the output has shape {shape}",
                        hint="the seed gradient must have the output's shape")
    return np.asarray(seed, dtype=np.float64)[()] if np.ndim(seed) == 0 else np.asarray(seed, dtype=np.float64)


def _kind(data) -> str:
    flat = np.asarray(data)
    return "nan" if np.isnan(flat).any() else ("inf" if (flat == np.inf).any() else "-inf")


def numeric_notes(nodes: list[Expr], data: list) -> list[Note]:
    """Where a non-finite value first appeared: the first node whose output is not finite."""
    for node, d in zip(nodes, data):
        if node.args and not finite(d):
            text = node.text if len(node.text) <= 60 else node.text[:57] + "..."
            return [Note(f"{_kind(d)} first appears in '{text}' ({position(node.source, node.span.start)})", node.span)]
    return []


def _first_not_finite(nodes: list[Expr], bound: dict, recorded) -> list[Note]:
    """Where it began: from the recorded values, or from a pass that keeps every value."""
    run = recorded or forward(nodes, bound)
    return numeric_notes(nodes, [getattr(v, "data", v) for v in (run.values[n.id] for n in nodes)])


def _leaf_grads(wrt_names: list, bound: dict, found: dict, notes: list) -> dict:
    grads = {}
    for n in wrt_names:
        g = found.get(n)
        grads[n] = _plain(np.zeros_like(bound[n]) if g is None else np.asarray(g, dtype=np.float64))
        if not finite(grads[n]):
            notes.append(Note(f"the gradient with respect to {n} is {_kind(grads[n])}"))
    return grads
