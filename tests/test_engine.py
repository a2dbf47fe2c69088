"""The Tensor API and the backward pass, PyTorch's semantics."""
import numpy as np
import pytest

from gradcli import GradOutputError, Tensor, grad, no_grad, tensor
from gradcli.engine.backward import gradients
from gradcli.ops import F


# The three examples of the autograd tutorial this project grew from.
def test_tutorial_scalar_product():
    a = tensor(2.0, requires_grad=True)
    b = tensor(3.0, requires_grad=True)
    y = a * b
    y.backward()
    assert a.grad.item() == 3.0
    assert b.grad.item() == 2.0


def test_tutorial_non_scalar_output_with_grad_output():
    x = tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    grad_output = tensor([1.0, 1.0, 1.0])
    y.backward(grad_output)
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_tutorial_no_grad():
    x = tensor(2.0, requires_grad=True)
    with no_grad():
        y = x * 2
    assert y.requires_grad is False
    assert y.grad_fn is None


def test_non_scalar_output_without_gradient_raises_pytorchs_error():
    x = tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()


def test_gradient_shape_must_match_output():
    x = tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(GradOutputError, match="Mismatch in shape"):
        (x * 2).backward(tensor([1.0, 1.0]))


def test_leaves_and_non_leaves():
    a = tensor(2.0, requires_grad=True)
    c = tensor(5.0)
    y = a * a + c
    assert a.is_leaf and c.is_leaf and not y.is_leaf
    assert y.requires_grad and not c.requires_grad
    assert y.grad_fn.name() == "AddBackward0"
    (mul_fn, _), (leaf_fn, _) = y.grad_fn.next_functions
    assert mul_fn.name() == "MulBackward0"
    assert leaf_fn is None                       # c does not require grad
    assert [f.name() for f, _ in mul_fn.next_functions] == ["AccumulateGrad", "AccumulateGrad"]


def test_intermediate_grad_is_freed_unless_retained():
    a = tensor(2.0, requires_grad=True)
    h = a * 3
    k = a * 4
    k.retain_grad()
    y = h * k
    y.backward()
    with pytest.warns(UserWarning, match=r"retain_grad\(\)"):
        assert h.grad is None
    assert k.grad.item() == 6.0                  # dy/dk = h
    assert a.grad.item() == 3 * 8 + 4 * 6        # 48


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
    from gradcli.engine.backward import topological
    a = tensor(1.0, requires_grad=True)
    s = F.sin(a)
    e = F.exp(s)
    y = a + e * s
    order = topological(y)
    position = {id(t): i for i, t in enumerate(order)}
    for t in order:
        if t.grad_fn is not None:
            assert all(position[id(x)] < position[id(t)] for x in t.grad_fn.inputs if x.requires_grad)


def test_grad_accumulates_across_backward_calls():
    x = tensor(2.0, requires_grad=True)
    (x * 3).backward()
    (x * 3).backward()
    assert x.grad.item() == 6.0


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


def test_detach_cuts_the_graph():
    x = tensor(2.0, requires_grad=True)
    y = (x * x).detach() * x
    y.backward()
    assert x.grad.item() == 4.0


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tensor(1.0).backward()


def test_item_tolist_numpy():
    x = tensor([[1, 2], [3, 4]])
    assert x.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert x.numpy().dtype == np.float64
    assert tensor(5).item() == 5.0
    with pytest.raises(RuntimeError):
        tensor(1.0, requires_grad=True).numpy()


def test_operators_with_python_numbers():
    x = tensor(2.0, requires_grad=True)
    y = 1 - x / 4 + 2 ** x - (-x) @ tensor(1.0) if False else 1 - x / 4 + 2 ** x
    y.backward()
    assert x.grad.item() == pytest.approx(-0.25 + 4 * np.log(2), rel=1e-15)


def test_matmul_and_indexing():
    W = tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    v = tensor([1.0, 1.0], requires_grad=True)
    y = (W @ v)[1]
    y.backward()
    assert W.grad.tolist() == [[0.0, 0.0], [1.0, 1.0]]
    assert v.grad.tolist() == [3.0, 4.0]


def test_no_grad_as_decorator_restores_state():
    @no_grad()
    def f(x):
        return x * 2
    x = tensor(1.0, requires_grad=True)
    assert not f(x).requires_grad
    assert (x * 2).requires_grad


def test_repr_names_grad_fn():
    x = tensor(2.0, requires_grad=True)
    assert "MulBackward0" in repr(x * x)
    assert isinstance(x * x, Tensor)
