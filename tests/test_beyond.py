"""Double backward, Hessians, Jacobians, minimize, graph exports, and the errors of plot (its drawing: test_plot.py)."""
import csv
import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import gradcli
from gradcli.derivatives import hessian, jacobian
from gradcli.engine.backward import gradients, grad
from gradcli.engine.tensor import Tensor
from gradcli.ops import LEAF, TABLE
from gradcli.optimize import minimize
from gradcli.check.matrix import matrix_check
from test_ops import getattr_op, sample
from test_symbolic import expressions

# Rows whose VJP uses a constant mask (abs, relu, max, ...) have a second derivative of 0
# away from their kinks, which is what finite differences see too.
SECOND = [pytest.param(op, shapes, attrs, id=f"{op.key}-{shapes}-{attrs}".replace(" ", ""))
          for op in TABLE if op.syntax is not LEAF for shapes, attrs in op.domain.cases]


@pytest.mark.parametrize("op, shapes, attrs", SECOND)
def test_vjp_rules_differentiate_again(op, shapes, attrs):
    """d/dx <vjp(x; g), u> by the engine (create_graph) against central differences."""
    rng = np.random.default_rng(11)
    xs = [sample(rng, op, s) for s in shapes]
    g = None
    u = None

    def first_order(values, build_graph):
        leaves = [Tensor(x, requires_grad=True) for x in values]
        out = getattr_op(op)(*leaves, **attrs)
        nonlocal g, u
        if g is None:
            g = rng.normal(size=out.shape)
            u = [rng.normal(size=np.shape(x)) for x in values]
        firsts = grad(out, leaves, grad_outputs=Tensor(g), create_graph=build_graph)
        total = sum((f * Tensor(ui)).sum() for f, ui in zip(firsts, u))
        return leaves, total

    leaves, total = first_order(xs, True)
    if not total.requires_grad:
        analytic = [np.zeros(np.shape(x)) for x in xs]
    else:
        second = gradients(total)
        analytic = [second[leaf].data if leaf in second else np.zeros(np.shape(x)) for leaf, x in zip(leaves, xs)]
    for i, x in enumerate(xs):
        numeric = np.zeros(np.shape(x))
        for idx in np.ndindex(numeric.shape):
            h = 1e-6 * max(1.0, abs(float(np.asarray(x)[idx])))
            up = [np.array(v, dtype=float) for v in xs]
            down = [np.array(v, dtype=float) for v in xs]
            up[i][idx] += h
            down[i][idx] -= h
            numeric[idx] = (first_order(up, False)[1].item() - first_order(down, False)[1].item()) / (2 * h)
        np.testing.assert_allclose(analytic[i], numeric, rtol=1e-5, atol=1e-6,
                                   err_msg=f"{op.key}: second derivative, input {i}")


def test_hessian_example_and_json(cli):
    d = hessian("x^2*y + y^3", {"x": 1, "y": 2})
    assert d.hessian.tolist() == [[4.0, 2.0], [2.0, 12.0]] and d.labels == ["x", "y"]
    rec = cli("hessian", "x^2*y + y^3", "--x", "1", "--y", "2", "-f", "json").json
    assert list(rec) == ["expr", "variables", "value", "grad", "hessian", "check"]
    assert rec["hessian"] == [[4.0, 2.0], [2.0, 12.0]] and rec["grad"] == {"x": 4.0, "y": 13.0}
    assert rec["check"]["status"] == "ok" and rec["check"]["symbolic"]["hessian"] == [["2*y", "2*x"], ["2*x", "6*y"]]
    table = cli("hessian", "x^2*y + y^3", "--x", "1", "--y", "2")
    assert table.code == 0 and "Hessian" in table.out and "12" in table.out


def test_hessian_of_array_variables_flattens_in_c_order():
    d = hessian("sum(M*M) * v[1]", {"M": [[1, 2], [3, 4]], "v": [5, 6]})
    assert d.labels == ["M[0,0]", "M[0,1]", "M[1,0]", "M[1,1]", "v[0]", "v[1]"]
    assert d.hessian[0, 0] == 12.0 and d.hessian[0, 5] == 2.0 and d.hessian[5, 3] == 8.0
    assert matrix_check("hessian", d).status == "ok"


def test_hessian_needs_a_scalar(cli):
    r = cli("hessian", "[x, x^2]", "--x", "1")
    assert r.code == 2 and "jacobian" in r.err


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=expressions(depth=2), a=st.floats(0.3, 2.0), b=st.floats(0.3, 2.0),
       c=st.floats(0.3, 2.0) | st.floats(-2.0, -0.3))
def test_random_hessians_are_symmetric_and_equal_sympy(text, a, b, c):
    expr = gradcli.parse(text)
    assume(expr.variables())
    values = {n: v for n, v in {"a": a, "b": b, "c": c}.items() if n in expr.variables()}
    d = hessian(expr, values)
    assume(np.isfinite(d.value) and np.all(np.isfinite(d.hessian)) and np.max(np.abs(d.hessian), initial=0) < 1e6)
    np.testing.assert_allclose(d.hessian, d.hessian.T, rtol=1e-9, atol=1e-9)
    check = matrix_check("hessian", d, timeout=20)
    assume(check.status != "timeout")
    assert check.status == ("nondifferentiable" if check.conventions else "ok"), (text, values, d.hessian, check)


def test_jacobian_example_and_json(cli):
    rec = cli("jacobian", "[x*y, x+y]", "--x", "2", "--y", "3", "-f", "json").json
    assert list(rec) == ["expr", "variables", "value", "jacobian", "check"]
    assert rec["value"] == [6.0, 5.0] and rec["jacobian"] == [[3.0, 2.0], [1.0, 1.0]]
    assert rec["check"]["status"] == "ok"


def test_jacobian_of_softmax():
    x = np.array([0.5, 1.0, -1.0])
    d = jacobian("softmax(x)", {"x": x})
    s = np.exp(x) / np.exp(x).sum()
    np.testing.assert_allclose(d.jacobian, np.diag(s) - np.outer(s, s), rtol=1e-13, atol=1e-15)
    assert matrix_check("jacobian", d).status == "ok"


def test_minimize_defaults_reach_the_minimum(cli):
    rec = cli("minimize", "(x-3)^2 + (y+1)^2", "--x", "0", "--y", "0", "-f", "json").json
    assert rec["converged"] and rec["reason"] == "converged"
    assert abs(rec["argmin"]["x"] - 3) < 1e-6 and abs(rec["argmin"]["y"] + 1) < 1e-6


def test_adam_solves_rosenbrock():
    m = minimize("(1-x)^2 + 100*(y-x^2)^2", {"x": -1.2, "y": 1}, optimizer="adam", steps=20_000)
    assert m.steps <= 20_000
    assert abs(m.argmin["x"] - 1) < 1e-4 and abs(m.argmin["y"] - 1) < 1e-4


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_every_optimizer_minimizes_a_bowl(optimizer):
    m = minimize("sum((w - [1, 2])^2)", {"w": [0, 0]}, optimizer=optimizer)
    assert m.converged and np.allclose(m.argmin["w"], [1, 2], atol=1e-6)


def test_divergence_reports_the_last_finite_point_and_exits_1(cli):
    r = cli("minimize", "(1-x)^2 + 100*(y-x^2)^2", "--x", "-1.2", "--y", "1", "--optimizer", "sgd", "-f", "json")
    assert r.code == 1 and "diverged" in r.err
    rec = r.json
    assert rec["reason"] == "diverged" and not rec["converged"]
    assert all(np.isfinite(v) for v in rec["argmin"].values())


def test_step_limit_warns_and_exits_0(cli):
    r = cli("minimize", "(x-3)^2", "--x", "0", "--steps", "3", "-f", "json")
    assert r.code == 0 and r.json["reason"] == "step limit" and "warning" in r.err and r.json["steps"] == 3


def test_trace_writes_every_step(cli, tmp_path):
    path = tmp_path / "trace.csv"
    r = cli("minimize", "(x-3)^2 + y^2", "--x", "0", "--y", "1", "--optimizer", "sgd", "--trace", str(path), "-f", "json")
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["step", "value", "grad_norm", "x", "y"]
    assert len(rows) == r.json["steps"] + 2
    assert rows[1] == ["0", "10.0", repr(float(np.hypot(6, 2))), "0.0", "1.0"]


def test_minimize_table(cli):
    out = cli("minimize", "(x-3)^2", "--x", "0").out
    assert "converged" in out and "argmin" in out


def test_graph_formats(cli):
    tree = cli("graph", "sin(x)*sin(x)", "--x", "1").out
    assert "MulBackward0" in tree and "shown above" in tree
    dot = cli("graph", "a*b+c", "--a", "2", "--b", "3", "--c", "4", "-f", "dot").out
    assert dot.startswith("digraph gradcli {") and dot.count("->") == 4
    assert 'fillcolor="lightblue"' in dot and 'fillcolor="darkolivegreen1"' in dot and 'fillcolor="lightgrey"' in dot
    mermaid = cli("graph", "a*b+c", "--a", "2", "--b", "3", "--c", "4", "-f", "mermaid").out
    assert mermaid.startswith("flowchart BT") and "n2 --> n4" in mermaid and "class n4 output" in mermaid
    rec = cli("graph", "a*b+c", "--a", "2", "--b", "3", "--c", "4", "-f", "json", "--retain-grad").json
    assert [n["grad"] for n in rec["graph"]] == [3.0, 2.0, 1.0, 1.0, 1.0]


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz (Debian package graphviz) is not installed")
def test_dot_renders_with_graphviz(cli):
    dot = cli("graph", "sum(W @ v) + sin(W[0,1])", "--W", "[[1,2],[3,4]]", "--v", "1,1", "-f", "dot").out
    svg = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True, check=True).stdout
    graph = gradcli.evaluate("sum(W @ v) + sin(W[0,1])", {"W": [[1, 2], [3, 4]], "v": [1, 1]}).graph
    for node in graph:
        assert f"<title>n{node.id}</title>" in svg
        assert node.text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")[:30] in svg


@pytest.mark.parametrize("args, fragment", [
    (["plot", "sin(x)", "--x", "3"], "range"),
    (["plot", "sin(x)", "--x", "3:1"], "first smaller"),
    (["plot", "sin(x)*y", "--x", "0:1"], "no value"),
    (["minimize", "x^2"], "starting value"),
    (["minimize", "x^2", "--x", "1", "--optimizer", "newton"], "newton"),
])
def test_beyond_errors(cli, args, fragment):
    r = cli(*args)
    assert r.code == 2 and fragment in r.err
