"""engine/backward.py: the one reverse-mode pass, for the recorded graph and for any DAG a
caller describes (evaluate's expression DAG is one)."""
import numpy as np
import pytest

from gradcli import GradOutputError, tensor
from gradcli.engine.backward import backprop, grad, gradients, topological
from gradcli.ops import OPS, F


def test_backprop_over_a_described_dag_sums_fan_out():
    """y = a*b + a, described as plain keys: dy/da = b + 1, dy/db = a."""
    values = {"a": 2.0, "b": 3.0, "m": 6.0, "y": 8.0}
    steps = {"m": (OPS["mul"], {}, ("a", "b")), "y": (OPS["add"], {}, ("m", "a"))}

    def step(key):
        if key not in steps:
            return None
        op, attrs, inputs = steps[key]
        return op, attrs, inputs, [values[x] for x in inputs], values[key], [() for _ in inputs]

    released = []
    found = backprop(["a", "b", "m", "y"], 1.0, step=step, needs={"a", "b", "m", "y"}, keep={"a", "b"},
                     done=released.append)
    assert found == {"a": 4.0, "b": 2.0}
    assert released == ["y", "m", "b", "a"]          # reverse topological order, each once


def test_backprop_skips_inputs_that_need_no_gradient():
    def step(key):
        return (OPS["mul"], {}, ("a", "b"), [2.0, 3.0], 6.0, [(), ()]) if key == "m" else None

    found = backprop(["a", "b", "m"], 1.0, step=step, needs={"a"}, keep={"a", "b", "m"})
    assert found == {"m": 1.0, "a": 3.0}


def test_grad_returns_zeros_for_an_input_the_output_does_not_use():
    x, y = tensor(2.0, requires_grad=True), tensor(3.0, requires_grad=True)
    gx, gy = grad(x * x, [x, y])
    assert gx.item() == 4.0 and gy.item() == 0.0


def test_fan_out_sums_contributions():
    x = tensor(3.0, requires_grad=True)
    (x * x).backward()
    assert x.grad.item() == 6.0
    x2 = tensor(3.0, requires_grad=True)
    y = x2 * x2 * x2 + x2
    y.backward()
    assert x2.grad.item() == 28.0


@pytest.mark.parametrize("build, expected", [
    (lambda a: a + F.sin(a), 1 + np.cos(1.0)),                  # a reached directly and through sin
    (lambda a: F.sin(a) + a, 1 + np.cos(1.0)),
    (lambda a: a * F.exp(a) + F.sin(a * a) * a, None),
])
def test_a_node_reached_by_several_paths_gets_every_contribution(build, expected):
    a = tensor(1.0, requires_grad=True)
    build(a).backward()
    h = 1e-6
    numeric = (build(tensor(1.0 + h)).item() - build(tensor(1.0 - h)).item()) / (2 * h)
    assert a.grad.item() == pytest.approx(numeric, rel=1e-8)
    if expected is not None:
        assert a.grad.item() == pytest.approx(expected, rel=1e-15)


def test_topological_order_puts_inputs_first():
    a = tensor(1.0, requires_grad=True)
    s = F.sin(a)
    e = F.exp(s)
    y = a + e * s
    order = topological(y)
    position = {id(t): i for i, t in enumerate(order)}
    for t in order:
        if t.grad_fn is not None:
            assert all(position[id(x)] < position[id(t)] for x in t.grad_fn.inputs if x.requires_grad)


def test_second_backward_through_freed_graph_raises():
    x = tensor(2.0, requires_grad=True)
    y = x * x
    y.backward()
    with pytest.raises(GradOutputError, match="backward through the graph a second time"):
        y.backward()
    z = x * x
    z.backward(retain_graph=True)
    z.backward()
    assert x.grad.item() == 4.0 + 4.0 + 4.0


def test_unbroadcast_sums_over_broadcast_axes():
    x = tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    b = tensor([10.0, 20.0, 30.0], requires_grad=True)
    s = tensor(2.0, requires_grad=True)
    ((x + b) * s).sum().backward()
    assert b.grad.tolist() == [4.0, 4.0, 4.0]
    assert s.grad.item() == 21.0 + 2 * 60.0
    assert x.grad.shape == (2, 3)


def test_long_chain_is_iterative():
    x = tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + x
    y.backward()
    assert x.grad.item() == 100_001.0


def test_pure_pass_returns_dict_and_writes_nothing():
    x = tensor(3.0, requires_grad=True)
    y = F.sin(x) * x
    grads = gradients(y)
    assert x.grad is None
    assert grads[x].item() == pytest.approx(np.cos(3.0) * 3.0 + np.sin(3.0), rel=1e-15)


def test_create_graph_gives_a_differentiable_gradient():
    x = tensor(2.0, requires_grad=True)
    y = x ** 3
    (dy,) = grad(y, x, create_graph=True)
    assert dy.item() == 12.0
    assert dy.requires_grad
    (d2y,) = grad(dy, x)
    assert d2y.item() == 12.0                    # 6x
