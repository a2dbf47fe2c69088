"""forward.py: the one forward pass, in each of its modes."""
import numpy as np
import pytest
from fuzz.strategies import expressions
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradcli
from gradcli.engine.tensor import Tensor
from gradcli.errors import ShapeError
from gradcli.forward import forward, gradient_paths
from gradcli.graph import no_grad, quiet
from gradcli.lang.parser import parse


def run_all(text, bound, **modes):
    expr = parse(text)
    return expr, forward(expr.nodes(), bound, **modes)


def test_plain_values_of_every_node():
    expr, run = run_all("a*b + sin(a)", {"a": 2.0, "b": 3.0})
    assert run.values[expr.id] == pytest.approx(6 + np.sin(2))
    assert run.shapes is None                   # numbers throughout: no shape to note
    assert len(run.values) == len(expr.nodes())


def test_arrays_note_their_shapes():
    expr, run = run_all("sum(W @ v)", {"W": np.ones((2, 3)), "v": np.ones(3)})
    assert run.shapes[expr.args[0].id] == (2,) and run.shape(expr) == ()


def test_recorded_mode_gives_tensors_with_their_graph():
    leaves = {"a": Tensor(2.0, requires_grad=True), "b": Tensor(3.0)}
    expr, run = run_all("a*b", {}, leaves=leaves)
    root = run.values[expr.id]
    assert isinstance(root, Tensor) and root.grad_fn.name() == "MulBackward0"
    assert root.grad_fn.inputs == (leaves["a"], leaves["b"])
    with no_grad():
        _, quiet = run_all("a*b", {}, leaves=leaves)
    assert quiet.values[expr.id].grad_fn is None


def test_drop_lets_go_of_what_no_gradient_reads():
    bound = {"x": np.arange(4.0)}
    expr = parse("sum(exp(x + 1))")
    needs = gradient_paths(expr.nodes(), {"x"})
    run = forward(expr.nodes(), bound, needs=needs, drop=True)
    plus = expr.args[0].args[0]
    assert run.values[plus.id] is None          # exp's rule reads its output, not its input
    assert run.values[expr.args[0].id] is not None


def test_kinks_are_noted_where_a_gradient_flows():
    expr = parse("abs(x) + relu(y)")
    run = forward(expr.nodes(), {"x": 0.0, "y": 1.0}, needs=set(expr.nodes()), kinks=True)
    assert [convention for _, convention in run.kinks] == ["abs'(0) = 0"]
    _, none = run_all("abs(x)", {"x": 0.0}, needs=set(), kinks=True)
    assert none.kinks == []                     # no gradient flows through it


def test_a_shape_error_points_at_the_node():
    with pytest.raises(ShapeError) as info:
        run_all("x + [1, 2, 3] * y", {"x": 1.0, "y": np.ones(2)})
    assert info.value.source == "x + [1, 2, 3] * y" and info.value.span.start == 4


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=expressions(), a=st.floats(-3.0, 3.0), b=st.floats(0.1, 3.0), c=st.floats(-3.0, 3.0))
def test_every_mode_gives_the_same_numbers(text, a, b, c):
    """Plain, dropping, and recorded: one loop, so one set of numbers for the output."""
    expr = parse(text)
    bound = {n: v for n, v in {"a": a, "b": b, "c": c}.items() if n in expr.variables()}
    with quiet():
        plain = forward(expr.nodes(), bound).values[expr.id]
        needs = gradient_paths(expr.nodes(), set(bound))
        dropped = forward(expr.nodes(), bound, needs=needs, drop=True).values[expr.id]
        leaves = {n: Tensor(v) for n, v in bound.items()}
        recorded = forward(expr.nodes(), bound, leaves=leaves).values[expr.id].data
    np.testing.assert_array_equal(plain, dropped)
    np.testing.assert_array_equal(plain, recorded)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=expressions(), a=st.floats(-3.0, 3.0), b=st.floats(0.1, 3.0), c=st.floats(-3.0, 3.0))
def test_gradients_are_the_same_traced_or_not(text, a, b, c):
    """evaluate over plain arrays (dropping values it no longer needs) and over the recorded
    Tensor graph (trace=True) run the same forward and backward passes: identical numbers."""
    expr = gradcli.parse(text)
    values = {n: v for n, v in {"a": a, "b": b, "c": c}.items() if n in expr.variables()}
    plain = gradcli.evaluate(expr, values)
    traced = gradcli.evaluate(expr, values, trace=True)
    np.testing.assert_array_equal(plain.value, traced.value)
    assert list(plain.grad) == list(traced.grad)
    for name in plain.grad:
        np.testing.assert_array_equal(plain.grad[name], traced.grad[name])
