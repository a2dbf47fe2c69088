"""The long runs, streamed record by record: a batch of jobs from files and pipes, the rows of a
points file, and gradient descent; each with its progress display, and each written so that a
signal leaves whole records (see interrupts)."""
from __future__ import annotations

import os
import sys

from gradcli.cli import interrupts, workers
from gradcli.cli.io import Stream, count, open_input, warn, write
from gradcli.cli.progress import Progress
from gradcli.errors import GradcliError


# -- batch -------------------------------------------------------------------------------------
def batch_run(paths: list, bindings: dict, wrt, check: bool, policy, fmt: str, jobs) -> int:
    """Every job of every file, one record each in input order; returns how many failed."""
    from gradcli import batch, render
    from gradcli.graph import silence_numpy

    silence_numpy()                     # the run reports non-finite values itself (evaluate's notes)
    for path in paths:
        if path != "-" and (not os.path.exists(path) or os.path.isdir(path)):
            raise GradcliError(f"cannot read {path!r}: " + ("a directory" if os.path.isdir(path) else "no such file"))
    options = batch.Options(defaults=bindings, wrt=wrt, check=check, policy=policy)
    workers_n = workers.usable_cores() if jobs is None else jobs
    out, collected = Stream(), []
    progress = Progress("jobs", streams=fmt != "table")
    if progress.enabled and all(os.path.isfile(p) for p in paths):
        progress.total = sum(map(_count_jobs, paths))
    if "-" in paths and sys.stdin is not None and sys.stdin.isatty():
        sys.stderr.write("reading jobs from standard input, one a line, until Ctrl-D\n")
    if fmt == "table":
        interrupts.report["done"] = lambda: len(collected)
    try:
        with progress:
            done, failed = _jobs(paths, fmt, options, workers_n, check, out, progress, collected)
    except (KeyboardInterrupt, interrupts.Terminated):
        if fmt == "table" and collected:
            write(render.emit(render.Batch(collected, f"{count(len(collected), 'job')} done before the run "
                                                      "was stopped"), "table"))
        raise
    if fmt == "table":
        write(render.emit(render.Batch(collected, f"{count(done, 'job')}, {failed} failed or disagreed"), "table"))
    return failed


def _jobs(paths, fmt, options, workers_n, check, out, progress, collected) -> tuple[int, int]:
    """Records written as they come (json, tsv) or collected (table): (jobs done, failed)."""
    from gradcli import batch
    from gradcli.render import records
    done = failed = 0
    parsed: dict = {}                   # expression text -> Expr, across chunks and files
    if fmt == "tsv":
        out.write(("file\t" if len(paths) > 1 else "") + records.BATCH_TSV_HEADER, record=False)
    for path in paths:
        prefix = path if len(paths) > 1 else None
        if fmt == "table":
            with open_input(path) as stream:
                for rec in batch.run(batch.lines_of(stream), options, parsed):
                    rec.file = prefix
                    collected.append(rec)
                    done += 1
                    failed += rec.failed
                    progress.advance()
            continue

        def render_chunk(chunk, prefix=prefix):
            recs = list(batch.run(chunk, options, parsed))
            return [_text(r, fmt, prefix) for r in recs], sum(r.failed for r in recs)

        for texts, bad in _chunks_of(path, render_chunk, workers_n, check, options):
            for text in texts:
                out.write(text)
                done += 1
                progress.advance()
            failed += bad
    return done, failed


def _text(rec, fmt: str, prefix: str | None) -> str:
    """A record's text; if writing it fails (a bug), the error record of its line instead, so that
    the run goes on."""
    from gradcli.batch import Record, bug
    from gradcli.render.records import batch_text
    try:
        return batch_text(rec, fmt, prefix)
    except Exception as exc:
        bad = Record(rec.line, rec.expr[:200], error=bug(exc), error_type="internal")
        rec.error = bad.error           # counted as failed
        return batch_text(bad, fmt, prefix)


def _count_jobs(path: str) -> int:
    """The jobs in a file (its lines that are not blank or comments), for the progress total."""
    from gradcli.batch import lines_of
    with open_input(path) as stream:
        return sum(1 for _, text in lines_of(stream) if text.strip() and not text.lstrip().startswith("#"))


def _chunks_of(path: str, render_chunk, workers_n: int, check: bool, options):
    """(record texts, failed) per chunk of the file's lines, in order; on several cores when worthwhile
    (with the check, any file: its jobs are slow enough)."""
    from gradcli.batch import lines_of

    if workers.worthwhile(path, workers_n, 0 if check else workers.MIN_BYTES):
        if check:
            from gradcli.check.backend import prepare
            prepare(options.policy.using)       # imported once, before the workers fork
        size = workers.CHECKED_CHUNK if check else workers.CHUNK
        yield from workers.ordered(lambda: _lines_from(path), render_chunk, workers_n, size)
        return
    with open_input(path) as stream:                    # line by line: a pipe's records come as its lines do
        yield from map(render_chunk, zip(lines_of(stream)))


def _lines_from(path: str):
    from gradcli.batch import lines_of
    with open_input(path) as stream:
        yield from lines_of(stream)


# -- points files ----------------------------------------------------------------------------------
def points_run(parsed, path: str, bindings: dict, wrt, fmt: str, check: bool, policy) -> int:
    """--points: value and gradient at every row of a CSV, computed over whole columns; with the
    check, its first, middle and last rows are cross-checked. Returns the exit code."""
    from gradcli.evaluation import evaluate
    from gradcli.points import evaluate_rows, read_points
    from gradcli.render.numbers import dumps, to_json

    with open_input(path) as stream:
        header, data = read_points(stream)
    columns = {name: data[:, i] for i, name in enumerate(header)}
    value, grads, notes = evaluate_rows(parsed, columns, bindings, wrt)
    warn(notes)
    out = Stream("row")
    cols = [value.tolist()] + [g.tolist() for g in grads.values()]
    n = len(value)
    with Progress("rows", total=n, streams=True) as progress:
        if fmt == "json":
            keys = list(grads)
            for i, row in enumerate(zip(*cols)):
                out.write(dumps({"row": i + 1, "value": to_json(row[0]),
                                 "grad": {k: to_json(g) for k, g in zip(keys, row[1:])}}))
                progress.advance()
        else:
            sep = "\t" if fmt == "tsv" else ","
            out.write(sep.join(["value", *(f"d_{k}" for k in grads)]), record=False)
            workers.write_rows(out, cols, sep, progress)
    if not check or n == 0:
        return 0
    from gradcli.check.cross import cross_check
    verdicts = []
    for i in sorted({0, n // 2, n - 1}):
        row = {k: float(columns[k][i]) for k in parsed.variables() if k in columns}
        row.update({k: v for k, v in bindings.items() if k in parsed.variables() and k not in row})
        verdicts.append((i + 1, cross_check(evaluate(parsed, row, wrt=wrt), rtol=policy.rtol, atol=policy.atol,
                                            timeout=policy.timeout, using=policy.using)))
    rows = f"row{'s' if len(verdicts) > 1 else ''} {', '.join(str(i) for i, _ in verdicts)}"
    bad = [f"row {i} {v.status}" + (f" ({'; '.join(v.conventions) or v.reason})" if v.conventions or v.reason else "")
           for i, v in verdicts if v.status != "ok"]
    sys.stderr.write(f"cross-check on {rows}: " + ("; ".join(bad) if bad else "ok") + "\n")
    return 1 if any(v.status == "mismatch" for _, v in verdicts) else 0


# -- gradient descent ---------------------------------------------------------------------------------
def descend(expr: str, bindings: dict, wrt, optimizer: str, lr, steps: int, tol: float, trace):
    """minimize(), with its progress display and, with --trace, every step written as CSV."""
    import numpy as np

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
            return minimize(expr, bindings, wrt=wrt, optimizer=optimizer, lr=lr, steps=steps, tol=tol,
                            on_step=on_step)
    finally:
        if trace_file is not None:
            trace_file.close()
