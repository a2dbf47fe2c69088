"""The Typer app: options -> one library call -> render; exit codes.

Exit codes: 0 success (cross-check agreed or skipped), 1 results printed but a
cross-check disagreed, 2 bad usage or input, 130 interrupted.
"""
from __future__ import annotations

import difflib
import io
import os
import signal
import sys
import time
from contextlib import contextmanager
from enum import Enum
from typing import Annotated, Optional

import typer
from typer._click import exceptions as click_exc
from typer.core import TyperCommand

from gradcli.errors import GradcliError

EXIT_OK, EXIT_MISMATCH, EXIT_USAGE, EXIT_INTERRUPT, EXIT_TERMINATED, EXIT_BUG = 0, 1, 2, 130, 143, 70


class Format(str, Enum):
    table = "table"
    json = "json"
    tsv = "tsv"


class BindingCommand(TyperCommand):
    """A command whose variables are bound as --NAME VALUE, --NAME=VALUE or NAME=VALUE.

    The command's own options are read from its declaration; every other
    --NAME takes the next word as its value, even one starting with '-'
    (--a -2). The first positional word is the expression, even if it
    starts with '-' (-x^2). Bindings are left in ctx.meta["bindings"].
    """

    positional_bindings = True          # NAME=VALUE after the expression binds a variable

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        takes_value = {}
        for param in self.get_params(ctx):
            for opt in getattr(param, "opts", []) + getattr(param, "secondary_opts", []):
                if opt.startswith("-"):
                    takes_value[opt] = not getattr(param, "is_flag", False)
        own, positional, bindings = [], [], {}
        words = iter(args)
        for word in words:
            name, eq, value = word.partition("=")
            if word == "--":
                positional.extend(words)
            elif name in takes_value and (name.startswith("--") or not eq):     # --format json, --tree, -f json
                own.append(word)
                if takes_value[name] and not eq:
                    own.extend(v for v in [next(words, None)] if v is not None)
            elif word.startswith("--") and len(name) > 2:                      # --a 2, --a=2, --a -2
                if not eq:
                    value = next(words, None)
                    if value is None:
                        raise click_exc.UsageError(f"{word} needs a value, as in {word} 2", ctx)
                self._bind(ctx, bindings, name[2:], value, word)
            elif self.positional_bindings and positional and eq and name.isidentifier():   # a=2 after EXPR
                self._bind(ctx, bindings, name, value, word)
            else:
                positional.append(word)
        ctx.meta["bindings"] = bindings
        ctx.meta["own_options"] = sorted(o for o in takes_value if o.startswith("--"))
        return super().parse_args(ctx, own + ["--"] + positional)

    @staticmethod
    def _bind(ctx, bindings: dict, name: str, value: str, word: str) -> None:
        if not name.isidentifier():
            raise click_exc.UsageError(f"no such option: {word.partition('=')[0]}", ctx)
        if name in bindings:
            raise click_exc.UsageError(f"'{name}' is given a value twice", ctx)
        bindings[name] = value


class FilesCommand(BindingCommand):
    """Positional words are files; variables are bound only as --NAME VALUE."""
    positional_bindings = False


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version
        typer.echo(f"gradcli {version('gradcli')}")
        raise typer.Exit()


app = typer.Typer(
    name="gradcli", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="A gradient calculator: value, gradients and computational graph of a math expression.")


@app.callback()
def _main(version: Annotated[Optional[bool], typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = None) -> None:
    """A gradient calculator: value, gradients and computational graph of a math expression."""


# Options shared by the commands, declared once.
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output: table (Rich), json or tsv.")]
CheckOpt = Annotated[bool, typer.Option("--check/--no-check", help="Cross-check gradients against SymPy.")]
WrtOpt = Annotated[Optional[str], typer.Option(
    "--wrt", metavar="NAMES", help="Differentiate only with respect to these (a,b); the rest are constants.")]
RtolOpt = Annotated[float, typer.Option("--rtol", min=0.0, help="Cross-check relative tolerance.")]
AtolOpt = Annotated[float, typer.Option("--atol", min=0.0, help="Cross-check absolute tolerance.")]
TimeoutOpt = Annotated[float, typer.Option(
    "--check-timeout", min=0.0, metavar="SECONDS", help="Give up on SymPy after this long (0: no limit).")]

EVAL_EPILOG = """Examples:

  gradcli eval "a*b+c" --a 2 --b 3 --c 4

  gradcli eval "sum(x*w)" --x 1,2,3 --w "[4,5,6]" -f json

  gradcli eval "x*2" --x 1,2,3 --grad-output 1,1,1 --tree
"""


@app.command("eval", cls=BindingCommand, epilog=EVAL_EPILOG)
def eval_command(
    ctx: typer.Context,
    expr: Annotated[str, typer.Argument(metavar="EXPR", show_default=False, help=(
        "The expression, e.g. \"a*b + sin(c)\"; then the variables' values: --a 2, --a=2 or a=2."))],
    wrt: WrtOpt = None,
    grad_output: Annotated[Optional[str], typer.Option(
        "--grad-output", metavar="VALUE",
        help="Seed gradient for a non-scalar output, as in y.backward(grad_output).")] = None,
    no_grad: Annotated[bool, typer.Option("--no-grad", help="Evaluate only; record nothing.")] = False,
    retain_grad: Annotated[bool, typer.Option(
        "--retain-grad", help="Keep and show gradients of intermediate nodes.")] = False,
    tree: Annotated[bool, typer.Option("--tree", help="Also show the computational graph.")] = False,
    points: Annotated[Optional[str], typer.Option(
        "--points", metavar="FILE", help="CSV of points (header: variable names; - for stdin): value and "
                                         "gradient at every row, as CSV value,d_a,... (JSON lines with -f json).")] = None,
    check: CheckOpt = True,
    rtol: RtolOpt = 1e-9,
    atol: AtolOpt = 1e-12,
    check_timeout: TimeoutOpt = 5.0,
    fmt: FormatOpt = Format.table,
) -> int:
    """Value and gradient of EXPR at the given point, cross-checked against SymPy."""
    from gradcli.evaluate import evaluate
    from gradcli.parser import parse

    bindings = ctx.meta["bindings"]
    parsed = parse(expr)
    names = _names(wrt)
    if points is not None:
        return _points(parsed, points, bindings, names, fmt, check, rtol, atol, check_timeout)
    _reject_option_typos(bindings, parsed.variables(), ctx.meta["own_options"])
    if any(n not in bindings for n in parsed.variables()):
        return _free_eval(parsed, bindings, names, grad_output, not no_grad, check_timeout, fmt)
    result = evaluate(parsed, bindings, wrt=names, grad_output=grad_output, grad=not no_grad,
                      retain_grad=retain_grad)
    _notes(result.notes)
    if check:
        from gradcli.symbolic import cross_check
        verdict = cross_check(result, rtol=rtol, atol=atol, timeout=check_timeout or None)
    else:
        from gradcli.evaluate import skipped_check
        verdict = skipped_check("--no-check")
    if verdict.status in ("timeout", "error"):
        sys.stderr.write(f"warning: cross-check {verdict.status}: {verdict.reason}\n")
    _emit_eval(result, verdict, fmt, tree or retain_grad, tree)
    return EXIT_MISMATCH if verdict.status == "mismatch" else EXIT_OK


def _names(wrt: str | None) -> list[str] | None:
    return None if wrt is None else [n.strip() for n in wrt.split(",") if n.strip()]


def _free_eval(parsed, bindings, names, grad_output, grad: bool, timeout: float, fmt) -> int:
    """Some variables have no value: the result is symbolic, with the bound values substituted."""
    from gradcli import render
    from gradcli.symbolic import symbolic_evaluate

    sres = symbolic_evaluate(parsed, bindings, wrt=names, grad_output=grad_output, grad=grad,
                             timeout=timeout or None)
    check = {"status": "skipped", "method": None, "max_abs_err": None, "symbolic": None,
             "reason": f"symbolic result: {', '.join(sres.free)} free"}
    if fmt is Format.json:
        _out(render.dumps(render.symbolic_record(sres, check)))
    elif fmt is Format.tsv:
        _out(render.symbolic_tsv(sres))
    else:
        _console().print(render.symbolic_table(sres))
    return EXIT_OK


class DiffFormat(str, Enum):
    text = "text"
    latex = "latex"
    json = "json"


DIFF_EPILOG = """Examples:

  gradcli diff "x^2*sin(x)"

  gradcli diff "a*b + sin(c)" --wrt a,c

  gradcli diff "sigmoid(x)" --format latex
"""


@app.command("diff", cls=BindingCommand, epilog=DIFF_EPILOG)
def diff_command(
    ctx: typer.Context,
    expr: Annotated[str, typer.Argument(metavar="EXPR", show_default=False, help="A scalar expression.")],
    wrt: WrtOpt = None,
    check_timeout: TimeoutOpt = 5.0,
    fmt: Annotated[DiffFormat, typer.Option("--format", "-f", help="Output: text (gradcli syntax), latex or json.")]
    = DiffFormat.text,
) -> int:
    """The symbolic gradient of EXPR, simplified, in gradcli's own syntax (it pastes back into eval)."""
    from gradcli import render
    from gradcli.parser import parse
    from gradcli.symbolic import derivatives, sympy, to_text

    if ctx.meta["bindings"]:
        raise GradcliError("gradcli diff takes no values: every variable is a symbol",
                           hint="for values at a point use gradcli eval; a variable without a value stays symbolic")
    parsed = parse(expr)
    result, simplified = derivatives(parsed, _names(wrt), timeout=check_timeout or None)
    if not simplified:
        sys.stderr.write("warning: simplification took too long; the derivative is shown as computed\n")
    texts = {n: to_text(d) for n, d in result.items()}
    if fmt is DiffFormat.json:
        latex = {n: sympy().latex(d) for n, d in result.items()}
        _out(render.dumps({"expr": parsed.source, "variables": list(result), "grad": texts, "latex": latex}))
    elif fmt is DiffFormat.latex:
        sp = sympy()
        lines = [sp.latex(d) if len(result) == 1 else f"\\frac{{\\partial}}{{\\partial {n}}} = {sp.latex(d)}"
                 for n, d in result.items()]
        _out("\n".join(lines))
    else:
        _out("\n".join(t if len(texts) == 1 else f"d/d{n} = {t}" for n, t in texts.items()))
    return EXIT_OK


def _points(parsed, path: str, bindings: dict, wrt, fmt: Format, check: bool, rtol, atol, timeout) -> int:
    """--points: value and gradient at every row of a CSV, computed over whole columns."""
    from gradcli import render
    from gradcli.batch import read_points
    from gradcli.evaluate import evaluate, evaluate_rows

    with _open_input(path) as stream:
        header, data = read_points(stream)
    columns = {name: data[:, i] for i, name in enumerate(header)}
    value, grads, notes = evaluate_rows(parsed, columns, bindings, wrt)
    _notes(notes)
    out = Stream()
    cols = [value.tolist()] + [g.tolist() for g in grads.values()]
    n = len(value)
    with out.guard(), Progress("rows", total=n) as progress:
        if fmt is Format.json:
            keys = list(grads)
            for i, row in enumerate(zip(*cols)):
                out.write(render.dumps({"row": i + 1, "value": render.to_json(row[0]),
                                        "grad": {k: render.to_json(g) for k, g in zip(keys, row[1:])}}))
                progress.advance()
        else:
            sep = "\t" if fmt is Format.tsv else ","
            out.write(sep.join(["value", *(f"d_{k}" for k in grads)]), record=False)
            step = 50_000
            for start in range(0, n, step):
                # repr is the shortest text that reads back to the same float; map/zip/join run in C.
                texts = [map(repr, c[start:start + step]) for c in cols]
                out.write("\n".join(map(sep.join, zip(*texts))))
                progress.advance(min(step, n - start))
    if not check or n == 0:
        return EXIT_OK
    from gradcli.symbolic import cross_check
    sample = sorted({0, n // 2, n - 1})
    verdicts = []
    for i in sample:
        row = {k: float(columns[k][i]) for k in parsed.variables() if k in columns}
        row.update({k: v for k, v in bindings.items() if k in parsed.variables() and k not in row})
        verdicts.append((i + 1, cross_check(evaluate(parsed, row, wrt=wrt), rtol=rtol, atol=atol,
                                            timeout=timeout or None)))
    bad = [f"row {i}: {v.status}" for i, v in verdicts if v.status != "ok"]
    sys.stderr.write(f"cross-check on rows {', '.join(str(i) for i, _ in verdicts)}: "
                     + ("; ".join(bad) if bad else "ok") + "\n")
    return EXIT_MISMATCH if any(v.status == "mismatch" for _, v in verdicts) else EXIT_OK


BATCH_EPILOG = """Examples:

  printf 'a*b+c where a=2, b=3, c=4\\nx^2 where x=5\\n' | gradcli batch -f json

  gradcli batch jobs.txt --no-check -f tsv

  gradcli batch jobs.txt --a 3       (a = 3 wherever a line gives a no value)
"""


@app.command("batch", cls=FilesCommand, epilog=BATCH_EPILOG)
def batch_command(
    ctx: typer.Context,
    files: Annotated[Optional[list[str]], typer.Argument(
        metavar="[FILE]...", show_default=False,
        help="Files of jobs, one a line: EXPR, EXPR where a=2, b=[1,2], or a JSON object. "
             "None or - reads standard input. --NAME VALUE gives every line a default.")] = None,
    wrt: WrtOpt = None,
    check: CheckOpt = True,
    rtol: RtolOpt = 1e-9,
    atol: AtolOpt = 1e-12,
    check_timeout: TimeoutOpt = 5.0,
    fmt: FormatOpt = Format.table,
) -> int:
    """Run many jobs: one record per job, in input order, as soon as each is ready."""
    from gradcli import batch, render

    paths = files or ["-"]
    for path in paths:
        if path != "-" and not os.path.isfile(path):
            raise GradcliError(f"cannot read {path!r}: no such file")
    options = batch.Options(defaults=ctx.meta["bindings"], wrt=_names(wrt), check=check, rtol=rtol,
                            atol=atol, timeout=check_timeout or None)
    out = Stream()
    done = failed = 0
    collected = []
    try:
        with out.guard(), Progress("jobs") as progress:
            if fmt is Format.tsv:
                out.write(("file\t" if len(paths) > 1 else "") + render.BATCH_TSV_HEADER, record=False)
            for path in paths:
                with _open_input(path) as stream:
                    for rec in batch.run(batch.lines_of(stream), options):
                        if fmt is Format.json:
                            line = render.batch_record(rec)
                            if len(paths) > 1:
                                line = {"file": path, **line}
                            out.write(render.dumps(line))
                        elif fmt is Format.tsv:
                            text = render.batch_tsv(rec)
                            out.write("\n".join(f"{path}\t{r}" for r in text.split("\n")) if len(paths) > 1 else text)
                        else:
                            collected.append(rec)
                        done += 1
                        failed += rec.failed
                        progress.advance()
    except (KeyboardInterrupt, Terminated):
        sys.stderr.write(f"stopped after {out.records if fmt is not Format.table else done} jobs; "
                         "every record written is complete\n")
        raise
    if fmt is Format.table:
        console = _console()
        console.print(render.batch_table(collected))
        console.print(f"{done} jobs, {failed} failed or disagreed", style="dim")
    return EXIT_MISMATCH if failed else EXIT_OK


HESSIAN_EPILOG = """Examples:

  gradcli hessian "x^2*y + y^3" --x 1 --y 2

  gradcli hessian "sum(x^3)" --x 1,2,3 -f json
"""


@app.command("hessian", cls=BindingCommand, epilog=HESSIAN_EPILOG)
def hessian_command(
    ctx: typer.Context,
    expr: Annotated[str, typer.Argument(metavar="EXPR", show_default=False, help="A scalar expression.")],
    wrt: WrtOpt = None,
    check: CheckOpt = True,
    rtol: RtolOpt = 1e-9,
    atol: AtolOpt = 1e-12,
    check_timeout: TimeoutOpt = 5.0,
    fmt: FormatOpt = Format.table,
) -> int:
    """The Hessian of EXPR at a point, by differentiating the engine's gradient again."""
    from gradcli import render
    from gradcli.derivatives import hessian

    d = hessian(expr, ctx.meta["bindings"], _names(wrt))
    _notes(d.notes)
    verdict = _matrix_verdict("hessian", d, check, rtol, atol, check_timeout)
    if fmt is Format.json:
        _out(render.dumps(render.hessian_record(d, verdict.record())))
    elif fmt is Format.tsv:
        _out(_matrix_tsv(d.labels, d.labels, d.hessian))
    else:
        console = _console()
        console.print(render.value_line(d.expr.source, d.value))
        console.print(render.matrix_table("Hessian", d.labels, d.labels, d.hessian))
        console.print(render.check_line(verdict), style="dim", markup=False)
    return EXIT_MISMATCH if verdict.status == "mismatch" else EXIT_OK


JACOBIAN_EPILOG = """Examples:

  gradcli jacobian "[x*y, x+y]" --x 2 --y 3

  gradcli jacobian "softmax(x)" --x 1,2,3 -f json
"""


@app.command("jacobian", cls=BindingCommand, epilog=JACOBIAN_EPILOG)
def jacobian_command(
    ctx: typer.Context,
    expr: Annotated[str, typer.Argument(metavar="EXPR", show_default=False, help="An expression, often a vector.")],
    wrt: WrtOpt = None,
    check: CheckOpt = True,
    rtol: RtolOpt = 1e-9,
    atol: AtolOpt = 1e-12,
    check_timeout: TimeoutOpt = 5.0,
    fmt: FormatOpt = Format.table,
) -> int:
    """The Jacobian of EXPR: a row per output element, a column per variable element."""
    from gradcli import render
    from gradcli.derivatives import jacobian, labels_of

    d = jacobian(expr, ctx.meta["bindings"], _names(wrt))
    _notes(d.notes)
    verdict = _matrix_verdict("jacobian", d, check, rtol, atol, check_timeout)
    rows = labels_of(["out"], {"out": d.value})
    if fmt is Format.json:
        _out(render.dumps(render.jacobian_record(d, verdict.record())))
    elif fmt is Format.tsv:
        _out(_matrix_tsv(rows, d.labels, d.jacobian))
    else:
        console = _console()
        console.print(render.value_line(d.expr.source, d.value))
        console.print(render.matrix_table("Jacobian", rows, d.labels, d.jacobian))
        console.print(render.check_line(verdict), style="dim", markup=False)
    return EXIT_MISMATCH if verdict.status == "mismatch" else EXIT_OK


def _matrix_verdict(kind, d, check, rtol, atol, timeout):
    if not check:
        from gradcli.evaluate import skipped_check
        return skipped_check("--no-check")
    from gradcli.symbolic import matrix_check
    verdict = matrix_check(kind, d, rtol=rtol, atol=atol, timeout=timeout or None)
    if verdict.status in ("timeout", "error"):
        sys.stderr.write(f"warning: cross-check {verdict.status}: {verdict.reason}\n")
    return verdict


def _matrix_tsv(rows, cols, m) -> str:
    from gradcli.render import fmt_num
    lines = ["\t".join(["", *cols])]
    lines += ["\t".join([r, *(fmt_num(x) for x in row)]) for r, row in zip(rows, m)]
    return "\n".join(lines)


class Optimizer(str, Enum):
    sgd = "sgd"
    momentum = "momentum"
    adam = "adam"


MINIMIZE_EPILOG = """Examples:

  gradcli minimize "(x-3)^2 + (y+1)^2" --x 0 --y 0

  gradcli minimize "(1-x)^2 + 100*(y-x^2)^2" --x -1.2 --y 1 --optimizer adam --trace steps.csv

  gradcli minimize "sum((w - 1)^2)" --w 0,0,0 -f json
"""


@app.command("minimize", cls=BindingCommand, epilog=MINIMIZE_EPILOG)
def minimize_command(
    ctx: typer.Context,
    expr: Annotated[str, typer.Argument(metavar="EXPR", show_default=False,
                                        help="A scalar expression; the variables' values are the start.")],
    wrt: WrtOpt = None,
    optimizer: Annotated[Optimizer, typer.Option("--optimizer", help="Update rule, as in torch.optim.")]
    = Optimizer.adam,
    lr: Annotated[Optional[float], typer.Option(
        "--lr", min=0.0, help="Learning rate (default: sgd 0.1, momentum 0.05, adam 0.1).")] = None,
    steps: Annotated[int, typer.Option("--steps", min=0, help="Most updates to make.")] = 20_000,
    tol: Annotated[float, typer.Option("--tol", min=0.0, help="Converged when |gradient| < tol.")] = 1e-8,
    trace: Annotated[Optional[str], typer.Option("--trace", metavar="FILE",
                                                 help="Write every step as CSV.")] = None,
    fmt: FormatOpt = Format.table,
) -> int:
    """Gradient descent from the given point: argmin, minimum, and why it stopped."""
    import numpy as np

    from gradcli import render
    from gradcli.derivatives import labels_of
    from gradcli.optimize import minimize

    progress = Progress("minimizing", total=steps)
    trace_file = open(trace, "w") if trace else None
    header = []

    def on_step(k, point, value, norm):
        if trace_file is not None:
            if not header:
                header.extend(point)
                trace_file.write(",".join(["step", "value", "grad_norm", *labels_of(header, point)]) + "\n")
            flat = [repr(float(v)) for name in header for v in np.ravel(point[name])]
            trace_file.write(",".join([str(k), repr(value), repr(norm), *flat]) + "\n")
        if k:
            progress.advance()

    try:
        with progress:
            m = minimize(expr, ctx.meta["bindings"], wrt=_names(wrt), optimizer=optimizer.value, lr=lr,
                         steps=steps, tol=tol, on_step=on_step)
    finally:
        if trace_file is not None:
            trace_file.close()
    _notes(m.notes)
    if m.reason == "diverged":
        sys.stderr.write("error: diverged: a nan or inf appeared; the last finite point is shown\n"
                         "hint: lower --lr, or try --optimizer adam\n")
    elif m.reason == "step limit":
        sys.stderr.write(f"warning: no convergence in {m.steps} steps (|gradient| = {m.grad_norm:.3g} >= "
                         f"{tol:g}); raise --steps or --lr\n")
    if fmt is Format.json:
        _out(render.dumps(render.minimum_record(m)))
    elif fmt is Format.tsv:
        rows = ["name\tvalue"] + [f"{k}\t{render.tsv_cell(v)}" for k, v in m.argmin.items()]
        rows += [f"value\t{render.fmt_num(m.value)}", f"grad_norm\t{render.fmt_num(m.grad_norm)}",
                 f"steps\t{m.steps}", f"reason\t{m.reason}"]
        _out("\n".join(rows))
    else:
        _console().print(render.minimum_table(m))
    return EXIT_MISMATCH if m.reason == "diverged" else EXIT_OK


class GraphFormat(str, Enum):
    tree = "tree"
    dot = "dot"
    mermaid = "mermaid"
    json = "json"


GRAPH_EPILOG = """Examples:

  gradcli graph "a*b+c" --a 2 --b 3 --c 4

  gradcli graph "sin(x)*sin(x)" --x 1 -f dot | dot -Tsvg > graph.svg

  gradcli graph "sum(W @ v)" --W "[[1,2],[3,4]]" --v 1,1 -f mermaid
"""


@app.command("graph", cls=BindingCommand, epilog=GRAPH_EPILOG)
def graph_command(
    ctx: typer.Context,
    expr: Annotated[str, typer.Argument(metavar="EXPR", show_default=False, help="The expression.")],
    wrt: WrtOpt = None,
    grad_output: Annotated[Optional[str], typer.Option(
        "--grad-output", metavar="VALUE", help="Seed gradient for a non-scalar output.")] = None,
    retain_grad: Annotated[bool, typer.Option(
        "--retain-grad", help="Keep the gradients of intermediate nodes.")] = False,
    fmt: Annotated[GraphFormat, typer.Option("--format", "-f", help="tree, dot (Graphviz), mermaid or json.")]
    = GraphFormat.tree,
) -> int:
    """The computational graph of EXPR after backward: as a tree, Graphviz DOT, Mermaid or JSON."""
    from gradcli import render
    from gradcli.evaluate import evaluate

    result = evaluate(expr, ctx.meta["bindings"], wrt=_names(wrt), grad_output=grad_output,
                      retain_grad=retain_grad)
    _notes(result.notes)
    if fmt is GraphFormat.dot:
        _out(render.graph_dot(result))
    elif fmt is GraphFormat.mermaid:
        _out(render.graph_mermaid(result))
    elif fmt is GraphFormat.json:
        _out(render.dumps({"expr": result.expr.source, "graph": render.graph_json(result)}))
    else:
        _console().print(render.graph_tree(result))
    return EXIT_OK


PLOT_EPILOG = """Examples:

  gradcli plot "sin(x)" --x -3:3

  gradcli plot "x^3 - 3*x" --x -2.5:2.5 --points 400

  gradcli plot "abs(x) + a*x" --x -1:1 --a 0.5 -f json
"""


class PlotFormat(str, Enum):
    plot = "plot"
    json = "json"


@app.command("plot", cls=BindingCommand, epilog=PLOT_EPILOG)
def plot_command(
    ctx: typer.Context,
    expr: Annotated[str, typer.Argument(metavar="EXPR", show_default=False,
                                        help="An expression of one variable, given as a range: --x -3:3.")],
    points: Annotated[int, typer.Option("--points", min=2, help="How many samples.")] = 200,
    fmt: Annotated[PlotFormat, typer.Option("--format", "-f", help="plot (terminal) or json (the samples).")]
    = PlotFormat.plot,
) -> int:
    """EXPR and its derivative drawn together, with the derivative's zeros and undefined points marked."""
    from gradcli import plot, render

    samples = plot.sample(expr, ctx.meta["bindings"], points)
    if fmt is PlotFormat.json:
        _out(render.dumps(plot.record(samples)))
    else:
        console = _console()
        console.print(plot.render(samples, width=max(20, min(console.width - 12, 100))))
    return EXIT_OK


class Terminated(Exception):
    """SIGTERM arrived."""


class Stream:
    """Writes whole lines to stdout, flushed at once. A Ctrl-C or SIGTERM that arrives
    while a line is being written takes effect only when the line is complete."""

    def __init__(self):
        self.writing = False
        self.pending: BaseException | None = None
        self.records = 0            # records written whole

    def write(self, text: str, record: bool = True) -> None:
        self.writing = True
        try:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()
            self.records += record
        finally:
            self.writing = False
        if self.pending is not None:
            pending, self.pending = self.pending, None
            raise pending

    @contextmanager
    def guard(self):
        if threading_main() is False:
            yield
            return

        def handler(signum, frame):
            exc = KeyboardInterrupt() if signum == signal.SIGINT else Terminated()
            if self.writing:
                self.pending = exc
            else:
                raise exc

        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)


def threading_main() -> bool:
    import threading
    return threading.current_thread() is threading.main_thread()


class Progress:
    """A Rich progress display on stderr: only on a terminal, and only once a run passes a second."""

    def __init__(self, what: str, total: int | None = None):
        self.what, self.total = what, total
        self.start = time.monotonic()
        self.enabled = sys.stderr.isatty()
        self.bar = self.task = None

    def __enter__(self):
        return self

    def advance(self, n: int = 1) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            if time.monotonic() - self.start < 1.0:
                self.pending = getattr(self, "pending", 0) + n
                return
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, SpinnerColumn, \
                TextColumn, TimeElapsedColumn
            columns = [SpinnerColumn(), TextColumn(self.what)]
            columns += [BarColumn(), MofNCompleteColumn()] if self.total else [TextColumn("{task.completed}")]
            console = Console(stderr=True, color_system=None) if plain_terminal() else Console(stderr=True)
            self.bar = Bar(*columns, TimeElapsedColumn(), console=console, transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.what, total=self.total, completed=getattr(self, "pending", 0))
        self.bar.advance(self.task, n)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False


@contextmanager
def _open_input(path: str):
    """A text stream for a path or '-' (stdin); undecodable bytes are kept, not fatal."""
    if path == "-":
        buffer = getattr(sys.stdin, "buffer", None)
        if buffer is None:
            yield sys.stdin
            return
        stream = io.TextIOWrapper(buffer, encoding="utf-8", errors="surrogateescape")
        try:
            yield stream
        finally:
            stream.detach()
        return
    try:
        stream = open(path, encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise GradcliError(f"cannot read {path!r}: {exc.strerror}") from None
    with stream:
        yield stream


def _reject_option_typos(bindings: dict, variables: list[str], options: list[str]) -> None:
    for name in bindings:
        if name not in variables:
            close = difflib.get_close_matches(f"--{name}", options, n=1, cutoff=0.75)
            if close:
                raise GradcliError(f"no such option --{name}, and '{name}' is not a variable of the expression",
                                   hint=f"did you mean {close[0]}?")


def _emit_eval(result, verdict, fmt: Format, graph: bool, tree: bool) -> None:
    from gradcli import render

    if fmt is Format.json:
        _out(render.dumps(render.eval_record(result, verdict.record(), graph=graph)))
    elif fmt is Format.tsv:
        _out(render.eval_tsv(result))
    else:
        console = _console()
        console.print(render.eval_table(result, verdict))
        if tree:
            console.print()
            console.print(render.graph_tree(result))


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def plain_terminal() -> bool:
    """NO_COLOR or TERM=dumb: no escape codes at all, not even bold."""
    return bool(os.environ.get("NO_COLOR")) or os.environ.get("TERM") == "dumb"


def _console(stderr: bool = False):
    from rich.console import Console
    if plain_terminal():
        return Console(stderr=stderr, highlight=False, color_system=None)
    return Console(stderr=stderr, highlight=False)


def _notes(notes) -> None:
    for note in notes:
        sys.stderr.write(f"warning: {note.message}\n")


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turn errors into messages and exit codes."""
    code = EXIT_OK
    try:
        command = typer.main.get_command(app)
        code = command.main(args=argv, prog_name="gradcli", standalone_mode=False) or EXIT_OK
    except GradcliError as err:
        sys.stderr.write(err.render() + "\n")
        code = EXIT_USAGE
    except click_exc.UsageError as err:
        err.show()
        code = EXIT_USAGE
    except (KeyboardInterrupt, typer.Abort):
        sys.stderr.write("interrupted\n")
        code = EXIT_INTERRUPT
    except Terminated:
        code = EXIT_TERMINATED
    except BrokenPipeError:
        _silence_stdout()
        code = EXIT_OK
    except RecursionError:
        sys.stderr.write("error: the expression is too deeply nested to process\n")
        code = EXIT_USAGE
    except Exception as exc:  # a bug in gradcli: say so plainly, no traceback unless asked
        if os.environ.get("GRADCLI_DEBUG"):
            raise
        sys.stderr.write(f"internal error (a bug in gradcli): {type(exc).__name__}: {exc}\n"
                         "set GRADCLI_DEBUG=1 to see the traceback\n")
        code = EXIT_BUG
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    sys.exit(code)


def _silence_stdout() -> None:
    # The reader went away (gradcli ... | head -1): stop writing, quietly.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
