"""The NaN trap, explained: where(x > 0, sqrt(x), 0) at x <= 0 has a nan gradient.

A selection (a row with `masks`: where) passes gradient 0 to the elements of the branch it does
not take, and reverse mode still differentiates that branch there: 0 times its infinite or
undefined local derivative is nan. gradcli computes what PyTorch and JAX compute, and, when a
gradient comes out nan, finds the selection whose branch not taken makes it and says how to
write it safely (the "double where").
"""
from __future__ import annotations

import re

import numpy as np

from gradcli.binding import finite
from gradcli.engine.backward import backprop
from gradcli.forward import forward, gradient_paths
from gradcli.render.numbers import to_json

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Trap:
    """A selection whose branch not taken makes a gradient nan: the node's index in the graph,
    the branch, its value at the first element not taken, and the safe way to write it."""

    def __init__(self, node, index: int, which: int, value: float, fix: str):
        self.node, self.index, self.index_in_node = node, index, which
        self.branch, self.value, self.fix = node.args[which], value, fix

    @property
    def message(self) -> str:
        cond = self.node.args[0].excerpt(40)
        where = "false" if self.index_in_node == 1 else "true"
        return (f"nan gradient from a branch not taken: {self.node.excerpt(60)} (node {self.index}) does not "
                f"take {self.branch.excerpt(40)} where {cond} is {where} ({self.branch.excerpt(40)} = "
                f"{_number(self.value)} there), yet differentiates it: 0 times its infinite or undefined "
                f"derivative is nan, as in PyTorch and JAX; write {self.fix}")

    def record(self) -> dict:
        """The trap as JSON: the node's id in the graph, the branch, its value, the fix."""
        return {"node": self.index, "text": self.node.excerpt(120), "branch": self.branch.excerpt(120),
                "value": to_json(self.value), "fix": self.fix}


def _number(v: float) -> str:
    return "nan" if np.isnan(v) else ("inf" if v == np.inf else "-inf" if v == -np.inf else repr(float(v)))


def find(nodes: list, bound: dict, wrt: list[str]) -> list[Trap]:
    """The selections whose branches not taken make a gradient with respect to wrt nan."""
    wanted = set(wrt)
    needs = gradient_paths(nodes, wanted)
    selections = [n for n in nodes if n.op.masks is not None and n in needs]
    if not selections:
        return []
    values = forward(nodes, bound).values
    index = {n.id: i for i, n in enumerate(nodes)}
    traps = []
    for node in selections:
        masks = node.op.masks(*[values[a.id] for a in node.args])
        for i, (branch, mask) in enumerate(zip(node.args, masks)):
            if mask is None or branch not in needs or not np.any(mask):
                continue
            if all(finite(g) for g in _zero_seeded(branch, values, wanted)):
                continue
            taken = np.broadcast_to(values[branch.id], np.shape(mask))[mask]
            traps.append(Trap(node, index[node.id], i, float(taken.flat[0]), _safe_fix(node, i, bound, wanted)))
    return traps


SAFE_VALUES = ("1", "2", "0.5", "10", "-1", "0")      # tried in turn: the first the fix is finite at wins
FIX_TEXT = 200          # characters of a where the fix is written out for (a warning stays a line)


def _safe_fix(node, branch: int, bound: dict, wanted: set) -> str:
    """The double where with a safe value that works here: its gradient is finite at the point
    (1 is not safe for sqrt(x - 1)); the first candidate, if none is."""
    from gradcli.lang.parser import parse
    if node.span.end - node.span.start > FIX_TEXT:       # a long where: the pattern, not its text
        return "where(cond, f(where(cond, x, 1)), b): the branch's variables at a safe value where it is not taken"
    for value in SAFE_VALUES:
        text = _fix(node, branch, value)
        fixed = parse(text)
        nodes = fixed.nodes()
        values = forward(nodes, {v: bound[v] for v in fixed.variables()}).values
        seed = np.ones(np.shape(values[fixed.id]))[()]
        if all(finite(g) for g in _gradients(fixed, values, wanted, seed)):
            return text
    return _fix(node, branch, SAFE_VALUES[0])


def _zero_seeded(branch, values: dict, wanted: set) -> list:
    """The gradients of the variables in a branch when the gradient reaching it is 0 (as through
    a where where it is not taken): nan where its local derivatives are infinite or undefined."""
    return _gradients(branch, values, wanted, np.zeros(np.shape(values[branch.id]))[()])


def _gradients(expr, values: dict, wanted: set, seed) -> list:
    """The gradients of expr's wanted variables for this seed, by the one backward pass."""
    nodes = expr.nodes()
    needs = gradient_paths(nodes, wanted)

    def step(node):
        if not node.args:
            return None
        return (node.op, node.kw, node.args, [values[a.id] for a in node.args], values[node.id],
                [np.shape(values[a.id]) for a in node.args])
    found = backprop(nodes, seed, step=step, needs=needs, keep={n for n in needs if n.op.is_variable})
    return list(found.values())


def _fix(node, branch: int, value: str) -> str:
    """where(C, A, B) with the variables of the branch not taken replaced by a safe value
    where it is not taken: where(C, A(where(C, x, 1)), B)."""
    cond, *branches = (a.text for a in node.args)
    names = set(node.args[branch].variables())

    def safe(m):
        if m.group() not in names or node.args[branch].text[m.end():m.end() + 1] == "(":
            return m.group()
        inner = (m.group(), value) if branch == 1 else (value, m.group())
        return f"where({cond}, {inner[0]}, {inner[1]})"
    text = node.args[branch].text
    safe_text = _NAME.sub(safe, text)
    branches[branch - 1] = safe_text
    return f"where({cond}, {branches[0]}, {branches[1]})"
