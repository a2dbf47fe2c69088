"""How every result is written, in every format, declared once: emit(shown, fmt).

A machine format gives the text to write (JSON, TSV, DOT, Mermaid, LaTeX); a human format gives
layouts, each a function of Digits to a Rich renderable, most preferred first: the writer fits
the first that fits the terminal (see numbers.fitted). Nothing here prints.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

from gradcli.render import records
from gradcli.render.numbers import dumps, to_json

# The result kinds are NamedTuples, cheaper to define than dataclasses (start-up), and the modules
# of the formats for people (tables, lists, graph) are imported when one of those is asked for.


class Evaluated(NamedTuple):
    """gradcli eval's result and its check; tree: draw the graph too; graph: list it in JSON."""
    result: object
    check: object
    tree: bool = False
    graph: bool = False


class Symbolic(NamedTuple):
    """A result with free variables (check: the JSON `check` object that says why it is symbolic)."""
    result: object
    check: dict


class Matrix(NamedTuple):
    """A Hessian or a Jacobian, labelled, with its check."""
    title: str
    derivatives: object
    rows: list
    cols: list
    matrix: object
    check: object


class Graph(NamedTuple):
    """gradcli graph's result."""
    result: object


class Minimum(NamedTuple):
    minimum: object


class Diffed(NamedTuple):
    """gradcli diff's derivation of the expression `source`."""
    source: str
    derivation: object


class Stepped(NamedTuple):
    """gradcli diff --steps: the derivations (steps.Derivation) of the expression `source`."""
    source: str
    derivations: list


class Claimed(NamedTuple):
    """gradcli diff --claim: the verdict (claims.Verdict) on a derivative done by hand."""
    verdict: object


class Plotted(NamedTuple):
    samples: object
    width: int


class Explained(NamedTuple):
    """gradcli explain's ledger of the forward and backward passes."""
    ledger: object


class Batch(NamedTuple):
    """A whole batch run's records, for the table, and the line under it."""
    records: list
    summary: str


def emit(shown, fmt: str):
    """The text (a machine format) or the layouts (a format for people) of a result."""
    return FORMATS[type(shown)][fmt](shown)


def _eval_layouts(e: Evaluated) -> tuple:
    from rich.console import Group
    from rich.text import Text

    from gradcli.render import graph, tables

    def view(layout, **how):
        def build(digits):
            table = layout(e.result, e.check, digits, retained=not e.tree, **how)
            return Group(table, Text(""), graph.graph_tree(e.result, digits)) if e.tree else table
        return build
    return view(tables.eval_table), view(tables.eval_stacked), view(tables.eval_stacked, wrap=True)


def _matrix_layouts(m: Matrix) -> tuple:
    from rich.console import Group
    from rich.text import Text

    from gradcli.render import lists, tables

    def view(layout):
        return lambda digits: Group(tables.value_line(m.derivatives.expr.source, m.derivatives.value, digits),
                                    layout(m.title, m.rows, m.cols, m.matrix, digits),
                                    Text(tables.check_line(m.check, digits), "dim"))
    return view(lists.matrix_table), view(lists.matrix_blocks)


def _batch_layouts(b: Batch) -> tuple:
    from rich.console import Group
    from rich.text import Text

    from gradcli.render import lists
    line = Text(b.summary, "dim")
    if not b.records:
        return (lambda digits: line,)
    return (lambda digits: Group(lists.batch_table(b.records, digits), line),
            lambda digits: Group(lists.batch_stacked(b.records, digits), line))


def _matrix_json(m: Matrix) -> str:
    record = records.hessian_record if m.title == "Hessian" else records.jacobian_record
    return dumps(record(m.derivatives, m.check.record()))


def _matrix_tsv(m: Matrix) -> str:
    from gradcli.render.numbers import fmt_num
    lines = ["\t".join(["", *m.cols])]
    lines += ["\t".join([r, *(fmt_num(x) for x in row)]) for r, row in zip(m.rows, m.matrix)]
    return "\n".join(lines)


def _minimum_tsv(m: Minimum) -> str:
    from gradcli.render.numbers import fmt_num, tsv_cell
    mm = m.minimum
    rows = ["name\tvalue"] + [f"{k}\t{tsv_cell(v)}" for k, v in mm.argmin.items()]
    rows += [f"value\t{fmt_num(mm.value)}", f"grad_norm\t{fmt_num(mm.grad_norm)}", f"steps\t{mm.steps}",
             f"reason\t{mm.reason}"]
    return "\n".join(rows)


def _diff_text(d: Diffed) -> str:
    shown = {n: _formula_text(t) for n, t in d.derivation.texts().items()}
    return "\n".join(t if len(shown) == 1 else f"d/d{n} = {t}" for n, t in shown.items()) or "0"


def _formula_text(t) -> str:
    """A formula, or nested brackets of formulas for an array variable."""
    return t if isinstance(t, str) else "[" + ", ".join(map(_formula_text, t)) + "]"


def _diff_latex(d: Diffed) -> str:
    f, latex = d.derivation.function_latex(), d.derivation.latex()
    symbol = "d" if len(latex) == 1 else "\\partial"
    return "\n".join(f"\\frac{{{symbol}}}{{{symbol} {n}}} {f} = {t}" for n, t in latex.items()) or "0"


def _diff_json(d: Diffed) -> str:
    return dumps({"expr": d.source, "variables": list(d.derivation.grad), "grad": d.derivation.texts(),
                  "latex": d.derivation.latex()})


def _steps_layouts(s: Stepped) -> tuple:
    from gradcli.render.steps import steps_layouts
    return steps_layouts(s.derivations)


def _steps_json(s: Stepped) -> str:
    from gradcli.render.steps import steps_record
    return dumps(steps_record(s.source, s.derivations))


def _steps_latex(s: Stepped) -> str:
    from gradcli.render.steps import steps_latex
    return steps_latex(s.derivations)


def _claim_layouts(c: Claimed) -> tuple:
    from gradcli.render.claims import claim_layouts
    return claim_layouts(c.verdict)


def _claim_json(c: Claimed) -> str:
    from gradcli.render.claims import claim_record
    return dumps(claim_record(c.verdict))


def _claim_latex(c: Claimed) -> str:
    from gradcli.render.claims import claim_latex
    return claim_latex(c.verdict)


def _plot_json(p: Plotted) -> str:
    s = p.samples
    return dumps({"expr": s.expr.source, "variable": s.name, "x": to_json(s.x), "value": to_json(s.f),
                  "derivative": to_json(s.df), "zeros": s.zeros, "undefined": s.undefined})


def _symbolic_layouts(s: Symbolic) -> tuple:
    from gradcli.render import tables
    return (lambda digits: tables.symbolic_table(s.result),)


def _minimum_layouts(m: Minimum) -> tuple:
    from gradcli.render import lists
    return (lambda digits: lists.minimum_table(m.minimum, digits),)


def _graph_layouts(g: Graph) -> tuple:
    from gradcli.render import graph
    return (lambda digits: graph.graph_tree(g.result, digits),)


def _graph_dot(g: Graph) -> str:
    from gradcli.render.graph import graph_dot
    return graph_dot(g.result)


def _graph_mermaid(g: Graph) -> str:
    from gradcli.render.graph import graph_mermaid
    return graph_mermaid(g.result)


def _ledger_layouts(e: Explained) -> tuple:
    from gradcli.render.ledger import ledger_layouts
    return ledger_layouts(e.ledger)


def _plot_layouts(p: Plotted) -> tuple:
    from gradcli.render.plot import draw
    return (lambda digits: draw(p.samples, width=p.width),)


FORMATS: dict[type, dict[str, Callable]] = {
    Evaluated: {"table": _eval_layouts,
                "json": lambda e: dumps(records.eval_record(e.result, e.check.record(), graph=e.graph)),
                "tsv": lambda e: records.eval_tsv(e.result)},
    Symbolic: {"table": _symbolic_layouts,
               "json": lambda s: dumps(records.symbolic_record(s.result, s.check)),
               "tsv": lambda s: records.symbolic_tsv(s.result)},
    Matrix: {"table": _matrix_layouts, "json": _matrix_json, "tsv": _matrix_tsv},
    Minimum: {"table": _minimum_layouts,
              "json": lambda m: dumps(records.minimum_record(m.minimum)), "tsv": _minimum_tsv},
    Graph: {"tree": _graph_layouts, "dot": _graph_dot, "mermaid": _graph_mermaid,
            "json": lambda g: dumps({"expr": g.result.expr.source, "graph": records.graph_json(g.result)})},
    Diffed: {"text": _diff_text, "latex": _diff_latex, "json": _diff_json},
    Stepped: {"text": _steps_layouts, "latex": _steps_latex, "json": _steps_json},
    Claimed: {"text": _claim_layouts, "latex": _claim_latex, "json": _claim_json},
    Plotted: {"plot": _plot_layouts, "json": _plot_json},
    Explained: {"table": _ledger_layouts, "json": lambda e: dumps(records.ledger_record(e.ledger))},
    Batch: {"table": _batch_layouts},
}
