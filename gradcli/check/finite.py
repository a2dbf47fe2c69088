"""The finite-difference reference, for arrays too large for per-element symbols: the engine's
gradient along random directions against central differences of the output (Richardson
extrapolated), first along directions in the space of all the variables at once."""
from __future__ import annotations

import math

import numpy as np

from gradcli.check.deadline import CheckTimeout, deadline
from gradcli.check.policy import Check
from gradcli.check.verdict import all_finite, decide, explain, singular

FD_DIRECTIONS = 3
FD_RTOL = 1e-6              # what central differences with Richardson extrapolation can promise


def finite_difference_check(result, *, rtol: float, atol: float, seed: int = 0,
                            timeout: float | None = None) -> Check:
    """<grad, v> against central differences of the output along random directions v: first in
    the space of all the differentiated variables at once (a few evaluations however many there
    are), and variable by variable only where that disagrees, to say which. Within `timeout`."""
    tol = max(rtol, FD_RTOL)
    if not all_finite(result.value):           # no finite derivative to compare with
        return Check("nondifferentiable", "finite-difference", None, None, {}, {n: False for n in result.wrt},
                     reason="the point is not differentiable", conventions=singular([], result.value),
                     rtol=tol, atol=atol)
    rng = np.random.default_rng(seed)
    try:
        with deadline(timeout):
            ok, worst, _ = _directions(result, result.wrt, rng, tol, atol)
            agree = dict.fromkeys(result.wrt, True)
            sided = {}                  # name -> its disagreement is a jump or a kink (one-sided slopes)
            if not ok:
                for name in result.wrt:
                    agree[name], err, sided[name] = _directions(result, [name], rng, tol, atol)
                    worst = max(worst, err)
    except CheckTimeout as exc:
        return Check("timeout", "finite-difference", reason=f"{exc}; raise --check-timeout to wait longer",
                     rtol=tol, atol=atol)
    check = Check("ok", "finite-difference", worst, None, {}, agree, rtol=tol, atol=atol)
    if not all(agree.values()):
        bad = [n for n, ok in agree.items() if not ok]
        conventions = explain(result, [(result.grad[n], 0.0) for n in bad], result.value)
        if not conventions and all(sided.get(n) for n in bad):
            conventions = [ONE_SIDED]
        decide(check, conventions, [], bad, "finite differences")
    return check


ONE_SIDED = ("the expression's one-sided derivatives differ here (it jumps or bends, as a < asin(a) at "
             "a = 1, where asin stops being real), and the engine's gradient is one of them")


def _directions(result, names: list, rng, tol: float, atol: float) -> tuple[bool, float, bool]:
    """Whether the engine's gradient along FD_DIRECTIONS random directions in the space of `names`
    matches central differences, the largest error, and whether a disagreement is at a point
    where the two one-sided derivatives differ and the engine's is one of them."""
    from gradcli.evaluation import evaluate
    weights = None if result.seed is None else np.asarray(result.seed, dtype=np.float64)

    def f(point: dict) -> float:
        out = evaluate(result.expr, point, grad=False).value
        return float(np.sum(out * weights)) if weights is not None else float(np.sum(out))

    xs = {n: np.asarray(result.values[n], dtype=np.float64) for n in names}
    gs = {n: np.asarray(result.grad[n], dtype=np.float64) for n in names}
    size = max(float(np.max(np.abs(x))) if x.size else 0.0 for x in xs.values())
    ok, worst, sided = True, 0.0, False
    for _ in range(FD_DIRECTIONS):
        v = {n: rng.normal(size=x.shape) for n, x in xs.items()}
        norm_v = math.sqrt(sum(float(np.sum(d * d)) for d in v.values()))
        h = 1e-4 * (1.0 + size) / max(1.0, norm_v)

        def along(t, v=v):
            return f({**result.values, **{n: xs[n] + t * v[n] for n in xs}})

        numeric, step, level = _directional(along, h)
        analytic = sum(float(np.sum(gs[n] * v[n])) for n in xs)
        norm_g = math.sqrt(sum(float(np.sum(g * g)) for g in gs.values()))
        scale = norm_g * norm_v + abs(numeric)
        noise = 64 * np.finfo(float).eps * level / step      # rounding in f's values, divided by the step
        err = abs(analytic - numeric)
        if not (math.isfinite(analytic) and math.isfinite(numeric)):
            err = 0.0 if analytic == numeric or (math.isnan(analytic) and math.isnan(numeric)) else math.inf
        if err > atol + tol * scale + noise:
            sided = sided or _one_sided(along, h, analytic, scale)
        worst = max(worst, err)
        ok = ok and err <= atol + tol * scale + noise
    return ok, worst, sided


def _one_sided(along, h: float, analytic: float, scale: float) -> bool:
    """Whether the slopes from the left and from the right differ, and the engine's gradient is
    one of them: a jump or a kink, not a wrong gradient."""
    f0 = along(0.0)
    step = h * 1e-3
    right = (along(step) - f0) / step
    left = (f0 - along(-step)) / step
    if not (math.isfinite(f0) and math.isfinite(analytic)):
        return False
    near = 1e-3 * (scale + 1.0)
    sides = [d for d in (left, right) if math.isfinite(d)]
    return len(sides) == 2 and abs(left - right) > near and any(abs(d - analytic) <= near for d in sides)


def _directional(along, h: float) -> tuple[float, float, float]:
    """d/dt along(t) at 0 by central differences with Richardson extrapolation, the step used and
    the size of the values seen; the step shrinks near a domain edge (asin at 0.99999) and where
    the curve bends sharply (near a pole)."""
    best, level = math.nan, 0.0
    for _ in range(20):
        samples = [along(t) for t in (h, -h, h / 2, -h / 2)]
        if not all(math.isfinite(y) for y in samples):
            h /= 4
            continue
        level = max(abs(y) for y in samples)
        d1 = (samples[0] - samples[1]) / (2 * h)
        d2 = (samples[2] - samples[3]) / h
        best = (4 * d2 - d1) / 3                   # Richardson: error O(h^4)
        if abs(d1 - d2) <= 1e-7 * max(abs(d2), 1.0) or h < 1e-9:
            break
        h /= 8
    return best, h, level
