"""The Python API as PyTorch's autograd tutorial uses it: conversions, in-place zeroing,
comparisons, the op table's functions as methods and functions, .grad warnings, repr."""
import importlib
import pkgutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import gradcli
from gradcli import GradOutputError, ShapeError, Tensor, no_grad, tensor
from gradcli.engine.backward import gradients
from gradcli.engine.tensor import FUNCTIONS as TENSOR_FUNCTIONS
from gradcli.ops import functions
from test_ops import numeric_vjp, sample

ROOT = Path(__file__).resolve().parent.parent


# -- the tutorial's examples, written with the Tensor API ------------------------------
def test_tutorial_scalar_product_prints_as_pytorch():
    a = tensor(2.0, requires_grad=True)
    b = tensor(3.0, requires_grad=True)
    y = a * b
    y.backward()
    assert f"Gradient of a: {a.grad}" == "Gradient of a: 3.0"        # a 0-D tensor formats as its number
    assert f"Gradient of b: {b.grad}" == "Gradient of b: 2.0"
    assert repr((a.grad, b.grad)) == "(tensor(3.), tensor(2.))"


def test_tutorial_grad_output_prints_as_pytorch():
    x = tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    y.backward(tensor([1.0, 1.0, 1.0]))
    assert f"Gradient of x: {x.grad}" == "Gradient of x: tensor([2., 2., 2.])"


def test_tutorial_no_grad_prints_as_pytorch():
    x = tensor(2.0, requires_grad=True)
    with no_grad():
        y = x * 2
    assert f"Requires grad of y: {y.requires_grad}" == "Requires grad of y: False"


def test_tutorial_graph_of_a_times_b_plus_c():
    a, b, c = (tensor(v, requires_grad=True) for v in (2.0, 3.0, 4.0))
    y = a * b + c
    assert [t.is_leaf for t in (a, b, c, y)] == [True, True, True, False]
    y.backward()
    assert (float(a.grad), float(b.grad), float(c.grad)) == (3.0, 2.0, 1.0)
    assert float(y) == 10.0 and int(y) == 10


def test_pow_sum_backward_zero_and_again():
    x = tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.pow(2).sum()
    y.backward()
    assert x.grad.tolist() == [2.0, 4.0, 6.0]
    assert x.grad.zero_() is x.grad
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    x.pow(3).sum().backward()                    # accumulates into the zeroed gradient
    assert x.grad.tolist() == [3.0, 12.0, 27.0]
    assert float(y) == 14.0


def test_an_elementwise_chain_with_methods():
    x = tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = x.tanh().pow(2).mean()
    y.backward()
    t = np.tanh(x.data)
    np.testing.assert_allclose(x.grad.data, 2 * t * (1 - t * t) / 3, rtol=1e-15)


# -- conversions ---------------------------------------------------------------------
@pytest.mark.parametrize("data, as_float, as_int", [
    (2.5, 2.5, 2), (-2.7, -2.7, -2), ([4.0], 4.0, 4), ([[7.0]], 7.0, 7),
])
def test_float_and_int_of_a_one_element_tensor(data, as_float, as_int):
    t = tensor(data, requires_grad=True)
    assert float(t) == as_float and type(float(t)) is float
    assert int(t) == as_int and type(int(t)) is int


@pytest.mark.parametrize("convert", [float, int, bool], ids=lambda f: f.__name__)
def test_converting_a_tensor_of_several_elements_names_the_count(convert):
    with pytest.raises(ShapeError, match="3 elements"):
        convert(tensor([1.0, 2.0, 3.0]))


def test_format_spec_applies_to_a_number():
    assert f"{tensor(3.14159):.2f}" == "3.14"
    assert f"{tensor([1.0, 2.0])}" == "tensor([1., 2.])"


# -- zero_ ---------------------------------------------------------------------------
def test_zero_leaves_other_gradients_alone():
    a = tensor(2.0, requires_grad=True)
    b = tensor(3.0, requires_grad=True)
    (a + b).backward()                           # one gradient flows to both
    a.grad.zero_()
    assert (float(a.grad), float(b.grad)) == (0.0, 1.0)


def test_zero_of_a_matrix_keeps_its_shape():
    m = tensor([[1.0, 2.0], [3.0, 4.0]])
    assert m.zero_().tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_zero_refuses_a_tensor_the_graph_needs():
    w = tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GradOutputError, match="in-place"):
        w.zero_()
    with pytest.raises(GradOutputError, match="in-place"):
        (w * 2).zero_()
    with no_grad():
        assert w.zero_().tolist() == [0.0, 0.0]  # a parameter reset, as in PyTorch
    assert w.requires_grad


# -- pow and t() -------------------------------------------------------------------
@pytest.mark.parametrize("exponent", [2, 0.5, tensor(3.0, requires_grad=True)], ids=["2", "0.5", "tensor"])
def test_pow_is_the_power_operator(exponent):
    x = tensor([1.5, 2.0], requires_grad=True)
    x2 = tensor([1.5, 2.0], requires_grad=True)
    y, y2 = x.pow(exponent), x2 ** exponent
    assert y.grad_fn.name() == y2.grad_fn.name() == "PowBackward1"
    assert y.tolist() == y2.tolist()
    y.sum().backward()
    y2.sum().backward()
    assert x.grad.tolist() == x2.grad.tolist()


def test_t_transposes_a_matrix_and_its_gradient():
    m = tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    mt = m.t()
    assert mt.shape == (3, 2) and mt.tolist() == [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]
    (mt * tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 2.0]])).sum().backward()
    assert m.grad.tolist() == [[1.0, 0.0, 0.0], [0.0, 0.0, 2.0]]


@pytest.mark.parametrize("data", [3.0, [1.0, 2.0]], ids=["0-D", "1-D"])
def test_t_leaves_a_vector_or_number_as_it_is(data):
    assert tensor(data).t().tolist() == tensor(data).tolist()


def test_t_refuses_more_than_two_dimensions():
    with pytest.raises(ShapeError, match="<= 2 dimensions.*3"):
        tensor(np.zeros((2, 2, 2))).t()


# -- comparisons: 1.0/0.0, no gradient --------------------------------------------
X = [1.0, 2.0, 3.0]
COMPARISONS = [
    ("x < 2", lambda x: x < 2, [1, 0, 0]),
    ("x <= 2", lambda x: x <= 2, [1, 1, 0]),
    ("x > 2", lambda x: x > 2, [0, 0, 1]),
    ("x >= 2", lambda x: x >= 2, [0, 1, 1]),
    ("x == 2", lambda x: x == 2, [0, 1, 0]),
    ("x != 2", lambda x: x != 2, [1, 0, 1]),
    ("2 < x", lambda x: 2 < x, [0, 0, 1]),
    ("2.0 == x", lambda x: 2.0 == x, [0, 1, 0]),
    ("np.float64(2) >= x", lambda x: np.float64(2) >= x, [1, 1, 0]),
    ("x < tensor", lambda x: x < tensor([3.0, 1.0, 3.0]), [1, 0, 0]),
    ("x == x", lambda x: x == x, [1, 1, 1]),
    ("x > array", lambda x: x > np.array([0.0, 2.0, 4.0]), [1, 0, 0]),
    ("x >= broadcast", lambda x: x >= tensor([[2.0], [3.0]]), [[0, 1, 1], [0, 0, 1]]),
]


@pytest.mark.parametrize("text, compare, expected", COMPARISONS, ids=[c[0] for c in COMPARISONS])
def test_comparisons_give_ones_and_zeros_without_grad(text, compare, expected):
    x = tensor(X, requires_grad=True)
    out = compare(x)
    assert type(out) is Tensor
    assert out.tolist() == np.array(expected, dtype=float).tolist()
    assert not out.requires_grad and out.grad_fn is None


def test_a_comparison_mask_passes_no_gradient_of_its_own():
    x = tensor([-1.0, 0.5, 2.0], requires_grad=True)
    ((x > 0) * x * x).sum().backward()           # d/dx mask*x^2 = mask*2x: the mask is constant
    assert x.grad.tolist() == [0.0, 1.0, 4.0]


def test_a_one_element_comparison_is_a_truth_value():
    x = tensor(2.0)
    assert bool(x > 1) and not (x < 1)
    assert [v for v in (1.0, 3.0) if tensor(v) > 2] == [3.0]


def test_comparing_with_none_or_text_is_plain_identity():
    x = tensor(1.0)
    assert (x == None) is False and (x != None) is True        # noqa: E711
    assert (x == "1") is False
    with pytest.raises(TypeError):
        x < "1"


def test_tensors_hash_by_identity_so_the_engine_can_key_dicts_by_them():
    a, b = tensor(1.0, requires_grad=True), tensor(1.0, requires_grad=True)
    seen = {a: "a", b: "b"}                       # equal values, two keys
    assert seen[a] == "a" and seen[b] == "b" and len(seen) == 2
    y = a * b + a
    grads = gradients(y)
    assert (float(grads[a]), float(grads[b])) == (2.0, 1.0)


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


# -- the op table's functions, as x.<name>(...) and gradcli.<name>(x, ...) ---------
NAMED = [(name, op) for name, rows in functions().items() for op in rows]
CALLS = [pytest.param(name, op, shapes, attrs, id=f"{name}/{op.key}-{shapes}-{attrs}".replace(" ", ""))
         for name, op in NAMED for shapes, attrs in op.domain.cases]


def test_every_function_name_of_the_table_is_generated():
    for module in pkgutil.iter_modules(gradcli.__path__):        # a submodule must not shadow a name
        if module.name != "__main__":
            importlib.import_module(f"gradcli.{module.name}")
    assert set(TENSOR_FUNCTIONS) == set(functions())
    for name, fn in TENSOR_FUNCTIONS.items():
        assert getattr(gradcli, name) is fn, name
        assert getattr(Tensor, name) is fn, f"Tensor defines its own {name}"
    # The elementwise functions and the reductions the tutorial's readers expect, at least.
    assert {"sin", "cos", "tanh", "exp", "log", "sqrt", "abs", "sigmoid", "relu", "softplus", "erf",
            "sign", "heaviside", "atan2", "max", "min", "sum", "mean", "prod", "norm", "logsumexp",
            "softmax"} <= set(TENSOR_FUNCTIONS)


@pytest.mark.parametrize("form", ["method", "function"])
@pytest.mark.parametrize("name, op, shapes, attrs", CALLS)
def test_generated_call_matches_the_row_and_finite_differences(name, op, shapes, attrs, form):
    rng = np.random.default_rng(3)
    xs = [sample(rng, op, s) for s in shapes]
    leaves = [tensor(x, requires_grad=True) for x in xs]
    out = getattr(leaves[0], name)(*leaves[1:], **attrs) if form == "method" \
        else getattr(gradcli, name)(*leaves, **attrs)
    assert out.grad_fn.name() == op.grad_fn
    np.testing.assert_array_equal(out.data, op.forward(*xs, **attrs))
    g = rng.normal(size=out.shape)
    grads = gradients(out, tensor(g))
    for i, leaf in enumerate(leaves):
        numeric = numeric_vjp(op, xs, attrs, g, i)
        analytic = grads[leaf].data if op.flows(i) else np.zeros(np.shape(xs[i]))     # where's condition: none
        assert op.flows(i) or leaf not in grads
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-7,
                                   err_msg=f"{name} input {i}: analytic {analytic} vs numeric {numeric}")


@pytest.mark.parametrize("name, reduce_fn, pair_fn", [
    ("max", "MaxBackward1", "MaximumBackward0"), ("min", "MinBackward1", "MinimumBackward0")])
def test_max_and_min_pick_their_row_by_the_number_of_arguments(name, reduce_fn, pair_fn):
    x = tensor([1.0, 5.0, 3.0], requires_grad=True)
    y = tensor([4.0, 2.0, 3.5])
    reduced, paired = getattr(x, name)(), getattr(x, name)(y)
    assert reduced.grad_fn.name() == reduce_fn and reduced.shape == ()
    assert paired.grad_fn.name() == pair_fn and paired.tolist() == getattr(np, name + "imum")(x.data, y.data).tolist()
    assert getattr(gradcli, name)(x, y).tolist() == paired.tolist()
    with pytest.raises(TypeError, match=rf"{name}\(\) takes 1 or 2 tensor arguments \(3 given\)"):
        getattr(gradcli, name)(x, y, y)


def test_a_generated_function_takes_numbers_and_returns_a_tensor():
    out = gradcli.sin(0.0)
    assert type(out) is Tensor and float(out) == 0.0 and not out.requires_grad
    assert gradcli.atan2(1.0, 1.0).item() == pytest.approx(np.pi / 4, rel=1e-15)
    with pytest.raises(TypeError, match=r"sin\(\) takes 1 tensor argument \(2 given\)"):
        tensor(1.0).sin(2.0)


def test_reductions_take_their_row_attrs():
    m = tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert m.sum(axis=0).tolist() == [5.0, 7.0, 9.0]
    assert m.sum(axis=-1, keepdims=True).tolist() == [[6.0], [15.0]]
    m.mean().backward()
    assert m.grad.tolist() == [[1 / 6] * 3] * 2
    np.testing.assert_allclose(m.exp().log().data, m.data, rtol=1e-15)


# -- repr: PyTorch's text ----------------------------------------------------------
REPRS = [
    (tensor(3.0), "tensor(3.)"),
    (tensor(-0.0), "tensor(-0.)"),
    (tensor(2.5), "tensor(2.5000)"),
    (tensor(2.0, requires_grad=True), "tensor(2., requires_grad=True)"),
    (tensor([1.0, 2.5]), "tensor([1.0000, 2.5000])"),
    (tensor([1.0, 2.0, 3.0]), "tensor([1., 2., 3.])"),
    (tensor([-1.0, 10.0]), "tensor([-1., 10.])"),
    (tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True),
     "tensor([[1., 2.],\n        [3., 4.]], requires_grad=True)"),
    (tensor([[1.5, -2.25], [3.0, 400.0]]),
     "tensor([[  1.5000,  -2.2500],\n        [  3.0000, 400.0000]])"),
    (tensor([1e-5, 1.0]), "tensor([1.0000e-05, 1.0000e+00])"),
    (tensor([1.0, 1e4]), "tensor([1.0000e+00, 1.0000e+04])"),
    (tensor([np.nan, 1.0, -np.inf]), "tensor([nan, 1., -inf])"),
    (tensor([0.0, 0.0]), "tensor([0., 0.])"),
    (tensor([]), "tensor([])"),
    (tensor(np.zeros((0, 3))), "tensor([], size=(0, 3))"),
    (tensor(np.arange(8.0).reshape(2, 2, 2)),
     "tensor([[[0., 1.],\n         [2., 3.]],\n\n        [[4., 5.],\n         [6., 7.]]])"),
    (tensor(np.arange(12.0)),                   # wraps at 80 columns, continuation under the first
     "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11.])"),
    (tensor(np.arange(20.0) / 4),
     "tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000, 1.2500, 1.5000, 1.7500, 2.0000,\n"
     "        2.2500, 2.5000, 2.7500, 3.0000, 3.2500, 3.5000, 3.7500, 4.0000, 4.2500,\n"
     "        4.5000, 4.7500])"),
    (tensor(np.arange(1001.0) % 7),             # more than 1000 numbers: three at each end
     "tensor([0., 1., 2.,  ..., 4., 5., 6.])"),
]


@pytest.mark.parametrize("t, expected", REPRS, ids=[r for _, r in REPRS])
def test_repr_is_pytorchs(t, expected):
    assert repr(t) == expected


def test_repr_names_the_grad_fn_and_aligns_rows():
    x = tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert repr(x * x) == "tensor([[ 1.,  4.],\n        [ 9., 16.]], grad_fn=<MulBackward0>)"
    assert repr((x * x).sum()) == "tensor(30., grad_fn=<SumBackward0>)"


def test_a_suffix_that_would_pass_80_columns_gets_its_own_line():
    t = tensor(np.arange(9.0) / 8, requires_grad=True) * 1
    assert repr(t) == ("tensor([0.0000, 0.1250, 0.2500, 0.3750, 0.5000, 0.6250, 0.7500, 0.8750, 1.0000],\n"
                       "       grad_fn=<MulBackward0>)")


def test_repr_of_extreme_magnitudes_is_scientific_and_quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no numpy overflow warning from the format choice
        assert repr(tensor([1e300, 1e-300])) == "tensor([1.0000e+300, 1.0000e-300])"
        assert repr(tensor([1e9, -2.0])) == "tensor([ 1.0000e+09, -2.0000e+00])"
