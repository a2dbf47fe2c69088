"""Hostile text for gradcli, and the properties every input must satisfy.

Used by tests/test_fuzz.py (a few hundred examples each, in the suite) and by
tests/fuzz/run.py (as many as time allows). Three kinds of input:

- random bytes, decoded as the CLI decodes a file (UTF-8, undecodable bytes kept);
- token soups: the grammar's own tokens in random order;
- mutations of valid expressions: tokens deleted, duplicated, swapped or inserted.

A property either holds or raises AssertionError with what went wrong.
"""
from __future__ import annotations

import re

import numpy as np
from hypothesis import strategies as st

from gradcli.check.cross import cross_check
from gradcli.check.policy import DEFAULT
from gradcli.check.verdict import close
from gradcli.errors import GradcliError
from gradcli.lang.lexer import tokenize
from gradcli.lang.parser import FUNCTIONS, INFIX, POSTFIX, PREFIX, parse
from gradcli.ops import TABLE, Fn, Infix

VARIABLES = ["a", "b", "x", "W"]
UNAVOIDABLE = re.compile(r"^the engine's gradient with respect to .* is not finite where")
NUMBERS = ["0", "1", "2", "2.5", ".5", "1e308", "1e-320", "1e400", "9", "007", "3."]
TOKENS = sorted(set(FUNCTIONS) | set(INFIX) | set(PREFIX) | set(POSTFIX)) + [
    "(", ")", "[", "]", ",", "'", "pi", "e", *VARIABLES, *NUMBERS]
NOISE = [" ", "", "  ", "\t", ".", "=", "where", "__class__", "__import__", "'os'", "\"", "{", "}", ";", "\\",
         "\u00e9", "\u2212", "\u00a0", "\x00", "#", "\n", "y =", "f(x) =", "f(", "y;"]

VALID = [
    "a*b + sin(x)", "sum(x*x)", "W @ x", "x[0] + x[-1]", "max(a, b) - min(a, b)", "W'", "log(1 + exp(a))",
    "[a, b, 2] * x", "mean(softmax(x))", "norm(x) / (1 + a^2)", "atan2(a, b) ^ 2", "relu(a - b) * sigmoid(x)",
    "sum(W @ W')", "prod(x) + logsumexp(x)", "sqrt(abs(a)) * heaviside(b)", "dot(x, x) - a ** 3",
    "tanh(x)[1]", "-a^-b", "((a))", "[[1, 2], [3, 4]] @ x",
    "y = a*b; z = y + sin(a); z", "f(u) = u^2 + 1; f(a) + f(b)", "y = W @ x\ng(v, w) = v*w\nsum(g(y, x))",
]
# Values bound to every variable an expression uses: scalars, vectors of 3, and 3x3 matrices.
VALUES = {"a": 0.7, "b": -1.25, "x": [0.5, -2.0, 3.0], "W": [[1.0, 2.0, 0.5], [0.0, -1.0, 4.0], [2.0, 1.0, 1.0]]}


def decoded_bytes() -> st.SearchStrategy[str]:
    """Random bytes as the CLI reads them (UTF-8, undecodable bytes as surrogates)."""
    return st.binary(max_size=120).map(lambda b: b.decode("utf-8", "surrogateescape"))


def token_soups() -> st.SearchStrategy[str]:
    word = st.sampled_from(TOKENS) | st.sampled_from(NOISE)
    return st.lists(st.tuples(word, st.sampled_from(["", " ", ""])), max_size=30).map(
        lambda parts: "".join(w + s for w, s in parts))


@st.composite
def mutations(draw) -> str:
    """A valid expression with its tokens deleted, duplicated, swapped or with a token inserted."""
    source = draw(st.sampled_from(VALID))
    toks = [t.text for t in tokenize(source)[:-1]]
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "insert"]))
        i = draw(st.integers(0, max(len(toks) - 1, 0)))
        if kind == "delete" and toks:
            del toks[i]
        elif kind == "duplicate" and toks:
            toks.insert(i, toks[i])
        elif kind == "swap" and len(toks) > 1:
            j = draw(st.integers(0, len(toks) - 1))
            toks[i], toks[j] = toks[j], toks[i]
        else:
            toks.insert(i, draw(st.sampled_from(TOKENS + NOISE)))
    return draw(st.sampled_from([" ", ""])).join(toks)


def hostile_text() -> st.SearchStrategy[str]:
    return decoded_bytes() | token_soups() | mutations()


# -- properties ---------------------------------------------------------------------------
def span_within(err: GradcliError, source: str) -> None:
    if err.span is None:
        return
    assert 0 <= err.span.start <= len(source) and err.span.start <= err.span.end <= len(source) + 1, \
        (source, err.span, str(err))


def parses_or_fails_cleanly(text: str):
    """parse() gives an Expr or a GradcliError whose span lies within the text."""
    try:
        return parse(text)
    except GradcliError as err:
        assert err.source in (None, text), (text, err.source)
        span_within(err, text)
        return None


def evaluates_or_fails_cleanly(text: str, check: bool = False):
    """evaluate() (and optionally the cross-check) give a result or a GradcliError."""
    import gradcli
    expr = parses_or_fails_cleanly(text)
    if expr is None:
        return None
    values = {n: VALUES.get(n, 1.0) for n in expr.variables()}
    try:
        result = gradcli.evaluate(expr, values, grad_output=None)
    except GradcliError as err:
        if err.source == text:
            span_within(err, text)
        return None
    if check and result.grad is not None:
        from gradcli.check.cross import cross_check
        verdict = cross_check(result, timeout=2.0)
        assert verdict.status in ("ok", "mismatch", "nondifferentiable", "timeout", "error", "skipped"), verdict.status
        # The one mismatch reverse mode cannot avoid: inf*0 in the chain rule (sqrt(abs(a)*heaviside(b))
        # at b < 0) gives nan where the derivative is 0. The check names it; any other is a bug.
        assert verdict.status != "mismatch" or UNAVOIDABLE.search(verdict.reason), (text, verdict.reason)
    return result


CARET = re.compile(r"^  (?P<source>.*)\n  (?P<pad> *)\^", re.MULTILINE)


def cli_answers_cleanly(run, text: str, fmt: str) -> None:
    """Through the CLI: exit 0, 1 or 2, no traceback, and a caret within the input."""
    variables = [v for v in VALUES if re.search(rf"\b{v}\b", text)]
    bindings = [f"{v}={_value_text(VALUES[v])}" for v in variables]
    r = run("eval", text, *bindings, "--no-check", "-f", fmt)
    assert r.code in (0, 1, 2), (text, r)
    assert "Traceback" not in r.out + r.err, (text, r)
    if r.code == 2:
        assert r.err.startswith("error:") or "Usage:" in r.err, (text, r.err)
        for m in CARET.finditer(r.err):
            assert len(m.group("pad")) <= len(m.group("source")) + 1, (text, r.err)


def _value_text(value) -> str:
    return str(value).replace(" ", "")


# -- what found the hardening bugs: huge and deep JSON, big integers, non-finite option values ----------
JSON_NUMBERS = ["1e309", "-1e309", "NaN", "Infinity", "-Infinity", "1e-400", "0", "-0.0", "2.5"]


@st.composite
def hostile_json(draw) -> str:
    """A batch line that is a JSON object with something hostile inside: numbers beyond float range,
    non-finite literals, integers of thousands of digits, nesting thousands deep, odd shapes."""
    number = draw(st.sampled_from(JSON_NUMBERS) | st.integers(300, 6000).map(lambda n: "9" * n))
    depth = draw(st.sampled_from([0, 1, 3, 2000, 60_000]))
    nested = "[" * depth + number + "]" * depth
    return draw(st.sampled_from([
        f'{{"expr": "x*2", "vars": {{"x": {number}}}}}',
        f'{{"expr": "sum(x)", "vars": {{"x": {nested}}}}}',
        f'{{"expr": "v*2", "vars": {{"v": [1, 2]}}, "grad_output": [{number}, 1]}}',
        f'{{"expr": "x", "vars": {{"x": {{"y": {nested}}}}}}}',
        f'{{"expr": "x", "wrt": {nested}}}',
        f'{{"expr": {nested}}}',
        nested,
    ]))


def non_finite_option_values() -> st.SearchStrategy[tuple]:
    """(option, value, command) with a value no option accepts: nan, inf, beyond float range, negative."""
    values = st.sampled_from(["nan", "inf", "-inf", "1e400", "-1e400", "NaN", "-1", "1e99999"])
    commands = st.sampled_from([
        ("--rtol", ["eval", "x", "--x", "1"]), ("--atol", ["eval", "x", "--x", "1"]),
        ("--check-timeout", ["eval", "x", "--x", "1"]), ("--lr", ["minimize", "x^2", "--x", "1"]),
        ("--tol", ["minimize", "x^2", "--x", "1"]), ("--rtol", ["batch", "-"]),
        ("--check-timeout", ["hessian", "x^2", "--x", "1"]),
    ])
    return st.tuples(commands, values).map(lambda t: (t[0][0], t[1], t[0][1]))


# -- random well-formed scalar expressions from the op table (for the property tests) -----------------

SMOOTH_UNARY = [op for op in TABLE if op.elementwise and op.arity == 1 and op.kink is None
                and op.key not in ("neg",) and isinstance(op.forms[0], Fn)]
BINARY_OPS = [op.forms[0].token for op in TABLE if isinstance(op.forms[0], Infix) and op.key != "matmul"]


@st.composite
def expressions(draw, depth=3):
    """Text of a random scalar expression over a, b, c, using grammar names from the table."""
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(["a", "b", "c", "2", "0.5", "pi"]))
    kind = draw(st.sampled_from(["unary", "binary", "neg"]))
    if kind == "unary":
        op = draw(st.sampled_from(SMOOTH_UNARY))
        return f"{op.forms[0].name}({draw(expressions(depth - 1))})"
    if kind == "neg":
        return f"-({draw(expressions(depth - 1))})"
    token = draw(st.sampled_from(BINARY_OPS))
    return f"({draw(expressions(depth - 1))}) {token} ({draw(expressions(depth - 1))})"


# -- the two symbolic backends ------------------------------------------------------------------
def same_verdict(result):
    """Both backends' checks of one result: the same status and expected values within the check's
    tolerance (or both non-finite alike). Returns the auto check.

    Where the output is not finite, auto must say not differentiable (or agree with SymPy). Else
    one difference is allowed, and only this one: SymPy is the odd one out, where SymEngine's
    values agree with the engine's everywhere (two computations, one in float64 and one in 100-bit
    MPFR) and SymPy's verdict differs. Seen: SymPy's formula is 0/0 at the point (pi*a^pi/a at
    a = 0, where SymEngine's pi*a^(pi - 1) is 0), or its 30 digits miss an exact 0
    (log(log(a)/log(2)) at a = 2, which SymEngine finds infinite, as the engine does)."""
    auto = cross_check(result, timeout=20)
    sympy = cross_check(result, timeout=20, using="sympy")
    if "timeout" in (auto.status, sympy.status) or odd_one_out(result, auto, sympy):
        return auto
    assert auto.method in ("symengine", "sympy") and sympy.method == "sympy"
    if not np.all(np.isfinite(np.asarray(result.value, dtype=np.float64))):
        # Outside the real domain (or at a pole) the expression has no derivative, and a formula's
        # value there depends on complex branch cuts: SymPy's may come out real and finite, and
        # call it a mismatch (asin(c^acos(a)) at a = 3). Auto must say not differentiable, or agree.
        assert auto.status in ("nondifferentiable", sympy.status), (result.expr.source, result.values, auto, sympy)
        return auto
    assert auto.status == sympy.status, (result.expr.source, result.values, auto, sympy)
    for name, want in sympy.expected.items():
        got = np.asarray(auto.expected[name], dtype=np.float64)
        want = np.asarray(want, dtype=np.float64)
        finite = np.isfinite(want)
        assert np.array_equal(np.isfinite(got), finite), (result.expr.source, name, got, want)
        assert np.all(close(got[finite], want[finite], DEFAULT.rtol, DEFAULT.atol)), (result.expr.source, got, want)
        assert np.array_equal(np.isnan(got), np.isnan(want)), (result.expr.source, name, got, want)
    return auto


def odd_one_out(result, auto, sympy) -> bool:
    """SymPy's verdict differs where SymEngine's values agree with the engine's everywhere."""
    if auto.method != "symengine" or auto.status == sympy.status or auto.status == "mismatch":
        return False
    return all(np.all(close(result.grad[n], auto.expected[n], DEFAULT.rtol, DEFAULT.atol)) for n in sympy.expected)


SPECIAL_POINTS = [0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 1e-8, 3.0]
# Values in [-3, 3], none nearer 0 than 1e-6 but 0 itself: at c = 1e-80, sin(2/c) has an argument
# of 1e80, and SymPy's 30 digits do not hold its phase (SymEngine's 400 bits do): the two exact
# values then differ because one of them is not exact, not because the backends disagree.
POINT_VALUES = st.sampled_from(SPECIAL_POINTS) | st.floats(-3.0, 3.0).filter(lambda v: v == 0 or abs(v) >= 1e-6)


@st.composite
def expressions_at_points(draw):
    """A random scalar expression over a, b, c and a point for it (special values, or any)."""
    text = draw(expressions())
    return text, {n: draw(POINT_VALUES) for n in "abc"}


def backends_agree(case) -> None:
    """The property of same_verdict on one random expression at one point."""
    import gradcli
    text, values = case
    expr = gradcli.parse(text)
    if expr.variables():
        same_verdict(gradcli.evaluate(expr, {n: v for n, v in values.items() if n in expr.variables()}))
