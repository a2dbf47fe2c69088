"""The rows' derivative rules in words and formulas (rule, derivative, pattern), driven by the table.

Each elementwise row's `derivative` is a formula in gradcli's language (x, y, z the inputs, and
the row's keyword attrs); it must parse, and at the row's test-domain points equal both the row's
VJP rule applied to g = 1 and SymPy's derivative of the row's builder.
"""
import inspect
import math

import numpy as np
import pytest
from test_ops import sample

import gradcli
from gradcli.check.precise import evaluate_at
from gradcli.check.tree import number, sympy, to_sympy
from gradcli.lang.parser import parse
from gradcli.ops import LEAF, TABLE

NAMES = ("x", "y", "z")
GRADIENT_ROWS = [op for op in TABLE if op.syntax is not LEAF and any(op.flows(i) for i in range(op.arity or 1))]
ELEMENTWISE = [op for op in GRADIENT_ROWS if op.elementwise]
SCALAR_CASES = [pytest.param(op, attrs, id=f"{op.key}-{attrs}".replace(" ", ""))
                for op in ELEMENTWISE for shapes, attrs in op.domain.cases if all(s == () for s in shapes)]


@pytest.mark.parametrize("op", GRADIENT_ROWS, ids=lambda op: op.key)
def test_every_row_with_a_gradient_names_its_rule(op):
    assert op.rule and op.rule.endswith(("rule", ")")), op.key
    assert op.derivative is not None, op.key
    inputs = 1 if op.variadic else op.arity
    assert len(op.derivative) == inputs, f"{op.key}: one derivative per input"
    for i, d in enumerate(op.derivative):
        assert (d is None) == (not op.flows(i)), f"{op.key} input {i}: None exactly where no gradient flows"


@pytest.mark.parametrize("op", ELEMENTWISE, ids=lambda op: op.key)
def test_elementwise_derivatives_parse_in_the_inputs_names(op):
    allowed = set(NAMES[:op.arity]) | set(op.keywords or ())
    for d in op.derivative:
        if d is not None:
            assert set(parse(d).variables()) <= allowed, f"{op.key}: {d!r} uses {parse(d).variables()}"


def test_patterns_are_given_for_the_gates_a_learner_meets():
    from gradcli.ops import OPS
    for key in "add sub mul neg maximum minimum relu sum mean index where matmul amax".split():
        assert OPS[key].pattern, key
    assert OPS["add"].pattern == "add passes the gradient to both inputs unchanged"


def defaults(op) -> dict:
    """The row's keyword attrs a call may leave out, at the forward's defaults (leaky_relu's slope)."""
    params = inspect.signature(op.forward).parameters
    return {k: params[k].default for k in op.keywords or () if k in params and params[k].default is not None}


def _formula_at(text: str, values: dict) -> float:
    expr = parse(text)
    used = {n: values[n] for n in expr.variables()}
    return float(gradcli.evaluate(expr, used, grad=False).value)


@pytest.mark.parametrize("op, attrs", SCALAR_CASES)
def test_elementwise_derivative_is_the_vjp_and_sympys(op, attrs):
    sp = sympy()
    attrs = {**defaults(op), **attrs}
    rng = np.random.default_rng(7)
    symbols = [sp.Symbol(n, real=True) for n in NAMES[:op.arity]]
    built = op.sympy(sp, *symbols, **{k: v for k, v in attrs.items()})
    env = {n: np.asarray(s, dtype=object) for n, s in zip(NAMES, symbols)}
    env.update({k: np.asarray(number(v), dtype=object) for k, v in attrs.items()})
    for _ in range(4):
        xs = [sample(rng, op, ()) for _ in range(op.arity)]
        values = {**dict(zip(NAMES, xs)), **attrs}
        point = {s: sp.Float(float(v), 30) for s, v in zip(symbols, xs)}
        ans = op.forward(*xs, **attrs)
        for i, text in enumerate(op.derivative):
            if text is None:
                continue
            claimed = _formula_at(text, values)
            vjp = float(np.asarray(op.vjp(i, np.float64(1.0), ans, tuple(xs), attrs)))
            assert math.isclose(claimed, vjp, rel_tol=1e-9, abs_tol=1e-12), \
                f"{op.key} input {i} at {xs}: {text} = {claimed}, the VJP gives {vjp}"
            formula = to_sympy(parse(text), env)[()]
            want = evaluate_at(built.diff(symbols[i]), point)
            got = evaluate_at(formula, point)
            assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12), \
                f"{op.key} input {i} at {xs}: {text} = {got}, SymPy's derivative {want}"
