"""The cross-check (gradcli.check): every op row against SymPy, random expressions against SymPy
and finite differences, a planted wrong rule caught both ways, tolerances, non-differentiable
points and poles, timeouts."""
import numpy as np
import pytest
from fuzz.strategies import expressions
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_ops import getattr_op, sample

import gradcli
from gradcli.check.cross import SYMPY_CAP, cross_check
from gradcli.check.finite import finite_difference_check
from gradcli.check.precise import evaluate_at, point_of
from gradcli.check.tree import element_symbols, scalar_output, to_sympy
from gradcli.engine.backward import gradients
from gradcli.engine.tensor import Tensor
from gradcli.errors import Span
from gradcli.lang.expr import Builder
from gradcli.ops import OPS, TABLE

SYMBOLIC = [op for op in TABLE if op.sympy is not None and op.domain is not None]


CASES = [pytest.param(op, shapes, attrs, id=f"{op.key}-{shapes}-{attrs}".replace(" ", ""))
         for op in SYMBOLIC for shapes, attrs in op.domain.cases]


def row_expr(op, shapes, attrs):
    """An Expr applying one row to variables x0, x1, ...; and their names."""
    build = Builder("")
    names = [f"x{i}" for i in range(len(shapes))]
    args = tuple(build.make(OPS["var"], (), Span(0, 0), name=n) for n in names)
    return build.make(op, args, Span(0, 0), **attrs), names


@pytest.mark.parametrize("op, shapes, attrs", CASES)
@pytest.mark.parametrize("seed", [3, 4])
def test_row_matches_sympy(op, shapes, attrs, seed):
    """Forward value and VJP of every row equal SymPy's value and derivative."""
    rng = np.random.default_rng(seed)
    xs = [sample(rng, op, s) for s in shapes]
    expr, names = row_expr(op, shapes, attrs)
    symbols = {n: element_symbols(n, np.shape(x)) for n, x in zip(names, xs)}
    out_sym = to_sympy(expr, symbols)
    point = point_of(dict(zip(names, xs)), symbols)
    leaves = [Tensor(x, requires_grad=True) for x in xs]
    out = getattr_op(op)(*leaves, **attrs)
    values = np.vectorize(lambda e: evaluate_at(e, point), otypes=[float])(out_sym)
    np.testing.assert_allclose(out.data, values, rtol=1e-13, atol=1e-15, err_msg=f"{op.key} forward vs SymPy")
    g = rng.normal(size=out.shape)
    f = scalar_output(out_sym, g)
    grads = gradients(out, Tensor(g))
    for name, x, leaf in zip(names, xs, leaves):
        want = np.vectorize(lambda s: evaluate_at(f.diff(s), point), otypes=[float])(symbols[name])
        engine = grads[leaf].data if leaf in grads else np.zeros(np.shape(x))    # none flows: 0
        np.testing.assert_allclose(engine, want, rtol=1e-11, atol=1e-13,
                                   err_msg=f"{op.key} d/d{name}: engine {engine} vs SymPy {want}")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=expressions(), a=st.floats(0.2, 2.0), b=st.floats(0.2, 2.0),
       c=st.floats(0.2, 2.0) | st.floats(-2.0, -0.2))
def test_random_expressions_engine_equals_sympy_and_finite_differences(text, a, b, c):
    expr = gradcli.parse(text)
    assume(expr.variables())
    values = {n: v for n, v in {"a": a, "b": b, "c": c}.items() if n in expr.variables()}
    result = gradcli.evaluate(expr, values)
    assume(np.isfinite(result.value) and abs(result.value) < 1e8)
    assume(all(np.isfinite(g) and abs(g) < 1e8 for g in result.grad.values()))
    check = cross_check(result, timeout=20)
    assume(check.status != "timeout")
    # At a kink (0^a, a tie) SymPy and gradcli may legitimately differ: the check must say so.
    assert check.status == ("nondifferentiable" if check.conventions else "ok"), (text, values, result.grad, check)
    fd = finite_difference_check(result, rtol=1e-9, atol=1e-9)
    assert fd.status == ("nondifferentiable" if fd.conventions else "ok"), (text, values, result.grad, fd)


@pytest.mark.parametrize("using", ["auto", "symengine", "sympy"])
def test_planted_wrong_vjp_is_a_mismatch(broken_sin, cli, using):
    r = cli("eval", "x^2*sin(x)", "--x", "1.3", "-f", "json", "--check-with", using)
    assert r.code == 1
    check = r.json["check"]
    assert check["status"] == "mismatch" and check["method"] == ("sympy" if using == "sympy" else "symengine")
    assert check["expected"]["x"] == pytest.approx(2.9573243024602545, rel=1e-15)
    assert check["max_abs_err"] > 1e-4
    table = cli("eval", "x^2*sin(x)", "--x", "1.3", "--check-with", using)
    assert table.code == 1 and "✗" in table.out and "MISMATCH" in table.out and "difference" in table.out


def test_planted_wrong_vjp_is_caught_by_finite_differences_too(broken_sin):
    x = np.linspace(0.1, 1.0, SYMPY_CAP + 1)
    result = gradcli.evaluate("sum(sin(x))", {"x": x})
    check = cross_check(result)
    assert check.method == "finite-difference" and check.status == "mismatch"


@pytest.mark.parametrize("using, who, formula", [("auto", "SymEngine", "2*x*sin(x) + x^2*cos(x)"),
                                                  ("symengine", "SymEngine", "2*x*sin(x) + x^2*cos(x)"),
                                                  ("sympy", "SymPy", "x^2*cos(x) + 2*x*sin(x)")])
def test_check_ok_in_table_and_json(cli, using, who, formula):
    r = cli("eval", "x^2*sin(x)", "--x", "1.3", "--check-with", using)
    assert r.code == 0
    assert f"{who} ∂/∂" in r.out and f"{formula} =" in r.out and "✓" in r.out
    assert f"cross-check: ok ✓ ({who.lower()}," in r.out
    rec = cli("eval", "x^2*sin(x)", "--x", "1.3", "-f", "json", "--check-with", using).json
    assert rec["check"]["status"] == "ok" and rec["check"]["method"] == who.lower()
    assert rec["check"]["symbolic"] == {"x": formula}
    assert rec["check"]["max_abs_err"] == 0.0


def test_arrays_use_per_element_symbols(cli):
    rec = cli("eval", "sum(W @ v)", "--W", "[[1,2],[3,4]]", "--v", "1,1", "-f", "json").json
    assert rec["check"]["status"] == "ok"
    assert rec["check"]["symbolic"] == {"W": [["v[0]", "v[1]"], ["v[0]", "v[1]"]],
                                        "v": ["W[0,0] + W[1,0]", "W[0,1] + W[1,1]"]}


def test_large_arrays_use_finite_differences():
    result = gradcli.evaluate("sum(tanh(x) * w)", {"x": np.linspace(-1, 1, 200), "w": np.linspace(0, 1, 200)})
    check = cross_check(result)
    assert check.method == "finite-difference" and check.status == "ok"


def test_tolerances_are_options(cli):
    r = cli("eval", "x^2*sin(x)", "--x", "1.3", "--rtol", "0", "--atol", "0", "-f", "json")
    assert r.json["check"]["rtol"] == 0.0 and r.json["check"]["status"] in ("ok", "mismatch")


@pytest.mark.parametrize("text, values, convention", [
    ("abs(x)*3", {"x": 0}, None),                        # sign(0) = 0 agrees with abs'(0) = 0
    ("relu(x)", {"x": 0}, "relu'(0) = 0"),
    ("sqrt(x)", {"x": 0}, "sqrt'(0) = inf"),
    ("norm(x)", {"x": [0, 0]}, "norm has gradient 0 at the zero vector"),
])
def test_nondifferentiable_points_are_reported(text, values, convention):
    check = cross_check(gradcli.evaluate(text, values))
    if convention is None:
        assert check.status == "ok"
    else:
        assert check.status == "nondifferentiable"
        assert any(convention in c for c in check.conventions)


def test_nondifferentiable_exit_code_and_table(cli):
    r = cli("eval", "relu(x)", "--x", "0")
    assert r.code == 0 and "relu'(0) = 0" in r.out


# Hypothesis (loaded by other tests) registers a gc callback; an alarm that lands inside it is
# "ignored" by Python, which is why the deadline fires again every 50 ms.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_timeout_reports_and_exits_0(cli):
    x = ",".join(str(0.01 * i) for i in range(60))
    r = cli("eval", "sum(softmax(x)*w)", "--x", x, "--w", x, "--check-timeout", "0.3", "-f", "json")
    assert r.code == 0
    assert r.json["check"]["status"] == "timeout"
    assert "warning: cross-check timeout" in r.err


def test_huge_power_does_not_hang(cli):
    r = cli("eval", "(a+b)^100000 + 9^9^9^9*0", "--a", "0.5", "--b", "0.4999", "-f", "json", "--check-timeout", "5")
    assert r.code == 0
    assert r.json["check"]["status"] in ("ok", "timeout", "error")


@pytest.mark.parametrize("text, values", [("x/y", {"x": 1, "y": 0}), ("log(x)", {"x": 0}), ("1/x^2", {"x": 0})])
def test_a_pole_is_reported_as_not_differentiable(cli, text, values):
    check = cross_check(gradcli.evaluate(text, values))
    assert check.status == "nondifferentiable" and any("infinite here (a pole" in c for c in check.conventions)
    args = [a for name, v in values.items() for a in (f"--{name}", str(v))]
    r = cli("eval", text, *args, "-f", "json")
    assert r.code == 0 and r.json["check"]["status"] == "nondifferentiable"


# -- the check catches a broken rule ---------------------------------------------------
@pytest.fixture
def broken_sin():
    row = OPS["sin"]
    original = row.grads
    from gradcli.ops import F
    object.__setattr__(row, "grads", (lambda g, ans, x: g * F.cos(x) * 1.001,))
    yield row
    object.__setattr__(row, "grads", original)


def test_nan_from_inf_times_zero_is_a_mismatch_that_says_so():
    """Reverse mode multiplies sqrt's infinite derivative at 0 by heaviside(b) = 0: nan, where the
    derivative is 0 (the expression is 0 for all a near 0.7 when b < 0). The check does not excuse it."""
    check = cross_check(gradcli.evaluate("sqrt(abs(a) * heaviside(b))", {"a": 0.7, "b": -1.25}))
    assert check.status == "mismatch"
    assert check.reason.startswith("the engine's gradient with respect to a is not finite where sympy's is")
    assert float(check.expected["a"]) == 0.0 and check.agree == {"a": False, "b": True}


def test_finite_differences_name_a_jump_where_the_one_sided_slopes_differ():
    """a < asin(a) at a = 1: asin stops being real just above, the comparison drops to 0 (nan is
    not greater), and the central difference sees the jump; the slope from the left is the
    engine's 0."""
    check = finite_difference_check(gradcli.evaluate("b * (a < asin(a))", {"a": 1.0, "b": 2.0}), rtol=1e-9, atol=1e-9)
    assert check.status == "nondifferentiable" and "one-sided derivatives differ" in check.conventions[0]


def test_a_wrong_gradient_is_still_a_finite_difference_mismatch(broken_sin):
    check = finite_difference_check(gradcli.evaluate("x^2*sin(x)", {"x": 1.3}), rtol=1e-9, atol=1e-9)
    assert check.status == "mismatch"
