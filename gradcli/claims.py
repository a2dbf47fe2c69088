"""`gradcli diff EXPR --claim FORMULA`: a derivative done by hand, checked.

The claim is read with gradcli's parser and built through the op table (check/tree.py), as the
expression is. It is compared with the derivation of steps.py at random points where both are
defined (real, finite): equal everywhere is correct (symbolically equal, when SymPy can also show
it). Otherwise the first point where they differ is named, and the claim is compared with the
derivative each common mistake would give, made at each node of the expression in turn (steps.py
makes them): the first that matches at every point names the mistake and the node. Values are
mpmath's (check/precise.py), never code generated from the expression.
"""
from __future__ import annotations

import math

import numpy as np

from gradcli.check import precise
from gradcli.render.formulas import to_text
from gradcli.check.tree import node_values, sympy, to_tree
from gradcli.errors import BindError, GradcliError, ParseError
from gradcli.lang.expr import Expr
from gradcli.steps import KINDS, derive_all, mistakes, scalar_only, simplified, symbols_of

POINTS = 4              # random points the claim is compared at in each range of SCALES
ATTEMPTS = 150          # points tried in each range to find them (where the function and its derivative are defined)
MAX_SEARCH_NODES = 80   # beyond this many nodes, a wrong claim is not searched for a known mistake
SCALES = (2.0, 10.0, 100.0, 1000.0)   # the ranges [-s, s]: a claim wrong only past x = 3 is found wrong too
SEED = 0                # the points are the same on every run (what is printed can be checked again)


class Mistake:
    __slots__ = ("kind", "node", "detail")

    def __init__(self, kind: str, node: str, detail: str):
        self.kind, self.node, self.detail = kind, node, detail

    def record(self) -> dict:
        return {"kind": self.kind, "node": self.node, "detail": self.detail}


class Verdict:
    """Whether the claim is d(expr)/d(variable); where not, a point, both values and the mistake."""
    __slots__ = ("expr", "variable", "claim", "correct", "how", "point", "claimed", "expected", "derivative",
                 "mistake", "formulas")

    def __init__(self, expr: str, variable: str, claim: str, correct: bool, how: str, derivative: str,
                 point: dict | None = None, claimed: float | None = None, expected: float | None = None,
                 mistake: Mistake | None = None):
        self.expr, self.variable, self.claim, self.correct, self.how = expr, variable, claim, correct, how
        self.derivative = derivative        # the derivative, simplified, in gradcli syntax
        self.point, self.claimed, self.expected, self.mistake = point, claimed, expected, mistake
        self.formulas = None        # SymPy: (the function, the claim, the derivative simplified), for LaTeX


def read_claim(claim: str, expr: Expr) -> Expr:
    """The claim parsed; a ParseError or a variable the expression lacks is an error in --claim."""
    from gradcli.lang.parser import parse
    try:
        parsed = parse(claim)
    except ParseError as err:
        err.where = err.where or "--claim"
        raise
    for node in parsed.nodes():
        if node.args and not node.op.elementwise:
            raise GradcliError(f"the claim must be a formula of numbers: {node.op.symbol} works on arrays", node.span,
                               source=claim, where="--claim",
                               hint="a scalar expression's derivative by one variable is a number: write it as one")
    known = set(expr.variables())
    for node in parsed.nodes():
        if node.op.is_variable and node.kw["name"] not in known:
            name = node.kw["name"]
            raise BindError(f"the claim uses '{name}', which is not a variable of {expr.source}", node.span,
                            source=claim, where="--claim", name=name,
                            hint=f"{name} is a step of the program: a claim is written in the variables, "
                                 f"{', '.join(expr.variables())}" if name in (getattr(expr, "program", None) or {}) else
                            f"the expression's variables are {', '.join(expr.variables())}"
                            if known else "the expression has no variables: its derivative is 0")
    return parsed


def variable_of(expr: Expr, wrt) -> str:
    """The one variable the claim differentiates by: --wrt's, or the expression's only one."""
    from gradcli.binding import check_names
    names = check_names(expr, {}, wrt)
    if wrt is not None:
        if len(wrt) != 1:
            raise GradcliError("--claim checks one derivative: give --wrt one variable",
                               hint=f"for example --wrt {wrt[0]}")
        return wrt[0]
    if len(names) != 1:
        raise GradcliError("--claim checks one derivative: " + (
            f"the expression has {len(names)} variables, give --wrt one of {', '.join(names)}" if names
            else "the expression has no variables"), hint=f"for example --wrt {names[0]}" if names else None)
    return names[0]


def check_claim(expr: Expr, claim: str, wrt=None, *, timeout: float | None = None) -> Verdict:
    """The verdict on the claim d(expr)/d(variable) = claim."""
    from gradcli.check.deadline import CheckTimeout, deadline
    from gradcli.check.policy import DEFAULT
    scalar_only(expr, "--claim")
    variable = variable_of(expr, wrt)
    claimed_expr = read_claim(claim, expr)
    timeout = DEFAULT.timeout if timeout is None else timeout
    symbols = symbols_of(expr.variables())
    try:
        with deadline(timeout):
            steps = derive_all(expr, variable, symbols)
        derivative = simplified(steps[expr.id].result, timeout)
        with deadline(timeout):
            verdict, formulas = _verdict(expr, claimed_expr, claim, variable, symbols, steps, derivative)
    except CheckTimeout as exc:
        raise GradcliError(f"checking the claim took too long: {exc}", hint="raise --check-timeout") from None
    verdict.formulas = formulas
    if verdict.correct and verdict.how.startswith("equal at"):
        try:
            with deadline(timeout):
                if _zero(sympy(), formulas[1] - steps[expr.id].result):
                    verdict.how = "symbolically equal"
        except CheckTimeout:
            pass
    return verdict


def _verdict(expr: Expr, claimed_expr: Expr, claim: str, variable: str, symbols: dict, steps: dict,
             derivative) -> tuple:
    sp = sympy()
    env = {n: np.asarray(s, dtype=object) for n, s in symbols.items()}
    expected = steps[expr.id].result
    claimed = to_tree(claimed_expr, env, sp)[()]
    function = node_values(expr, env, sp)[expr.id][()]
    shown, formulas = to_text(derivative), (function, claimed, derivative)
    points = _points(symbols, [function, expected, claimed])
    if not points:             # defined nowhere we looked: only SymPy can say
        same = _zero(sp, claimed - expected)
        return Verdict(expr.source, variable, claim, same, "symbolically equal" if same else
                       "not equal (SymPy's word: no point tried is in the domain)", shown), formulas
    pairs = [(evaluate_at(claimed, p), evaluate_at(expected, p)) for p in points]
    wrong = next((k for k, (c, e) in enumerate(pairs) if not _close(c, e)), None)
    if wrong is None:
        difference = _difference(sp, claimed - expected)
        if difference is None or not difference.is_number or difference == 0:
            # how: whether SymPy also shows it, asked under its own deadline (check_claim)
            return Verdict(expr.source, variable, claim, True, f"equal at {len(points)} random points in "
                           f"[-{SCALES[-1]:g}, {SCALES[-1]:g}] (SymPy did not show it)", shown), formulas
        wrong = 0               # a constant off (2*x + 1e-300): wrong everywhere, however small
    point = {str(s): float(v) for s, v in points[wrong].items()}
    claimed_values = [c for c, _ in pairs]
    mistake = _mistake(expr, variable, symbols, steps, points, claimed_values, [e for _, e in pairs])
    return Verdict(expr.source, variable, claim, False, "not equal", shown, point, pairs[wrong][0],
                   pairs[wrong][1], mistake), formulas


def evaluate_at(e, point: dict) -> float:
    """e's value at the point (mpmath, check/precise.py); nan where it is not real, also where
    SymPy cannot even compare its parts (max of a complex number)."""
    try:
        return precise.evaluate_at(e, point)
    except (ValueError, TypeError, KeyError, ArithmeticError):
        return math.nan


def _close(a: float, b: float) -> bool:
    """Equal as 30-digit evaluations of two forms of one formula are: 2*x + 1e-9 is not 2*x."""
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)


def _near(a: float, b: float) -> bool:
    """Close enough to name a mistake by (a ratio of two values, each of which may cancel)."""
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


SIMPLIFY = 2.0          # seconds SymPy may take to simplify a claim's difference (then: it cannot tell)


def _difference(sp, e):
    """e simplified, or None when SymPy cannot, within SIMPLIFY seconds (a difference it shows to
    be a nonzero number is a wrong claim, however small)."""
    from gradcli.check.deadline import CheckTimeout, deadline
    try:
        with deadline(SIMPLIFY):
            return sp.simplify(e)
    except (CheckTimeout, TypeError, ValueError, NotImplementedError, RecursionError):
        return None


def _zero(sp, e) -> bool:
    """Whether SymPy shows e is 0 (False also when it cannot tell)."""
    d = _difference(sp, e)
    return d is not None and d == 0


def _points(symbols: dict, exprs: list) -> list[dict]:
    """Up to POINTS random points (two decimals, away from 0) in each range [-s, s] of SCALES,
    where every expression is real and finite (log(x - 5) is defined from 5 on)."""
    sp = sympy()
    rng = np.random.default_rng(SEED)
    found = []
    for scale in SCALES:
        inside = 0
        for _ in range(ATTEMPTS):
            values = rng.uniform(-scale, scale, size=len(symbols)).round(2)
            if np.any(np.abs(values) < 0.05):
                continue
            point = {s: sp.Float(float(v), 30) for s, v in zip(symbols.values(), values)}
            if all(math.isfinite(evaluate_at(e, point)) for e in exprs):
                found.append(point)
                inside += 1
                if inside == POINTS:
                    break
    return found


def _mistake(expr: Expr, variable: str, symbols: dict, steps: dict, points: list, claimed: list,
             expected: list) -> Mistake | None:
    """The first common mistake whose derivative matches the claim at every point."""
    if len(steps) <= MAX_SEARCH_NODES:
        candidates = [(KINDS.index(kind), -node_id, node_id, kind, variant)
                      for node_id, step in steps.items() for kind, variant in mistakes(step)]
        for _, _, node_id, kind, variant in sorted(candidates):
            made = derive_all(expr, variable, symbols, (node_id, kind, variant))[expr.id].result
            values = []
            for p, c, e in zip(points, claimed, expected):
                v = evaluate_at(made, p)
                if not _near(v, c):
                    break
                values.append(v)
            else:
                if any(not _near(v, e) for v, e in zip(values, expected)):   # the mistake changes something
                    return Mistake(kind, steps[node_id].node.text, describe(kind, variant, steps[node_id], steps,
                                                                            variable))
    # (a value too small for a float, exp(-900), is 0 in both: it says nothing of the ratio)
    ratios = [c / e for c, e in zip(claimed, expected) if e != 0 and c != 0]
    if len(ratios) >= 3 and len(ratios) >= len(expected) // 2 and math.isfinite(ratios[0]) and \
            all(_near(r, ratios[0]) for r in ratios) and not _near(ratios[0], 1.0):
        k = ratios[0]
        factor = f"{k:.6g}"
        return Mistake("constant_factor", expr.text, f"a constant factor off: the claim is {factor} times the "
                                                     f"derivative of {expr.text}")
    return None


def describe(kind: str, variant: int, step, steps: dict, v: str) -> str:
    """The mistake in words, tied to its node: "missing the factor 2*x = d(x^2)/dx, chain rule at sin(x^2)"."""
    from gradcli.symbolic import simpler
    node = step.node
    at = node.text
    text = lambda e: to_text(simpler(e))          # noqa: E731
    if kind == "chain_rule":
        inner = step.let[1]
        return f"missing the factor {text(steps[inner.id].result)} = d({inner.text})/d{v}, chain rule at {at}"
    if kind == "product_rule_term":
        factor, of = step.terms[variant]
        term = factor * (steps[of.id].result if of is not None else 1)
        d = f"d({of.text})/d{v}" if of is not None else f"d{v}/d{v}"
        return f"missing the term {text(term)} (the one with {d}) of the product rule at {at}"
    u, w = (a.text for a in node.args[:2]) if len(node.args) > 1 else (node.args[0].text, "")
    if kind == "quotient_numerator_reversed":
        return (f"the quotient rule's numerator reversed at {at}: u*v' - u'*v instead of u'*v - u*v', "
                f"with u = {u}, v = {w}")
    if kind == "quotient_of_derivatives":
        return (f"the derivative of a quotient taken as the quotient of the derivatives at {at}: u'/v' "
                f"with u = {u}, v = {w}")
    if kind == "quotient_rule_term":
        which = f"u'*v, the one with d({u})/d{v}" if variant == 0 else f"u*v', the one with d({w})/d{v}"
        return f"missing the term {which}, of the quotient rule at {at}"
    if kind == "quotient_denominator_not_squared":
        return f"the quotient rule's denominator not squared at {at}: divided by {w} instead of ({w})^2"
    if kind == "power_exponent_not_lowered":
        return f"the power rule's exponent not lowered at {at}: n*u^n instead of n*u^(n-1), with u = {u}, n = {w}"
    if kind == "wrong_function_derivative":
        op = node.op
        name = op.names[0] if op.names else op.symbol
        from gradcli.engine.ledger import atomic, substitute
        ref = u if atomic(u) else f"({u})"          # in the argument's own text: cos(x^2), not cos(x)
        wrong, right = (substitute(f, [ref]) for f in (op.confusions[variant], op.derivative[0]))
        return f"the wrong derivative of {name}: {wrong} instead of {right} ({op.rule}), at {at}"
    if kind == "constant_factor":
        if variant == 1:
            return f"the exponent {w} not brought down in front by the power rule at {at}"
        factor = text(step.terms[0][0])
        return f"the constant factor {factor} dropped at {at} (constant multiple rule)"
    if kind == "sign":
        if len(step.varying) > 1:
            i = step.varying[variant]
            return f"a sign error at {at} ({step.rule}): the term of d({node.args[i].text})/d{v} has the wrong sign"
        return f"a sign error at {at}: its derivative {text(step.result)} has the wrong sign ({_rule(step)})"
    raise ValueError(kind)


def _rule(step) -> str:
    return f"chain rule with the {step.outer}" if step.rule == "chain rule" else step.rule
