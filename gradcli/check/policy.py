"""What the check is asked to do (CheckPolicy, its defaults declared once) and what it found (Check)."""
from __future__ import annotations

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
