"""Renderers: Rich table and tree for people; JSON and TSV for scripts.

Numbers are printed with the shortest text that reads back to the same float
(Python's repr), so what is shown is correct to the last digit.
"""
from __future__ import annotations

import io
import json
import math

import numpy as np

EDGE = 3                # elements shown at each end of a long axis
SUMMARIZE = 200         # arrays larger than this are shown with an ellipsis


# -- numbers -------------------------------------------------------------------
def fmt_num(x: float, digits: int | None = None) -> str:
    """Shortest exact text: 10, 0.1, 1e-300, -inf, nan. With digits, at most that many
    significant digits, the exponent always kept (2.89e-22), when that is shorter."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == int(x) and abs(x) < 1e16:
        text = "-0" if x == 0 and math.copysign(1, x) < 0 else str(int(x))
    else:
        text = repr(x)
    if digits is not None:
        short = f"{x:.{digits}g}"
        if len(short) < len(text):
            return short
    return text


class Digits:
    """How one rendering shows numbers: at most `limit` significant digits (None: every digit),
    for a terminal `width` columns wide (None: no limit). It notes whether a number was shown
    with fewer digits than it has (`rounded`) and whether a table could not fit (`fits`)."""

    def __init__(self, limit: int | None = None, width: int | None = None):
        self.limit = limit
        self.width = width
        self.rounded = False
        self.fits = True

    def num(self, x) -> str:
        text = fmt_num(x, self.limit)
        if self.limit is not None and not self.rounded and text != fmt_num(x):
            self.rounded = True
        return text

    def value(self, v) -> str:
        return fmt_value(v, self)

    def cell(self, v, style: str = ""):
        """A table cell for a value: a number never wraps; an array wraps between its elements."""
        from rich.text import Text
        return Text(self.value(v), style, no_wrap=np.ndim(v) == 0, overflow="fold")

    def text(self, text: str, value=None, style: str = ""):
        """A cell of text that may fold, ending in a value (`formula = 2.89e-22`) that never folds."""
        shown = "" if value is None else self.short(value)
        cell = _folding_text()(f"{text} = {shown}" if shown and text != shown else text, style, overflow="fold")
        cell.least = len(shown)
        return cell

    def short(self, v) -> str:
        """A value on one line."""
        text = fmt_value(v, self)
        return text if "\n" not in text else " ".join(text.split())

    def table(self, table):
        """Give the table's columns widths that fit `width`: the widest shrink first (their
        text wraps), none below its widest word or number, so nothing is cut; `fits` is False
        when even that is too wide."""
        if self.width is None:
            return table
        from rich.measure import Measurement
        console = _measuring_console()
        options = console.options
        lows, highs = [], []
        for column in table.columns:
            cells = [console.render_str(c) if isinstance(c, str) else c for c in (column.header, *column.cells)]
            sizes = [Measurement.get(console, options, c) for c in cells]
            high = max(m.maximum for m in sizes)
            lows.append(max(_least(column, c, m) for c, m in zip(cells, sizes)))
            highs.append(high)
        room = self.width - (Measurement.get(console, options, table).maximum - sum(highs))
        if sum(highs) <= room:
            return table
        if sum(lows) > room:
            self.fits = False
            return table
        level = _water_level(lows, highs, room)
        for column, low, high in zip(table.columns, lows, highs):
            column.width = max(low, min(high, level))
        return table


_FOLDING = []


def _folding_text():
    """Rich's Text with room for `least`, the width below which it may not fold (Text has slots)."""
    if not _FOLDING:
        from rich.text import Text

        class FoldingText(Text):
            least = 0
        _FOLDING.append(FoldingText)
    return _FOLDING[0]


FOLD_MIN = 12       # a text that may fold (a formula, a long name) gives way down to this width


def _least(column, cell, size) -> int:
    """The narrowest a cell can be: all of it if it may not wrap (a number: Rich's measure gives
    its longest word); a text that folds, FOLD_MIN, but never less than the number it holds
    (`least`, set by Digits.text)."""
    if column.no_wrap or getattr(cell, "no_wrap", None):
        return size.maximum
    if column.overflow == "fold":
        return max(getattr(cell, "least", 0), min(size.minimum, FOLD_MIN))
    return size.minimum


def _water_level(lows: list[int], highs: list[int], room: int) -> int:
    """The largest cap L with sum(clamp(L, low, high)) <= room: the widest columns give way first."""
    lo, hi = 0, max(highs)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if sum(max(low, min(high, mid)) for low, high in zip(lows, highs)) <= room:
            lo = mid
        else:
            hi = mid - 1
    return lo


LEVELS = (None, 15, 12, 10, 8, 6, 5, 4, 3)     # digit limits tried, most first, until a rendering fits
KEEP = 6                # a layout is given up for the next one rather than show fewer digits than this
UNLIMITED = 1 << 20


def _measuring_console():
    """A console of unlimited width: Rich clamps every measurement to the width it is given."""
    from rich.console import Console
    return Console(width=UNLIMITED, color_system=None, file=io.StringIO())


def fitted(width: int, *layouts):
    """The first layout that fits `width` columns with the most digits. A layout is build(Digits)
    -> renderable, or (build, least): it is tried from every digit down to `least` (KEEP by
    default, 3 for the last) before the next. Returns the renderable and its Digits; when nothing
    fits, the last layout with the fewest digits (its text and numbers then wrap: still never cut)."""
    from rich.measure import Measurement
    console = _measuring_console()

    def attempt(build, limit):
        digits = Digits(limit, width)
        renderable = build(digits)
        fits = digits.fits and Measurement.get(console, console.options, renderable).minimum <= width
        return fits, renderable, digits

    best = None
    for n, layout in enumerate(layouts):
        build, least = layout if isinstance(layout, tuple) else (layout, 3 if n == len(layouts) - 1 else KEEP)
        levels = LEVELS[:LEVELS.index(least) + 1]
        fits, renderable, digits = attempt(build, levels[0])
        if fits:
            return renderable, digits
        fits, renderable, digits = attempt(build, levels[-1])
        best = (renderable, digits)
        if not fits:
            continue
        lo, hi = 1, len(levels) - 1          # levels[hi] fits, levels[0] does not
        while lo < hi:
            mid = (lo + hi) // 2
            fits, renderable, digits = attempt(build, levels[mid])
            if fits:
                best, hi = (renderable, digits), mid
            else:
                lo = mid + 1
        return best
    return best


def fmt_value(v, digits: Digits | None = None) -> str:
    """A number, or an array as aligned nested brackets (summarized with … if large)."""
    num = fmt_num if digits is None else digits.num
    if np.ndim(v) == 0:
        return num(v)
    arr = np.asarray(v, dtype=np.float64)
    summarize = arr.size > SUMMARIZE

    def pick(n: int) -> list:
        if not summarize or n <= 2 * EDGE:
            return list(range(n))
        return [*range(EDGE), None, *range(n - EDGE, n)]

    def texts(a) -> list[str]:
        if a.ndim == 1:
            return [num(a[i]) for i in pick(len(a)) if i is not None]
        return [t for i in pick(len(a)) if i is not None for t in texts(a[i])]

    width = max(map(len, texts(arr)), default=1)

    def nest(a, depth: int) -> str:
        if a.ndim == 1:
            return "[" + ", ".join("…" if i is None else num(a[i]).rjust(width) for i in pick(len(a))) + "]"
        sep = ",\n" + "\n" * (a.ndim - 2) + " " * (depth + 1)
        return "[" + sep.join("…" if i is None else nest(a[i], depth + 1) for i in pick(len(a))) + "]"

    return nest(arr, 0) if arr.size else "[]"


def to_json(v):
    """A JSON-ready number or nested list; non-finite numbers become "nan", "inf", "-inf"."""
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if np.ndim(v) == 0:
        x = float(v)
        return x if math.isfinite(x) else fmt_num(x)
    arr = np.asarray(v, dtype=np.float64)
    if np.isfinite(arr).all():
        return arr.tolist()
    return [to_json(x) for x in arr]


# Characters that are valid in a JSON string but end a line for str.splitlines() and older
# JavaScript readers: written escaped, so one record stays one line for every reader.
_LINE_BREAKS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\u0085": "\\u0085"}


def dumps(obj) -> str:
    """Strict JSON (RFC 8259) on one line: never NaN or Infinity, never a line separator."""
    text = json.dumps(obj, allow_nan=False, ensure_ascii=False)
    if any(ch in text for ch in _LINE_BREAKS):
        for ch, escaped in _LINE_BREAKS.items():
            text = text.replace(ch, escaped)
    return text


def tsv_cell(v) -> str:
    """A TSV cell: a number, or an array as compact nested brackets."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if np.ndim(v) == 0:
        return fmt_num(v)
    return "[" + ",".join(tsv_cell(x) for x in np.asarray(v)) + "]"


# -- eval results --------------------------------------------------------------
def graph_json(result) -> list[dict]:
    return [{"id": n.id, "op": n.op, "text": n.text, "value": to_json(n.value),
             "shape": list(n.shape), "is_leaf": n.is_leaf, "requires_grad": n.requires_grad,
             "grad": to_json(n.grad), "grad_fn": n.grad_fn, "inputs": n.inputs} for n in result.graph]


def eval_record(result, check: dict, graph: bool = False) -> dict:
    """The JSON object of `gradcli eval --format json`."""
    rec = {"expr": result.expr.source,
           "value": to_json(result.value),
           "shape": list(np.shape(result.value)),
           "grad": None if result.grad is None else {k: to_json(v) for k, v in result.grad.items()},
           "check": check}
    if result.notes:
        rec["warnings"] = [n.message for n in result.notes]
    if graph:
        rec["graph"] = graph_json(result)
    return rec


TSV_HEADER = "kind\tname\tshape\tvalue\tgrad"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def eval_tsv(result) -> str:
    """Header, then one row for the output and one per variable."""
    rows = [TSV_HEADER,
            "\t".join(["output", _one_line(result.expr.source), _shape(result.value), tsv_cell(result.value), ""])]
    grads = result.grad or {}
    for name in result.variables:
        value = result.values[name]
        rows.append("\t".join(["var", name, _shape(value), tsv_cell(value), tsv_cell(grads.get(name))]))
    if result.tensors is not None:          # --retain-grad: the intermediate nodes' gradients too
        for n in result.graph:
            if n.retained:
                rows.append("\t".join(["node", _one_line(n.text), _shape(n.value), tsv_cell(n.value), tsv_cell(n.grad)]))
    return "\n".join(rows)


def _shape(v) -> str:
    return "[" + ",".join(str(n) for n in np.shape(v)) + "]"


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
    lead = _one_line(source) + "  =  "
    shown = digits.value(value).replace("\n", "\n" + " " * len(lead))     # a matrix's rows under its first
    head = Text.assemble((_one_line(source), "bold"), "  =  ", (shown, "bold cyan"))
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
    return "SymPy ∂/∂" if check.method == "sympy" else "check"


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
        table.add_row(Text(_one_line(n.text), "bold"), digits.cell(n.value), digits.cell(n.grad, "green"))
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
    if check.method != "sympy":
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


def symbolic_record(sres, check) -> dict:
    """JSON for a result with free variables: value and gradients are formula strings."""
    return {"expr": sres.expr.source, "value": sres.value_text(), "shape": list(sres.value.shape),
            "grad": sres.grad_text() if sres.grad else ({} if sres.grad is not None else None),
            "free": sres.free, "check": check}


def symbolic_tsv(sres) -> str:
    grads = sres.grad_text()
    rows = [TSV_HEADER, "\t".join(["output", _one_line(sres.expr.source), _shape(sres.value),
                                   _text_cell(sres.value_text()), ""])]
    for name in sres.variables:
        value = sres.values[name] if name in sres.values else "free"
        shape = _shape(sres.values[name]) if name in sres.values else "[]"
        rows.append("\t".join(["var", name, shape, tsv_cell(value), _text_cell(grads.get(name))]))
    return "\n".join(rows)


def _text_cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v.replace("\t", " ")
    return "[" + ",".join(_text_cell(x) for x in v) + "]"


def symbolic_table(sres):
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    value = sres.value_text()
    head = Text.assemble((_one_line(sres.expr.source), "bold"), "  =  ",
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


def graph_tree(result, digits: Digits | None = None):
    """The computational graph as a Rich tree, output at the root; a shared node is drawn once."""
    from rich.text import Text
    from rich.tree import Tree

    short = (digits or Digits()).short
    nodes = result.graph
    parents = [0] * len(nodes)
    for n in nodes:
        for i in n.inputs:
            parents[i] += 1

    def label(n) -> Text:
        t = Text.assemble((_one_line(n.text), "bold"), (f"  #{n.id}", "dim"))
        if n.op not in ("var", "num", "const"):
            t.append(f"  {n.op}", "magenta")
        t.append(f"  = {short(n.value)}", "cyan")
        details = [n.grad_fn or "", "leaf" if n.is_leaf else "non-leaf",
                   "requires_grad" if n.requires_grad else "requires_grad=False"]
        if parents[n.id] > 1:
            details.append(f"used {parents[n.id]}×")
        t.append("\n" + " · ".join(d for d in details if d), "dim")
        if n.grad is not None:
            t.append(f"  grad = {short(n.grad)}" + (" (retained)" if n.retained else ""), "green")
        elif n.requires_grad and not n.is_leaf:
            t.append("  grad freed", "yellow")
        return t

    root = nodes[-1]
    tree = Tree(label(root))
    drawn = {root.id}
    stack = [(tree, i) for i in reversed(root.inputs)]
    while stack:
        branch, i = stack.pop()
        n = nodes[i]
        if i in drawn:
            branch.add(Text.assemble("↑ ", (_one_line(n.text), "bold"), f"  #{n.id} (shown above)", style="dim"))
            continue
        drawn.add(i)
        sub = branch.add(label(n))
        stack.extend((sub, j) for j in reversed(n.inputs))
    if any(n.requires_grad and not n.is_leaf and n.grad is None for n in nodes):
        from rich.console import Group
        return Group(tree, Text("grad freed: non-leaf gradients are dropped after use; --retain-grad keeps them",
                                "dim"))
    return tree


# -- batch records ------------------------------------------------------------------
def _clean(text: str) -> str:
    """Text safe to print: undecodable bytes (kept as surrogates on input) become U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def batch_record(rec) -> dict:
    """The JSON line of one batch job: "line" first, then eval's fields or an "error"."""
    if rec.error is not None:
        error = {"type": rec.error_type, "message": _clean(rec.error.message), "column": rec.column}
        if rec.error.hint:
            error["hint"] = _clean(rec.error.hint)
        return {"line": rec.line, "expr": _clean(rec.expr), "error": error}
    if rec.symbolic is not None:
        skipped = {"status": "skipped", "method": None, "max_abs_err": None, "symbolic": None,
                   "reason": f"symbolic result: {', '.join(rec.symbolic.free)} free"}
        return {"line": rec.line, **symbolic_record(rec.symbolic, skipped)}
    return {"line": rec.line, **eval_record(rec.result, rec.check.record())}


BATCH_TSV_HEADER = "line\t" + TSV_HEADER


def batch_tsv(rec) -> str:
    """The TSV rows of one job, each prefixed by its line number."""
    if rec.error is not None:
        body = "\t".join(["error", rec.error_type, "", _one_line(_clean(rec.error.message)), ""])
        return f"{rec.line}\t{body}"
    rows = (symbolic_tsv(rec.symbolic) if rec.symbolic is not None else eval_tsv(rec.result)).split("\n")[1:]
    return "\n".join(f"{rec.line}\t{row}" for row in rows)


def _batch_rows(records, digits: Digits):
    """Per job: "value" or "error", line, expression, value (or the error's kind), gradients (or
    the error's message), check."""
    from rich.text import Text
    for rec in records:
        expr = _one_line(_clean(rec.expr))
        if rec.error is not None:
            where = f" (column {rec.column})" if rec.column else ""
            message = [Text(_clean(rec.error.message), "red")]
            if rec.error.hint:
                message.append(Text(f"hint: {_clean(rec.error.hint)}", "dim"))
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


# -- graph exports -------------------------------------------------------------------
# Colours as torchviz draws autograd graphs: leaves that require grad light blue,
# the output green, other non-leaves grey; constants white.
def _node_colour(n, output: bool) -> str:
    if output:
        return "darkolivegreen1"
    if n.is_leaf:
        return "lightblue" if n.requires_grad else "white"
    return "lightgrey"


def _node_lines(n) -> list[str]:
    lines = [n.text if len(n.text) <= 40 else n.text[:37] + "…"]
    if n.op not in ("var", "num", "const"):
        lines.append(f"op {n.op}" + (f" · {n.grad_fn}" if n.grad_fn else ""))
    lines.append(f"value {Digits().short(n.value)}")
    lines.append("leaf" if n.is_leaf else "non-leaf")
    if n.grad is not None:
        lines.append(f"grad {Digits().short(n.grad)}")
    elif n.requires_grad and not n.is_leaf:
        lines.append("grad freed")
    return lines


def graph_dot(result) -> str:
    """Graphviz DOT of the graph, inputs pointing at the ops that use them."""
    nodes = result.graph
    out = ["digraph gradcli {", '  rankdir="BT";', '  node [shape=box, style="rounded,filled", fontname="Helvetica"];']
    for n in nodes:
        label = "\\n".join(line.replace("\\", "\\\\").replace('"', '\\"') for line in _node_lines(n))
        out.append(f'  n{n.id} [label="{label}", fillcolor="{_node_colour(n, n.id == nodes[-1].id)}"];')
    for n in nodes:
        for i in n.inputs:
            out.append(f"  n{i} -> n{n.id};")
    out.append("}")
    return "\n".join(out)


def graph_mermaid(result) -> str:
    """A Mermaid flowchart of the graph."""
    nodes = result.graph
    out = ["flowchart BT"]
    for n in nodes:
        label = "<br/>".join(line.replace('"', "#quot;") for line in _node_lines(n))
        out.append(f'  n{n.id}["{label}"]')
    for n in nodes:
        for i in n.inputs:
            out.append(f"  n{i} --> n{n.id}")
    out += ["  classDef leafgrad fill:#add8e6", "  classDef output fill:#caff70", "  classDef op fill:#d3d3d3"]
    for n in nodes:
        kind = "output" if n.id == nodes[-1].id else ("leafgrad" if n.is_leaf and n.requires_grad else
                                                        None if n.is_leaf else "op")
        if kind:
            out.append(f"  class n{n.id} {kind}")
    return "\n".join(out)


def hessian_record(d, check: dict) -> dict:
    return {"expr": d.expr.source, "variables": d.labels, "value": to_json(d.value),
            "grad": {k: to_json(v) for k, v in d.grad.items()}, "hessian": to_json(d.hessian), "check": check}


def jacobian_record(d, check: dict) -> dict:
    return {"expr": d.expr.source, "variables": d.labels, "value": to_json(d.value),
            "jacobian": to_json(d.jacobian), "check": check}


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


def minimum_record(m) -> dict:
    return {"expr": m.expr.source, "argmin": {k: to_json(v) for k, v in m.argmin.items()},
            "value": to_json(m.value), "grad_norm": to_json(m.grad_norm), "steps": m.steps,
            "converged": m.converged, "reason": m.reason, "optimizer": m.optimizer, "lr": m.lr}


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
    return Group(Text.assemble((_one_line(m.expr.source), "bold")), Text(""), digits.table(table), Text(""), summary)
