
"""The Tensor API and the backward pass, PyTorch's semantics."""

import numpy as np
import pytest

from gradcli import GradOutputError, Tensor, no_grad, tensor


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


def test_grad_accumulates_across_backward_calls():
    x = tensor(2.0, requires_grad=True)
    (x * 3).backward()
    (x * 3).backward()
    assert x.grad.item() == 6.0


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
