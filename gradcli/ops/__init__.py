"""The op table (table.py), the schema of its rows (schema.py), and the lookups every stage uses."""
from __future__ import annotations

from gradcli.ops.schema import INTERNAL, LEAF, Domain, Fn, Infix, Kink, Op, Postfix, Prefix
from gradcli.ops.table import CONSTANTS, TABLE, F

OPS: dict[str, Op] = {op.key: op for op in TABLE}
VAR, NUM, CONST = OPS["var"], OPS["num"], OPS["const"]


def functions() -> dict[str, list[Op]]:
    """Function name -> rows (max and min have a 1- and a 2-argument row)."""
    out: dict[str, list[Op]] = {}
    for op in TABLE:
        for name in op.names:
            out.setdefault(name, []).append(op)
    return out


def heads() -> dict[str, Op]:
    """SymPy function name -> the row whose builder makes it ("Abs" -> abs): how a derivative
    SymPy writes with it is evaluated (the row's `precise`) and printed (the row's name)."""
    return {op.head: op for op in TABLE if op.head}


__all__ = ["TABLE", "OPS", "F", "CONSTANTS", "VAR", "NUM", "CONST", "functions", "heads", "Op", "Fn", "Infix",
           "Prefix", "Postfix", "Kink", "Domain", "LEAF", "INTERNAL"]
