"""The machine formats: JSON records and TSV rows of every result, with every digit."""
from __future__ import annotations

import numpy as np

from gradcli.render.numbers import dumps, to_json, tsv_cell


def graph_json(result) -> list[dict]:
    """The graph's nodes; one a program names (a step y, a call f(a)) has its "name" too."""
    out = []
    for n in result.graph:
        rec = {"id": n.id, "op": n.op, "text": n.text, "value": to_json(n.value),
               "shape": list(n.shape), "is_leaf": n.is_leaf, "requires_grad": n.requires_grad,
               "grad": to_json(n.grad), "grad_fn": n.grad_fn, "inputs": n.inputs}
        if n.name is not None:
            rec["name"] = n.name
        out.append(rec)
    return out


def eval_record(result, check: dict, graph: bool = False) -> dict:
    """The JSON object of `gradcli eval --format json`."""
    rec = {"expr": result.expr.source,
           "value": to_json(result.value),
           "shape": list(np.shape(result.value)),
           "grad": None if result.grad is None else {k: to_json(v) for k, v in result.grad.items()},
           "check": check}
    if result.notes:
        rec["warnings"] = [n.message for n in result.notes]
        traps = [n.trap for n in result.notes if n.trap is not None]
        if traps:
            rec["traps"] = traps
    if graph:
        rec["graph"] = graph_json(result)
    return rec


def ledger_record(ledger) -> dict:
    """The JSON object of `gradcli explain --format json` (and Ledger.as_dict())."""
    rows = ledger.forward
    backward = []
    for e in ledger.backward:
        rec = {"node": e.node, "input": e.input, "argument": e.argument, "upstream": to_json(e.upstream),
               "local": to_json(e.local), "local_formula": e.local_formula, "partial": e.partial,
               "contribution": to_json(e.contribution), "accumulated": to_json(e.accumulated),
               "contributions": e.of, "nth": e.nth, "rule": e.rule, "pattern": e.pattern}
        if e.summed:
            rec["sum_to"] = {"before": to_json(e.raw), "shape_before": list(np.shape(e.raw)),
                             "shape": list(np.shape(e.contribution))}
        backward.append(rec)
    rec = {"expr": ledger.expr, "value": to_json(ledger.value), "shape": list(np.shape(ledger.value)),
            "grad_output": to_json(ledger.seed),
            "forward": [{"id": s.id, "name": s.name, "text": s.text, "op": s.op, "inputs": s.inputs,
                         "value": to_json(s.value), "shape": list(s.shape)} for s in rows],
            "backward": backward,
            "grad": {n: {"value": to_json(g), "finite_difference": _estimated(ledger.finite.get(n), ledger.estimated)}
                     for n, g in ledger.grad.items()}}
    if ledger.notes:
        rec["warnings"] = [n.message for n in ledger.notes]
    return rec


def _estimated(fd, first: int):
    """Finite-difference estimates as JSON: null for the elements past the first `first` (not estimated)."""
    if fd is None or np.ndim(fd) == 0:
        return to_json(fd)
    flat = np.ravel(fd)
    cells = np.empty(flat.size, dtype=object)
    cells[:] = [to_json(x) if j < first else None for j, x in enumerate(flat)]
    return cells.reshape(np.shape(fd)).tolist()


TSV_HEADER = "kind\tname\tshape\tvalue\tgrad"


def one_line(text: str) -> str:
    return " ".join(text.split())


def source_line(source: str) -> str:
    """An expression on one line; a program's statements joined by '; ', without its comments."""
    if "\n" not in source and "#" not in source:
        return one_line(source)
    from gradcli.errors import GradcliError
    from gradcli.lang.lexer import NEWLINE, tokenize
    try:
        ends = {t.start for t in tokenize(source) if t.text == NEWLINE}
    except GradcliError:
        ends = set()
    out, i, n = [], 0, len(source)
    while i < n:
        ch = source[i]
        if ch == "#":
            end = source.find("\n", i)
            i = n if end < 0 else end
            continue
        out.append("; " if i in ends else " " if ch == "\n" else ch)
        i += 1
    return " ".join(one_line("".join(out)).replace(" ;", ";").split()).strip("; ")


def eval_tsv(result) -> str:
    """Header, then one row for the output and one per variable."""
    rows = [TSV_HEADER,
            "\t".join(["output", source_line(result.expr.source), _shape(result.value), tsv_cell(result.value), ""])]
    grads = result.grad or {}
    for name in result.variables:
        value = result.values[name]
        rows.append("\t".join(["var", name, _shape(value), tsv_cell(value), tsv_cell(grads.get(name))]))
    if result.tensors is not None:          # --retain-grad: the intermediate nodes' gradients too
        for n in result.graph:
            if n.retained:
                rows.append("\t".join(["node", n.name or one_line(n.text), _shape(n.value), tsv_cell(n.value),
                                        tsv_cell(n.grad)]))
    return "\n".join(rows)


def _shape(v) -> str:
    return "[" + ",".join(str(n) for n in np.shape(v)) + "]"


def symbolic_check(sres) -> dict:
    """The JSON `check` of a result with free variables: skipped, and why."""
    return {"status": "skipped", "method": None, "max_abs_err": None, "symbolic": None,
            "reason": f"symbolic result: {', '.join(sres.free)} free"}


def symbolic_record(sres, check) -> dict:
    """JSON for a result with free variables: value and gradients are formula strings."""
    return {"expr": sres.expr.source, "value": sres.value_text(), "shape": list(sres.value.shape),
            "grad": sres.grad_text() if sres.grad else ({} if sres.grad is not None else None),
            "free": sres.free, "check": check}


def symbolic_tsv(sres) -> str:
    grads = sres.grad_text()
    rows = [TSV_HEADER, "\t".join(["output", one_line(sres.expr.source), _shape(sres.value),
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


def clean(text: str) -> str:
    """Text safe to print: undecodable bytes (kept as surrogates on input) become U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def batch_record(rec) -> dict:
    """The JSON line of one batch job: "line" first, then eval's fields or an "error"."""
    if rec.error is not None:
        error = {"type": rec.error_type, "message": clean(rec.error.message), "column": rec.column}
        if rec.error.hint:
            error["hint"] = clean(rec.error.hint)
        return {"line": rec.line, "expr": clean(rec.expr), "error": error}
    if rec.symbolic is not None:
        return {"line": rec.line, **symbolic_record(rec.symbolic, symbolic_check(rec.symbolic))}
    return {"line": rec.line, **eval_record(rec.result, rec.check.record())}


BATCH_TSV_HEADER = "line\t" + TSV_HEADER


def batch_tsv(rec) -> str:
    """The TSV rows of one job, each prefixed by its line number."""
    if rec.error is not None:
        body = "\t".join(["error", rec.error_type, "", one_line(clean(rec.error.message)), ""])
        return f"{rec.line}\t{body}"
    rows = (symbolic_tsv(rec.symbolic) if rec.symbolic is not None else eval_tsv(rec.result)).split("\n")[1:]
    return "\n".join(f"{rec.line}\t{row}" for row in rows)


def hessian_record(d, check: dict) -> dict:
    return {"expr": d.expr.source, "variables": d.labels, "value": to_json(d.value),
            "grad": {k: to_json(v) for k, v in d.grad.items()}, "hessian": to_json(d.hessian), "check": check}


def jacobian_record(d, check: dict) -> dict:
    return {"expr": d.expr.source, "variables": d.labels, "value": to_json(d.value),
            "jacobian": to_json(d.jacobian), "check": check}


def minimum_record(m) -> dict:
    return {"expr": m.expr.source, "argmin": {k: to_json(v) for k, v in m.argmin.items()},
            "value": to_json(m.value), "grad_norm": to_json(m.grad_norm), "steps": m.steps,
            "converged": m.converged, "reason": m.reason, "optimizer": m.optimizer, "lr": m.lr}


def batch_text(rec, fmt: str, prefix: str | None) -> str:
    """A batch record as its JSON line or TSV rows, prefixed by the file with several files."""
    if fmt == "json":
        line = batch_record(rec)
        return dumps({"file": prefix, **line} if prefix is not None else line)
    text = batch_tsv(rec)
    return text if prefix is None else "\n".join(f"{prefix}\t{r}" for r in text.split("\n"))
