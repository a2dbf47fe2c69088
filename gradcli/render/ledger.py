"""explain's ledger for people: the forward pass as a table, the backward pass node by node (what
each edge receives, its local derivative, what it passes on, the running totals), the gradients
beside their finite-difference estimates. Arrays are compact, one line with their shape, long
ones elided; everything wraps between words, and a number never folds."""
from __future__ import annotations

import re

import numpy as np

from gradcli.render.numbers import Digits, _folding_text
from gradcli.render.records import one_line

EDGE = 3                # elements kept at each end of a longer axis
FD_DIGITS = 8           # a finite-difference estimate is shown to this many significant digits
REUSED = "a reused value adds its contributions"
_NUMBERISH = re.compile(r"[^\s\[\],]+")


def compact(v, digits: Digits, shape: bool = True) -> str:
    """A number, or an array on one line with its shape: `[1, 2, 3] (3,)`, `[1, 2, 3, …, 9] (9,)`."""
    if np.ndim(v) == 0:
        return digits.num(v)
    arr = np.asarray(v, dtype=np.float64)

    def nest(a) -> str:
        n = len(a)
        picks = list(range(n)) if n <= 2 * EDGE + 1 else [*range(EDGE), None, *range(n - EDGE, n)]
        if a.ndim == 1:
            return "[" + ", ".join("…" if i is None else digits.num(a[i]) for i in picks) + "]"
        return "[" + ", ".join("…" if i is None else nest(a[i]) for i in picks) + "]"
    text = nest(arr) if arr.size else "[]"
    return f"{text} {shape_text(arr.shape)}" if shape else text


def shape_text(shape) -> str:
    """(3,) and (2,3): a shape without spaces, so that wrapping never splits it."""
    shape = tuple(shape)
    return "(" + ",".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _cell(text: str, style: str = ""):
    """A cell that wraps between words and folds a long formula, but never below its widest number."""
    cell = _folding_text()(text, style, overflow="fold")
    cell.least = max((len(word) for word in text.split()      # a word as it wraps: [[0.25, brackets and all
                      if any(_is_number(w) for w in _NUMBERISH.findall(word))), default=0)
    return cell


def _is_number(word: str) -> bool:
    try:
        float(word.rstrip(")").lstrip("("))
        return True
    except ValueError:
        return word in ("nan", "inf", "-inf")


TABLE_ROWS = 60         # a longer forward pass is shown as lines, not a table: Rich measures every cell of
                        # a table for every width it tries, which for 200 nodes took most of a second


def ledger_layouts(ledger) -> tuple:
    """The layouts, most preferred first: the forward pass as a table, or (narrow, or long) a block a node."""
    blocks = (lambda digits: _view(ledger, digits, wide=False),)
    return blocks if len(ledger.forward) > TABLE_ROWS else (lambda digits: _view(ledger, digits, wide=True), *blocks)


def _view(ledger, digits: Digits, wide: bool):
    from rich.console import Group
    from rich.text import Text

    from gradcli.render.tables import value_line
    parts = [value_line(ledger.expr, ledger.value, digits)]
    if ledger.seed is not None:
        out = ledger.output
        parts.append(Text(f"grad_output (the seed ∂{out}/∂{out})  " + compact(ledger.seed, digits), "dim"))
    parts += [Text(""), Text("forward pass (inputs first)", "bold"),
              (_forward_table if wide else _forward_blocks)(ledger, digits)]
    parts += [Text(""), Text(f"backward pass (from the output back; upstream = ∂{ledger.output}/∂node)", "bold"),
              _backward_table(ledger, digits)]
    if ledger.grad:
        parts += [Text(""), Text("gradients", "bold"), _grad_table(ledger, digits)]
    return Group(*parts)


def _forward_table(ledger, digits: Digits):
    from rich.table import Table
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("node", overflow="fold")
    table.add_column("op", no_wrap=True)
    table.add_column("inputs", overflow="fold")
    table.add_column("value", overflow="fold")
    for s in ledger.forward:
        table.add_row(str(s.id), _cell(_label(s), "bold"), s.op, _cell(", ".join(map(str, s.inputs))),
                      _cell(compact(s.value, digits), "cyan"))
    digits.table(table)
    node = table.columns[1]
    if node.width is not None and node.width < max(len(_label(s)) for s in ledger.forward):
        digits.fits = False         # a node's text would fold: the blocks read better
    return table


def _forward_blocks(ledger, digits: Digits):
    lines = []
    for s in ledger.forward:
        lines.append((f"[{s.id}]", f"{_label(s)} = {compact(s.value, digits)}", ""))
        if s.inputs:
            lines.append(("", f"{s.op} of " + ", ".join(f"[{i}]" for i in s.inputs), "dim"))
    return _hanging(lines, digits)


def _label(s) -> str:
    """A node as the forward table names it: its text, and a named step's name (y = a*b)."""
    text = one_line(s.text)
    return text if not s.name or s.name == text else f"{s.name} = {text}"


def _backward_table(ledger, digits: Digits):
    """The backward pass as lines under each node's marker, wrapped between words to the width
    with a hanging indent (a Text, not a table: a ledger of a long expression has thousands)."""
    rows = ledger.forward
    out = ledger.output
    lines = []          # (marker, text, style)
    last = None
    for e in ledger.backward:
        node, x = rows[e.node], rows[e.input]
        if e.node != last:
            last = e.node
            seed = " (the seed)" if e.node == rows[-1].id else ""
            lines.append((f"[{node.id}]", f"{_label(node)}  receives ∂{out}/∂{node.ref} = "
                                          f"{compact(e.upstream, digits)}{seed}", "bold"))
            said = [w for w in (e.rule, e.pattern) if w]
            if said:
                lines.append(("", "; ".join(said), "italic"))
        twice = f" (as input {e.argument + 1})" if node.inputs.count(x.id) > 1 else ""
        lines.append(("", f"→ [{x.id}] {_label(x)}{twice}", "bold"))
        lines.append(("", _local(e, node.op, digits), ""))
        if e.local is not None:
            lines.append(("", f"upstream × local = {compact(e.upstream, digits, False)} × "
                              f"{compact(e.local, digits, False)} = {compact(e.raw, digits)}", ""))
        if e.summed:
            lines.append(("", f"broadcasting grew {x.ref} from {shape_text(np.shape(e.contribution))} to "
                              f"{shape_text(np.shape(e.raw))}: summed back, {compact(e.raw, digits)} → "
                              f"{compact(e.contribution, digits)}", "yellow"))
        total = f"∂{out}/∂{x.ref}"
        if e.of == 1:
            lines.append(("", f"{total} = {compact(e.contribution, digits)}", "green"))
        elif e.nth == 1:
            lines.append(("", f"{total} = {compact(e.contribution, digits)}  (contribution 1 of {e.of})", "green"))
        else:
            lines.append(("", f"{total} += {compact(e.contribution, digits)}  → {compact(e.accumulated, digits)}"
                              f"  ({e.nth} of {e.of}: {REUSED})", "green"))
    if not lines:
        lines.append(("", "no gradient flows back: none of the output's inputs leads to a differentiated "
                          "variable (a comparison passes none)", "dim"))
    return _hanging(lines, digits)


def _hanging(lines: list, digits: Digits):
    """Marker, then text wrapped at its spaces to the width, continued under itself. A word (a
    number) is never broken: where one does not fit, the rendering does not fit (digits.fits)."""
    import textwrap

    from rich.text import Text
    indent = max((len(m) for m, _, _ in lines), default=0) + 2
    room = None if digits.width is None else max(digits.width - indent, 1)
    out = Text()
    for k, (marker, text, style) in enumerate(lines):
        if k:
            out.append("\n")
        parts = [text] if room is None or len(text) <= room else \
            textwrap.wrap(text, room, break_long_words=False, break_on_hyphens=False)
        if room is not None and any(len(p) > room for p in parts):
            if any(len(w) > room and _is_number(w) for p in parts for w in _NUMBERISH.findall(p)):
                digits.fits = False
            parts = [p[i:i + room] for p in parts for i in range(0, len(p), room)]    # a long text folds
        out.append(marker.ljust(indent), "bold")
        out.append(("\n" + " " * indent).join(parts), style)
    return out


def _local(e, symbol: str, digits: Digits) -> str:
    """local ∂(a*b)/∂a = b = 3; for a row that is not elementwise, its vector-Jacobian product in g,
    the upstream."""
    if e.local is None:
        formula = f"{e.local_formula} = " if e.local_formula else ""
        return f"{symbol} is not elementwise: its vector-Jacobian product (g the upstream) gives " \
               f"{formula}{compact(e.raw, digits)}"
    value = compact(e.local, digits)
    if e.local_formula and e.local_formula != value:
        return f"local {e.partial} = {e.local_formula} = {value}"
    return f"local {e.partial} = {value}"


def _grad_table(ledger, digits: Digits):
    from rich.table import Table
    estimated = any(v is not None for v in ledger.finite.values())
    if len(ledger.grad) > TABLE_ROWS:
        return _hanging([(name, f"{compact(g, digits)}" + (f"   finite difference {_estimate(ledger.finite[name], ledger.estimated, digits)}"
                                                          if ledger.finite.get(name) is not None else ""), "green")
                         for name, g in ledger.grad.items()], digits)
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    table.add_column("variable", overflow="fold")
    table.add_column("gradient (the sum of its contributions)", overflow="fold")
    if estimated:
        table.add_column("finite difference", overflow="fold")
    for name, g in ledger.grad.items():
        cells = [_cell(name, "bold"), _cell(compact(g, digits), "green")]
        fd = ledger.finite.get(name)
        if estimated:
            cells.append(_cell("" if fd is None else _estimate(fd, ledger.estimated, digits)))
        table.add_row(*cells)
    return digits.table(table)


def _estimate(fd, first: int, digits: Digits) -> str:
    """A finite-difference estimate, to FD_DIGITS digits (it is no more precise); of a large array,
    its first `first` elements (explain estimates no more)."""
    shown = Digits(min(FD_DIGITS, digits.limit or FD_DIGITS))
    if np.ndim(fd) == 0:
        return shown.num(fd)
    arr = np.asarray(fd, dtype=np.float64)
    if arr.size <= first:
        return compact(arr, shown)
    return f"{compact(arr.ravel()[:first], shown, False)} (the first {first} of {arr.size} elements, flattened)"
