"""diff --steps: the derivation rule by rule (gradcli/steps.py), its three formats, the CLI.

The final result must be SymPy's derivative (the one `gradcli diff` prints), for the README's
expressions, polynomials, products, quotients, chains of chains, and every elementwise row of
the table; each rule must appear where a person expects it.
"""
import math

import numpy as np
import pytest
from test_ops import sample

from gradcli.check.precise import evaluate_at
from gradcli.lang.parser import parse
from gradcli.ops import LEAF, TABLE, Fn
from gradcli.steps import derive, steps, symbols_of
from gradcli.symbolic import derivatives


def agree_at_points(text: str, points: list[dict]) -> int:
    """The steps' result against SymPy's derivative at the points (name -> value); how many compared."""
    expr = parse(text)
    names = expr.variables()
    symbols = symbols_of(names)
    expected = derivatives(expr, simplify=False)
    compared = 0
    for name in names:
        got = derive(expr, name, symbols).result
        want = expected.grad[name][()]
        for values in points:
            point = {symbols[n]: values[n] for n in names}
            a, b = evaluate_at(got, point), evaluate_at(want, point)
            if math.isfinite(b):
                assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), f"d/d{name} {text} at {values}: {a} != {b}"
                compared += 1
    return compared


EXPRESSIONS = [
    "x^2*sin(x)", "a*b + sin(c)", "sigmoid(x)", "x^3 - 3*x", "3*x^4 - 2*x^3 + x - 7", "(x + 1)*(x - 2)*(x + 3)",
    "x/(x^2 + 1)", "(x^2 - 1)/(x + 3)", "1/x", "2/(x^3)", "sin(cos(tan(x)))", "exp(sin(x^2))", "log(x^2 + 1)",
    "sqrt(1 + exp(-x))", "(x^2 + 1)^3", "2^x", "x^x", "x^y", "e^(3*x)", "-x^2 + 4", "-(x*y)", "x*y/z",
    "tanh(a*x + b)", "sin(x)*sin(x)", "exp(-x^2/2)", "log(sigmoid(x))", "atan2(y, x)", "max(x, 2*y)",
    "where(x > 0, x^2, -x)", "leaky_relu(x - 1, slope=0.2)", "clip(x, -1, 1) * x", "relu(x)*x",
]


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_the_steps_end_in_sympys_derivative(text):
    rng = np.random.default_rng(3)
    points = [dict(zip("abcxyz", rng.uniform(0.2, 1.9, 6) * rng.choice([-1, 1], 6))) for _ in range(5)]
    points += [dict(zip("abcxyz", rng.uniform(0.2, 1.9, 6))) for _ in range(3)]
    assert agree_at_points(text, points)


def _inputs(op) -> list:
    """2*x for the first input a gradient flows to, y and z for the others."""
    first = next(i for i in range(op.arity) if op.flows(i))
    others = iter("yz")
    return ["2*x" if i == first else next(others) for i in range(op.arity)]


def _call(op, attrs) -> str:
    """name(2*x, y, z) with the case's statics and keywords."""
    name = next(f.name for f in op.forms if isinstance(f, Fn))
    args = _inputs(op) + [repr(attrs[s]) for s in op.statics]
    args += [f"{k}={v!r}" for k, v in attrs.items() if k not in op.statics]
    return f"{name}({', '.join(args)})"


ROWS = [pytest.param(op, attrs, id=f"{op.key}-{attrs}".replace(" ", ""))
        for op in TABLE if op.syntax is not LEAF and op.elementwise and op.rule
        and any(isinstance(f, Fn) for f in op.forms)
        for shapes, attrs in op.domain.cases if all(s == () for s in shapes)]


@pytest.mark.parametrize("op, attrs", ROWS)
def test_every_elementwise_row_is_worked_through_the_chain_rule(op, attrs):
    rng = np.random.default_rng(11)
    points = []
    for _ in range(5):
        a = [float(sample(rng, op, ())) for _ in range(op.arity)]
        points.append({("x" if t == "2*x" else t): (v / 2 if t == "2*x" else v) for t, v in zip(_inputs(op), a)})
    text = _call(op, attrs)
    assert agree_at_points(text, points), text
    step = derive(parse(text), "x", symbols_of(parse(text).variables()))
    assert step.rule == "chain rule" and step.outer == op.rule and step.let[1].text == "2*x", text


def rules(step) -> list:
    out = [step.rule] + ([f"outer {step.outer}", f"let {step.let[0]} = {step.let[1].text}"] if step.let else [])
    for child in step.steps:
        out += rules(child)
    return out


@pytest.mark.parametrize("text, wrt, expected", [
    ("x^2*sin(x)", "x", ["product rule", "power rule", "sine rule"]),
    ("sin(x^2)", "x", ["chain rule", "outer sine rule", "let u = x^2", "power rule"]),
    ("exp(sin(x^2))", "x", ["chain rule", "outer exponential rule", "let u = sin(x^2)", "outer sine rule",
                            "let v = x^2"]),
    ("x/(x + 1)", "x", ["quotient rule", "sum rule", "variable rule", "constant rule"]),
    ("3*x^2", "x", ["constant multiple rule", "power rule"]),
    ("x^2/4", "x", ["constant multiple rule", "power rule"]),
    ("x^3 - 2*x + 5", "x", ["sum and difference rules", "power rule", "constant multiple rule", "constant rule"]),
    ("x - y", "x", ["difference rule", "variable rule", "constant rule"]),
    ("-x", "x", ["constant multiple rule", "variable rule"]),
    ("(x^2 + 1)^3", "x", ["chain rule", "outer power rule", "let u = x^2 + 1", "sum rule"]),
    ("2^x", "x", ["exponential rule"]),
    ("e^(2*x)", "x", ["chain rule", "outer exponential rule", "let u = 2*x"]),
    ("x^x", "x", ["general power rule"]),
    ("x^3", "x", ["power rule"]),
    ("a*b", "a", ["constant multiple rule"]),
    ("3*y + x", "x", ["sum rule", "constant rule", "variable rule"]),
    ("7", None, []),
    ("sin(x)*u", "x", ["constant multiple rule", "sine rule"]),
    ("sin(u^2)", "u", ["chain rule", "let v = u^2"]),       # a let name that is not a variable
    ("sin(u*v*w*t*s*q)", "u", ["let u1 = u*v*w*t*s*q"]),
])
def test_each_rule_appears_where_expected(text, wrt, expected):
    found = [r for d in steps(parse(text), [wrt] if wrt else None) for r in rules(d.root)]
    for rule in expected:
        assert rule in found, (text, found)


def test_the_simplified_result_is_what_gradcli_diff_prints():
    import sympy
    for text in ("x^2*sin(x)", "x/(x^2 + 1)", "exp(sin(x^2))", "(x + 1)*(x - 2)"):
        d = steps(parse(text))[0]
        plain = derivatives(parse(text)).grad["x"][()]
        assert sympy.simplify(d.simplified - plain) == 0, text


# -- the formats and the CLI ------------------------------------------------------------------------
def test_text_reads_as_a_chain_of_equalities(cli):
    r = cli("diff", "x^2*sin(x)", "--steps")
    assert r.code == 0, r
    assert r.out.splitlines() == [
        "d/dx (x^2*sin(x))",
        "= sin(x) * d(x^2)/dx + x^2 * d(sin(x))/dx   product rule",
        "  1. d/dx (x^2) = 2*x   power rule",
        "  2. d/dx sin(x) = cos(x)   sine rule",
        "= x^2*cos(x) + 2*x*sin(x)",
    ]
    r = cli("diff", "sin(x^2)", "--steps")
    assert "= cos(u) * du/dx   chain rule (sine rule), let u = x^2" in r.out.splitlines()


def test_the_quotient_rule_is_written_over_the_square_of_the_denominator(cli):
    lines = cli("diff", "(x+1)/(x-1)", "--steps").out.splitlines()
    assert lines[1] == "= ((x - 1) * d(x+1)/dx - (x + 1) * d(x-1)/dx)/(x - 1)^2   quotient rule"
    assert cli("diff", "1/x", "--steps").out.splitlines()[1] == "= -1/x^2   quotient rule"


def test_nested_steps_are_numbered_and_indented(cli):
    lines = cli("diff", "exp(sin(x^2)) + 1", "--steps").out.splitlines()
    assert lines[2].startswith("  1. d/dx exp(sin(x^2)) = exp(u) * du/dx")
    assert lines[3].startswith("     1.1. d/dx sin(x^2) = cos(v) * dv/dx   chain rule (sine rule), let v = x^2")
    assert lines[4].startswith("          1.1.1. d/dx (x^2) = 2*x")


def test_every_variable_gets_its_steps_unless_wrt_says(cli):
    out = cli("diff", "a*b + sin(c)", "--steps").out
    assert out.count("d/da ") and out.count("d/db ") and out.count("d/dc ")
    out = cli("diff", "a*b + sin(c)", "--steps", "--wrt", "c").out
    assert "d/da" not in out and out.splitlines()[-1] == "= cos(c)"


def test_json_is_a_tree_of_steps(cli):
    rec = cli("diff", "sin(x^2)", "--steps", "-f", "json").json
    assert rec["expr"] == "sin(x^2)"
    (d,) = rec["derivations"]
    assert d["wrt"] == "x" and d["result"] == "2*x*cos(x^2)"
    (root,) = d["steps"]
    assert root == {"expr": "sin(x^2)", "rule": "chain rule", "formula": "cos(u) * du/dx", "result": "2*x*cos(x^2)",
                    "let": {"u": "x^2"}, "function_rule": "sine rule",
                    "steps": [{"expr": "x^2", "rule": "power rule", "formula": "2*x", "result": "2*x", "steps": []}]}


def test_latex_is_one_align_block(cli):
    out = cli("diff", "x^2*sin(x)", "--steps", "-f", "latex").out
    assert out.startswith("\\begin{align*}\n") and out.rstrip().endswith("\\end{align*}")
    assert "\\text{product rule}" in out and "\\text{1.}" in out and "&=" in out
    assert out.count("\\begin") == 1


@pytest.mark.parametrize("args, message", [
    (["sum(x)", "--steps"], "--steps is for scalar expressions"),
    (["x @ y", "--steps"], "--steps is for scalar expressions"),
    (["x^2", "--steps", "--shape", "x=3"], "leave out --shape"),
    (["x^2", "--steps", "--wrt", "y"], "y"),
    (["x^", "--steps"], "error"),
    (["sin(" * 20 + "x" + ")" * 20, "--steps"], "levels deep"),
    (["+".join(f"x^{k}" for k in range(80)), "--steps"], "nodes"),
])
def test_bad_input_is_exit_2_with_a_message(cli, args, message):
    r = cli("diff", *args)
    assert r.code == 2 and message in r.err, r


def test_a_step_that_combines_its_terms_ends_in_the_derivative(cli):
    out = cli("diff", "x*x", "--steps").out.splitlines()
    assert out == ["d/dx (x*x)", "= x + x   product rule", "= 2*x"]


def test_latex_writes_greek_variables_and_the_let_as_mathematics(cli):
    out = cli("diff", "sin(alpha^2)", "--steps", "-f", "latex").out
    assert "\\frac{d}{d\\alpha}" in out and "\\text{chain rule (sine rule), let } u = \\alpha^{2}" in out
