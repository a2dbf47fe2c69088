"""The verdict: the engine's numbers against the reference's. ok when they agree within the
policy's tolerances and are finite; nondifferentiable where a convention or a singular point
explains a disagreement (saying which); mismatch otherwise, and always where the engine's value
is not finite but the reference's is, at a point where the expression is defined."""
from __future__ import annotations

import math

import numpy as np

from gradcli.check.policy import Check


SCALARS = (float, np.float64)


def agrees(got, want, rtol: float, atol: float) -> bool:
    """Whether got and want agree everywhere (see close); for two numbers without numpy's cost."""
    if type(got) in SCALARS and type(want) in SCALARS:
        return got == want or abs(got - want) <= atol + rtol * abs(want) or (got != got and want != want)
    return bool(np.all(close(got, want, rtol, atol)))


def close(got, want, rtol: float, atol: float) -> np.ndarray:
    """Elementwise agreement: |got - want| <= atol + rtol*|want|; equal infinities and NaN == NaN agree."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        return np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True) | (got == want)


def abs_error(got, want) -> float:
    if type(got) in SCALARS and type(want) in SCALARS:
        return 0.0 if got == want or (got != got and want != want) else float(abs(got - want))
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(got - want)
    err = np.where((got == want) | (np.isnan(got) & np.isnan(want)), 0.0, err)
    return float(np.max(err)) if err.size else 0.0


def compare(result, expected: dict, method: str, formulas, rtol: float, atol: float, reference=None) -> Check:
    """The verdict on the engine's gradients against the reference's (`reference`: the reference's
    own value of the output, which says whether the point is in the expression's domain)."""
    agree = {n: agrees(result.grad[n], expected[n], rtol, atol) for n in expected}
    err = max((abs_error(result.grad[n], expected[n]) for n in expected), default=0.0)
    check = Check("ok", method, err, formulas, expected, agree, rtol=rtol, atol=atol)
    value = result.value if reference is None else reference
    # A gradient that is nan or inf is never "ok", even where SymPy says the same; nor is any
    # gradient where the expression itself is not finite (not real, or infinite).
    unequal = [n for n, ok in agree.items() if not ok]
    suspect = unequal or [n for n in expected if not all_finite(result.grad[n])]
    if not suspect and all_finite(value):
        return check
    wrong = [n for n in suspect if wrongly_not_finite(result.grad[n], expected[n], value)]
    conventions = [] if wrong else explain(result, [(result.grad[n], expected[n]) for n in suspect], value)
    return decide(check, conventions, wrong, unequal, method)


def explain(result, pairs, value) -> list[str]:
    """Why the point is not differentiable: where the expression itself is not finite, that (a pole,
    not real); else the convention of a kink it passed through; else why the derivative is not finite."""
    if not all_finite(value):
        return singular(pairs, value)
    return kinks(result) or singular(pairs, value)


def decide(check: Check, conventions: list, wrong: list, unequal: list, method: str) -> Check:
    """nondifferentiable where a convention or a singular point explains the disagreement; else mismatch."""
    if conventions:
        check.status = "nondifferentiable"
        check.conventions = conventions
        check.reason = "the point is not differentiable; gradcli uses the conventions listed"
    else:
        check.status = "mismatch"
        if wrong:
            check.reason = (f"the engine's gradient with respect to {', '.join(wrong)} is not finite where "
                            f"{method}'s is, at a point where the expression is defined")
        else:
            check.reason = f"the engine and {method} disagree on {', '.join(unequal)}"
    return check


def all_finite(value) -> bool:
    if type(value) in SCALARS:
        return math.isfinite(value)
    return bool(np.all(np.isfinite(np.asarray(value, dtype=np.float64))))


def wrongly_not_finite(got, want, value) -> bool:
    """The engine gives nan or inf where the reference's finite value is right: the output is
    finite there (no convention excuses a gradient like 0*0^-1 or 0*inf)."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if not np.all(np.isfinite(np.asarray(value, dtype=np.float64))):
        return False
    with np.errstate(invalid="ignore"):
        return bool(np.any(~np.isfinite(got) & np.isfinite(want)))


NOT_REAL = "the expression is not real here (nan), so it has no derivative; gradcli reports the IEEE result"
POLE = "the expression is infinite here (a pole, or an overflow), and so is its derivative; gradcli reports the IEEE result"
INFINITE = "the derivative is infinite here (a vertical tangent); gradcli reports the IEEE result"
UNDEFINED = ("the derivative is nan here (not real, or 0*inf or inf-inf in its formula); "
             "gradcli reports the IEEE result")


def singular(pairs, value=0.0) -> list[str]:
    """Why the point has no finite derivative, if it has none: the expression is not real there,
    or infinite; or, where the engine and the reference disagree, either is infinite or nan."""
    value = np.asarray(value, dtype=np.float64)
    if np.any(np.isnan(value)):
        return [NOT_REAL]
    if np.any(np.isinf(value)):
        return [POLE]
    for got, want in pairs:
        got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
        if not (np.all(np.isfinite(got)) and np.all(np.isfinite(want))):
            return [INFINITE] if np.any(np.isinf(got)) or np.any(np.isinf(want)) else [UNDEFINED]
    return []


def kinks(result) -> list[str]:
    """Conventions used at the non-differentiable points the computation passed through (noted
    by the forward pass as it ran)."""
    return [f"{convention}, at '{node.text}'" for node, convention in result.kinks]
