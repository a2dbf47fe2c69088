"""derivatives.py: double backward through every row, Hessians and Jacobians (checked against SymPy)."""
import numpy as np
import pytest
from fuzz.strategies import expressions
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_ops import getattr_op, sample

import gradcli
from gradcli.check.matrix import matrix_check
from gradcli.derivatives import hessian, jacobian
from gradcli.engine.backward import grad, gradients
from gradcli.engine.tensor import Tensor
from gradcli.ops import LEAF, TABLE

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
