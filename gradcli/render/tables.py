"""eval's tables for people: the value line, the variables with their gradients and checks (a
table, or on a narrow terminal a block each), the retained intermediate gradients, the check line;
and the table of a result with free variables."""
from __future__ import annotations

import numpy as np

from gradcli.render.numbers import Digits, fmt_num, fmt_value
from gradcli.render.records import one_line, source_line


def check_line(check, digits: Digits | None = None) -> str:
    """One line saying what the cross-check found."""
    if check.status == "skipped":
        return f"cross-check: skipped ({check.reason})"
    if check.status in ("timeout", "error"):
        return f"cross-check: {check.status} ({check.reason})"
    err = "" if check.max_abs_err is None else f", max |error| {(digits or Digits()).num(check.max_abs_err)}"
    tol = f"rtol {check.rtol:g}, atol {check.atol:g}"
    if check.status == "ok":
        return f"cross-check: ok ✓ ({check.method}{err}; {tol})"
    if check.status == "nondifferentiable":
        return "cross-check: not differentiable here: " + "; ".join(check.conventions)
    return f"cross-check: MISMATCH ✗ ({check.reason}{err}; {tol})"


def value_line(source: str, value, digits: Digits | None = None):
    """`EXPR  =  value` (user text is never read as Rich markup)."""
    from rich.text import Text
    digits = digits or Digits()
    line = source_line(source)
    lead = line + "  =  "
    shown = digits.value(value).replace("\n", "\n" + " " * len(lead))     # a matrix's rows under its first
    head = Text.assemble((line, "bold"), "  =  ", (shown, "bold cyan"))
    if np.ndim(value):
        head.append(f"   shape {tuple(np.shape(value))}", "dim")
    return head


def eval_table(result, check, digits: Digits | None = None, retained: bool = True):
    """The value line, a table of the variables with their gradients and checks, the
    retained intermediate gradients (--retain-grad, unless the tree shows them), and the check line."""
    return _eval_view(result, check, digits or Digits(), _variables_table, retained)


def eval_stacked(result, check, digits: Digits | None = None, retained: bool = True, wrap: bool = False):
    """eval_table for a narrow terminal: each variable a small block instead of a table row; an
    array on one line (wrap=False) or wrapped between its elements."""
    def stacked(result, check, digits):
        return _variables_stacked(result, check, digits, wrap)
    return _eval_view(result, check, digits or Digits(), stacked, retained)


def _eval_view(result, check, digits: Digits, variables, show_retained: bool):
    from rich.console import Group
    from rich.text import Text

    parts = [value_line(result.expr.source, result.value, digits)]
    if result.variables:
        parts += [Text(""), variables(result, check, digits)]
    retained = [n for n in result.graph if n.retained] if show_retained and result.tensors is not None else []
    if retained:
        parts += [Text(""), _retained_table(retained, digits)]
    style = {"ok": "green", "mismatch": "bold red", "timeout": "yellow", "error": "red"}.get(check.status, "dim")
    parts.append(Text("\n" + check_line(check, digits), style))
    return Group(*parts)


def _variable_rows(result, check, digits: Digits) -> list[dict]:
    """Per variable: name, value, gradient, and (when checked) the check's cell, mark and difference."""
    from rich.text import Text
    checked = check.status in ("ok", "mismatch", "nondifferentiable")
    grads = result.grad or {}
    rows = []
    for name in result.variables:
        g = grads.get(name)
        row = {"name": Text(name, "bold"), "value": digits.cell(result.values[name]),
               "gradient": digits.cell(g, "green" if _finite_value(g) else "bold red") if g is not None else Text(
                   "not recorded (--no-grad)" if result.grad is None else "constant (not in --wrt)", "dim")}
        if checked:
            row["check"], row["mark"] = _check_cells(check, name, g, digits)
        if check.status == "mismatch":
            row["difference"] = _difference(g, check.expected[name]) if name in check.expected else ""
        rows.append(row)
    return rows


def _finite_value(v) -> bool:
    return bool(np.all(np.isfinite(np.asarray(v, dtype=np.float64))))


def _check_header(check) -> str:
    return f"{check.exact} ∂/∂" if check.exact else "check"


def _variables_table(result, check, digits: Digits):
    from rich.table import Table
    rows = _variable_rows(result, check, digits)
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    table.add_column("variable", overflow="fold")
    table.add_column("value", justify="right", overflow="fold")
    table.add_column("gradient", justify="right", overflow="fold")
    if "check" in rows[0]:
        table.add_column(_check_header(check), overflow="fold")
        table.add_column("", no_wrap=True)
    if "difference" in rows[0]:
        table.add_column("difference", justify="right", style="red", no_wrap=True, overflow="fold")
    for row in rows:
        table.add_row(*row.values())
    return digits.table(table)


def _variables_stacked(result, check, digits: Digits, wrap: bool):
    from rich.table import Table
    from rich.text import Text
    table = Table(show_edge=False, pad_edge=False, box=None, show_header=False)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    for row in _variable_rows(result, check, digits):
        value, grad = row["value"], row["gradient"]
        value.no_wrap = grad.no_wrap = not wrap          # an array on one line, or wrapped between elements
        table.add_row(row["name"], "")
        table.add_row("  value", value)
        table.add_row("  gradient", grad)
        if "check" in row:
            table.add_row("  " + _check_header(check), Text.assemble(row["check"], "  ", row["mark"]))
        if row.get("difference"):
            table.add_row("  difference", Text(row["difference"], "red"))
    return digits.table(table)


def _retained_table(nodes, digits: Digits):
    """The gradients --retain-grad kept on intermediate (non-leaf) nodes."""
    from rich.table import Table
    from rich.text import Text
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    table.add_column("intermediate", overflow="fold")
    table.add_column("value", justify="right", overflow="fold")
    table.add_column("gradient (retained)", justify="right", overflow="fold")
    for n in nodes:
        table.add_row(Text(one_line(n.shown), "bold"), digits.cell(n.value), digits.cell(n.grad, "green"))
    return digits.table(table)


def _difference(got, want) -> str:
    with np.errstate(invalid="ignore"):
        d = np.asarray(got, dtype=np.float64) - np.asarray(want, dtype=np.float64)
    if d.ndim == 0:
        return f"{float(d):+.3g}"
    return "[" + ", ".join(f"{x:+.3g}" for x in d.ravel()[:6]) + (", …]" if d.size > 6 else "]")


def _check_cells(check, name: str, grad, digits: Digits) -> list:
    from rich.text import Text
    if name not in check.agree:
        return ["", ""]
    expected = check.expected.get(name)
    formula = (check.symbolic or {}).get(name)
    if not check.exact:
        cell = "directional finite differences"
    elif isinstance(formula, str):
        cell = digits.text(formula, expected) if formula != fmt_num(expected) else formula
    elif not check.agree[name]:
        cell = digits.cell(expected)
    else:
        flat = np.ravel(np.asarray(formula, dtype=object))
        cell = ", ".join(flat) if sum(map(len, flat)) <= 40 else f"agrees on all {flat.size} elements"
    # A gradient that is nan or inf is never marked as agreeing, whatever the reference says.
    ok = check.agree[name] and bool(np.all(np.isfinite(np.asarray(grad, dtype=np.float64))))
    mark = Text("✓", "green") if ok else Text("≈" if check.status == "nondifferentiable" else "✗", "bold red")
    return [cell, mark]


def symbolic_table(sres):
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    value = sres.value_text()
    head = Text.assemble((source_line(sres.expr.source), "bold"), "  =  ",
                         (value if isinstance(value, str) else str(value), "bold cyan"),
                         (f"   free: {', '.join(sres.free)}", "dim"))
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    table.add_column("variable")
    table.add_column("value", justify="right")
    table.add_column("gradient (symbolic)")
    grads = sres.grad_text()
    for name in sres.variables:
        shown = fmt_value(sres.values[name]) if name in sres.values else Text("free", "italic")
        g = grads.get(name)
        table.add_row(Text(name, "bold"), shown, Text(g if isinstance(g, str) else str(g), "green")
                      if g is not None else Text("constant (not in --wrt)", "dim"))
    return Group(head, Text(""), table)
