"""Points files: one expression at many points, read from a CSV whose header names the variables,
computed over whole columns with numpy where the expression is elementwise."""
from __future__ import annotations

import re
import warnings

import numpy as np

from gradcli.binding import check_names, differentiated
from gradcli.errors import BindError, ShapeError
from gradcli.evaluation import evaluate
from gradcli.lang.expr import Expr
from gradcli.values import read_value


def elementwise_only(expr: Expr) -> bool:
    """True if every op is elementwise, so rows of column arrays never mix."""
    return all(node.op.elementwise or not node.args for node in expr.nodes())


def evaluate_rows(expr: Expr, columns: dict, constants: dict | None = None, wrt=None) -> tuple:
    """Value and gradients at every row of the column arrays, as arrays of length n.

    Elementwise expressions run once on whole columns (seed: ones, so each row's
    gradient is its own); others run row by row. constants: scalar values for
    variables without a column.
    """
    constants = constants or {}
    names = expr.variables()
    n = len(next(iter(columns.values()))) if columns else 0
    for name in names:
        if name not in columns and name not in constants:
            raise BindError(f"'{name}' has no column in the points file and no value",
                            hint=f"add a column {name}, or give --{name} VALUE")
    scalars = {}
    for name in names:
        if name not in columns:
            value = read_value(constants[name], f"value of {name}")
            if np.ndim(value):
                raise BindError(f"--{name} must be a number to go with --points, not shape {np.shape(value)}")
            scalars[name] = value
    check_names(expr, {}, wrt)
    wanted = differentiated(names, wrt)
    if elementwise_only(expr):
        values = {k: np.asarray(columns[k], dtype=np.float64) for k in names if k in columns}
        values.update({k: np.full(n, v) for k, v in scalars.items()})
        result = evaluate(expr, values, wrt=wanted, grad_output=np.ones(n) if names else None)
        value = np.broadcast_to(np.asarray(result.value, dtype=np.float64), (n,))
        grads = {k: np.broadcast_to(np.asarray(result.grad[k], dtype=np.float64), (n,)) for k in wanted}
        return value, grads, result.notes
    value = np.empty(n)
    grads = {k: np.empty(n) for k in wanted}
    notes = []
    for i in range(n):
        row = {k: float(columns[k][i]) for k in names if k in columns}
        row.update(scalars)
        result = evaluate(expr, row, wrt=wanted)
        if np.ndim(result.value):
            raise ShapeError(f"with --points the expression must give one number a row, not shape "
                             f"{np.shape(result.value)}", expr.span, source=expr.source)
        value[i] = result.value
        for k in wanted:
            grads[k][i] = result.grad[k]
        notes = notes or result.notes
    return value, grads, notes


def read_points(stream, where: str = "--points") -> tuple:
    """A CSV of numbers whose header names the variables: (names, rows x columns array)."""
    header = stream.readline().lstrip("\ufeff")
    names = [n.strip() for n in header.strip().split(",")]
    if not header.strip() or not all(n.isidentifier() for n in names):
        raise BindError(f"the first line of {where} must name the variables, like: a,b,c",
                        hint=f"found {header.strip()[:60]!r}")
    if len(set(names)) != len(names):
        raise BindError(f"a column name repeats in the header of {where}")
    # A file is read by numpy as it streams (C speed, no copy of the text); a pipe is kept as
    # lines, so that a bad row can be found again and named by its line.
    start = stream.tell() if stream.seekable() else None
    source = stream if start is not None else stream.readlines()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")             # "input contained no data": no rows is fine
            data = np.loadtxt(source, delimiter=",", dtype=np.float64, ndmin=2, comments="#")
    except ValueError as exc:
        message = str(exc).split("\n")[0]
        if "could not convert" in message:      # numpy counts data rows from 0: say the file's line
            message = re.sub(r"at row (\d+), column (\d+)",
                             lambda m: f"on line {int(m.group(1)) + 2}, column {m.group(2)}", message)
            raise BindError(f"{where}: {message}", hint="every row holds one number per column, "
                            "separated by commas") from None
        if start is not None:
            stream.seek(start)
        raise _bad_row(stream if start is not None else source, len(names), where) from None
    if data.size == 0:
        return names, np.empty((0, len(names)))
    if data.shape[1] != len(names):
        raise BindError(f"{where} has {data.shape[1]} numbers a row but {len(names)} names in its header")
    return names, data


def _bad_row(lines, width: int, where: str) -> BindError:
    """The first row that is not `width` numbers, with its line number in the file (lines: those
    after the header)."""
    for n, line in enumerate(lines, 2):
        body = line.split("#", 1)[0].strip()
        if not body:
            continue
        fields = body.split(",")
        if len(fields) != width:
            return BindError(f"{where}, line {n}: {len(fields)} field{'s' if len(fields) != 1 else ''} "
                             f"where the header names {width}", hint="every row holds one number per column")
    return BindError(f"{where}: not a table of numbers", hint="every row holds one number per column")
