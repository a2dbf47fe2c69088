"""The cross-check: every gradient the engine computes against an independent reference, SymPy's
exact derivative evaluated at high precision (or, for large arrays, finite differences).

policy.py holds the tolerances and the Check record; deadline.py the time limit; tree.py builds
the SymPy expression from gradcli's own graph; precise.py evaluates it; printer.py writes it back
as gradcli syntax; verdict.py decides; finite.py is the finite-difference reference; cross.py and
matrix.py run the check of a gradient and of a Hessian or Jacobian. SymPy is imported lazily.
"""
