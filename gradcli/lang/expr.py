"""Expr: the immutable, hash-consed expression DAG the parser produces.

Equal subtrees built by one `Builder` are one node, so `sin(x)*sin(x)` has a
single `sin(x)` used twice. Nodes are numbered in creation order, which is a
topological order (children are always made before their parents), and
variables are created in the order they first appear in the text.
"""
from __future__ import annotations

import contextlib
import gc

from gradcli.errors import Span


@contextlib.contextmanager
def paused_gc():
    """Pause the cyclic garbage collector: expressions and graphs hold no cycles (an output points
    to its inputs, never back), so refcounting frees them, and the collector's repeated scans of
    a growing graph would make building and walking it quadratic."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


_NO_ATTRS: dict = {}            # the kw of every node without attrs (most of them), shared: never written


class Expr:
    """One node: an op-table row applied to argument nodes, with static attrs."""
    __slots__ = ("op", "args", "attrs", "span", "source", "id", "_nodes", "kw", "parts", "label", "program",
                 "display")

    def __init__(self, op, args: tuple["Expr", ...], attrs: tuple, span: Span, source: str, id: int):
        self.op = op
        self.args = args
        self.attrs = attrs          # sorted (name, value) pairs: ('name', 'x'), ('value', 2.0), ('index', (1,))
        self.span = span
        self.source = source
        self.id = id
        self._nodes = None
        self.kw = dict(attrs) if attrs else _NO_ATTRS   # the attrs as keyword arguments (read-only)
        # Set only where they apply, and read with getattr(node, ..., None) (a slot left unset
        # costs nothing to make): `parts`, on a call that names keywords: keyword -> its span
        # (axis=0); `label`, on a program's named step (y = a*b: "y") or the result of a call of
        # a function it defines ("f(a)"); `program`, on a program's output: its steps, name -> node

    @property
    def text(self) -> str:
        """The text the user typed for this node (its first occurrence); of a node a function's
        call made, the body's text with the call's arguments in it."""
        display = getattr(self, "display", None)
        return self.source[self.span.start:self.span.end] if display is None else display

    def excerpt(self, limit: int) -> str:
        """The node's text, or its first characters and … when longer than limit: in time and
        memory bounded by limit (a chain of n additions has texts of total length n^2/2)."""
        display = getattr(self, "display", None)
        if display is not None:
            return display if len(display) <= limit else display[:limit - 1] + "…"
        start, end = self.span.start, self.span.end
        if end - start <= limit:
            return self.source[start:end]
        return self.source[start:start + limit - 1] + "…"

    def nodes(self) -> list["Expr"]:
        """Every node reachable from this one, in topological order (inputs first).

        The cached list holds every node but this one (which is always last), so a node
        never refers to itself: parsed expressions hold no reference cycles, and are freed
        by reference counting the moment they are dropped.
        """
        if self._nodes is None:
            self._nodes = self._reachable()[:-1]
        return [*self._nodes, self]

    def keep_nodes(self, created) -> None:
        """Record nodes() from every node a builder made, in creation order (a topological
        order): one backward sweep keeps those this node reaches, with no search or sort."""
        reached = {self.id}
        kept = []
        for node in reversed(list(created)):
            if node.id in reached:
                kept.append(node)
                reached.update(a.id for a in node.args)
        kept.reverse()
        self._nodes = kept[:-1]         # every node but this one (see nodes())

    def _reachable(self) -> list["Expr"]:
        seen = {self.id: self}
        stack = [self]
        while stack:
            for arg in stack.pop().args:
                if arg.id not in seen:
                    seen[arg.id] = arg
                    stack.append(arg)
        return [seen[i] for i in sorted(seen)]

    def variables(self) -> list[str]:
        """Variable names in order of first appearance in the text."""
        return [n.kw["name"] for n in self.nodes() if n.op.is_variable]

    def sexpr(self) -> str:
        """S-expression, for tests and debugging: (+ a (* b c))."""
        out: dict[int, str] = {}
        for node in self.nodes():
            kw = node.kw
            if node.op.is_variable or node.op.is_constant:
                out[node.id] = kw["name"]
            elif node.op.is_number:
                out[node.id] = repr(kw["value"]).removesuffix(".0")
            else:
                extra = [repr(v) for k, v in node.attrs]
                out[node.id] = "(" + " ".join([node.op.symbol, *(out[a.id] for a in node.args), *extra]) + ")"
        return out[self.id]

    def __repr__(self) -> str:
        return f"Expr({self.text!r})"


class Builder:
    """Makes nodes for one source text, sharing equal subtrees."""

    def __init__(self, source: str, first: int = 0):
        self.source = source
        self.table: dict[tuple, Expr] = {}
        self.first = first          # the first node's id (a scratch builder numbers its nodes apart)

    def make(self, op, args: tuple[Expr, ...], span: Span, **attrs) -> Expr:
        # the key spelt out for the common arities: a parse makes one node per token or so
        if attrs:
            items = tuple(sorted(attrs.items())) if len(attrs) > 1 else tuple(attrs.items())
            key = (op.key, *[a.id for a in args], *items)
        else:
            items = ()
            n = len(args)
            key = (op.key, args[0].id, args[1].id) if n == 2 else (op.key, args[0].id) if n == 1 else \
                (op.key, *[a.id for a in args])
        node = self.table.get(key)
        if node is None:
            node = Expr(op, args, items, span, self.source, self.first + len(self.table))
            self.table[key] = node
        return node
