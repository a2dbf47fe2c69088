"""The elementwise functions of "More elementwise functions" in the op table: values and gradients
against independent references (math and numpy, with closed-form derivatives checked by finite
differences; PyTorch where it is installed), the conventions at their kinks, and the check's
verdicts through the CLI.

Only the comparisons with PyTorch need torch; each of them asks for it through the `torch`
fixture and is skipped without it, so the rest runs where only the test extras are installed."""
import math

import numpy as np
import pytest

import gradcli
from gradcli.check.cross import cross_check
from gradcli.engine.tensor import Tensor
from gradcli.ops import F

SQRT2, SQRT_2PI, LN2 = math.sqrt(2.0), math.sqrt(2 * math.pi), math.log(2.0)


@pytest.fixture
def torch():
    """PyTorch, for the tests that compare with it; skipped where it is not installed."""
    return pytest.importorskip("torch")


def engine(fn, *values, **attrs):
    """(value, gradients) of fn at the values, by gradcli's engine."""
    leaves = [Tensor(np.float64(v), requires_grad=True) for v in values]
    out = fn(*leaves, **attrs)
    out.backward()
    return float(out.data), [float(leaf.grad.data) for leaf in leaves]


def reference(torch, fn, *values):
    """(value, gradients) of fn at the values, by PyTorch in float64."""
    leaves = [torch.tensor(float(v), dtype=torch.float64, requires_grad=True) for v in values]
    out = fn(*leaves)
    out.backward()
    return out.item(), [leaf.grad.item() for leaf in leaves]


def central(f, x, h=1e-4):
    """f'(x) by the fourth-order central difference (error ~h^4 + eps/h, about 1e-11 here)."""
    return (-f(x + 2 * h) + 8 * f(x + h) - 8 * f(x - h) + f(x - 2 * h)) / (12 * h)


def one_sided(f, x, side, h=1e-5):
    """The one-sided derivative of f at x from the right (side = 1) or the left (side = -1), by
    the second-order difference on that side only (for a point where f'' jumps)."""
    h = side * h
    return (-3 * f(x) + 4 * f(x + h) - f(x + 2 * h)) / (2 * h)


def partials(f, a, b):
    """The two partial derivatives of f(a, b) by central differences."""
    return [central(lambda t: f(t, b), a), central(lambda t: f(a, t), b)]


def _gelu(x):
    return x * 0.5 * math.erfc(-x / SQRT2)                  # x*Phi(x), Phi(x) = erfc(-x/sqrt(2))/2


def _gelu_grad(x):
    return 0.5 * math.erfc(-x / SQRT2) + x * math.exp(-x * x / 2) / SQRT_2PI     # Phi(x) + x*phi(x)


def _sigmoid(x):
    return 1 / (1 + math.exp(-x))


# name: (value by math/numpy, its derivative in closed form, points, jumps, corners). At the jumps
# (a step's integers or half-integers) finite differences do not apply; the derivative there is the
# convention, 0, written in the closed form and asserted again, with the others, below. At the
# corners f' is continuous but f'' jumps: the derivative is checked by one-sided differences from
# each side, which must both agree with it.
UNARY = {
    "log1p": (math.log1p, lambda x: 1 / (1 + x), [-0.5, 1e-10, 0.3, 2.0], [], []),
    "expm1": (math.expm1, math.exp, [-2.0, 1e-10, 0.5, 3.0], [], []),
    "exp2": (lambda x: float(np.exp2(x)), lambda x: 2.0 ** x * LN2, [-1.5, 0.0, 0.5, 3.0], [], []),
    "asinh": (math.asinh, lambda x: 1 / math.sqrt(x * x + 1), [-2.0, 0.0, 0.5, 3.0], [], []),
    "acosh": (math.acosh, lambda x: 1 / math.sqrt(x * x - 1), [1.1, 1.5, 3.0], [], []),
    "atanh": (math.atanh, lambda x: 1 / (1 - x * x), [-0.9, 0.0, 0.5], [], []),
    "square": (lambda x: x * x, lambda x: 2 * x, [-1.5, 0.0, 2.0], [], []),
    "erfc": (math.erfc, lambda x: -2 / math.sqrt(math.pi) * math.exp(-x * x), [-2.0, 0.0, 0.5, 3.0], [], []),
    "gelu": (_gelu, _gelu_grad, [-3.0, -0.5, 0.0, 0.5, 2.0], [], []),
    "silu": (lambda x: x * _sigmoid(x), lambda x: _sigmoid(x) * (1 + x * (1 - _sigmoid(x))),
             [-4.0, 0.0, 0.5, 3.0], [], []),
    # elu (alpha = 1) and softsign have a continuous first derivative at 0 (their second jumps): the
    # one-sided differences from both sides give elu'(0) = softsign'(0) = 1.
    "elu": (lambda x: x if x > 0 else math.expm1(x), lambda x: 1.0 if x > 0 else math.exp(x),
            [-2.0, -0.1, 0.0, 0.1, 2.0], [], [0.0]),
    "softsign": (lambda x: x / (1 + abs(x)), lambda x: 1 / (1 + abs(x)) ** 2, [-2.0, -0.1, 0.0, 0.1, 2.0], [],
                 [0.0]),
    "sinc": (lambda x: float(np.sinc(x)),
             lambda x: 0.0 if x == 0 else (math.cos(math.pi * x) - float(np.sinc(x))) / x,
             [-1.5, -0.3, 0.0, 0.25, 1.0, 1.7], [], []),
    "cbrt": (lambda x: float(np.cbrt(x)), lambda x: 1 / (3 * float(np.cbrt(x)) ** 2), [-8.0, -0.3, 0.5, 27.0], [], []),
    "floor": (lambda x: float(np.floor(x)), lambda x: 0.0, [-1.5, -1.0, 0.3, 2.0], [-1.0, 2.0], []),
    "ceil": (lambda x: float(np.ceil(x)), lambda x: 0.0, [-1.5, -1.0, 0.3, 2.0], [-1.0, 2.0], []),
    "round": (lambda x: float(np.round(x)), lambda x: 0.0, [-2.5, -0.5, 0.5, 1.5, 2.4], [-2.5, -0.5, 0.5, 1.5], []),
    "trunc": (lambda x: float(np.trunc(x)), lambda x: 0.0, [-1.5, -1.0, 0.0, 0.7, 2.0], [-1.0, 2.0], []),
}


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_functions_match_math_and_numpy(name):
    value_of, grad_of, points, jumps, corners = UNARY[name]
    for x in points:
        value, (grad,) = engine(getattr(F, name), x)
        assert value == pytest.approx(value_of(x), rel=1e-14, abs=1e-300), (name, x)
        assert grad == pytest.approx(grad_of(x), rel=1e-13, abs=1e-15), (name, x)
        if x in jumps:
            continue
        # The closed form is the derivative of the reference, and so is gradcli's gradient.
        fds = [one_sided(value_of, x, 1), one_sided(value_of, x, -1)] if x in corners else [central(value_of, x)]
        for fd in fds:
            assert grad_of(x) == pytest.approx(fd, rel=1e-8, abs=1e-9), (name, x, "closed form")
            assert grad == pytest.approx(fd, rel=1e-8, abs=1e-9), (name, x, "finite differences")


# The same points against PyTorch, where it is installed.
TORCH_UNARY = {
    "log1p": lambda torch: torch.log1p, "expm1": lambda torch: torch.expm1, "exp2": lambda torch: torch.exp2,
    "asinh": lambda torch: torch.asinh, "acosh": lambda torch: torch.acosh, "atanh": lambda torch: torch.atanh,
    "square": lambda torch: torch.square, "erfc": lambda torch: torch.special.erfc,
    "gelu": lambda torch: torch.nn.functional.gelu, "elu": lambda torch: torch.nn.functional.elu,
    "silu": lambda torch: torch.nn.functional.silu, "softsign": lambda torch: torch.nn.functional.softsign,
    "sinc": lambda torch: torch.sinc, "floor": lambda torch: torch.floor, "ceil": lambda torch: torch.ceil,
    "round": lambda torch: torch.round, "trunc": lambda torch: torch.trunc,
}


@pytest.mark.parametrize("name", list(TORCH_UNARY))
def test_unary_functions_match_pytorch(torch, name):
    ref = TORCH_UNARY[name](torch)
    for x in UNARY[name][2]:
        value, (grad,) = engine(getattr(F, name), x)
        want, (want_grad,) = reference(torch, ref, x)
        assert value == pytest.approx(want, rel=1e-14, abs=1e-300), (name, x)
        assert grad == pytest.approx(want_grad, rel=1e-13, abs=1e-15), (name, x)


def test_cbrt_is_the_real_cube_root_with_an_infinite_slope_at_0():
    for x in [-8.0, -0.3, 0.5, 27.0]:
        value, (grad,) = engine(F.cbrt, x)
        want = math.copysign(abs(x) ** (1 / 3), x)
        assert value == pytest.approx(want, rel=1e-15)
        assert grad == pytest.approx(1 / (3 * want * want), rel=1e-14)
    assert engine(F.cbrt, 0.0) == (0.0, [math.inf])


def test_the_conventions_at_0_are_the_numbers_stated():
    assert engine(F.elu, 0.0) == (0.0, [1.0])              # elu'(0) = 1 from both sides
    assert engine(F.softsign, 0.0) == (0.0, [1.0])         # softsign'(0) = 1
    assert engine(F.sinc, 0.0) == (1.0, [0.0])             # sinc(0) = 1, sinc'(0) = 0 (the limit)
    assert engine(F.cbrt, 0.0) == (0.0, [math.inf])        # cbrt'(0) = inf
    assert engine(F.trunc, 0.0) == (0.0, [0.0])            # trunc is flat around 0
    for slope in [0.01, 0.2, 1.5]:
        assert engine(F.leaky_relu, 0.0, slope=slope) == (0.0, [slope])     # leaky_relu'(0) = slope


def test_gelu_is_the_exact_erf_form_not_the_tanh_one():
    x = 1.0
    exact = x * 0.5 * (1 + math.erf(x / math.sqrt(2)))
    assert engine(F.gelu, x)[0] == pytest.approx(exact, rel=1e-15)
    tanh_form = 0.5 * x * (1 + math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    assert abs(engine(F.gelu, x)[0] - tanh_form) > 1e-5


def test_gelu_is_not_pytorchs_tanh_approximation(torch):
    x = 1.0
    approx = reference(torch, lambda t: torch.nn.functional.gelu(t, approximate="tanh"), x)[0]
    assert abs(engine(F.gelu, x)[0] - approx) > 1e-5
    assert engine(F.gelu, x)[0] == pytest.approx(reference(torch, torch.nn.functional.gelu, x)[0], rel=1e-15)


# name: (value by math/numpy, its two partial derivatives in closed form, points).
BINARY = {
    "hypot": (math.hypot, lambda a, b: [a / math.hypot(a, b), b / math.hypot(a, b)],
              [(3.0, 4.0), (-1.0, 0.5), (0.0, 2.0)]),
    # d/da log(e^a + e^b) = sigmoid(a - b), written so that it neither overflows nor underflows.
    "logaddexp": (lambda a, b: float(np.logaddexp(a, b)), lambda a, b: [_sigmoid(a - b), _sigmoid(b - a)],
                  [(1.0, 2.0), (-800.0, -801.0), (700.0, 0.0), (0.0, 0.0)]),
    "mod": (lambda a, b: float(np.mod(a, b)), lambda a, b: [1.0, -math.floor(a / b)],
            [(5.5, 2.0), (-5.5, 2.0), (5.5, -2.0), (0.3, 0.7)]),
}


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_functions_match_math_and_numpy(name):
    value_of, grads_of, points = BINARY[name]
    for a, b in points:
        value, grads = engine(getattr(F, name), a, b)
        assert value == pytest.approx(value_of(a, b), rel=1e-14), (name, a, b)
        assert grads == pytest.approx(grads_of(a, b), rel=1e-13, abs=1e-15), (name, a, b)
        fd = partials(value_of, a, b)
        assert grads_of(a, b) == pytest.approx(fd, rel=1e-8, abs=1e-9), (name, a, b, "closed form")
        assert grads == pytest.approx(fd, rel=1e-8, abs=1e-9), (name, a, b, "finite differences")


@pytest.mark.parametrize("name, ref", [("hypot", "hypot"), ("logaddexp", "logaddexp"), ("mod", "remainder")])
def test_binary_functions_match_pytorch(torch, name, ref):
    for a, b in BINARY[name][2] + ([(4.0, 2.0)] if name == "mod" else []):
        value, grads = engine(getattr(F, name), a, b)
        want, want_grads = reference(torch, getattr(torch, ref), a, b)
        assert value == pytest.approx(want, rel=1e-14), (name, a, b)
        assert grads == pytest.approx(want_grads, rel=1e-13, abs=1e-15), (name, a, b)


def test_mod_is_numpys_with_the_sign_of_b():
    assert [float(F.mod(np.float64(a), np.float64(b))) for a, b in [(5.5, 2), (-5.5, 2), (5.5, -2)]] == \
        [float(np.mod(a, b)) for a, b in [(5.5, 2), (-5.5, 2), (5.5, -2)]] == [1.5, 0.5, -0.5]
    assert engine(F.mod, -5.5, 2.0)[1] == [1.0, 3.0]          # -floor(-2.75) = 3


def test_mod_where_b_divides_a_takes_the_formulas_gradients():
    # mod(4, 2) = 4 - 2*floor(4/2): the gradients of the formula, 1 and -floor(a/b) = -2 (PyTorch's).
    assert engine(F.mod, 4.0, 2.0) == (float(np.mod(4.0, 2.0)), [1.0, -2.0]) == (0.0, [1.0, -2.0])
    assert engine(F.mod, -6.0, 2.0) == (0.0, [1.0, 3.0])


def test_hypot_at_the_origin_is_nan():
    value, grads = engine(F.hypot, 0.0, 0.0)
    assert value == math.hypot(0.0, 0.0) == 0.0 and len(grads) == 2 and all(math.isnan(g) for g in grads)


def test_hypot_at_the_origin_is_nan_as_pytorch(torch):
    value, grads = engine(F.hypot, 0.0, 0.0)
    want, want_grads = reference(torch, torch.hypot, 0.0, 0.0)
    assert value == want == 0.0 and all(math.isnan(g) for g in grads + want_grads)


def _leaky_relu(x, slope):
    return max(x, 0.0) + slope * min(x, 0.0)


@pytest.mark.parametrize("slope", [0.01, 0.2, 1.5])
@pytest.mark.parametrize("x", [-2.0, -0.1, 0.0, 0.1, 2.0])
def test_leaky_relu_is_x_above_0_and_slope_x_at_or_below(x, slope):
    value, (grad,) = engine(F.leaky_relu, x, slope=slope)
    assert value == _leaky_relu(x, slope) and grad == (1.0 if x > 0 else slope)
    if x != 0.0:
        assert grad == pytest.approx(central(lambda t: _leaky_relu(t, slope), x, h=1e-3), rel=1e-9)
    if slope == 0.01:
        assert engine(F.leaky_relu, x) == (value, [grad])          # the default slope


@pytest.mark.parametrize("slope", [0.01, 0.2, 1.5])
@pytest.mark.parametrize("x", [-2.0, -0.1, 0.0, 0.1, 2.0])
def test_leaky_relu_matches_pytorch_at_0_too(torch, x, slope):
    value, (grad,) = engine(F.leaky_relu, x, slope=slope)
    want, (want_grad,) = reference(torch, lambda t: torch.nn.functional.leaky_relu(t, slope), x)
    assert value == want and grad == want_grad
    if x == 0.0:
        assert grad == slope


def test_leaky_relu_through_the_tensor_api():
    x = gradcli.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    out = x.leaky_relu(slope=0.2)
    assert out.grad_fn.name() == "LeakyReluBackward0" and out.tolist() == [-0.2, 0.0, 2.0]
    out.sum().backward()
    assert x.grad.tolist() == [0.2, 0.2, 1.0]


def test_clip_with_number_bounds_is_0_at_a_bound():
    points = [-2.0, -1.0, 0.5, 1.0, 3.0]
    x = gradcli.tensor(points, requires_grad=True)
    out = x.clip(lo=-1.0, hi=1.0)
    assert out.grad_fn.name() == "ClampBackward1" and out.tolist() == [-1.0, -1.0, 0.5, 1.0, 1.0]
    assert out.tolist() == np.clip(points, -1.0, 1.0).tolist()
    out.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]        # 1 strictly inside only: 0 at x = -1 and 1


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
    assert value == float(getattr(np, name)(jump)) and grad == 0.0


@pytest.mark.parametrize("name, jump", [("floor", 1.0), ("ceil", -2.0), ("round", 0.5), ("round", 2.5),
                                        ("trunc", -1.0)])
def test_steps_have_gradient_0_at_their_jumps_as_pytorch(torch, name, jump):
    value, (grad,) = engine(getattr(F, name), jump)
    want, (want_grad,) = reference(torch, getattr(torch, name), jump)
    assert value == want and grad == want_grad == 0.0


def test_round_is_half_to_even_as_numpy():
    halves = [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5]
    got = [float(F.round(np.float64(v))) for v in halves]
    assert got == [float(np.round(v)) for v in halves] == [-2.0, -2.0, -0.0, 0.0, 2.0, 2.0]
    assert [math.copysign(1, g) for g in got] == [math.copysign(1, v) for v in halves]      # -0.0 for -0.5
    assert got == [float(round(v)) for v in halves]         # Python's round is half to even too


def test_sinc_is_finite_at_0_with_gradient_0():
    assert engine(F.sinc, 0.0) == (1.0, [0.0])
    x = gradcli.tensor([0.0, 0.5], requires_grad=True)
    (g,) = gradcli.engine.backward.grad(x.sinc().sum(), [x], create_graph=True)
    assert g.tolist()[0] == 0.0 and math.isfinite(g.sum().item())
    assert g.tolist()[1] == pytest.approx(central(lambda t: float(np.sinc(t)), 0.5), rel=1e-9)


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
    # The check at their kinks, reached through the rows directly (the parser's syntax for them is
    # tested below, through the CLI).
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


def test_the_parser_chooses_the_rows_for_keywords_and_number_bounds():
    expr = gradcli.parse("leaky_relu(x, slope=0.2)")
    assert expr.op.key == "leaky_relu" and expr.kw == {"slope": 0.2}
    assert gradcli.parse("leaky_relu(x)").op.key == "leaky_relu"
    for head in ["clip", "clamp"]:
        expr = gradcli.parse(f"{head}(x, 0, 1)")           # number literals: the statics row
        assert expr.op.key == "clip" and expr.kw == {"lo": 0.0, "hi": 1.0}, head
        assert [a.op.key for a in expr.args] == ["var"], head
        assert gradcli.parse(f"{head}(x, -1, 1)").kw == {"lo": -1.0, "hi": 1.0}, head
        for text in [f"{head}(x, lo, hi)", f"{head}(x, lo, 1)", f"{head}(x, 0, hi)"]:
            expr = gradcli.parse(text)                     # a bound that is an expression: clip3
            assert expr.op.key == "clip3" and len(expr.args) == 3, text


def test_leaky_relu_keyword_through_the_cli(cli):
    r = cli("eval", "leaky_relu(x, slope=0.2)", "--x", "-1", "-f", "json")
    assert r.code == 0 and r.json["value"] == _leaky_relu(-1.0, 0.2) == -0.2
    assert r.json["grad"] == {"x": 0.2} and r.json["check"]["status"] == "ok"
    r = cli("eval", "leaky_relu(x, slope=0.2)", "--x", "0", "-f", "json")
    assert r.code == 0 and r.json["grad"] == {"x": 0.2} and r.json["check"]["status"] == "nondifferentiable"
    assert any("leaky_relu'(0) = slope" in c for c in r.json["check"]["conventions"])
    r = cli("eval", "leaky_relu(x, slope=0.2)", "--x", "0", "--tree", "-f", "json")
    assert [n["grad_fn"] for n in r.json["graph"] if n["op"] == "leaky_relu"] == ["LeakyReluBackward0"]


def test_clip_with_number_bounds_through_the_cli(cli):
    r = cli("eval", "clip(x, 0, 1)", "--x", "1", "-f", "json")
    assert r.code == 0 and r.json["value"] == float(np.clip(1.0, 0, 1))
    assert r.json["grad"] == {"x": 0.0} and r.json["check"]["status"] == "nondifferentiable"
    assert any("gradient 0 at a bound" in c for c in r.json["check"]["conventions"])
    r = cli("eval", "clamp(x, 0, 1)", "--x", "0.5", "-f", "json")
    assert r.json["grad"] == {"x": 1.0} and r.json["check"]["status"] == "ok"


@pytest.mark.parametrize("text, values, grad_fn", [
    ("clip(x, 0, 1)", {"x": 0.5}, "ClampBackward1"), ("clamp(x, -1, 1)", {"x": 0.5}, "ClampBackward1"),
    ("clip(x, lo, 1)", {"x": 0.5, "lo": 0}, "ClampBackward0"),
    ("clamp(x, lo, hi)", {"x": 0.5, "lo": 0, "hi": 1}, "ClampBackward0"),
])
def test_the_clip_row_chosen_shows_in_the_graph(cli, text, values, grad_fn):
    args = [a for name, v in values.items() for a in (f"--{name}", str(v))]
    r = cli("eval", text, *args, "--tree", "-f", "json")
    assert r.code == 0, r
    assert [n["grad_fn"] for n in r.json["graph"] if not n["is_leaf"]] == [grad_fn], r.json["graph"]
