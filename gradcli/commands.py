"""The commands: options -> one library call -> render, and the exit code.

Each function takes the expression (or files), the variable bindings and the
command's own options as declared in options.py; none of them imports Typer.
Exit codes: 0 success (cross-check agreed or skipped), 1 results printed but a
cross-check disagreed (or minimize diverged), 2 bad usage or input, 130
interrupted, 143 terminated.
"""
from __future__ import annotations

import io
import math
import os
import signal
import sys
import time
from contextlib import contextmanager

from gradcli import interrupts
from gradcli.errors import GradcliError, close_matches
from gradcli.options import COMMANDS

EXIT_OK, EXIT_MISMATCH, EXIT_USAGE, EXIT_BUG = 0, 1, 2, 70


def eval_(expr: str, bindings: dict, *, wrt=None, grad_output=None, no_grad=False, retain_grad=False, tree=False,
          points=None, check=True, rtol=1e-9, atol=1e-12, check_timeout=5.0, fmt="table") -> int:
    """Value and gradient of EXPR at the given point, cross-checked against SymPy."""
    from gradcli.evaluation import evaluate
    from gradcli.parser import parse

    parsed = parse(expr)
    names = _names(wrt)
    if points is not None:
        return _points(parsed, points, bindings, names, fmt, check, rtol, atol, check_timeout)
    if any(n not in bindings for n in parsed.variables()):
        return _free_eval(parsed, bindings, names, grad_output, not no_grad, check_timeout, fmt)
    result = evaluate(parsed, bindings, wrt=names, grad_output=grad_output, grad=not no_grad,
                      retain_grad=retain_grad, trace=tree)
    _notes(result.notes)
    if check:
        from gradcli.symbolic import cross_check
        verdict = cross_check(result, rtol=rtol, atol=atol, timeout=check_timeout or None)
    else:
        from gradcli.evaluation import skipped_check
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
    if fmt == "json":
        _out(render.dumps(render.symbolic_record(sres, check)))
    elif fmt == "tsv":
        _out(render.symbolic_tsv(sres))
    else:
        _show(lambda digits: render.symbolic_table(sres))
    return EXIT_OK






def diff(expr: str, bindings: dict, *, wrt=None, check_timeout=5.0, shape=(), fmt="text") -> int:
    """The symbolic gradient of EXPR, simplified, in gradcli's own syntax (it pastes back into eval)."""
    from gradcli import render
    from gradcli.errors import ShapeError
    from gradcli.parser import parse
    from gradcli.symbolic import derivatives, latex_array, sympy, text_array

    if bindings:
        raise GradcliError("gradcli diff takes no values: every variable is a symbol",
                           hint="for values at a point use gradcli eval; a variable without a value stays symbolic")
    parsed = parse(expr)
    shapes = _shapes(shape)
    try:
        d = derivatives(parsed, _names(wrt), shapes=shapes, timeout=check_timeout or None)
    except ShapeError as err:
        if not shapes:
            err.hint = (err.hint + "; " if err.hint else "") + \
                "give array variables their shapes: --shape W=2x3 --shape x=3"
        raise
    if not d.simplified:
        sys.stderr.write("warning: simplification took too long; the derivative is shown as computed\n")
    texts = {n: text_array(g) for n, g in d.grad.items()}
    if fmt == "json":
        latex = {n: latex_array(g) for n, g in d.grad.items()}
        _out(render.dumps({"expr": parsed.source, "variables": list(d.grad), "grad": texts, "latex": latex}))
    elif fmt == "latex":
        f = sympy().latex(d.function)
        f = f"\\left({f}\\right)" if d.function.is_Add else f
        symbol = "d" if len(d.grad) == 1 else "\\partial"
        _out("\n".join(f"\\frac{{{symbol}}}{{{symbol} {n}}} {f} = {latex_array(g)}" for n, g in d.grad.items())
             or "0")
    else:
        shown = {n: _formula_text(t) for n, t in texts.items()}
        _out("\n".join(t if len(shown) == 1 else f"d/d{n} = {t}" for n, t in shown.items()) or "0")
    return EXIT_OK


def _formula_text(t) -> str:
    """A formula, or nested brackets of formulas for an array variable."""
    return t if isinstance(t, str) else "[" + ", ".join(map(_formula_text, t)) + "]"


def _shapes(words) -> dict:
    """--shape W=2x3 --shape x=3 -> {"W": (2, 3), "x": (3,)}."""
    out = {}
    for word in words:
        name, eq, dims = word.partition("=")
        try:
            shape = tuple(int(n) for n in dims.lower().replace(",", "x").split("x")) if eq else None
        except ValueError:
            shape = None
        if not name.strip().isidentifier() or not shape or min(shape) < 1 or math.prod(shape) > 256:
            raise GradcliError(f"--shape {word}: write NAME=SHAPE, as W=2x3 or x=3",
                               hint="at most 256 elements, each size at least 1")
        out[name.strip()] = shape
    return out


def _points(parsed, path: str, bindings: dict, wrt, fmt: str, check: bool, rtol, atol, timeout) -> int:
    """--points: value and gradient at every row of a CSV, computed over whole columns."""
    from gradcli import render
    from gradcli.batch import read_points
    from gradcli.evaluation import evaluate, evaluate_rows

    with _open_input(path) as stream:
        header, data = read_points(stream)
    columns = {name: data[:, i] for i, name in enumerate(header)}
    value, grads, notes = evaluate_rows(parsed, columns, bindings, wrt)
    _notes(notes)
    out = Stream("row")
    cols = [value.tolist()] + [g.tolist() for g in grads.values()]
    n = len(value)
    with Progress("rows", total=n, streams=True) as progress:
        if fmt == "json":
            keys = list(grads)
            for i, row in enumerate(zip(*cols)):
                out.write(render.dumps({"row": i + 1, "value": render.to_json(row[0]),
                                        "grad": {k: render.to_json(g) for k, g in zip(keys, row[1:])}}))
                progress.advance()
        else:
            sep = "\t" if fmt == "tsv" else ","
            out.write(sep.join(["value", *(f"d_{k}" for k in grads)]), record=False)
            _write_rows(out, cols, sep, progress)
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
    rows = f"row{'s' if len(verdicts) > 1 else ''} {', '.join(str(i) for i, _ in verdicts)}"
    bad = [f"row {i} {v.status}" + (f" ({'; '.join(v.conventions) or v.reason})" if v.conventions or v.reason else "")
           for i, v in verdicts if v.status != "ok"]
    sys.stderr.write(f"cross-check on {rows}: " + ("; ".join(bad) if bad else "ok") + "\n")
    return EXIT_MISMATCH if any(v.status == "mismatch" for _, v in verdicts) else EXIT_OK




ROWS_A_BLOCK = 50_000
SPLIT_ROWS = 200_000        # from this many rows on, a second process formats half of them


def _csv_blocks(cols: list, sep: str, start: int, stop: int):
    """Blocks of CSV rows (without the last newline); repr is the shortest text that reads
    back to the same float, and map/zip/join run in C."""
    for lo in range(start, stop, ROWS_A_BLOCK):
        hi = min(lo + ROWS_A_BLOCK, stop)
        yield hi - lo, "\n".join(map(sep.join, zip(*(map(repr, c[lo:hi]) for c in cols))))


def _write_rows(out, cols: list, sep: str, progress) -> None:
    """All rows, in order. Formatting floats is the cost here, so with many rows and a second
    core a forked child formats the second half into a spill file while this process writes
    the first; then the spill is copied out, whole lines at a time."""
    n = len(cols[0])
    if n < SPLIT_ROWS or (os.cpu_count() or 1) < 2 or not hasattr(os, "fork"):
        for count, text in _csv_blocks(cols, sep, 0, n):
            out.write(text)
            progress.advance(count)
        return
    import tempfile
    mid = n // 2
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spill:
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:                                    # the child: format the second half, then leave
            code = 1
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                for _, text in _csv_blocks(cols, sep, mid, n):
                    spill.write(text + "\n")
                spill.flush()
                code = 0
            finally:
                os._exit(code)
        try:
            for count, text in _csv_blocks(cols, sep, 0, mid):
                out.write(text)
                progress.advance(count)
            _, status = os.waitpid(pid, 0)
            pid = 0
            if status != 0:                             # the child failed: format the rest here
                for count, text in _csv_blocks(cols, sep, mid, n):
                    out.write(text)
                    progress.advance(count)
                return
            spill.seek(0)
            for lines in iter(lambda: spill.readlines(1 << 22), []):
                out.write("".join(lines)[:-1])
                progress.advance(len(lines))
        finally:
            if pid:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)


def batch(files: list, bindings: dict, *, wrt=None, check=True, rtol=1e-9, atol=1e-12, check_timeout=5.0,
          fmt="table", jobs=None) -> int:
    """Run many jobs: one record per job, in input order, as soon as each is ready."""
    from gradcli import batch, parallel
    from gradcli.engine import silence_numpy

    silence_numpy()                     # the run reports non-finite values itself (evaluate's notes)
    paths = files or ["-"]
    for path in paths:
        if path != "-" and (not os.path.exists(path) or os.path.isdir(path)):
            raise GradcliError(f"cannot read {path!r}: " + ("a directory" if os.path.isdir(path) else "no such file"))
    options = batch.Options(defaults=bindings, wrt=_names(wrt), check=check, rtol=rtol,
                            atol=atol, timeout=check_timeout or None)
    workers = parallel.usable_cores() if jobs is None else jobs
    parsed: dict = {}                   # expression text -> Expr, across chunks and files
    out = Stream()
    collected = []
    progress = Progress("jobs", streams=fmt != "table")
    if progress.enabled and all(os.path.isfile(p) for p in paths):
        progress.total = sum(map(_count_jobs, paths))
    if "-" in paths and sys.stdin is not None and sys.stdin.isatty():
        sys.stderr.write("reading jobs from standard input, one a line, until Ctrl-D\n")
    if fmt == "table":
        interrupts.report["done"] = lambda: len(collected)
    try:
        with progress:
            done, failed = _batch_run(paths, fmt, options, parsed, workers, check, out, progress, collected)
    except (KeyboardInterrupt, interrupts.Terminated):
        if fmt == "table" and collected:
            _batch_table(collected, f"{_count(len(collected), 'job')} done before the run was stopped")
        raise
    if fmt == "table":
        _batch_table(collected, f"{_count(done, 'job')}, {failed} failed or disagreed")
    return EXIT_MISMATCH if failed else EXIT_OK


def _batch_table(records: list, summary: str) -> None:
    from rich.console import Group
    from rich.text import Text

    from gradcli import render
    line = Text(summary, "dim")
    if not records:
        _show(lambda digits: line)
        return
    _show(lambda digits: Group(render.batch_table(records, digits), line),
          lambda digits: Group(render.batch_stacked(records, digits), line))


def _batch_run(paths, fmt, options, parsed, workers, check, out, progress, collected) -> tuple[int, int]:
    """Every job of every file: records written as they come (json, tsv) or collected (table)."""
    from gradcli import batch, render
    done = failed = 0
    if fmt == "tsv":
        out.write(("file\t" if len(paths) > 1 else "") + render.BATCH_TSV_HEADER, record=False)
    for path in paths:
        prefix = path if len(paths) > 1 else None
        if fmt == "table":
            with _open_input(path) as stream:
                for rec in batch.run(batch.lines_of(stream), options, parsed):
                    rec.file = prefix
                    collected.append(rec)
                    done += 1
                    failed += rec.failed
                    progress.advance()
            continue

        def render_chunk(chunk, prefix=prefix):
            recs = list(batch.run(chunk, options, parsed))
            return [_safe_record_text(r, fmt, prefix) for r in recs], sum(r.failed for r in recs)

        for texts, bad in _chunks_of(path, render_chunk, workers, check):
            for text in texts:
                out.write(text)
                done += 1
                progress.advance()
            failed += bad
    return done, failed


def _count_jobs(path: str) -> int:
    """The jobs in a file (its lines that are not blank or comments), for the progress total."""
    from gradcli.batch import lines_of
    with _open_input(path) as stream:
        return sum(1 for _, text in lines_of(stream) if text.strip() and not text.lstrip().startswith("#"))


def _chunks_of(path: str, render_chunk, workers: int, check: bool):
    """(record texts, failed) per chunk of the file's lines, in order; on several cores when worthwhile
    (with the SymPy check, any file: its jobs are slow enough)."""
    from gradcli import batch, parallel

    if parallel.worthwhile(path, workers, 0 if check else parallel.MIN_BYTES):
        if check:
            from gradcli.symbolic import sympy
            sympy()                     # imported once, before the workers fork
        def open_lines():
            return _lines_from(path)
        size = parallel.CHECKED_CHUNK if check else parallel.CHUNK
        yield from parallel.ordered(open_lines, render_chunk, workers, size)
        return
    with _open_input(path) as stream:                   # line by line: a pipe's records come as its lines do
        yield from map(render_chunk, zip(batch.lines_of(stream)))


def _lines_from(path: str):
    from gradcli.batch import lines_of
    with _open_input(path) as stream:
        yield from lines_of(stream)


def _safe_record_text(rec, fmt: str, prefix: str | None) -> str:
    """The record's text; if writing it fails (a bug), an error record for its line instead."""
    from gradcli.batch import Record, _bug
    try:
        return _record_text(rec, fmt, prefix)
    except Exception as exc:
        bad = Record(rec.line, rec.expr[:200], error=_bug(exc), error_type="internal")
        rec.error = bad.error           # counted as failed
        return _record_text(bad, fmt, prefix)


def _record_text(rec, fmt: str, prefix: str | None) -> str:
    from gradcli import render
    if fmt == "json":
        line = render.batch_record(rec)
        return render.dumps({"file": prefix, **line} if prefix is not None else line)
    text = render.batch_tsv(rec)
    return text if prefix is None else "\n".join(f"{prefix}\t{r}" for r in text.split("\n"))


def hessian(expr: str, bindings: dict, *, wrt=None, check=True, rtol=1e-9, atol=1e-12, check_timeout=5.0,
            fmt="table") -> int:
    """The Hessian of EXPR at a point, by differentiating the engine's gradient again."""
    from gradcli import render
    from gradcli.derivatives import hessian

    d = hessian(expr, bindings, _names(wrt))
    _notes(d.notes)
    verdict = _matrix_verdict("hessian", d, check, rtol, atol, check_timeout)
    if fmt == "json":
        _out(render.dumps(render.hessian_record(d, verdict.record())))
    elif fmt == "tsv":
        _out(_matrix_tsv(d.labels, d.labels, d.hessian))
    else:
        _show(*_matrix_views("Hessian", d, d.labels, d.labels, d.hessian, verdict))
    return EXIT_MISMATCH if verdict.status == "mismatch" else EXIT_OK




def jacobian(expr: str, bindings: dict, *, wrt=None, check=True, rtol=1e-9, atol=1e-12, check_timeout=5.0,
             fmt="table") -> int:
    """The Jacobian of EXPR: a row per output element, a column per variable element."""
    from gradcli import render
    from gradcli.derivatives import jacobian, labels_of

    d = jacobian(expr, bindings, _names(wrt))
    _notes(d.notes)
    verdict = _matrix_verdict("jacobian", d, check, rtol, atol, check_timeout)
    rows = labels_of(["out"], {"out": d.value})
    if fmt == "json":
        _out(render.dumps(render.jacobian_record(d, verdict.record())))
    elif fmt == "tsv":
        _out(_matrix_tsv(rows, d.labels, d.jacobian))
    else:
        _show(*_matrix_views("Jacobian", d, rows, d.labels, d.jacobian, verdict))
    return EXIT_MISMATCH if verdict.status == "mismatch" else EXIT_OK


def _matrix_views(title, d, rows, cols, m, verdict):
    """The value, the matrix (one table, or blocks of columns when it is too wide) and the check."""
    from rich.console import Group
    from rich.text import Text

    from gradcli import render

    def view(layout):
        return lambda digits: Group(render.value_line(d.expr.source, d.value, digits),
                                    layout(title, rows, cols, m, digits), Text(render.check_line(verdict, digits), "dim"))
    return view(render.matrix_table), view(render.matrix_blocks)


def _matrix_verdict(kind, d, check, rtol, atol, timeout):
    if not check:
        from gradcli.evaluation import skipped_check
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






def minimize(expr: str, bindings: dict, *, wrt=None, optimizer="adam", lr=None, steps=20_000, tol=1e-8,
             trace=None, fmt="table") -> int:
    """Gradient descent from the given point: argmin, minimum, and why it stopped."""
    import numpy as np

    from gradcli import render
    from gradcli.derivatives import labels_of
    from gradcli.optimize import minimize

    progress = Progress("minimizing", total=steps)
    try:
        trace_file = open(trace, "w") if trace else None
    except OSError as exc:
        raise GradcliError(f"cannot write the --trace file {trace!r}: {exc.strerror}") from None
    header = []

    def on_step(k, point, value, norm):
        if trace_file is not None:
            if not header:
                header.extend(point)
                trace_file.write(",".join(["step", "value", "grad_norm", *labels_of(header, point)]) + "\n")
            flat = [repr(float(v)) for name in header for v in np.ravel(point[name])]
            trace_file.write(",".join([str(k), repr(value), repr(norm), *flat]) + "\n")
        if k:
            progress.advance(label=f"loss {value:.6g}")

    try:
        with progress:
            m = minimize(expr, bindings, wrt=_names(wrt), optimizer=optimizer, lr=lr,
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
    if fmt == "json":
        _out(render.dumps(render.minimum_record(m)))
    elif fmt == "tsv":
        rows = ["name\tvalue"] + [f"{k}\t{render.tsv_cell(v)}" for k, v in m.argmin.items()]
        rows += [f"value\t{render.fmt_num(m.value)}", f"grad_norm\t{render.fmt_num(m.grad_norm)}",
                 f"steps\t{m.steps}", f"reason\t{m.reason}"]
        _out("\n".join(rows))
    else:
        _show(lambda digits: render.minimum_table(m, digits))
    return EXIT_MISMATCH if m.reason == "diverged" else EXIT_OK






def graph(expr: str, bindings: dict, *, wrt=None, grad_output=None, retain_grad=False, fmt="tree") -> int:
    """The computational graph of EXPR after backward: as a tree, Graphviz DOT, Mermaid or JSON."""
    from gradcli import render
    from gradcli.evaluation import evaluate

    result = evaluate(expr, bindings, wrt=_names(wrt), grad_output=grad_output,
                      retain_grad=retain_grad, trace=True)
    _notes(result.notes)
    if fmt == "dot":
        _out(render.graph_dot(result))
    elif fmt == "mermaid":
        _out(render.graph_mermaid(result))
    elif fmt == "json":
        _out(render.dumps({"expr": result.expr.source, "graph": render.graph_json(result)}))
    else:
        _show(lambda digits: render.graph_tree(result, digits))
    return EXIT_OK






def plot(expr: str, bindings: dict, *, points=200, fmt="plot") -> int:
    """EXPR and its derivative drawn together, with the derivative's zeros and undefined points marked."""
    from gradcli import plot, render

    samples = plot.sample(expr, bindings, points)
    if fmt == "json":
        _out(render.dumps(plot.record(samples)))
    else:
        width = min(_console().width, plot.WIDEST)
        _show(lambda digits: plot.render(samples, width=width))
    return EXIT_OK


class Stream:
    """Writes whole records to stdout, each flushed at once: a Ctrl-C or SIGTERM that arrives
    while one is being written takes effect when it is complete (see interrupts)."""

    def __init__(self, what: str = "job"):
        self.records = 0            # records written whole
        interrupts.report.update(done=lambda: self.records, what=what)

    def write(self, text: str, record: bool = True) -> None:
        with interrupts.writing():
            emit(text + "\n")
            self.records += record


PROGRESS_DELAY = 1.0        # seconds a run takes before its progress shows; GRADCLI_PROGRESS_DELAY overrides


class Progress:
    """done/total (total where known) on stderr, only when stderr is a terminal and only once a
    run passes PROGRESS_DELAY. It never touches stdout; and it stays off while results stream
    to a terminal on stdout, where the records themselves show the progress."""

    def __init__(self, what: str, total: int | None = None, streams: bool = False):
        self.what, self.total = what, total
        self.start = time.monotonic()
        self.delay = _progress_delay()
        self.enabled = sys.stderr.isatty() and not (streams and sys.stdout.isatty())
        self.bar = self.task = None
        self.pending = 0

    def __enter__(self):
        return self

    def advance(self, n: int = 1, label: str | None = None) -> None:
        if not self.enabled:
            return
        if label is not None:
            self.what = label
        if self.bar is None:
            if time.monotonic() - self.start < self.delay:
                self.pending += n
                return
            self._start()
        self.bar.update(self.task, advance=n, description=self.what)

    def _start(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, SpinnerColumn, \
            TextColumn, TimeElapsedColumn
        columns = [SpinnerColumn(), TextColumn("{task.description}")]
        columns += [BarColumn(), MofNCompleteColumn()] if self.total else [TextColumn("{task.completed}")]
        console = Console(stderr=True, color_system=None) if plain_terminal() else Console(stderr=True)
        self.bar = Bar(*columns, TimeElapsedColumn(), console=console, transient=True,
                       redirect_stdout=False, redirect_stderr=False)
        self.bar.start()
        self.task = self.bar.add_task(self.what, total=self.total, completed=self.pending)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False


def _progress_delay() -> float:
    try:
        return max(0.0, float(os.environ.get("GRADCLI_PROGRESS_DELAY", PROGRESS_DELAY)))
    except ValueError:
        return PROGRESS_DELAY


@contextmanager
def _open_input(path: str):
    """A text stream for a path or '-' (stdin); undecodable bytes are kept, not fatal."""
    if path == "-":
        if sys.stdin is None:
            raise GradcliError("standard input is closed", hint="give a file, or pipe the jobs in")
        buffer = getattr(sys.stdin, "buffer", None)
        if buffer is None:
            yield sys.stdin
            return
        stream = io.TextIOWrapper(buffer, encoding="utf-8", errors="surrogateescape", newline="\n")
        try:
            yield stream
        finally:
            stream.detach()
        return
    try:
        stream = open(path, encoding="utf-8", errors="surrogateescape", newline="\n")
    except OSError as exc:
        raise GradcliError(f"cannot read {path!r}: {exc.strerror}") from None
    with stream:
        yield stream


def check_bindings(command: str, arg, bindings: dict) -> None:
    """A --NAME without a value, or one that is no variable but looks like one of the command's
    options, is a mistake to name before anything runs: "unknown option --tre; did you mean
    --tree?", or "--x needs a value"."""
    from gradcli.options import MISSING, unknown_option
    spec = COMMANDS[command]
    flags = [f for o in spec.options for f in o.all_flags if f.startswith("--")] + ["--help"]
    suspects = [n for n, v in bindings.items() if v is MISSING or close_matches(f"--{n}", flags, n=1, cutoff=0.75)]
    if not suspects:
        return
    variables = None if spec.arg.many else _variables_of(arg)
    for name in suspects:
        missing = bindings[name] is MISSING
        if variables is not None and name in variables:
            if missing:
                raise GradcliError(f"--{name} needs a value, as in --{name} 2", name=name)
            continue
        error = unknown_option(f"--{name}", flags, command)
        if variables is None:           # batch: a default for the lines' variables, or an option's typo
            if "did you mean" in error.message:
                error.hint = f"a default for a variable named so is written in the jobs' lines ({name}=...)"
                raise error
            if missing:
                raise GradcliError(f"--{name} needs a value, as in --{name} 2", name=name)
            continue
        if "did you mean" in error.message:
            raise error
        if missing:
            raise GradcliError(f"--{name} is not an option of gradcli {command}, nor a variable of the expression",
                               hint=f"the variables are {', '.join(variables)}" if variables else None, name=name)
        # otherwise not an option's typo: evaluate says the variable is unknown


def _variables_of(source: str) -> list[str]:
    from gradcli.parser import parse
    return parse(source).variables()


def run(command: str, arg, bindings: dict, **options) -> int:
    """Run a command once its command line is read: arg is the expression (the files for batch)."""
    import warnings
    check_bindings(command, arg, bindings)
    warnings.simplefilter("ignore")     # gradcli reports numeric trouble itself (see the notes)
    return RUN[command](arg, bindings, **options)


def _emit_eval(result, verdict, fmt: str, graph: bool, tree: bool) -> None:
    from gradcli import render

    if fmt == "json":
        _out(render.dumps(render.eval_record(result, verdict.record(), graph=graph)))
    elif fmt == "tsv":
        _out(render.eval_tsv(result))
    else:
        from rich.console import Group
        from rich.text import Text

        def view(layout, **how):
            def build(digits):
                table = layout(result, verdict, digits, retained=not tree, **how)
                return Group(table, Text(""), render.graph_tree(result, digits)) if tree else table
            return build
        _show(view(render.eval_table), view(render.eval_stacked), view(render.eval_stacked, wrap=True))


class OutputError(Exception):
    """A result could not be written: the stream (or file) and why."""

    def __init__(self, stream: str, reason: str):
        super().__init__(f"cannot write to {stream}: {reason}")


def emit(text: str) -> None:
    """Write to stdout and flush; a failure other than a closed pipe is an OutputError."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except (OSError, ValueError, AttributeError) as exc:     # ENOSPC, EIO; a closed or missing stdout
        raise OutputError("standard output", getattr(exc, "strerror", None) or "it is closed") from None


def _out(text: str) -> None:
    emit(text + "\n")


def plain_terminal() -> bool:
    """NO_COLOR or TERM=dumb: no escape codes at all, not even bold."""
    return bool(os.environ.get("NO_COLOR")) or os.environ.get("TERM") == "dumb"


def _count(n: int, what: str) -> str:
    """1 job, 2 jobs."""
    return f"{n} {what}" + ("" if n == 1 else "s")


MAX_FILE_WIDTH = 2000       # columns a table written to a file or pipe may take, for every digit


def _show(*builds) -> None:
    """Print what build(digits) renders. On a terminal it fits the width: numbers lose digits,
    never their exponent, before anything is cut, and a first line says so. To a file or a pipe
    (without COLUMNS) every digit is kept, and no line ends in blanks."""
    from gradcli import render
    console = _console()
    if console.is_terminal or os.environ.get("COLUMNS"):
        renderable, digits = render.fitted(console.width, *builds)
    else:
        from rich.measure import Measurement
        digits = render.Digits()
        renderable = builds[0](digits)
        natural = Measurement.get(console, console.options.update_width(MAX_FILE_WIDTH), renderable).maximum
        console.width = max(console.width, min(natural, MAX_FILE_WIDTH))
    # Rendered into a string by a console set up as this one, then written with emit(): a failing
    # stdout is an OutputError like any other.
    from rich.console import Console
    page = io.StringIO()
    into = Console(file=page, width=console.width, force_terminal=console.is_terminal,
                   color_system=console.color_system, highlight=False, markup=False, emoji=False)
    if digits.rounded:
        into.print(f"numbers rounded to fit {console.width} columns (-f json has every digit)", style="dim")
    into.print(renderable)
    text = page.getvalue()
    if not console.is_terminal:
        text = "\n".join(line.rstrip() for line in text.split("\n"))
    emit(text)


def _console(stderr: bool = False):
    """A Rich console that never reads text as markup or emoji codes: what gradcli prints
    is the user's own text and numbers (and skipping both saves start-up time)."""
    from rich.console import Console
    plain = {"color_system": None} if plain_terminal() else {}
    return Console(stderr=stderr, highlight=False, markup=False, emoji=False, **plain)


def _notes(notes) -> None:
    for note in notes:
        sys.stderr.write(f"warning: {note.message}\n")


def _silence_stdout() -> None:
    """Stop writing, quietly: the reader went away (gradcli ... | head -1), or stdout failed.
    Whatever is still buffered then goes nowhere, so Python's flush at exit cannot fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        sys.stdout = open(os.devnull, "w")


# Command name -> implementation; the Typer app and the fast path both dispatch through it.
RUN = {"eval": eval_, "diff": diff, "batch": batch, "hessian": hessian, "jacobian": jacobian,
       "minimize": minimize, "graph": graph, "plot": plot}
