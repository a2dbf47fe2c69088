"""The cross-check: every gradient the engine computes against an independent reference, the
exact derivative evaluated at high precision (or, for large arrays, finite differences).

policy.py holds the tolerances and the Check record; deadline.py the time limit; backend.py the
two symbolic backends behind one interface (SymEngine, symengine_tree.py; SymPy, precise.py, and
render/formulas.py to write its formulas) and which one checks an expression; tree.py builds either tree from gradcli's own
graph; verdict.py decides; finite.py is the finite-difference reference; cross.py and matrix.py
run the check of a gradient and of a Hessian or Jacobian. SymEngine and SymPy are imported lazily.
"""
