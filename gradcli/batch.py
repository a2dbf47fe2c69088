"""Batch jobs: read lines, run each job, yield one record per job in input order.

A line is `EXPR`, `EXPR where a=2, b=[1,2]`, or a JSON object
{"expr": ..., "vars": {...}, "wrt": [...], "grad_output": ...}. Blank lines
and `#` comments are skipped. Nothing here prints: the CLI renders records.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from gradcli.check.policy import DEFAULT, CheckPolicy, skipped
from gradcli.errors import BindError, GradcliError, ParseError, Span

_BINDING = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=")
JSON_KEYS = {"expr", "vars", "wrt", "grad_output"}


@dataclass
class Job:
    line: int
    expr: str
    values: dict = field(default_factory=dict)         # name -> value (text, number or list)
    offsets: dict = field(default_factory=dict)        # name -> column offset of its value text in the line
    name_offsets: dict = field(default_factory=dict)   # name -> column offset of the name itself
    expr_offset: int = 0
    wrt: list | None = None
    grad_output: object = None


@dataclass
class Record:
    """What one job produced: a result (numeric or symbolic) and its check, or an error."""
    line: int
    expr: str
    result: object = None
    symbolic: object = None
    check: object = None
    error: GradcliError | None = None
    error_type: str | None = None
    column: int | None = None
    file: str | None = None         # the file it came from, when a run reads several

    @property
    def failed(self) -> bool:
        return self.error is not None or (self.check is not None and self.check.status == "mismatch")


_SPECIAL = re.compile(r"[()\[\],]")
_FLAT_BINDING = re.compile(rf"(?:^|,)({_BINDING.pattern})")     # a binding at the start or after a comma


def _split_top(text: str) -> list[tuple[int, str]]:
    """Split at commas outside brackets; (offset, piece) pairs. A flat [...] is skipped in one
    step, so a vector of millions of numbers costs one search, not a loop over its characters.
    Without brackets, commas that do not start a `name=` only continue a value, so the text
    is cut at bindings alone."""
    if "[" not in text and "(" not in text:
        cuts = [m.start(1) for m in _FLAT_BINDING.finditer(text)]
        if not cuts or cuts[0] != 0:
            cuts.insert(0, 0)
        ends = [c - 1 for c in cuts[1:]] + [len(text)]
        return [(c, text[c:e]) for c, e in zip(cuts, ends)]
    parts, depth, start, pos = [], 0, 0, 0
    while (m := _SPECIAL.search(text, pos)) is not None:
        i = pos = m.start()
        pos += 1
        ch = text[i]
        if ch == "[" and depth == 0:
            close = text.find("]", pos)
            if close >= 0 and not any(text.find(c, pos, close) >= 0 for c in "[()"):
                pos = close + 1
                continue
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif depth == 0:
            parts.append((start, text[start:i]))
            start = pos
    parts.append((start, text[start:]))
    return parts


def parse_where(text: str, base: int) -> tuple[dict, dict, dict]:
    """`a=2, b=[1,2], c=1,2,3` -> values, their column offsets, and the names' offsets.
    A piece without `name=` continues the previous value, so `c=1,2,3` is one vector."""
    pieces: dict[str, list[str]] = {}
    offsets: dict[str, int] = {}
    name_offsets: dict[str, int] = {}
    last = None
    for offset, piece in _split_top(text):
        m = _BINDING.match(piece)
        if m:
            last = m.group(1)
            if last in pieces:
                raise BindError(f"'{last}' is given a value twice", Span(base + offset, base + offset + len(piece)))
            pieces[last] = [piece[m.end():]]
            offsets[last] = base + offset + m.end()
            name_offsets[last] = base + offset + m.start(1)
        elif last is not None:
            pieces[last].append(piece)
        else:
            raise BindError("expected name=value after 'where'", Span(base + offset, base + offset + max(1, len(piece))),
                            hint="write: EXPR where a=2, b=[1,2]")
    return {k: ",".join(v) for k, v in pieces.items()}, offsets, name_offsets


def _find_where(text: str) -> int:
    """Offset of the keyword `where` that starts the bindings, or -1: the word, not followed by
    '(' (that is the function where(cond, a, b)). str.find: a long line is scanned at C speed."""
    i = text.find("where")
    while i >= 0:
        before = text[i - 1] if i else " "
        after = text[i + 5] if i + 5 < len(text) else " "
        if not (before.isalnum() or before == "_" or after.isalnum() or after == "_") \
                and not text[i + 5:].lstrip().startswith("("):
            return i
        i = text.find("where", i + 1)
    return -1


def parse_line(text: str, line: int) -> Job | None:
    """A Job from one line, or None for a blank line or a comment."""
    stripped = text.strip()
    if not stripped or stripped.startswith("#"):
        return None
    if stripped.startswith("{"):
        return _json_job(stripped, line)
    lead = len(text) - len(text.lstrip())
    at = _find_where(text)
    if at < 0:
        return Job(line, text.strip(), expr_offset=lead)
    end = at + len("where")
    values, offsets, names = parse_where(text[end:], end)
    return Job(line, text[:at].strip(), values, offsets, names, expr_offset=lead)


def _json_job(text: str, line: int) -> Job:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON: {exc.msg}", Span(exc.pos, exc.pos + 1), source=text) from None
    except RecursionError:
        raise ParseError("the JSON line nests too deeply to read", Span(0, 1), source=text) from None
    except ValueError as exc:           # an integer of more digits than Python converts (4,300)
        raise ParseError(f"invalid JSON: {str(exc).split(';')[0]}", Span(0, 1), source=text) from None
    if not isinstance(obj, dict):
        raise ParseError("a JSON line must be an object with an \"expr\"", Span(0, 1), source=text)
    unknown = sorted(set(obj) - JSON_KEYS)
    if unknown:
        raise BindError(f"unknown key {unknown[0]!r} in the JSON line",
                        hint="the keys are expr, vars, wrt, grad_output")
    expr = obj.get("expr")
    if not isinstance(expr, str):
        raise BindError("the JSON line needs \"expr\": a string")
    values = obj.get("vars") or {}
    if not isinstance(values, dict):
        raise BindError("\"vars\" must be an object: {\"x\": 2, \"v\": [1, 2]}")
    wrt = obj.get("wrt")
    if isinstance(wrt, str):
        wrt = [n.strip() for n in wrt.split(",") if n.strip()]
    elif wrt is not None and not (isinstance(wrt, list) and all(isinstance(n, str) for n in wrt)):
        raise BindError("\"wrt\" must be a list of names")
    return Job(line, expr, dict(values), wrt=wrt, grad_output=obj.get("grad_output"))


MAX_LINE = 1 << 26          # characters in one batch line (64 Mi): a longer one is an error record


class LongLine(str):
    """A line longer than MAX_LINE: only its start is kept (for the record's echo)."""


def lines_of(stream, start: int = 1) -> Iterator[tuple[int, str]]:
    """(1-based physical line number, text without its newline). Lines end at "\n" alone (a lone
    "\r" is part of the line); a byte-order mark at the start is dropped; a line longer than
    MAX_LINE is read past in pieces, never held whole, and comes as a LongLine."""
    n = start
    readline = getattr(stream, "readline", None)
    if readline is None:                        # a plain iterable of lines
        for n, text in enumerate(stream, start):
            yield n, _clean_end(text, n == start)
        return
    while True:
        text = readline(MAX_LINE + 1)
        if not text:
            return
        if len(text) > MAX_LINE and not text.endswith("\n"):
            head = LongLine(text[:ECHO_LIMIT])
            while text and not text.endswith("\n"):
                text = readline(1 << 20)
            yield n, head
        else:
            yield n, _clean_end(text, n == start)
        n += 1


def _clean_end(text: str, first: bool) -> str:
    text = text[:-1] if text.endswith("\n") else text
    text = text[:-1] if text.endswith("\r") else text          # \r\n
    return text[1:] if first and text.startswith("\ufeff") else text


@dataclass
class Options:
    defaults: dict = field(default_factory=dict)       # --NAME VALUE from the command line
    wrt: list | None = None
    check: bool = True
    policy: CheckPolicy = DEFAULT


PARSED_CACHE = 4096      # distinct expression texts whose parse a batch run keeps


def run(lines: Iterable[tuple[int, str]], options: Options, parsed: dict | None = None) -> Iterator[Record]:
    """One record per job, in input order, each yielded as soon as it is ready.

    parsed: expression text -> Expr, kept across calls by a caller that passes it in
    (one expression at many points is parsed once).
    """
    parsed = {} if parsed is None else parsed
    for number, text in lines:
        if isinstance(text, LongLine):
            err = ParseError(f"the line is longer than {MAX_LINE:,} characters")
            yield Record(number, text + "...", error=err, error_type=err.kind)
            continue
        try:
            job = parse_line(text, number)
        except GradcliError as err:
            yield _error_record(number, text, err, 0, text)
            continue
        except Exception as exc:        # a bug: the line still gets its record, and the run goes on
            yield _error_record(number, text, bug(exc), 0, text, kind="internal")
            continue
        if job is None:
            continue
        yield run_job(job, options, text, parsed)


def _parse(text: str, cache: dict | None):
    from gradcli.lang.parser import parse
    if cache is None:
        return parse(text)
    expr = cache.get(text)
    if expr is None:
        expr = parse(text)
        if len(cache) >= PARSED_CACHE:
            cache.pop(next(iter(cache)))
        cache[text] = expr
    return expr


def run_job(job: Job, options: Options, text: str = "", cache: dict | None = None) -> Record:
    """The record of one job: its result and check, a symbolic result, or its error."""
    from gradcli.binding import differentiated
    from gradcli.evaluation import evaluate
    try:
        expr = _parse(job.expr, cache)
        names = expr.variables()
        values = {k: v for k, v in options.defaults.items() if k in names}
        values.update(job.values)
        wrt = job.wrt if job.wrt is not None else (None if options.wrt is None else differentiated(names, options.wrt))
        policy = options.policy
        if any(n not in values for n in names):
            from gradcli.symbolic import symbolic_evaluate
            sres = symbolic_evaluate(expr, values, wrt=wrt, grad_output=job.grad_output, timeout=policy.timeout)
            return Record(job.line, job.expr, symbolic=sres)
        result = evaluate(expr, values, wrt=wrt, grad_output=job.grad_output)
        if options.check:
            from gradcli.check.cross import cross_check
            check = cross_check(result, rtol=policy.rtol, atol=policy.atol, timeout=policy.timeout, using=policy.using)
        else:
            check = skipped("--no-check")
        return Record(job.line, job.expr, result=result, check=check)
    except GradcliError as err:
        return _error_record(job.line, job.expr, err, _column_base(job, err), text)
    except RecursionError:
        err = GradcliError("the expression is too deeply nested to process")
        return _error_record(job.line, job.expr, err, 0, text)
    except Exception as exc:  # a bug: the job still gets its record, and the run goes on
        return _error_record(job.line, job.expr, bug(exc), 0, text, kind="internal")


def bug(exc: Exception) -> GradcliError:
    """A bug in gradcli, as the error of one job's record."""
    return GradcliError(f"internal error (a bug in gradcli): {type(exc).__name__}: {str(exc)[:300]}")


def _column_base(job: Job, err: GradcliError) -> int:
    """Offset of the text the error's span points into, within the line."""
    if err.span is None and err.name in job.name_offsets:   # a binding in the where clause
        err.span = Span(0, len(err.name))
        return job.name_offsets[err.name]
    if err.where and err.where.startswith("value of "):
        return job.offsets.get(err.where[len("value of "):], -1)
    return job.expr_offset if err.source == job.expr else -1


ECHO_LIMIT = 200       # an expression over the parser's length limit is echoed this far, then "..."


def _error_record(line: int, expr: str, err: GradcliError, base: int, text: str, kind: str | None = None) -> Record:
    from gradcli.lang.parser import MAX_LENGTH
    if len(expr) > MAX_LENGTH:
        expr = expr[:ECHO_LIMIT] + "..."
    column = None
    if err.span is not None and base >= 0:
        column = base + err.span.start + 1
        if text:
            column = min(column, len(text) + 1)
    return Record(line, expr, error=err, error_type=kind or err.kind, column=column)
