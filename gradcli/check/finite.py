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
            ok, worst = _directions(result, result.wrt, rng, tol, atol)
            agree = dict.fromkeys(result.wrt, True)
            if not ok:
                for name in result.wrt:
                    agree[name], err = _directions(result, [name], rng, tol, atol)
                    worst = max(worst, err)
    except CheckTimeout as exc:
        return Check("timeout", "finite-difference", reason=f"{exc}; raise --check-timeout to wait longer",
                     rtol=tol, atol=atol)
    check = Check("ok", "finite-difference", worst, None, {}, agree, rtol=tol, atol=atol)
    if not all(agree.values()):
        bad = [n for n, ok in agree.items() if not ok]
        decide(check, explain(result, [(result.grad[n], 0.0) for n in bad], result.value), [], bad,
                 "finite differences")
    return check


def _directions(result, names: list, rng, tol: float, atol: float) -> tuple[bool, float]:
    """Whether the engine's gradient along FD_DIRECTIONS random directions in the space of `names`
    matches central differences, and the largest error."""
    from gradcli.evaluation import evaluate
    weights = None if result.seed is None else np.asarray(result.seed, dtype=np.float64)

    def f(point: dict) -> float:
        out = evaluate(result.expr, point, grad=False).value
        return float(np.sum(out * weights)) if weights is not None else float(np.sum(out))

    xs = {n: np.asarray(result.values[n], dtype=np.float64) for n in names}
    gs = {n: np.asarray(result.grad[n], dtype=np.float64) for n in names}
    size = max(float(np.max(np.abs(x))) if x.size else 0.0 for x in xs.values())
    ok, worst = True, 0.0
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
        worst = max(worst, err)
        ok = ok and err <= atol + tol * scale + noise
    return ok, worst


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
