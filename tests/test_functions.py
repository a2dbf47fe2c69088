"""The elementwise functions of "More elementwise functions" in the op table: values and gradients
against independent references (math, numpy, PyTorch), the conventions at their kinks, and the
check's verdicts through the CLI."""
import math

import numpy as np
import pytest

import gradcli
from gradcli.check.cross import cross_check
from gradcli.engine.tensor import Tensor
from gradcli.ops import F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def engine(fn, *values, **attrs):
    """(value, gradients) of fn at the values, by gradcli's engine."""
    leaves = [Tensor(np.float64(v), requires_grad=True) for v in values]
    out = fn(*leaves, **attrs)
    out.backward()
    return float(out.data), [float(leaf.grad.data) for leaf in leaves]


def reference(fn, *values):
    """(value, gradients) of fn at the values, by PyTorch in float64."""
    leaves = [torch.tensor(float(v), dtype=torch.float64, requires_grad=True) for v in values]
    out = fn(*leaves)
    out.backward()
    return out.item(), [leaf.grad.item() for leaf in leaves]


UNARY = [
    ("log1p", torch.log1p, [-0.5, 1e-10, 0.3, 2.0]),
    ("expm1", torch.expm1, [-2.0, 1e-10, 0.5, 3.0]),
    ("exp2", torch.exp2, [-1.5, 0.0, 0.5, 3.0]),
    ("asinh", torch.asinh, [-2.0, 0.0, 0.5, 3.0]),
    ("acosh", torch.acosh, [1.1, 1.5, 3.0]),
    ("atanh", torch.atanh, [-0.9, 0.0, 0.5]),
    ("square", torch.square, [-1.5, 0.0, 2.0]),
    ("erfc", torch.special.erfc, [-2.0, 0.0, 0.5, 3.0]),
    ("gelu", TF.gelu, [-3.0, -0.5, 0.0, 0.5, 2.0]),
    ("elu", TF.elu, [-2.0, -0.1, 0.0, 0.1, 2.0]),
    ("silu", TF.silu, [-4.0, 0.0, 0.5, 3.0]),
    ("softsign", TF.softsign, [-2.0, -0.1, 0.0, 0.1, 2.0]),
    ("sinc", torch.sinc, [-1.5, -0.3, 0.0, 0.25, 1.0, 1.7]),
    ("floor", torch.floor, [-1.5, -1.0, 0.3, 2.0]),
    ("ceil", torch.ceil, [-1.5, -1.0, 0.3, 2.0]),
    ("round", torch.round, [-2.5, -0.5, 0.5, 1.5, 2.4]),
    ("trunc", torch.trunc, [-1.5, -1.0, 0.0, 0.7, 2.0]),
]


@pytest.mark.parametrize("name, ref, points", UNARY, ids=[u[0] for u in UNARY])
def test_unary_functions_match_pytorch(name, ref, points):
    for x in points:
        value, (grad,) = engine(getattr(F, name), x)
        want, (want_grad,) = reference(ref, x)
        assert value == pytest.approx(want, rel=1e-14, abs=1e-300), (name, x)
        assert grad == pytest.approx(want_grad, rel=1e-13, abs=1e-15), (name, x)


def test_cbrt_is_the_real_cube_root_with_an_infinite_slope_at_0():
    for x in [-8.0, -0.3, 0.5, 27.0]:
        value, (grad,) = engine(F.cbrt, x)
        want = math.copysign(abs(x) ** (1 / 3), x)
        assert value == pytest.approx(want, rel=1e-15)
        assert grad == pytest.approx(1 / (3 * want * want), rel=1e-14)
    assert engine(F.cbrt, 0.0) == (0.0, [math.inf])


def test_gelu_is_the_exact_erf_form_not_the_tanh_one():
    x = 1.0
    exact = x * 0.5 * (1 + math.erf(x / math.sqrt(2)))
    assert engine(F.gelu, x)[0] == pytest.approx(exact, rel=1e-15)
    approx = reference(lambda t: TF.gelu(t, approximate="tanh"), x)[0]
    assert abs(engine(F.gelu, x)[0] - approx) > 1e-5


@pytest.mark.parametrize("name, ref, points", [
    ("hypot", torch.hypot, [(3.0, 4.0), (-1.0, 0.5), (0.0, 2.0)]),
    ("logaddexp", torch.logaddexp, [(1.0, 2.0), (-800.0, -801.0), (700.0, 0.0), (0.0, 0.0)]),
    ("mod", torch.remainder, [(5.5, 2.0), (-5.5, 2.0), (5.5, -2.0), (0.3, 0.7), (4.0, 2.0)]),
])
def test_binary_functions_match_pytorch(name, ref, points):
    for a, b in points:
        value, grads = engine(getattr(F, name), a, b)
        want, want_grads = reference(ref, a, b)
        assert value == pytest.approx(want, rel=1e-14), (name, a, b)
        assert grads == pytest.approx(want_grads, rel=1e-13, abs=1e-15), (name, a, b)


def test_mod_is_numpys_with_the_sign_of_b():
    assert [float(F.mod(np.float64(a), np.float64(b))) for a, b in [(5.5, 2), (-5.5, 2), (5.5, -2)]] == \
        [float(np.mod(a, b)) for a, b in [(5.5, 2), (-5.5, 2), (5.5, -2)]] == [1.5, 0.5, -0.5]
    assert engine(F.mod, -5.5, 2.0)[1] == [1.0, 3.0]          # -floor(-2.75) = 3


def test_hypot_at_the_origin_is_nan_as_pytorch():
    value, grads = engine(F.hypot, 0.0, 0.0)
    want, want_grads = reference(torch.hypot, 0.0, 0.0)
    assert value == want == 0.0 and all(math.isnan(g) for g in grads + want_grads)


@pytest.mark.parametrize("slope", [0.01, 0.2, 1.5])
@pytest.mark.parametrize("x", [-2.0, -0.1, 0.0, 0.1, 2.0])
def test_leaky_relu_matches_pytorch_at_0_too(x, slope):
    value, (grad,) = engine(F.leaky_relu, x, slope=slope)
    want, (want_grad,) = reference(lambda t: TF.leaky_relu(t, slope), x)
    assert value == want and grad == want_grad
    if slope == 0.01:
        assert engine(F.leaky_relu, x) == (value, [grad])          # the default slope
    if x == 0.0:
        assert grad == slope


def test_leaky_relu_through_the_tensor_api():
    x = gradcli.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    out = x.leaky_relu(slope=0.2)
    assert out.grad_fn.name() == "LeakyReluBackward0" and out.tolist() == [-0.2, 0.0, 2.0]
    out.sum().backward()
    assert x.grad.tolist() == [0.2, 0.2, 1.0]


def test_clip_with_number_bounds_is_0_at_a_bound():
    x = gradcli.tensor([-2.0, -1.0, 0.5, 1.0, 3.0], requires_grad=True)
    out = x.clip(lo=-1.0, hi=1.0)
    assert out.grad_fn.name() == "ClampBackward1" and out.tolist() == [-1.0, -1.0, 0.5, 1.0, 1.0]
    out.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]


def test_clip_with_expression_bounds_splits_a_tie_evenly():
    for x, lo, hi, want in [(0.5, 0.0, 1.0, [1.0, 0.0, 0.0]), (-1.0, 0.0, 1.0, [0.0, 1.0, 0.0]),
                            (2.0, 0.0, 1.0, [0.0, 0.0, 1.0]), (0.0, 0.0, 1.0, [0.5, 0.5, 0.0]),
                            (1.0, 0.0, 1.0, [0.5, 0.0, 0.5]), (0.0, 2.0, 1.0, [0.0, 0.0, 1.0])]:
        value, grads = engine(F.clip3, x, lo, hi)
        assert value == min(max(x, lo), hi) and grads == want, (x, lo, hi)
    assert gradcli.clip(gradcli.tensor(0.5), gradcli.tensor(0.0), gradcli.tensor(1.0)).grad_fn is None


@pytest.mark.parametrize("name, jump", [("floor", 1.0), ("ceil", -2.0), ("round", 0.5), ("round", 2.5),
                                        ("trunc", -1.0)])
def test_steps_have_gradient_0_at_their_jumps(name, jump):
    value, (grad,) = engine(getattr(F, name), jump)
    want, (want_grad,) = reference(getattr(torch, name), jump)
    assert value == want and grad == want_grad == 0.0


def test_round_is_half_to_even_as_numpy():
    assert [float(F.round(np.float64(v))) for v in [-1.5, -0.5, 0.5, 1.5, 2.5]] == [-2.0, -0.0, 0.0, 2.0, 2.0]


def test_sinc_is_finite_at_0_with_gradient_0():
    assert engine(F.sinc, 0.0) == (1.0, [0.0])
    x = gradcli.tensor([0.0, 0.5], requires_grad=True)
    (g,) = gradcli.engine.backward.grad(x.sinc().sum(), [x], create_graph=True)
    assert g.tolist()[0] == 0.0 and math.isfinite(g.sum().item())


# -- through the CLI: the check's verdicts ---------------------------------------------------------
@pytest.mark.parametrize("text, values", [
    ("gelu(x)", {"x": 0.5}), ("log1p(x)", {"x": 0.3}), ("expm1(x)", {"x": -0.7}), ("exp2(x)", {"x": 1.5}),
    ("asinh(x)", {"x": -1.2}), ("acosh(x)", {"x": 2.0}), ("atanh(x)", {"x": 0.4}), ("cbrt(x)", {"x": -0.6}),
    ("square(x)", {"x": 1.7}), ("erfc(x)", {"x": 0.8}), ("elu(x)", {"x": -0.4}), ("elu(x)", {"x": 0}),
    ("silu(x)", {"x": 1.1}), ("softsign(x)", {"x": -0.9}), ("softsign(x)", {"x": 0}), ("sinc(x)", {"x": 0.3}),
    ("sinc(x)", {"x": 0}), ("hypot(a, b)", {"a": 3, "b": -4}), ("logaddexp(a, b)", {"a": 0.5, "b": -1}),
    ("floor(x) * x", {"x": 1.5}), ("ceil(x) * x", {"x": 1.5}), ("round(x) * x", {"x": 1.2}),
    ("trunc(x) * x", {"x": -1.5}), ("mod(a, b)", {"a": 5.5, "b": 2}), ("mod(a, b)", {"a": -1.3, "b": 0.7}),
    ("clip(x, lo, hi)", {"x": 0.5, "lo": 0, "hi": 1}), ("clip(x, lo, hi)", {"x": 2, "lo": 0, "hi": 1}),
    ("clip(x, 0, 1)", {"x": -0.5}),
])
def test_the_check_is_ok_at_smooth_points(cli, text, values):
    args = [a for name, v in values.items() for a in (f"--{name}", str(v))]
    r = cli("eval", text, *args, "-f", "json")
    assert r.code == 0 and r.json["check"]["status"] == "ok", r.json["check"]


@pytest.mark.parametrize("text, values, convention", [
    ("cbrt(x)", {"x": 0}, "cbrt'(0) = inf"),
    ("floor(x) * x", {"x": 2}, "floor'(x) = 0 at an integer x"),
    ("ceil(x)", {"x": -1}, "ceil'(x) = 0 at an integer x"),
    ("round(x)", {"x": 2.5}, "round'(x) = 0 at a half-integer x"),
    ("trunc(x)", {"x": 1}, "trunc'(x) = 0 at a nonzero integer x"),
    ("mod(a, b)", {"a": 4, "b": 2}, "mod(a, b) where a/b is an integer"),
    ("hypot(a, b)", {"a": 0, "b": 0}, "hypot(a, b) at a = b = 0: gradient nan"),
])
def test_the_check_names_the_convention_at_a_kink(cli, text, values, convention):
    args = [a for name, v in values.items() for a in (f"--{name}", str(v))]
    r = cli("eval", text, *args, "-f", "json")
    check = r.json["check"]
    assert r.code == 0 and check["status"] == "nondifferentiable", check
    assert any(convention in c for c in check["conventions"]), check["conventions"]


def test_clip_with_expression_bounds_at_a_tie_through_the_cli(cli):
    # SymPy's derivative at a tie is Heaviside(0) = 1/2, which is the even split: the check agrees
    # (as for max(a, b) at a = b), and the tie is noted only where a formula disagrees.
    r = cli("eval", "clip(x, lo, hi)", "--x", "0", "--lo", "0", "--hi", "1", "-f", "json")
    assert r.json["grad"] == {"x": 0.5, "lo": 0.5, "hi": 0.0} and r.json["check"]["status"] == "ok"
    r = cli("eval", "clip(x, lo, hi)", "--x", "1", "--lo", "0", "--hi", "1", "-f", "json")
    assert r.json["grad"] == {"x": 0.5, "lo": 0.0, "hi": 0.5} and r.json["check"]["status"] == "ok"


def test_leaky_relu_and_number_bounded_clip_checks_by_the_api():
    # The check at their kinks, reached through the rows (their keyword and literal syntax comes with
    # the parser).
    from gradcli.errors import Span
    from gradcli.lang.expr import Builder
    from gradcli.ops import OPS
    for key, attrs, x, want_grad, convention in [
            ("leaky_relu", {"slope": 0.2}, 0.0, 0.2, "leaky_relu'(0) = slope"),
            ("clip", {"lo": 0.0, "hi": 1.0}, 1.0, 0.0, "clip(x, lo, hi) with number bounds: gradient 0 at a bound"),
            ("clip", {"lo": 0.0, "hi": 1.0}, 0.5, 1.0, None), ("leaky_relu", {"slope": 0.2}, -1.0, 0.2, None)]:
        build = Builder("")
        var = build.make(OPS["var"], (), Span(0, 0), name="x")
        expr = build.make(OPS[key], (var,), Span(0, 0), **attrs)
        result = gradcli.evaluate(expr, {"x": x})
        assert result.grad["x"] == want_grad
        check = cross_check(result)
        if convention is None:
            assert check.status == "ok", check
        else:
            assert check.status == "nondifferentiable" and any(convention in c for c in check.conventions), check


@pytest.mark.skip(reason="keyword syntax lands with the parser")
def test_leaky_relu_keyword_through_the_cli(cli):
    r = cli("eval", "leaky_relu(x, slope=0.2)", "--x", "-1", "-f", "json")
    assert r.json["value"] == -0.2 and r.json["grad"] == {"x": 0.2} and r.json["check"]["status"] == "ok"
    r = cli("eval", "leaky_relu(x, slope=0.2)", "--x", "0", "-f", "json")
    assert r.json["grad"] == {"x": 0.2} and r.json["check"]["status"] == "nondifferentiable"


@pytest.mark.skip(reason="number-bound clip (the statics row) is chosen by the parser")
def test_clip_with_number_bounds_through_the_cli(cli):
    r = cli("eval", "clip(x, 0, 1)", "--x", "1", "-f", "json")
    assert r.json["grad"] == {"x": 0.0} and r.json["check"]["status"] == "nondifferentiable"
    assert any("gradient 0 at a bound" in c for c in r.json["check"]["conventions"])
