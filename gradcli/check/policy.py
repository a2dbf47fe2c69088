"""What the check is asked to do (CheckPolicy, its defaults declared once), what it found (Check),
and when a reference value evaluated again is settled (settled)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple


class CheckPolicy(NamedTuple):
    """How the cross-check decides: |engine - reference| <= atol + rtol*|reference|, within a time."""
    rtol: float = 1e-9
    atol: float = 1e-12
    timeout: float | None = 5.0         # seconds; None or 0: no limit
    using: str = "auto"                 # the exact reference: auto, symengine or sympy (check/backend.py)


DEFAULT = CheckPolicy()
USING = ("auto", "symengine", "sympy")          # --check-with
EXACT = {"symengine": "SymEngine", "sympy": "SymPy"}     # the exact methods, as people name them


@dataclass
class Check:
    status: str                             # ok, mismatch, nondifferentiable, skipped, timeout, error
    method: str | None = None               # symengine, sympy or finite-difference
    max_abs_err: float | None = None
    symbolic: dict | None = None            # name -> formula text (nested lists for arrays)
    expected: dict = field(default_factory=dict)      # name -> the reference's value
    agree: dict = field(default_factory=dict)         # name -> bool
    reason: str | None = None
    conventions: list = field(default_factory=list)
    rtol: float = DEFAULT.rtol
    atol: float = DEFAULT.atol

    @property
    def exact(self) -> str | None:
        """Who wrote the derivatives, SymEngine or SymPy; None for finite differences."""
        return EXACT.get(self.method)

    def record(self) -> dict:
        """The JSON `check` object."""
        from gradcli.render.numbers import to_json
        rec = {"status": self.status, "method": self.method,
               "max_abs_err": None if self.max_abs_err is None else to_json(self.max_abs_err),
               "symbolic": self.symbolic}
        if self.expected:
            rec["expected"] = {k: to_json(v) for k, v in self.expected.items()}
        if self.reason:
            rec["reason"] = self.reason
        if self.conventions:
            rec["conventions"] = self.conventions
        if self.status not in ("skipped",):
            rec["rtol"], rec["atol"] = self.rtol, self.atol
        return rec


def skipped(reason: str) -> Check:
    return Check("skipped", reason=reason)


def settled(finer: float, finest: float, value: float) -> float:
    """A reference value evaluated again at two higher precisions, after the first (value)
    disagreed with the engine: their value where they agree (to 15 digits, or far below the noise
    of the first value: a derivative that is 0 comes out 1e-11 at 100 bits, 5e-102 and -2e-222 at
    400 and 800), nan where they do not (the formula cancels there and no precision settles it)."""
    if finer == finest or (math.isnan(finer) and math.isnan(finest)):
        return finer
    if math.isfinite(finer) and math.isfinite(finest) and (abs(finer - finest) <= 1e-15 * max(abs(finer), abs(finest))
                                                          or abs(finer - finest) <= 1e-30 * abs(value)):
        return finer
    return math.nan
