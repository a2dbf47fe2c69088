"""Every row of the op table against central finite differences, driven by the table.

A row is tested by being in the table: its Domain lists the input shapes (and
attrs) to try, and the range to sample from.
"""
import numpy as np
import pytest

from gradcli.engine.backward import gradients
from gradcli.engine.tensor import Tensor
from gradcli.ops import LEAF, TABLE, Fn, Infix, Postfix, Prefix

DIFFERENTIABLE = [op for op in TABLE if op.syntax is not LEAF]
CASES = [pytest.param(op, shapes, attrs, id=f"{op.key}-{shapes}-{attrs}".replace(" ", ""))
         for op in DIFFERENTIABLE for shapes, attrs in op.domain.cases]


def sample(rng, op, shape):
    d = op.domain
    x = rng.uniform(d.lo, d.hi, size=shape)
    if d.away:
        x = np.where(np.abs(x) < d.away, np.copysign(d.away, x) + x, x)
    if d.shift and len(shape) >= 2 and shape[-1] == shape[-2]:
        x = x + d.shift * np.eye(shape[-1])
    return np.float64(x) if shape == () else x


def forward_dot(op, xs, attrs, g):
    """<forward(xs), g>: the scalar whose gradient the VJP computes."""
    return float(np.sum(op.forward(*xs, **attrs) * g))


def numeric_vjp(op, xs, attrs, g, i, h=1e-6):
    grad = np.zeros(np.shape(xs[i]))
    for idx in np.ndindex(grad.shape):
        step = h * max(1.0, abs(float(np.asarray(xs[i])[idx])))
        up = [np.array(x, dtype=float) for x in xs]
        down = [np.array(x, dtype=float) for x in xs]
        up[i][idx] += step
        down[i][idx] -= step
        grad[idx] = (forward_dot(op, up, attrs, g) - forward_dot(op, down, attrs, g)) / (2 * step)
    return grad


@pytest.mark.parametrize("op, shapes, attrs", CASES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vjp_matches_finite_differences(op, shapes, attrs, seed):
    rng = np.random.default_rng(seed)
    xs = [sample(rng, op, s) for s in shapes]
    leaves = [Tensor(x, requires_grad=True) for x in xs]
    out = getattr_op(op)(*leaves, **attrs)
    g = rng.normal(size=out.shape)
    grads = gradients(out, Tensor(g))
    for i, leaf in enumerate(leaves):
        numeric = numeric_vjp(op, xs, attrs, g, i)
        if not op.flows(i):         # no gradient flows (a comparison): constant away from its jumps
            assert leaf not in grads
            np.testing.assert_allclose(numeric, 0.0, atol=1e-7, err_msg=f"{op.key} input {i} is not constant")
            continue
        analytic = grads[leaf].data
        assert np.shape(analytic) == np.shape(xs[i]), f"gradient shape {np.shape(analytic)} != {np.shape(xs[i])}"
        np.testing.assert_allclose(
            analytic, numeric, rtol=1e-6, atol=1e-7,
            err_msg=f"{op.key} input {i} at {xs}: analytic {analytic} vs numeric {numeric}")


def getattr_op(op):
    from gradcli.ops import F
    return getattr(F, op.key)


@pytest.mark.parametrize("op", DIFFERENTIABLE, ids=lambda op: op.key)
def test_row_is_complete(op):
    assert op.grad_fn.endswith(("Backward0", "Backward1")), op.key
    assert op.symbol
    assert op.domain is not None and op.domain.cases
    grammar = [f for f in op.forms if isinstance(f, (Fn, Infix, Prefix, Postfix))]
    if grammar or op.key == "stack":
        assert op.sympy is not None, f"{op.key} is in the grammar but has no SymPy builder"
    if op.arity is not None:
        assert len(op.grads) == op.arity, f"{op.key}: one VJP rule per input"


def test_every_row_has_its_own_key():
    from gradcli.ops import OPS
    assert len(OPS) == len(TABLE), sorted(op.key for op in TABLE)


def test_every_grammar_function_has_a_row():
    from gradcli.lang.parser import FUNCTIONS
    expected = ("sin cos tan asin acos atan sinh cosh tanh exp log log2 log10 sqrt abs sigmoid relu "
                "softplus erf pow atan2 min max sum mean prod norm logsumexp dot matmul softmax transpose "
                "log1p expm1 exp2 asinh acosh atanh cbrt square erfc gelu elu silu softsign sinc hypot logaddexp "
                "leaky_relu clip floor ceil round trunc mod").split()
    missing = [name for name in expected if name not in FUNCTIONS and name != "pow"]
    assert not missing


# Non-differentiable points follow PyTorch's conventions.
@pytest.mark.parametrize("text, values, expected", [
    ("abs(x)", {"x": 0.0}, {"x": 0.0}),
    ("relu(x)", {"x": 0.0}, {"x": 0.0}),
    ("max(a, b)", {"a": 1.0, "b": 1.0}, {"a": 0.5, "b": 0.5}),
    ("min(a, b)", {"a": 2.0, "b": 2.0}, {"a": 0.5, "b": 0.5}),
    ("max(x)", {"x": [3.0, 1.0, 3.0]}, {"x": [0.5, 0.0, 0.5]}),
    ("min(x)", {"x": [1.0, 1.0, 1.0, 4.0]}, {"x": [1 / 3, 1 / 3, 1 / 3, 0.0]}),
    ("sqrt(x)", {"x": 0.0}, {"x": np.inf}),
    ("norm(x)", {"x": [0.0, 0.0]}, {"x": [0.0, 0.0]}),
    ("prod(x)", {"x": [2.0, 0.0, 3.0]}, {"x": [0.0, 6.0, 0.0]}),
    ("x^y", {"x": 0.0, "y": 2.0}, {"x": 0.0, "y": 0.0}),
])
def test_nondifferentiable_conventions(text, values, expected):
    from gradcli import evaluate
    result = evaluate(text, values)
    for name, want in expected.items():
        np.testing.assert_allclose(result.grad[name], want, rtol=1e-15, atol=0)


@pytest.mark.parametrize("x", [-800.0, -30.0, -1.0, 0.0, 1.0, 30.0, 800.0])
def test_sigmoid_and_softplus_are_stable(x):
    from gradcli import evaluate
    assert 0.0 <= evaluate("sigmoid(x)", {"x": x}).value <= 1.0
    assert np.isfinite(evaluate("softplus(x)", {"x": x}).value)
    assert np.isfinite(evaluate("logsumexp(x)", {"x": [x, x - 1.0]}).value)


def test_exact_values_at_known_points():
    from gradcli import evaluate
    assert evaluate("sigmoid(x)", {"x": 0}).value == 0.5
    assert evaluate("2^3^2", {}).value == 512.0
    assert evaluate("e", {}).value == np.e
    assert evaluate("softplus(x)", {"x": 0}).value == np.log(2)


SAVES_CASES = [pytest.param(op, shapes, attrs, id=f"{op.key}-{shapes}-{attrs}".replace(" ", ""))
               for op in DIFFERENTIABLE for shapes, attrs in op.domain.cases[:2]]


@pytest.mark.parametrize("op, shapes, attrs", SAVES_CASES)
def test_saves_declares_everything_the_vjp_reads(op, shapes, attrs):
    """Poison (with NaN) whatever a row says its VJP does not read: the gradient must not change."""
    rng = np.random.default_rng(7)
    xs = [sample(rng, op, s) for s in shapes]
    ans = op.forward(*xs, **attrs)
    g = rng.normal(size=np.shape(ans))
    for i in range(len(xs)):
        if not op.flows(i):
            continue
        want = op.vjp(i, g, ans, tuple(xs), attrs)
        saves = op.reads(i)
        poisoned = tuple(x if saves in ("inputs", "all") else np.full(np.shape(x), np.nan) for x in xs)
        if saves == "shape":
            poisoned = tuple(np.broadcast_to(np.float64(0.0), np.shape(x)) for x in xs)
        bad_ans = ans if saves in ("ans", "all") else np.full(np.shape(ans), np.nan)
        got = op.vjp(i, g, bad_ans, poisoned, attrs)
        np.testing.assert_array_equal(np.broadcast_to(got, np.shape(want)), want,
                                      err_msg=f"{op.key}: input {i}'s gradient reads more than {saves!r}")
