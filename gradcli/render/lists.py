"""Tables for people of many results: a batch run (a table, or a block a job), a Hessian or a
Jacobian (one table, or blocks of columns), gradient descent's minimum."""
from __future__ import annotations

import numpy as np

from gradcli.render.numbers import Digits
from gradcli.render.records import clean, one_line


def _batch_rows(records, digits: Digits):
    """Per job: "value" or "error", line, expression, value (or the error's kind), gradients (or
    the error's message), check."""
    from rich.text import Text
    for rec in records:
        expr = one_line(clean(rec.expr))
        if rec.error is not None:
            where = f" (column {rec.column})" if rec.column else ""
            message = [Text(clean(rec.error.message), "red")]
            if rec.error.hint:
                message.append(Text(f"hint: {clean(rec.error.hint)}", "dim"))
            yield ("error", str(rec.line), expr, Text(f"{rec.error_type} error{where}", "red"), message, Text(""))
        elif rec.symbolic is not None:
            grads = [Text(f"∂/∂{k} = {v}") for k, v in rec.symbolic.grad_text().items()]
            yield "value", str(rec.line), expr, Text(str(rec.symbolic.value_text())), grads, Text("symbolic")
        else:
            r = rec.result
            grads = [digits.text(f"∂/∂{k}", v) for k, v in (r.grad or {}).items()]
            status = rec.check.status
            mark = {"ok": ("ok ✓", "green"), "mismatch": ("MISMATCH ✗", "bold red")}.get(status, (status, "dim"))
            yield "value", str(rec.line), expr, digits.cell(r.value), grads, Text(*mark)


def batch_table(records, digits: Digits | None = None):
    """One Rich table for a whole batch."""
    from rich.table import Table
    from rich.text import Text

    digits = digits or Digits()
    files = [rec.file for rec in records] if any(rec.file for rec in records) else None
    table = Table(header_style="bold", show_lines=False)
    if files:
        table.add_column("file", style="dim", overflow="fold")
    table.add_column("line", justify="right", style="dim", no_wrap=True)
    table.add_column("expression", overflow="fold")
    table.add_column("value", justify="right", overflow="fold")
    table.add_column("gradient", overflow="fold")
    table.add_column("check", overflow="fold")
    for i, (_, line, expr, value, grads, check) in enumerate(_batch_rows(records, digits)):
        table.add_row(*([files[i]] if files else []), line, expr, value, Text("\n").join(grads), check)
    return digits.table(table)


def batch_stacked(records, digits: Digits | None = None):
    """batch_table for a narrow terminal: each job a block of lines."""
    from rich.table import Table
    from rich.text import Text

    digits = digits or Digits()
    table = Table(show_edge=False, pad_edge=False, box=None, show_header=False)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    for rec, (kind, line, expr, value, grads, check) in zip(records, _batch_rows(records, digits)):
        where = f"{rec.file}, line {line}" if rec.file else f"line {line}"
        table.add_row(Text(where, "bold"), Text.assemble(expr, "  ", check))
        table.add_row(f"  {kind}", value)
        for g in grads:
            table.add_row("", g)
    return digits.table(table)


def matrix_table(title: str, rows: list[str], cols: list[str], m: np.ndarray, digits: Digits | None = None):
    """A labelled matrix as a Rich table."""
    from rich.table import Table
    from rich.text import Text
    digits = digits or Digits()
    table = Table(title=title, header_style="bold", title_justify="left", title_style="bold")
    table.add_column("", no_wrap=True)
    for c in cols:
        table.add_column(Text(c), justify="right", no_wrap=True)
    for label, row in zip(rows, m):
        table.add_row(Text(label, "bold"), *(digits.num(x) for x in row))
    return digits.table(table)


def matrix_blocks(title: str, rows: list[str], cols: list[str], m: np.ndarray, digits: Digits | None = None):
    """A matrix too wide for one table, as tables of as many columns as fit, one below the other
    (as numpy and pandas print wide arrays): `Jacobian, columns 1-4 of 12`."""
    from rich.console import Group
    digits = digits or Digits()
    if digits.width is None:
        return matrix_table(title, rows, cols, m, digits)
    label = max(map(len, rows), default=0) + 4
    widest = max([len(c) for c in cols] + [len(digits.num(x)) for x in np.ravel(m)] or [1]) + 3
    per = max(1, (digits.width - label - 1) // widest)
    blocks = []
    for lo in range(0, len(cols), per):
        hi = min(lo + per, len(cols))
        name = f"{title}, columns {lo + 1}-{hi} of {len(cols)}" if hi - lo > 1 else f"{title}, column {hi} of {len(cols)}"
        blocks.append(matrix_table(name, rows, cols[lo:hi], m[:, lo:hi], digits))
    return Group(*blocks)


def minimum_table(m, digits: Digits | None = None):
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text
    digits = digits or Digits()
    table = Table(show_edge=False, box=None, pad_edge=False, header_style="bold")
    table.add_column("variable", overflow="fold")
    table.add_column("argmin", justify="right", overflow="fold")
    table.add_column("gradient", justify="right", overflow="fold")
    for k, v in m.argmin.items():
        g = m.grad.get(k)
        table.add_row(Text(k, "bold"), digits.cell(v), "" if g is None else digits.cell(g))
    style = "green" if m.converged else ("bold red" if m.reason == "diverged" else "yellow")
    steps = f"{m.steps} step" + ("" if m.steps == 1 else "s")
    summary = Text.assemble(("minimum ", "bold"), (digits.num(m.value), "bold cyan"),
                            f"   |gradient| {digits.num(m.grad_norm)}   {steps} of {m.optimizer} (lr {m.lr:g})   ",
                            (m.reason, style))
    return Group(Text.assemble((one_line(m.expr.source), "bold")), Text(""), digits.table(table), Text(""), summary)
