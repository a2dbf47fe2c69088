"""Gradient descent: walk downhill from a starting point with sgd, momentum or adam.

The update rules are PyTorch's (torch.optim.SGD with and without momentum,
torch.optim.Adam). It stops when the gradient norm falls below tol
(converged), when a nan or inf appears (diverged: the last finite point is
kept), or at the step limit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from gradcli.binding import bind, differentiated
from gradcli.errors import BindError
from gradcli.evaluation import evaluate
from gradcli.lang.parser import parse

DEFAULT_LR = {"sgd": 0.1, "momentum": 0.05, "adam": 0.1}
MOMENTUM = 0.9
BETAS, EPS = (0.9, 0.999), 1e-8


@dataclass
class Minimum:
    expr: object
    argmin: dict                # name -> value at the final point
    value: float
    grad: dict
    grad_norm: float
    steps: int                  # updates made
    converged: bool
    reason: str                 # converged | diverged | step limit
    optimizer: str
    lr: float
    notes: list = field(default_factory=list)


def _norm(grads: dict) -> float:
    with np.errstate(over="ignore", invalid="ignore"):
        total = sum(float(np.sum(np.square(np.asarray(g, dtype=np.float64)))) for g in grads.values())
    return math.sqrt(total) if math.isfinite(total) else math.inf if not math.isnan(total) else math.nan


class Optimizer:
    """One update rule; step(x, g) returns the new point (dicts of arrays)."""

    def __init__(self, kind: str, lr: float):
        self.kind, self.lr, self.t = kind, lr, 0
        self.m: dict = {}
        self.v: dict = {}

    def step(self, x: dict, g: dict) -> dict:
        self.t += 1
        out = {}
        for n, xn in x.items():
            gn = np.asarray(g[n], dtype=np.float64)
            if self.kind == "sgd":
                out[n] = xn - self.lr * gn
            elif self.kind == "momentum":                # v = mu*v + g; x -= lr*v
                self.m[n] = MOMENTUM * self.m.get(n, 0.0) + gn
                out[n] = xn - self.lr * self.m[n]
            else:                                        # adam, with bias correction
                b1, b2 = BETAS
                self.m[n] = b1 * self.m.get(n, 0.0) + (1 - b1) * gn
                self.v[n] = b2 * self.v.get(n, 0.0) + (1 - b2) * gn * gn
                m_hat = self.m[n] / (1 - b1 ** self.t)
                v_hat = self.v[n] / (1 - b2 ** self.t)
                out[n] = xn - self.lr * m_hat / (np.sqrt(v_hat) + EPS)
        return out


def minimize(source, start: dict, *, wrt=None, optimizer: str = "adam", lr: float | None = None,
             steps: int = 20_000, tol: float = 1e-8,
             on_step: Callable[[int, dict, float, float], None] | None = None) -> Minimum:
    """Minimize a scalar expression from `start`; the variables in wrt move, the others stay.

    on_step(step, point, value, grad_norm) is called at every point visited.
    """
    if optimizer not in DEFAULT_LR:
        raise BindError(f"unknown optimizer {optimizer!r}", hint="choose sgd, momentum or adam")
    expr = parse(source) if isinstance(source, str) else source
    names, point = bind(expr, start, wrt, what="starting value",
                        hint="give every variable a starting point: --{name} 0")
    moving = differentiated(names, wrt)
    rate = DEFAULT_LR[optimizer] if lr is None else lr
    opt = Optimizer(optimizer, rate)
    shape = np.shape(evaluate(expr, point, grad=False).value)
    if shape != ():
        raise BindError(f"minimize needs a scalar expression; this one has shape {shape}",
                        hint="minimize its sum, sum(...), or its norm, norm(...)")
    last = None                         # (point, result, norm) of the last finite point
    for k in range(steps + 1):
        result = evaluate(expr, point, wrt=moving)
        norm = _norm(result.grad)
        finite = math.isfinite(result.value) and math.isfinite(norm) and all(
            np.isfinite(v).all() for v in point.values())
        if on_step is not None:
            on_step(k, point, float(result.value), norm)
        if not finite:
            if last is None:
                raise BindError("the expression is not finite at the starting point",
                                hint="start somewhere else")
            return _minimum(expr, *last, k, False, "diverged", optimizer, rate)
        last = (point, result, norm)
        if norm < tol:
            return _minimum(expr, point, result, norm, k, True, "converged", optimizer, rate)
        if k == steps:
            break
        point = {**point, **opt.step({n: point[n] for n in moving}, result.grad)}
    return _minimum(expr, *last, steps, False, "step limit", optimizer, rate)


def _minimum(expr, point, result, norm, steps, converged, reason, optimizer, lr) -> Minimum:
    plain = {n: float(v) if np.ndim(v) == 0 else np.asarray(v) for n, v in point.items()}
    return Minimum(expr, plain, float(result.value), result.grad, norm, steps, converged, reason,
                   optimizer, lr, result.notes)
