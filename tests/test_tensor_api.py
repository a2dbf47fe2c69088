"""The Python API as PyTorch's autograd tutorial uses it: conversions, in-place zeroing,
comparisons, the op table's functions as methods and functions, .grad warnings, repr."""
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from gradcli import GradOutputError, tensor

ROOT = Path(__file__).resolve().parent.parent


# -- reading .grad: a non-leaf that keeps no gradient warns, as PyTorch does -----------
def test_reading_grad_of_a_non_leaf_warns_and_names_retain_grad():
    x = tensor(2.0, requires_grad=True)
    y = x * x
    z = y * 3
    z.backward()
    with pytest.warns(UserWarning, match=r"not a leaf Tensor.*use \.retain_grad\(\) on the non-leaf Tensor"):
        assert y.grad is None


@pytest.mark.parametrize("build", [
    pytest.param(lambda x: x, id="leaf that requires grad"),
    pytest.param(lambda x: tensor(1.0), id="leaf without grad"),
    pytest.param(lambda x: (x * 2).detach(), id="detached"),
])
def test_reading_grad_of_a_leaf_is_silent(build):
    x = tensor(2.0, requires_grad=True)
    t = build(x)
    (x * 3).backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t.grad


def test_reading_grad_of_a_retained_non_leaf_is_silent():
    x = tensor(2.0, requires_grad=True)
    y = x * x
    y.retain_grad()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert y.grad is None                    # before backward: retained, not yet filled
        (y * 3).backward()
        assert y.grad.item() == 3.0


def test_grad_can_be_set_and_cleared():
    x = tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    x.grad = None
    assert x.grad is None
    x.grad = tensor([5.0, 6.0])
    (x * x).sum().backward()
    assert x.grad.tolist() == [7.0, 10.0]        # accumulates into what was set
    with pytest.raises(TypeError, match="Tensor or None"):
        x.grad = 3.0
    with pytest.raises(GradOutputError, match="shape"):
        x.grad = tensor([1.0, 2.0, 3.0])


@pytest.mark.parametrize("args", [
    ["eval", "a*b+c", "--a", "2", "--b", "3", "--c", "4", "--tree", "--no-check"],
    ["eval", "sin(a*b)+a", "--a", "2", "--b", "3", "--tree", "--retain-grad", "--no-check"],
    ["graph", "a*b+c", "--a", "2", "--b", "3", "--c", "4"],
])
def test_the_cli_reads_gradients_without_the_warning(args):
    proc = subprocess.run([sys.executable, "-W", "always", "-m", "gradcli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
