"""Bind values to an Expr, build the Tensor graph, run backward, return a Result."""
from __future__ import annotations

import math
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np

from gradcli.engine import Tensor, _kept, apply, gradients, input_grad, no_grad, paused_gc, quiet
from gradcli.errors import BindError, GradcliError, GradOutputError, ShapeError, Span, close_matches
from gradcli.expr import Expr
from gradcli.ops import CONSTANTS, OPS
from gradcli.parser import parse
from gradcli.values import read_value

VAR = OPS["var"]


@dataclass
class Note:
    """A warning about the computation (not an error): message and where."""
    message: str
    span: Span | None = None


GRAPH_TEXT = 120            # characters of a node's text the graph keeps (tree, DOT, Mermaid and JSON show it)


@dataclass
class GraphNode:
    """One node of the computational graph, as the renderers show it."""
    id: int
    op: str                 # display symbol: '*', 'sin', 'var', 'num'
    text: str               # what the user typed for it (its first GRAPH_TEXT characters)
    value: object           # float or ndarray
    shape: tuple
    is_leaf: bool
    requires_grad: bool
    grad: object            # float or ndarray; None where freed or not required
    grad_fn: str | None
    inputs: list[int]
    retained: bool = False  # a non-leaf whose grad was kept (--retain-grad)


@dataclass
class Result:
    expr: Expr
    value: object                       # float or ndarray
    grad: dict | None                   # name -> float or ndarray, in order of first appearance
    values: dict = field(default_factory=dict)     # name -> bound value
    variables: list = field(default_factory=list)  # every variable, in order of first appearance
    wrt: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    seed: object = None                 # the grad_output used (None: the output is a scalar)
    nodes: list = field(default_factory=list, repr=False)
    tensors: list | None = field(default=None, repr=False)    # the recorded graph, made when asked for
    options: tuple = field(default=(None, None, True), repr=False)   # (wrt, grad_output, grad) as given

    def traced(self) -> list:
        """The Tensor of every node (recording the graph now if it was computed without one)."""
        if self.tensors is None:
            wrt, grad_output, grad = self.options
            again = _evaluate(self.expr, self.values, wrt, grad_output, grad, False, trace=True)
            self.tensors = again.tensors
        return self.tensors

    @property
    def shape(self) -> tuple:
        return np.shape(self.value)

    @property
    def graph(self) -> list[GraphNode]:
        """The nodes in topological order, each with its value, grad_fn and (kept) gradient."""
        index = {node.id: i for i, node in enumerate(self.nodes)}
        out = []
        for i, (node, t) in enumerate(zip(self.nodes, self.traced())):
            g = t._grad if (t.is_leaf or t.retains_grad) else None
            out.append(GraphNode(
                id=i, op=node.op.symbol, text=node.excerpt(GRAPH_TEXT), value=_plain(t.data), shape=t.shape,
                is_leaf=t.is_leaf, requires_grad=t.requires_grad,
                grad=None if g is None else _plain(g.data),
                grad_fn=None if t.grad_fn is None else t.grad_fn.name(),
                inputs=[index[a.id] for a in node.args], retained=t.retains_grad))
        return out


@dataclass
class Check:
    status: str                             # ok, mismatch, nondifferentiable, skipped, timeout, error
    method: str | None = None               # sympy or finite-difference
    max_abs_err: float | None = None
    symbolic: dict | None = None            # name -> formula text (nested lists for arrays)
    expected: dict = field(default_factory=dict)      # name -> SymPy's (or the FD) value
    agree: dict = field(default_factory=dict)         # name -> bool
    reason: str | None = None
    conventions: list = field(default_factory=list)
    rtol: float = 1e-9
    atol: float = 1e-12

    def record(self) -> dict:
        """The JSON `check` object."""
        from gradcli.render import to_json
        rec = {"status": self.status, "method": self.method,
               "max_abs_err": None if self.max_abs_err is None else to_json(self.max_abs_err),
               "symbolic": self.symbolic}
        if self.expected:
            rec["expected"] = {k: to_json(v) for k, v in self.expected.items()}
        if self.reason:
            rec["reason"] = self.reason
        if self.conventions:
            rec["conventions"] = self.conventions
        if self.status not in ("skipped",):
            rec["rtol"], rec["atol"] = self.rtol, self.atol
        return rec


def skipped_check(reason: str) -> Check:
    return Check("skipped", reason=reason)


def _plain(data):
    """float for a scalar, a (writeable) ndarray otherwise."""
    if np.ndim(data) == 0:
        return float(data)
    return data if data.flags.writeable else np.array(data)


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


def build(nodes: list[Expr], leaves: dict[str, Tensor]) -> list[Tensor]:
    """Tensor for each node, in order (the recorded graph); shape errors get the node's span."""
    tensors: dict[int, Tensor] = {}
    out = []
    for node in nodes:
        op = node.op
        if op is VAR:
            t = leaves[node.kw["name"]]
        elif not node.args:
            t = Tensor(op.forward(**node.kw))
        else:
            args = [tensors[a.id] for a in node.args]
            t = guarded(node, args, lambda: apply(op, *args, **node.kw))
        tensors[node.id] = t
        out.append(t)
    return out


def forward_values(nodes: list[Expr], bound: dict, drop: bool = True, needs: set | None = None) -> tuple[dict, dict]:
    """The value and shape of every node (plain arrays, no graph recorded).

    With drop, a value that no gradient to be computed reads (see the op table's
    `saves`; `needs` holds the nodes a gradient flows to) is let go as soon as its
    last consumer has run; one whose shape alone is read is kept as a zero-size
    stand-in. Shape errors get the node's span.
    """
    uses: dict[int, int] = {}
    read: set[int] = set()
    shape_only: set[int] = set()
    for node in nodes:
        for i, a in enumerate(node.args):
            uses[a.id] = uses.get(a.id, 0) + 1
            if needs is not None and a.id not in needs:
                continue
            saves = node.op.reads(i)
            if saves in ("ans", "all"):
                read.add(node.id)
            if saves in ("inputs", "all"):
                read.update(b.id for b in node.args)
            elif saves == "shape":
                shape_only.update(b.id for b in node.args)
    values: dict[int, object] = {}
    shapes: dict[int, tuple] = {}
    root = nodes[-1].id
    for node in nodes:
        op = node.op
        if op is VAR:
            v = bound[node.kw["name"]]
            v = np.float64(v) if type(v) is float else v
        elif not node.args:
            v = op.forward(**node.kw)
        else:
            args = [values[a.id] for a in node.args]
            v = guarded(node, args, lambda: op.forward(*args, **node.kw))
            if drop:
                for a in node.args:
                    uses[a.id] -= 1
                    if uses[a.id] == 0 and a.args and a.id != root and a.id not in read:
                        values[a.id] = np.broadcast_to(np.float64(0.0), shapes[a.id]) if a.id in shape_only \
                            else None
        values[node.id] = v
        shapes[node.id] = np.shape(v)
    return values, shapes


def scalar_values(nodes: list[Expr], bound: dict) -> dict | None:
    """forward_values for numbers only: every node's value, or None as soon as one is not a
    number or an op complains (the general pass then runs and reports it with its span)."""
    values: dict[int, object] = {}
    for node in nodes:
        op = node.op
        if op is VAR:
            v = np.float64(bound[node.kw["name"]])
        else:
            try:
                v = op.forward(*[values[a.id] for a in node.args], **node.kw)
            except Exception:
                return None
            if type(v) is not np.float64 and type(v) is not float:
                return None
        values[node.id] = v
    return values


def backward_values(nodes: list[Expr], values: dict, shapes: dict, wanted: set, seed,
                    needs: set | None = None) -> dict[str, object]:
    """Reverse mode straight over the expression: variable name -> gradient, for the wanted ones.

    The same rules and order as the engine's pass (engine.gradients), on plain arrays; a
    node's value is dropped once the pass is past it, so memory falls as it runs.
    """
    root = nodes[-1]
    needs = gradient_paths(nodes, wanted) if needs is None else needs
    pending = {root.id: seed} if root.id in needs else {}
    found: dict[str, object] = {}
    for node in reversed(nodes):
        g = pending.pop(node.id, None)
        if node.op is VAR:
            if g is not None:
                found[node.kw["name"]] = g
            continue
        if g is not None and node.args:
            inputs = [values[a.id] for a in node.args]
            ans = values[node.id]
            for i, a in enumerate(node.args):
                if a.id in needs:
                    gi = input_grad(node.op, i, g, ans, inputs, node.kw, shapes[a.id])
                    prev = pending.get(a.id)
                    pending[a.id] = gi if prev is None else prev + gi
        if node is not root:
            values.pop(node.id, None)       # every consumer of this value is behind us
    return found


def gradient_paths(nodes: list[Expr], wanted: set) -> set[int]:
    """The nodes a gradient flows to: those that depend on a wanted variable."""
    needs: set[int] = set()
    for node in nodes:
        if node.op is VAR:
            if node.kw["name"] in wanted:
                needs.add(node.id)
            continue
        for a in node.args:
            if a.id in needs:
                needs.add(node.id)
                break
    return needs


def guarded(node: Expr, args: list, run):
    """run() an op of node; numpy's shape complaints become a ShapeError pointing at the node."""
    try:
        return run()
    except (ValueError, IndexError) as exc:
        raise _shape_error(node, args, exc) from None
    except MemoryError:
        shapes = " and ".join(str(np.shape(a)) for a in args)
        raise ShapeError(f"'{node.op.symbol}' on shapes {shapes} needs more memory than there is",
                         node.span, source=node.source) from None
    except GradcliError as err:
        raise err.at(node.span, node.source)


def _shape_error(node: Expr, args: list, exc: Exception) -> ShapeError:
    op = node.op
    shapes = [tuple(np.shape(a)) for a in args]
    message = op.explain(shapes, **node.kw) if op.explain else \
        f"shapes {' and '.join(map(str, shapes))} do not fit '{op.symbol}'"
    hint = op.hint or ("arrays must have equal shapes or shapes that broadcast (numpy rules)"
                       if op.elementwise else None)
    return ShapeError(message, node.span, source=node.source, hint=hint)


def _seed(root: Tensor, expr: Expr, grad_output):
    if grad_output is None:
        if root.data.size != 1:
            shape = root.shape
            example = ",".join(["1"] * root.data.size) if root.ndim == 1 and root.data.size <= 8 else None
            raise GradOutputError(
                f"the output has shape {shape}, not a scalar: grad can be implicitly created only "
                "for scalar outputs",
                expr.span, source=expr.source,
                hint=f"give the seed gradient with --grad-output (grad_output=...), an array of shape {shape}"
                     + (f" such as --grad-output {example}" if example else "")
                     + ", or use `gradcli jacobian` for the whole Jacobian")
        return None
    seed = read_value(grad_output, "--grad-output")
    if np.shape(seed) != root.shape:
        raise BindError(f"--grad-output has shape {np.shape(seed)}, but the output has shape {root.shape}",
                        hint="the seed gradient must have the output's shape")
    return Tensor(seed)


def _kind(data) -> str:
    flat = np.asarray(data)
    return "nan" if np.isnan(flat).any() else ("inf" if (flat == np.inf).any() else "-inf")


def _finite(data) -> bool:
    if type(data) in (float, np.float64):
        return math.isfinite(data)
    return bool(np.isfinite(data).all())


def numeric_notes(nodes: list[Expr], data: list) -> list[Note]:
    """Where a non-finite value first appeared: the first node whose output is not finite."""
    for node, d in zip(nodes, data):
        if node.args and not _finite(d):
            text = node.text if len(node.text) <= 60 else node.text[:57] + "..."
            return [Note(f"{_kind(d)} first appears in '{text}' (column {node.span.start + 1})", node.span)]
    return []


def evaluate(source, values: dict | None = None, *, wrt=None, grad_output=None, grad: bool = True,
             retain_grad: bool = False, trace: bool = False) -> Result:
    """Value and gradients of an expression (text or parsed Expr) at the given values.

    values: name -> number, nested list, ndarray or value text ("pi/2", "1,2,3").
    wrt: names to differentiate (default: every variable); the others are constants.
    grad_output: seed gradient for a non-scalar output, as in y.backward(grad_output).
    grad=False evaluates under no_grad. retain_grad keeps every node's gradient.
    trace records the Tensor graph during the computation (Result.graph would otherwise
    record it afterwards, computing again); retain_grad implies it.
    """
    expr = parse(source) if isinstance(source, str) else source
    values = dict(values or {})
    with paused_gc():
        result = _evaluate(expr, values, wrt, grad_output, grad, retain_grad, trace)
    result.notes[:0] = overflow_notes(values, result.values)
    return result


def overflow_notes(given: dict, bound: dict) -> list[Note]:
    """A value written as a finite number that is beyond a float's range (1e400) is inf: say so."""
    notes = []
    for name, text in given.items():
        if isinstance(text, int) and not isinstance(text, bool) and not _finite(bound.get(name, 0.0)):
            notes.append(Note(f"the value of {name} (an integer of {len(str(abs(text))) if abs(text).bit_length() < 14000 else 'thousands of'} "
                              "digits) is beyond the range of a float: it overflows to inf"))
        elif isinstance(text, str) and not _finite(bound.get(name, 0.0)):
            lowered = text.lower()
            if "inf" not in lowered and "nan" not in lowered:
                notes.append(Note(f"the value of {name} ({text[:40]}) is beyond the range of a float: "
                                  "it overflows to inf"))
    return notes


def _evaluate(expr: Expr, values: dict, wrt, grad_output, grad: bool, retain_grad: bool,
              trace: bool = False) -> Result:
    names, bound = bind(expr, values, wrt)
    wanted = set(names if wrt is None else wrt)
    wrt_names = [n for n in names if n in wanted] if grad else []
    nodes = expr.nodes()
    if trace or retain_grad:
        return _traced(expr, nodes, bound, names, wrt, wrt_names, grad_output, grad, retain_grad)
    with quiet():
        needs = gradient_paths(nodes, set(wrt_names))
        numbers = all(type(v) is float for v in bound.values())
        vals = scalar_values(nodes, bound) if numbers else None
        if vals is not None:        # numbers in, numbers throughout: nothing to drop, every shape ()
            shapes = dict.fromkeys(vals, ())
        else:
            vals, shapes = forward_values(nodes, bound, needs=needs)
        root = vals[nodes[-1].id]
        if not _finite(root):       # find where it began, with every value kept this time
            every, _ = forward_values(nodes, bound, drop=False)
            notes = numeric_notes(nodes, [every[n.id] for n in nodes])
        else:
            notes = []
        grads = seed = None
        if grad:
            seed = _seed(Tensor(root), expr, grad_output)
            seed = None if seed is None else seed.data
            ones = np.float64(1.0) if np.ndim(root) == 0 else np.ones_like(root)
            found = backward_values(nodes, vals, shapes, set(wrt_names), ones if seed is None else seed, needs)
            grads = _leaf_grads(wrt_names, bound, found, notes)
    return Result(expr=expr, value=_plain(root), grad=grads, values=bound, variables=names,
                  wrt=wrt_names, notes=notes, seed=seed, nodes=nodes, tensors=None,
                  options=(wrt, grad_output, grad))


def _leaf_grads(wrt_names: list, bound: dict, found: dict, notes: list) -> dict:
    grads = {}
    for n in wrt_names:
        g = found.get(n)
        grads[n] = _plain(np.zeros_like(bound[n]) if g is None else np.asarray(g, dtype=np.float64))
        if not _finite(grads[n]):
            notes.append(Note(f"the gradient with respect to {n} is {_kind(grads[n])}"))
    return grads


def _traced(expr, nodes, bound, names, wrt, wrt_names, grad_output, grad: bool, retain_grad: bool) -> Result:
    """The same computation through recorded Tensors, so the graph can be shown."""
    wanted = set(names if wrt is None else wrt)
    leaves = {n: Tensor(bound[n], requires_grad=n in wanted and grad) for n in names}
    with (nullcontext() if grad else no_grad()), quiet():
        tensors = build(nodes, leaves)
        root = tensors[-1]
        notes = [] if _finite(root.data) else numeric_notes(nodes, [t.data for t in tensors])
        grads = seed = None
        if grad:
            seed = _seed(root, expr, grad_output)
            found = {}
            if root.requires_grad:
                if retain_grad:
                    for t in tensors:
                        if t.requires_grad and not t.is_leaf:
                            t.retain_grad()
                # The nodes are already in topological order: no need to sort the graph again.
                order = [t for t in dict.fromkeys(tensors) if t.requires_grad]
                found = gradients(root, seed, keep=_kept, order=order)
                for t, g in found.items():
                    t._grad = g
            by_name = {n: found[leaves[n]].data for n in wrt_names if leaves[n] in found}
            grads = _leaf_grads(wrt_names, bound, by_name, notes)
    return Result(expr=expr, value=_plain(root.data), grad=grads, values=bound, variables=names,
                  wrt=wrt_names, notes=notes, seed=None if seed is None else seed.data,
                  nodes=nodes, tensors=tensors, options=(wrt, grad_output, grad))


def elementwise_only(expr: Expr) -> bool:
    """True if every op is elementwise, so rows of column arrays never mix."""
    return all(node.op.elementwise or not node.args for node in expr.nodes())


def evaluate_rows(expr: Expr, columns: dict, constants: dict | None = None, wrt=None) -> tuple:
    """Value and gradients at every row of the column arrays, as arrays of length n.

    Elementwise expressions run once on whole columns (seed: ones, so each row's
    gradient is its own); others run row by row. constants: scalar values for
    variables without a column.
    """
    constants = constants or {}
    names = expr.variables()
    n = len(next(iter(columns.values()))) if columns else 0
    for name in names:
        if name not in columns and name not in constants:
            raise BindError(f"'{name}' has no column in the points file and no value",
                            hint=f"add a column {name}, or give --{name} VALUE")
    scalars = {}
    for name in names:
        if name not in columns:
            value = read_value(constants[name], f"value of {name}")
            if np.ndim(value):
                raise BindError(f"--{name} must be a number to go with --points, not shape {np.shape(value)}")
            scalars[name] = value
    check_names(expr, {}, wrt)
    wanted = names if wrt is None else [x for x in names if x in set(wrt)]
    if elementwise_only(expr):
        values = {k: np.asarray(columns[k], dtype=np.float64) for k in names if k in columns}
        values.update({k: np.full(n, v) for k, v in scalars.items()})
        result = evaluate(expr, values, wrt=wanted, grad_output=np.ones(n) if names else None)
        value = np.broadcast_to(np.asarray(result.value, dtype=np.float64), (n,))
        grads = {k: np.broadcast_to(np.asarray(result.grad[k], dtype=np.float64), (n,)) for k in wanted}
        return value, grads, result.notes
    value = np.empty(n)
    grads = {k: np.empty(n) for k in wanted}
    notes = []
    for i in range(n):
        row = {k: float(columns[k][i]) for k in names if k in columns}
        row.update(scalars)
        result = evaluate(expr, row, wrt=wanted)
        if np.ndim(result.value):
            raise ShapeError(f"with --points the expression must give one number a row, not shape "
                             f"{np.shape(result.value)}", expr.span, source=expr.source)
        value[i] = result.value
        for k in wanted:
            grads[k][i] = result.grad[k]
        notes = notes or result.notes
    return value, grads, notes
