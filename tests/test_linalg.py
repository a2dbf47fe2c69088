"""Linear algebra (ops/linalg.py and batched matmul): values against numpy at known points,
gradients against finite differences of numpy and against PyTorch, batched matmul, singular
matrices and shape errors through the CLI."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gradcli
from gradcli.ops import OPS
from gradcli.ops import linalg as la

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100", "TERM": "dumb"}
TRACEBACK = "Traceback (most recent call last)"


def run(*args):
    proc = subprocess.run([sys.executable, "-m", "gradcli", *args], cwd=ROOT, capture_output=True, text=True,
                          env=ENV, timeout=120)
    assert TRACEBACK not in proc.stdout + proc.stderr, proc.stderr
    return proc


def invertible(rng, *shape):
    return rng.uniform(-1, 1, size=shape) + 3 * np.eye(shape[-1])


# -- values at known points -----------------------------------------------------------------------
M = np.array([[1.0, 2.0], [3.0, 4.0]])


@pytest.mark.parametrize("text, values, want", [
    ("det(M)", {"M": M}, -2.0),
    ("inv(M)", {"M": M}, [[-2.0, 1.0], [1.5, -0.5]]),
    ("solve(M, b)", {"M": M, "b": [5.0, 6.0]}, [-4.0, 4.5]),
    ("solve(M, B)", {"M": M, "B": [[5.0], [6.0]]}, [[-4.0], [4.5]]),
    ("logdet(M)", {"M": M}, np.log(2.0)),                          # log|det|: det is -2
    ("cross(a, b)", {"a": [1.0, 0.0, 0.0], "b": [0.0, 1.0, 0.0]}, [0.0, 0.0, 1.0]),
    ("kron(a, b)", {"a": [1.0, 2.0], "b": [1.0, 10.0, 100.0]}, [1.0, 10.0, 100.0, 2.0, 20.0, 200.0]),
    ("kron(M, N)", {"M": M, "N": np.eye(2)}, np.kron(M, np.eye(2))),
    ("det(S)", {"S": [M, 2 * M]}, [-2.0, -8.0]),
    ("A @ B", {"A": np.ones((2, 2, 3)), "B": np.ones((3, 4))}, np.full((2, 2, 4), 3.0)),
])
def test_values_at_known_points(text, values, want):
    np.testing.assert_allclose(gradcli.evaluate(text, values, grad=False).value, want, rtol=1e-14, atol=1e-14)


def test_forwards_equal_numpy_on_stacks():
    rng = np.random.default_rng(0)
    a, b = invertible(rng, 2, 3, 3, 3), rng.normal(size=(2, 3, 3, 2))
    np.testing.assert_allclose(la.det(a), np.linalg.det(a), rtol=1e-14)
    np.testing.assert_allclose(la.inv(a), np.linalg.inv(a), rtol=1e-14)
    np.testing.assert_allclose(la.solve(a, b), np.linalg.solve(a, b), rtol=1e-14)
    np.testing.assert_allclose(la.logdet(a), np.linalg.slogdet(a)[1], rtol=1e-14)
    u, v = rng.normal(size=(4, 3)), rng.normal(size=(3,))
    np.testing.assert_array_equal(la.cross(u, v), np.cross(u, v))


# -- gradients: central differences of numpy's functions, independent of gradcli -------------------
def numeric_grad(f, xs, i, h=1e-6):
    out = np.zeros(np.shape(xs[i]))
    for idx in np.ndindex(out.shape):
        up, down = [np.array(x, dtype=float) for x in xs], [np.array(x, dtype=float) for x in xs]
        up[i][idx] += h
        down[i][idx] -= h
        out[idx] = (f(*up) - f(*down)) / (2 * h)
    return out


NUMPY = {
    "det": np.linalg.det, "inv": np.linalg.inv, "solve": np.linalg.solve,
    "logdet": lambda m: np.linalg.slogdet(m)[1], "cross": np.cross, "kron": np.kron, "matmul": np.matmul,
}


@pytest.mark.parametrize("key, shapes", [
    ("det", [(3, 3)]), ("det", [(2, 2, 2)]), ("inv", [(3, 3)]), ("inv", [(2, 1, 2, 2)]),
    ("solve", [(3, 3), (3,)]), ("solve", [(2, 3, 3), (3, 2)]), ("solve", [(2, 3, 3), (3,)]),
    ("logdet", [(3, 3)]), ("logdet", [(2, 2, 2)]), ("cross", [(2, 3), (3,)]), ("kron", [(2, 3), (2, 2)]),
    ("kron", [(2,), (3,)]), ("matmul", [(2, 2, 3), (2, 3, 4)]), ("matmul", [(2, 1, 2, 3), (3, 3, 2)]),
    ("matmul", [(3,), (2, 3, 4)]), ("matmul", [(2, 2, 3), (3,)]),
])
def test_gradients_equal_finite_differences_of_numpy(key, shapes):
    rng = np.random.default_rng(1)
    xs = [invertible(rng, *s) if len(s) >= 2 and s[-1] == s[-2] else rng.normal(size=s) for s in shapes]
    names = [f"x{i}" for i in range(len(xs))]
    w = rng.normal(size=np.shape(NUMPY[key](*xs)))
    result = gradcli.evaluate(f"{key}({', '.join(names)})", dict(zip(names, xs)), grad_output=w)
    for i, name in enumerate(names):
        want = numeric_grad(lambda *v: np.sum(w * NUMPY[key](*v)), xs, i)
        np.testing.assert_allclose(result.grad[name], want, rtol=1e-6, atol=1e-8, err_msg=f"{key} d/d{name}")


def test_det_and_logdet_gradients_are_the_closed_forms():
    # HIPS autograd: d det = det * inv^T; d log|det| = inv^T (for a negative det too)
    m = np.array([[1.0, 2.0, 0.5], [3.0, 4.0, 1.0], [0.0, 1.0, 2.0]])
    assert np.linalg.det(m) < 0
    np.testing.assert_allclose(gradcli.evaluate("det(M)", {"M": m}).grad["M"], np.linalg.det(m) * np.linalg.inv(m).T,
                               rtol=1e-13)
    np.testing.assert_allclose(gradcli.evaluate("logdet(M)", {"M": m}).grad["M"], np.linalg.inv(m).T, rtol=1e-13)


def test_gradients_equal_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    a, b, u, v = invertible(rng, 2, 3, 3), rng.normal(size=(2, 3, 2)), rng.normal(size=(2, 3)), rng.normal(size=3)
    p, q = rng.normal(size=(2, 3)), rng.normal(size=(3, 2))
    cases = [
        ("det(A)", {"A": a}, lambda t: torch.linalg.det(t["A"])),
        ("inv(A)", {"A": a}, lambda t: torch.linalg.inv(t["A"])),
        ("solve(A, B)", {"A": a, "B": b}, lambda t: torch.linalg.solve(t["A"], t["B"])),
        ("logdet(A)", {"A": a}, lambda t: torch.linalg.slogdet(t["A"])[1]),
        ("cross(u, v)", {"u": u, "v": v}, lambda t: torch.linalg.cross(t["u"], t["v"].expand(2, 3))),
        ("kron(P, Q)", {"P": p, "Q": q}, lambda t: torch.kron(t["P"], t["Q"])),
        ("A @ B", {"A": a, "B": b}, lambda t: t["A"] @ t["B"]),
    ]
    for text, values, fn in cases:
        ts = {n: torch.tensor(x, dtype=torch.float64, requires_grad=True) for n, x in values.items()}
        out = fn(ts)
        w = rng.normal(size=tuple(out.shape))
        (out * torch.tensor(w)).sum().backward()
        result = gradcli.evaluate(text, values, grad_output=w)
        np.testing.assert_allclose(result.value, out.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=text)
        for n in values:
            np.testing.assert_allclose(result.grad[n], ts[n].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=f"{text} d/d{n}")


def test_grad_fn_names_are_pytorch_names():
    assert [OPS[k].grad_fn for k in ("det", "inv", "solve", "logdet", "cross", "kron")] == [
        "LinalgDetBackward0", "LinalgInvExBackward0", "LinalgSolveExBackward0", "LinalgSlogdetBackward0",
        "LinalgCrossBackward0", "KronBackward0"]


# -- batched matmul through the CLI ---------------------------------------------------------------
def test_batched_matmul_at_the_cli():
    a = np.array([[[1, 2], [3, 4]], [[5, 6], [7, 8]]], dtype=float)
    b = np.array([[[1, 0], [2, 1]], [[0, 3], [1, 1]]], dtype=float)
    proc = run("eval", "sum(A @ B)", "--A", json.dumps(a.tolist()), "--B", json.dumps(b.tolist()), "-f", "json")
    assert proc.returncode == 0, proc.stderr
    rec = json.loads(proc.stdout)
    assert rec["value"] == np.sum(a @ b)
    ones = np.ones((2, 2, 2))
    np.testing.assert_array_equal(rec["grad"]["A"], ones @ np.swapaxes(b, -1, -2))
    np.testing.assert_array_equal(rec["grad"]["B"], np.swapaxes(a, -1, -2) @ ones)
    assert rec["check"]["status"] == "ok"


def test_broadcast_batch_axes_sum_back_to_each_input():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(2, 1, 2, 3)), rng.normal(size=(3, 3, 2))
    grad = gradcli.evaluate("sum(A @ B)", {"A": a, "B": b}).grad
    assert grad["A"].shape == a.shape and grad["B"].shape == b.shape
    np.testing.assert_allclose(grad["A"], np.broadcast_to(np.sum(b, axis=(0, 2)), a.shape), rtol=1e-14)
    np.testing.assert_allclose(grad["B"], np.broadcast_to(np.sum(a, axis=(0, 1, 2))[:, None], b.shape),
                               rtol=1e-14)


# -- singular matrices: IEEE values, never an exception -------------------------------------------
SINGULAR = np.array([[1.0, 2.0], [2.0, 4.0]])


def test_singular_matrix_at_the_cli_gives_non_finite_values():
    proc = run("eval", "sum(inv(M))", "--M", "[[1,2],[2,4]]", "-f", "json")
    assert proc.returncode == 0, proc.stderr
    rec = json.loads(proc.stdout)
    assert rec["value"] in ("nan", "inf", "-inf")
    assert all(v in ("nan", "inf", "-inf") for row in rec["grad"]["M"] for v in row)


def test_singular_matrices_conventions():
    assert la.det(SINGULAR) == 0.0
    assert la.logdet(SINGULAR) == -np.inf
    np.testing.assert_array_equal(la.inv(SINGULAR), [[np.inf, -np.inf], [-np.inf, np.inf]])     # adj / 0
    np.testing.assert_array_equal(la.inv(np.zeros((2, 2))), np.full((2, 2), np.nan))           # 0 / 0
    np.testing.assert_array_equal(la.inv(np.zeros((1, 1))), [[np.inf]])                        # 1 / 0
    x = la.solve(SINGULAR, np.array([1.0, 1.0]))                                               # adj @ b / 0
    np.testing.assert_array_equal(x, [np.inf, -np.inf])
    assert np.all(np.isnan(la.solve(SINGULAR, np.array([1.0, 2.0]))))                          # adj @ b = 0
    # in a stack, the other matrices are inverted as usual
    stack = la.inv(np.stack([M, SINGULAR]))
    np.testing.assert_allclose(stack[0], np.linalg.inv(M), rtol=1e-15)
    assert not np.any(np.isfinite(stack[1]))
    xs = la.solve(np.stack([M, SINGULAR]), np.array([[1.0], [1.0]]))
    np.testing.assert_allclose(xs[0], np.linalg.solve(M, [[1.0], [1.0]]), rtol=1e-15)
    assert not np.any(np.isfinite(xs[1]))


def test_det_gradient_at_a_singular_matrix_is_the_cofactors():
    result = gradcli.evaluate("det(M)", {"M": SINGULAR})
    np.testing.assert_array_equal(result.grad["M"], [[4.0, -2.0], [-2.0, 1.0]])
    proc = run("eval", "det(M)", "--M", "[[1,2],[2,4]]", "-f", "json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["check"]["status"] == "ok"


def test_det_differentiates_twice_at_a_singular_matrix():
    # the cofactors there are a polynomial in M (Faddeev-LeVerrier), recorded like any rule
    from gradcli.derivatives import hessian
    from gradcli.ops import F
    rng = np.random.default_rng(4)
    m = rng.normal(size=(2, 4, 4))
    np.testing.assert_allclose(la.adjugate(F, m), np.linalg.det(m)[..., None, None] * np.linalg.inv(m), rtol=1e-12)
    h = hessian("det(M)", {"M": SINGULAR}).hessian              # d2 det / dM[i,j] dM[k,l] for 2x2
    np.testing.assert_array_equal(h, [[0, 0, 0, 1], [0, 0, -1, 0], [0, -1, 0, 0], [1, 0, 0, 0]])
    proc = run("hessian", "det(M)", "--M", "[[1,2,3],[2,4,6],[1,1,1]]", "-f", "json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["check"]["status"] == "ok"


def test_singular_predicate():
    assert la.singular(SINGULAR) and la.singular(np.zeros((3, 3)))
    assert la.singular(np.array([[1.0, 2, 3], [4, 5, 6], [7, 8, 9]]))          # det 6.7e-16, cond 1e17
    assert la.singular(np.stack([np.eye(2), SINGULAR]), np.ones(2))
    assert not la.singular(M) and not la.singular(np.eye(3)) and not la.singular(np.stack([M, np.eye(2)]))
    assert not la.singular(np.ones(3)) and not la.singular(np.ones((2, 3)))
    assert not la.singular(np.full((2, 2), np.nan))


# -- shape errors: exit 2, a message, a caret -----------------------------------------------------
@pytest.mark.parametrize("args, message", [
    (["det(M)", "--M", "[[1,2,3],[4,5,6]]"], "det takes a square matrix or a stack of them: shape (2, 3) is not square"),
    (["inv(v)", "--v", "1,2"], "inv takes a square matrix or a stack of them: shape (2,) is not a matrix"),
    (["logdet(M)", "--M", "[[1,2,3],[4,5,6]]"], "logdet takes a square matrix"),
    (["sum(solve(A, b))", "--A", "[[2,1],[1,3]]", "--b", "1,2,3"], "A is 2x2 but b has 3 elements"),
    (["sum(solve(A, B))", "--A", "[[2,1],[1,3]]", "--B", "[[1,2,3]]"], "A is 2x2 but b's rows number 1"),
    (["sum(cross(a, b))", "--a", "1,2", "--b", "3,4"], "cross takes 3-vectors along the last axis"),
    (["sum(kron(a, B))", "--a", "1,2", "--B", "[[1,2],[3,4]]"], "kron takes two vectors or two matrices"),
    (["sum(A @ B)", "--A", "[[[1,2]],[[3,4]],[[5,6]]]", "--B", "[[[1],[2]],[[3],[4]]]"], "do not fit '@'"),
])
def test_shape_errors_at_the_cli(args, message):
    proc = run("eval", *args)
    assert proc.returncode == 2, proc
    assert message in proc.stderr and "^" in proc.stderr, proc.stderr
