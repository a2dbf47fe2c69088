"""The two symbolic backends (gradcli.check.backend): SymEngine by default, SymPy where SymEngine
cannot. Every row SymEngine does against the engine, the rows it cannot do shown to need SymPy,
the same verdicts from both on a large random corpus, names that are SymPy or SymEngine names,
the deadline, the import SymPy is spared, and the fallback when symengine is missing."""
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from fuzz.strategies import VALID, VALUES, expressions
from fuzz.strategies import POINT_VALUES, same_verdict
from hypothesis import HealthCheck, assume, given, settings
from test_check import CASES, row_expr
from test_ops import getattr_op, sample

import gradcli
from gradcli.check import symengine_tree as st_
from gradcli.check.backend import backends
from gradcli.check.cross import cross_check
from gradcli.check.tree import diff, element_symbols, scalar_output, to_tree
from gradcli.engine.backward import gradients
from gradcli.engine.tensor import Tensor
from gradcli.ops import TABLE

se = pytest.importorskip("symengine")
MODULE = st_.Module(se)
SYMENGINE_CASES = [c for c in CASES if c.values[0].symengine]
SYMPY_ONLY = [op for op in TABLE if op.sympy is not None and op.domain is not None and not op.symengine]


@pytest.mark.parametrize("op, shapes, attrs", SYMENGINE_CASES)
@pytest.mark.parametrize("seed", [3, 4])
def test_row_matches_symengine(op, shapes, attrs, seed):
    """Forward value and VJP of every row SymEngine does equal SymEngine's value and derivative,
    built by the row's one builder given symengine's module, evaluated in 100-bit MPFR."""
    rng = np.random.default_rng(seed)
    xs = [sample(rng, op, s) for s in shapes]
    expr, names = row_expr(op, shapes, attrs)
    symbols = {n: element_symbols(n, np.shape(x), MODULE) for n, x in zip(names, xs)}
    out_sym = to_tree(expr, symbols, MODULE)
    point = st_.point_of(se, dict(zip(names, xs)), symbols)
    leaves = [Tensor(x, requires_grad=True) for x in xs]
    out = getattr_op(op)(*leaves, **attrs)
    values = np.vectorize(lambda e: st_.evaluate_at(e, point), otypes=[float])(out_sym)
    np.testing.assert_allclose(out.data, values, rtol=1e-13, atol=1e-15, err_msg=f"{op.key} forward vs SymEngine")
    g = rng.normal(size=out.shape)
    f = scalar_output(out_sym, g, MODULE)
    grads = gradients(out, Tensor(g))
    for name, x, leaf in zip(names, xs, leaves):
        derivs = np.vectorize(lambda s: diff(f, s, MODULE), otypes=[object])(symbols[name])
        assert all(st_.exact(d) for d in np.ravel(derivs)), (op.key, derivs)
        want = np.vectorize(lambda d: st_.evaluate_at(d, point), otypes=[float])(derivs)
        engine = grads[leaf].data if leaf in grads else np.zeros(np.shape(x))    # none flows: 0
        np.testing.assert_allclose(engine, want, rtol=1e-11, atol=1e-13,
                                   err_msg=f"{op.key} d/d{name}: engine {engine} vs SymEngine {want}")


@pytest.mark.parametrize("op", SYMPY_ONLY, ids=lambda op: op.key)
def test_rows_left_to_sympy_are_the_ones_symengine_cannot_do(op):
    """A row marked symengine=False is one SymEngine differentiates into an unevaluated
    Derivative, has no function for, or (atan2) differentiates wrongly at x = 0."""
    shapes, attrs = op.domain.cases[0]
    expr, names = row_expr(op, shapes, attrs)
    symbols = {n: element_symbols(n, s, MODULE) for n, s in zip(names, shapes)}
    try:
        out = to_tree(expr, symbols, MODULE)
    except st_.Unsupported:
        return                                  # heaviside: SymEngine has no such function
    f = scalar_output(out, None if out.size == 1 else np.ones(out.shape), MODULE)
    derivs = [diff(f, s, MODULE) for n in names for s in np.ravel(symbols[n])]
    if op.key == "atan2":
        # Through an argument that depends on x, SymEngine writes x^2*(... / x^2 ...): 0 at x = 0
        y, x = se.symbols("y x")
        inner = se.atan2(se.atan2(y, x), x).diff(x)
        assert st_.evaluate_at(inner, {y: st_.mpfr(se, -0.1), x: st_.mpfr(se, 0.0)}) == 0.0
        check = cross_check(gradcli.evaluate("atan2(atan2(y, x), x)", {"y": -0.1, "x": 0.0}))
        assert check.method == "sympy" and check.expected["x"] == pytest.approx(2 / math.pi)
        return
    assert not all(st_.exact(d) for d in derivs), (op.key, derivs)




@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=expressions(), a=POINT_VALUES, b=POINT_VALUES, c=POINT_VALUES)
def test_both_backends_give_the_same_verdicts_on_random_expressions(text, a, b, c):
    expr = gradcli.parse(text)
    assume(expr.variables())
    values = {n: v for n, v in {"a": a, "b": b, "c": c}.items() if n in expr.variables()}
    same_verdict(gradcli.evaluate(expr, values))


KINKS = ["abs(a)", "relu(a) * b", "max(a, b)", "min(a, b) + a", "sign(a) * b", "heaviside(a) + b", "atan2(a, b)",
         "sqrt(a^2)", "sqrt(a)^2", "a*sqrt(a)", "a^0", "a^b", "log(a)", "1/a", "a^0.5", "sqrt(abs(a)*heaviside(b))",
         "tan(a)", "acos(a)", "asin(a) * b", "a^-1.5", "0^a", "exp(a)^b", "(a^2)^b", "log2(a) + log10(b)"]


@pytest.mark.parametrize("text", KINKS)
@pytest.mark.parametrize("a, b", [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (-1.0, 0.5), (1.0, 1.0), (0.5, -2.0)])
def test_both_backends_agree_at_kinks_poles_and_edges_of_the_domain(text, a, b):
    values = {n: v for n, v in {"a": a, "b": b}.items() if n in gradcli.parse(text).variables()}
    same_verdict(gradcli.evaluate(text, values))


@pytest.mark.parametrize("text", [t for t in VALID if t != "[[1, 2], [3, 4]] @ x"])    # that one: shapes do not fit
def test_both_backends_agree_on_arrays(text):
    expr = gradcli.parse(text)
    values = {n: VALUES[n] for n in expr.variables()}
    shape = np.shape(gradcli.evaluate(expr, values, grad=False).value)
    seed = None if shape == () else np.random.default_rng(1).normal(size=shape)
    same_verdict(gradcli.evaluate(expr, values, grad_output=seed))


@pytest.mark.parametrize("op, shapes, attrs", CASES)
def test_both_backends_agree_on_every_row(op, shapes, attrs):
    rng = np.random.default_rng(5)
    xs = [sample(rng, op, s) for s in shapes]
    expr, names = row_expr(op, shapes, attrs)
    shape = np.shape(op.forward(*xs, **attrs))
    result = gradcli.evaluate(expr, dict(zip(names, xs)), grad_output=None if shape == () else np.ones(shape))
    auto = same_verdict(result)
    assert auto.status == "ok" and auto.method == ("symengine" if op.symengine else "sympy")


def test_the_default_check_is_symengine_and_says_so(cli):
    rec = cli("eval", "a*b+sin(c)", "--a", "2", "--b", "3", "--c", "4", "-f", "json").json
    assert rec["check"]["method"] == "symengine" and rec["check"]["status"] == "ok"
    assert rec["check"]["symbolic"] == {"a": "b", "b": "a", "c": "cos(c)"}
    table = cli("eval", "a*b+sin(c)", "--a", "2", "--b", "3", "--c", "4").out
    assert "SymEngine ∂/∂" in table and "SymPy" not in table and "(symengine, max |error| 0" in table
    table = cli("eval", "abs(a)*b", "--a", "2", "--b", "3").out
    assert "SymPy ∂/∂" in table and "(sympy, max |error| 0" in table


@pytest.mark.parametrize("command", [["eval", "x^2*y", "--x", "2", "--y", "3"],
                                     ["hessian", "x^2*y", "--x", "2", "--y", "3"],
                                     ["jacobian", "[x*y, x+y]", "--x", "2", "--y", "3"]])
@pytest.mark.parametrize("using", ["auto", "symengine", "sympy"])
def test_check_with_chooses_the_backend_in_every_command(cli, command, using):
    rec = cli(*command, "-f", "json", "--check-with", using).json
    assert rec["check"]["status"] == "ok" and rec["check"]["method"] == ("sympy" if using == "sympy" else "symengine")


@pytest.mark.parametrize("using", ["auto", "symengine", "sympy"])
def test_check_with_in_batch_and_points(cli, using):
    r = cli("batch", "-", "-f", "json", "--check-with", using, stdin="x^2 where x=3\nabs(x)*y where x=1, y=2\n")
    first, second = (json.loads(line) for line in r.out.splitlines())
    assert first["check"]["method"] == ("sympy" if using == "sympy" else "symengine")
    if using == "symengine":
        assert second["check"]["status"] == "skipped" and "abs" in second["check"]["reason"]
    else:
        assert second["check"]["status"] == "ok" and second["check"]["method"] == "sympy"
    r = cli("eval", "a*sin(b)", "--points", "-", "--check-with", using, stdin="a,b\n1,2\n3,4\n")
    assert r.code == 0 and "ok" in r.err


def test_symengine_alone_on_what_it_cannot_do_is_skipped_and_says_why(cli):
    r = cli("eval", "max(a, b)", "--a", "1", "--b", "2", "--check-with", "symengine", "-f", "json")
    assert r.code == 0
    check = r.json["check"]
    assert check["status"] == "skipped" and "max" in check["reason"] and "--check-with auto" in check["reason"]
    check = cli("eval", "x*2^20000", "--x", "1", "--check-with", "symengine", "-f", "json").json["check"]
    assert check["status"] == "skipped" and "SymEngine cannot" in check["reason"]


@pytest.mark.parametrize("using", ["auto", "sympy"])
def test_a_power_too_large_to_compute_still_gets_a_verdict(cli, using):
    check = cli("eval", "x*9^9^9", "--x", "1", "--check-with", using, "-f", "json").json["check"]
    assert check["method"] == "sympy" and check["status"] in ("nondifferentiable", "ok", "timeout")


def test_names_of_sympy_and_symengine_constants_stay_plain_variables():
    names = ["E", "I", "N", "S", "O", "Q", "gamma", "beta", "zeta", "lambda"]
    text = " + ".join(f"{n}*x^{i + 1}" for i, n in enumerate(names)) + " + e*x"
    values = {"x": 1.5, **{n: float(i + 2) for i, n in enumerate(names)}}
    result = gradcli.evaluate(text, values)
    for using in ("symengine", "sympy"):
        check = cross_check(result, using=using)
        assert check.status == "ok" and check.method == using, (using, check)
        for i, n in enumerate(names):
            assert check.symbolic[n] == ("x" if i == 0 else f"x^{i + 1}")
            assert check.expected[n] == pytest.approx(1.5 ** (i + 1), rel=1e-15)
        assert "e" in check.symbolic["x"] and check.expected["x"] == pytest.approx(result.grad["x"], rel=1e-14)


def test_symengine_text_pastes_back_and_evaluates_alike():
    """The formula SymEngine's derivative is written as is gradcli syntax: parsed back and evaluated
    at the point, it gives the expected value."""
    cases = [("x^2*sin(x)", {"x": 1.3}), ("tanh(x)/(1+x^2) - x^-1.5", {"x": 0.7}),
             ("sigmoid(a)*log(b) - sqrt(a*b)", {"a": 0.3, "b": 2.0}), ("erf(x)^3 + exp(-x/2)", {"x": 0.4}),
             ("sum(softmax(x)*w)", {"x": [0.1, 0.2, 0.3], "w": [1.0, 2.0, 3.0]}),
             ("(a-b)^-2 + pi*a/3", {"a": 2.5, "b": 1.0}), ("log2(a)*log10(b)", {"a": 3.0, "b": 5.0})]
    for text, values in cases:
        result = gradcli.evaluate(text, values)
        check = cross_check(result, using="symengine")
        assert check.status == "ok", (text, check)
        for name, formula in check.symbolic.items():
            flat = [formula] if isinstance(formula, str) else list(np.ravel(np.array(formula, dtype=object)))
            want = np.ravel(np.asarray(check.expected[name], dtype=np.float64))
            for f, w in zip(flat, want):
                bound = {n: v for n, v in values.items() if n in gradcli.parse(f).variables()}
                got = gradcli.evaluate(f, bound, grad=False).value
                assert got == pytest.approx(w, rel=1e-12), (text, f, got, w)


def test_the_deadline_holds_for_symengine_work():
    x = np.linspace(0.5, 1.5, 200)
    result = gradcli.evaluate("prod(x) * sum(exp(x))", {"x": x})
    check = cross_check(result, timeout=1e-3, using="symengine")
    assert check.status == "timeout" and check.method == "symengine"
    assert check.reason.startswith("SymEngine took longer than 0.001 s")


def test_the_default_check_does_not_import_sympy():
    code = ("import sys\nfrom gradcli.cli.main import main\n"
            "try:\n    main(['eval', 'a*b+sin(c)', '--a', '2', '--b', '3', '--c', '4', '-f', 'json'])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sympy', 'mpmath')), file=sys.stderr)\n"
            "print('symengine' in sys.modules, file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert '"method": "symengine"' in proc.stdout
    assert proc.stderr.strip().splitlines()[-2:] == ["[]", "True"]


def test_without_symengine_the_check_falls_back_to_sympy_with_one_line(tmp_path):
    """An unusual platform without symengine: one line on stderr, the check done by SymPy."""
    fake = tmp_path / "symengine"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('no symengine wheel for this platform')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
           "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-m", "gradcli", "batch", "-", "-f", "json", "--jobs", "1"],
                          input="x^2*sin(x) where x=1.3\na*b where a=2, b=3\n", capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 2 and all('"status": "ok", "method": "sympy"' in line for line in lines)
    assert proc.stderr.splitlines() == [
        "gradcli: symengine cannot be imported (no symengine wheel for this platform); the check uses SymPy"]
    proc = subprocess.run([sys.executable, "-m", "gradcli", "eval", "a*b", "--a", "2", "--b", "3",
                           "--check-with", "symengine"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0 and "SymPy ∂/∂" in proc.stdout and len(proc.stderr.splitlines()) == 1


def test_mpfr_numbers_hold_the_exact_binary_value():
    for v in [0.1, 1 / 3, 2.0 ** -1074, 1.7976931348623157e308, -2.5e-300]:
        assert float(st_.mpfr(se, v)) == v
    x = se.Symbol("x")
    assert st_.evaluate_at(x - 1, {x: st_.mpfr(se, 1 + 2 ** -52)}) == 2 ** -52
    assert math.isnan(st_.evaluate_at(se.sqrt(x), {x: st_.mpfr(se, -1.0)}))
    assert st_.evaluate_at(1 / x, {x: st_.mpfr(se, 0.0)}) == math.inf


def test_symengine_text_spells_gradcli_syntax():
    x, y = se.symbols("x y")
    cases = {x ** 2: "x^2", se.exp(x): "exp(x)", se.E: "e", se.pi * x: "pi*x", -x: "-x", x - y: "x - y",
             1 / (2 * se.sqrt(x)): "1/(2*sqrt(x))", se.Rational(3, 2) * x: "3*x/2", x ** -2: "1/x^2",
             (x + y) ** -1: "1/(x + y)", x ** y ** 2: "x^y^2",
             st_.mpfr(se, 0.1) * x: "0.1*x", se.Integer(-3) * x ** 2 * y: "-3*x^2*y", se.oo: "inf",
             se.sin(x) ** 2: "sin(x)^2", (-2) ** x: "(-2)^x"}
    for e, want in cases.items():
        assert st_.to_text(e) == want, (e, st_.to_text(e))


def test_backends_for_an_expression():
    assert [b.name for b in backends(gradcli.parse("a*b"))] == ["symengine", "sympy"]
    assert [b.name for b in backends(gradcli.parse("abs(a)*b"))] == ["sympy"]
    assert [b.name for b in backends(gradcli.parse("a*b"), "sympy")] == ["sympy"]
    assert [b.name for b in backends(gradcli.parse("a*b"), "symengine")] == ["symengine"]


@pytest.mark.parametrize("using", ["auto", "symengine", "sympy"])
def test_a_derivative_that_is_zero_is_settled_as_zero(cli, using):
    """1e20*(atan(x) + atan(1/x)) is constant for x > 0: at 100 bits SymEngine's formula is 1e-11,
    more precision takes it to 0 (not to nan: the two finer values agree far below that noise)."""
    check = cli("eval", "1e20*(atan(x)+atan(1/x))", "--x", "3", "--check-with", using, "-f", "json").json["check"]
    assert check["status"] == "ok" and abs(check["expected"]["x"]) < 1e-12


def test_a_complex_constant_is_left_to_sympy(cli):
    check = cli("eval", "x*sqrt(-2)", "--x", "1", "--check-with", "symengine", "-f", "json").json["check"]
    assert check["status"] == "skipped" and "complex constant" in check["reason"]
    check = cli("eval", "x*sqrt(-2)", "--x", "1", "-f", "json").json["check"]
    assert check["method"] == "sympy" and check["status"] == "nondifferentiable"


def test_a_deadline_inside_another_leaves_the_outer_one_running():
    import time as clock

    from gradcli.check.deadline import CheckTimeout, deadline
    started = clock.monotonic()
    with pytest.raises(CheckTimeout):
        with deadline(0.3):
            with deadline(5):               # shorter than 5 s: the outer one's 0.3 s holds
                pass
            while True:                     # the outer deadline still fires after the inner one ends
                clock.sleep(0.01)
    assert clock.monotonic() - started < 3
