"""The ledger of a backward pass: Step (a node of the forward pass), Edge (one edge of the
backward pass, as backprop told its observer), Ledger (both passes, with the gradients), and the
ledger of a recorded Tensor graph (Tensor.backward(explain=True)); an expression's ledger
(gradcli explain) is written with the same pieces.
"""
from __future__ import annotations

import numpy as np

LETTERS = ("x", "y", "z")       # the op rows' derivative formulas name the first, second, third input so
FD_ELEMENTS = 24                # elements of an array variable that get a finite-difference estimate


class Step:
    """One node of the forward pass: id (its place in topological order), name (a variable's, a
    named step's, or t<id> in a Tensor graph), text (what the user typed, or the grad_fn name), op
    (display symbol), inputs (ids), value and shape."""
    __slots__ = ("id", "name", "text", "op", "inputs", "value", "shape", "ref")

    def __init__(self, id, name, text, op, inputs, value, ref):
        self.id, self.name, self.text, self.op, self.inputs = id, name, text, op, inputs
        self.value, self.shape = value, tuple(np.shape(value))
        self.ref = ref              # how formulas write this node: its name, or its text in brackets if compound

    def __repr__(self) -> str:
        return f"Step({self.id}, {self.text!r})"


class Edge:
    """One edge of the backward pass, node -> its input `argument`, as backprop passed it."""
    __slots__ = ("node", "input", "argument", "upstream", "local", "local_formula", "partial", "raw",
                 "contribution", "accumulated", "pattern", "rule", "nth", "of")

    def __init__(self, **fields):
        for name in self.__slots__:
            setattr(self, name, fields.get(name))

    @property
    def summed(self) -> bool:
        """Whether broadcasting grew the input: the VJP's result was summed back to its shape."""
        return np.shape(self.raw) != np.shape(self.contribution)

    def __repr__(self) -> str:
        return f"Edge({self.node} -> {self.input})"


class Ledger:
    """The forward and backward passes of one expression at a point, step by step.

    forward: Steps in topological order; backward: Edges in the order backprop passed them
    (reverse topological); grad: variable -> gradient; finite: variable -> central finite
    differences of each variable's first `estimated` elements (NaN past them; None for a Tensor
    graph, which has no expression to evaluate again). str() and repr() are the text ledger,
    as_dict() and to_json() the data (as `gradcli explain -f json` writes it).
    """
    __slots__ = ("expr", "value", "seed", "forward", "backward", "grad", "finite", "output", "notes")
    estimated = FD_ELEMENTS

    def __init__(self, expr, value, seed, forward, backward, grad, finite, output, notes=()):
        self.expr, self.value, self.seed = expr, value, seed
        self.forward, self.backward, self.grad, self.finite = forward, backward, grad, finite
        self.output = output        # how the ledger names the output: y for a named step, else out
        self.notes = list(notes)    # warnings, as evaluate's (a value that overflowed, where a nan began)

    def as_dict(self) -> dict:
        from gradcli.render.records import ledger_record
        return ledger_record(self)

    def to_json(self) -> str:
        from gradcli.render.numbers import dumps
        return dumps(self.as_dict())

    def text(self, width: int = 80) -> str:
        """The ledger as the terminal shows it, fitted to width columns, without escape codes."""
        import io

        from rich.console import Console

        from gradcli.render.ledger import ledger_layouts
        from gradcli.render.numbers import fitted
        renderable, _ = fitted(width, *ledger_layouts(self))
        out = io.StringIO()
        Console(file=out, width=width, color_system=None, highlight=False, markup=False, emoji=False).print(renderable)
        return "\n".join(line.rstrip() for line in out.getvalue().split("\n")).rstrip("\n")

    def __str__(self) -> str:
        return self.text()

    __repr__ = __str__

    def _repr_pretty_(self, printer, cycle) -> None:        # IPython
        printer.text(self.text())


def atomic(text: str) -> bool:
    """Whether text reads as one operand: a name, a number, a call f(...), a bracketed (...) or [...]."""
    from gradcli.errors import GradcliError
    from gradcli.lang.lexer import tokenize
    try:
        tokens = tokenize(text)[:-1]
    except GradcliError:
        return False
    if len(tokens) == 1:
        return True
    first = 1 if tokens and tokens[0].kind == "name" and len(tokens) > 1 and tokens[1].text == "(" else 0
    if not tokens or tokens[first].text not in ("(", "["):
        return False
    depth = 0
    for k, t in enumerate(tokens[first:], first):
        if t.kind == "op" and t.text in ("(", "["):
            depth += 1
        elif t.kind == "op" and t.text in (")", "]"):
            depth -= 1
            if depth == 0:
                return k == len(tokens) - 1
    return False


def substitute(formula: str, refs: list[str], attrs: dict | None = None) -> str:
    """An op row's formula in the inputs' own text: x, y, z (the first, second, third input) are
    replaced token by token (the lexer's tokens, never a string replace), and a keyword attr
    (slope, lo, hi) by its value; a compound input is bracketed where it stands between
    operators, not where it is a call's whole argument. A formula the lexer cannot read (a VJP
    in words) is kept as written, with what x, y, z stand for after it."""
    from gradcli.errors import GradcliError
    from gradcli.lang.lexer import tokenize
    from gradcli.render.numbers import fmt_num
    try:
        tokens = tokenize(formula)
    except GradcliError:
        named = [f"{letter} = {ref}" for letter, ref in zip(LETTERS, refs)]
        return f"{formula} ({', '.join(named)})" if named else formula
    numbers = {k: fmt_num(v) for k, v in (attrs or {}).items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    out, pos = [], 0
    for k, t in enumerate(tokens[:-1]):
        out.append(formula[pos:t.start])
        pos = t.end
        if t.kind == "name" and t.text in LETTERS and LETTERS.index(t.text) < len(refs):
            ref = refs[LETTERS.index(t.text)]
            before, after = (tokens[k - 1].text if k else ""), tokens[k + 1].text
            if ref.startswith("(") and ref.endswith(")") and before in ("(", ",") and after in (")", ","):
                ref = ref[1:-1] if atomic(ref) and _balanced(ref[1:-1]) else ref
            out.append(ref)
        elif t.kind == "name" and t.text in numbers:
            out.append(numbers[t.text])
        else:
            out.append(formula[t.start:t.end])
    out.append(formula[pos:])
    return "".join(out)


def _balanced(text: str) -> bool:
    """Whether every bracket in text closes one opened before it, and all are closed."""
    depth = 0
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _edges(seen: list, index: dict, rows: list[Step], describe) -> list[Edge]:
    """The Edges from what backprop told the observer: (node, i, input, upstream, raw VJP,
    contribution, accumulated), each with its local derivative and formula from the op row."""
    from gradcli.graph import no_grad
    counts: dict[int, int] = {}
    for _, _, x, *_ in seen:
        counts[index[x]] = counts.get(index[x], 0) + 1
    nth: dict[int, int] = {}
    out = []
    for node, i, x, g, raw, gi, acc in seen:
        op, attrs, inputs, ans = describe(node)
        n, k = index[node], index[x]
        nth[k] = nth.get(k, 0) + 1
        local = None
        if op.elementwise:          # the rule at g = 1: the local derivative, element by element
            with no_grad():
                ans = _raw(ans)
                local = _data(op.vjp(i, np.ones_like(ans) if np.ndim(ans) else np.float64(1.0), ans,
                                     [_raw(v) for v in inputs], attrs))
        refs = [rows[index[a]].ref for a in _inputs_of(node)]
        formula = _formula(op, i)
        out.append(Edge(node=n, input=k, argument=i, upstream=_data(g), local=local,
                        local_formula=None if formula is None else substitute(formula, refs, attrs),
                        partial=f"∂{rows[n].ref}/∂{rows[k].ref}", raw=_data(raw), contribution=_data(gi),
                        accumulated=_data(acc), pattern=getattr(op, "pattern", None) or None,
                        rule=getattr(op, "rule", None) or None, nth=nth[k], of=counts[k]))
    return out


def _inputs_of(node):
    fn = getattr(node, "grad_fn", None)
    return fn.inputs if fn is not None else node.args


def _formula(op, i: int) -> str | None:
    """The row's derivative formula for input i (x, y, z the inputs; g the upstream for a VJP text)."""
    d = getattr(op, "derivative", None)
    if not d:
        return None
    if isinstance(d, str):          # one formula for every input (a variadic row)
        return d
    return d[i] if i < len(d) else None


def _raw(v):
    """The numbers of a value as the rules take them: np.float64 or ndarray (a Tensor's data)."""
    from gradcli.graph import Node
    return v.data if isinstance(v, Node) else v


def _data(v):
    """Plain numbers: a float for a scalar, an ndarray otherwise (from a Tensor, too)."""
    from gradcli.graph import Node
    v = v.data if isinstance(v, Node) else v
    return float(v) if np.ndim(v) == 0 else np.asarray(v)


# -- a recorded Tensor graph ------------------------------------------------------------------------
def tensor_ledger(root, gradient, *, retain_graph: bool, create_graph: bool):
    """Tensor.backward(explain=True): the gradients backward() writes, and the ledger of the pass
    that computed them (the nodes named t0, t1, ... in topological order, shown with grad_fn names)."""
    from gradcli.engine.backward import gradients, seed_of, topological
    order = topological(root)
    rows, index = [], {}

    def add(t):
        i = len(rows)
        index[t] = i
        fn = t.grad_fn
        text = fn.name() if fn is not None else ("leaf" if t.requires_grad else "constant")
        rows.append(Step(i, f"t{i}", text, fn.op.symbol if fn is not None else "leaf",
                         [index[x] for x in fn.inputs] if fn is not None else [], _data(t.data), f"t{i}"))
    for t in order:
        for x in (t.grad_fn.inputs if t.grad_fn is not None else ()):
            if x not in index:
                add(x)
        add(t)
    edges = []
    seed = None if gradient is None else _data(seed_of(root, gradient).data)
    grads = gradients(root, gradient, retain_graph=retain_graph, create_graph=create_graph, order=order,
                      observe=lambda *edge: edges.append(edge))

    def describe(t):
        fn = t.grad_fn
        return fn.op, fn.attrs, [x.data for x in fn.inputs], t.data
    backward = _edges(edges, index, rows, describe)
    leaves = [t for t in order if t.grad_fn is None]
    grad = {rows[index[t]].name: _data(grads[t].data) for t in leaves if t in grads}
    ledger = Ledger(f"t{index[root]} ({rows[index[root]].text})", _data(root.data), seed, rows, backward, grad,
                    dict.fromkeys(grad), "out")
    return grads, ledger
