"""`gradcli diff --steps`: a scalar expression's derivative, worked rule by rule from the op table.

The walk goes over the Expr DAG in topological order (inputs first, no recursion). Each node's
step is its row's rule applied to its inputs: the derivative is the sum over the inputs that
depend on the variable of (the row's `derivative` formula for that input, at the inputs) times
(that input's own derivative), the multivariate chain rule. The formulas are read with gradcli's
parser and built through the rows' builders (check/tree.py), so every step is a SymPy expression.
What a learner calls the rule follows from which inputs vary:

    no input varies                  constant rule (d/dx c = 0)
    the variable itself              variable rule (d/dx x = 1)
    a row whose formulas are numbers sum rule, difference rule, constant multiple rule (neg)
    a product or quotient, one input fixed   constant multiple rule (3*u, u/2)
    one input varies, not a variable the row's rule with the chain rule, let u = <that input>
    otherwise                        the row's rule (product rule, quotient rule, power rule)

A mistake (kind, node, variant) can be made at one node, as a person doing it by hand might:
`derive(..., mistake=...)` gives the derivative that mistake leads to (claims.py compares them
with a claimed derivative).
"""
from __future__ import annotations

import inspect
import itertools
from functools import lru_cache

import numpy as np

from gradcli.check.tree import node_values, number, sympy
from gradcli.errors import GradcliError
from gradcli.lang.expr import Expr

SCALING = ("product rule", "quotient rule")     # with one input fixed, the constant multiple rule
MAX_NODES = 200         # an expression longer than this is not worked step by step
MAX_DEPTH = 16          # nor one whose steps nest deeper (each level is indented further)
NAMES = ("x", "y", "z")     # the inputs in the rows' derivative formulas
LET_NAMES = ("u", "v", "w", "t", "s", "q")


class Step:
    """One node's derivative: the rule, its formula as terms, the inputs' own steps, the result.

    terms: (factor, of) pairs, the formula being the sum of factor * d(of)/dv, where `of` is an
    input node, the let name (a str: du/dx), or None (the factor alone: the input is the variable).
    """
    __slots__ = ("node", "rule", "outer", "terms", "let", "result", "steps", "varying", "value")

    def __init__(self, node: Expr, rule: str, terms: list, result, steps: list, let=None, outer=None,
                 varying=(), value=None):
        self.node, self.rule, self.terms, self.result, self.steps = node, rule, terms, result, steps
        self.value = value              # the node's own SymPy expression
        self.varying = tuple(varying)   # the inputs that depend on the variable (and get a gradient)
        self.let = let              # (name, input node) for the chain rule
        self.outer = outer          # the function's own rule, under the chain rule


class Derivation:
    """The steps of d/d(variable) of an expression, and the result simplified."""
    __slots__ = ("variable", "root", "simplified")

    def __init__(self, variable: str, root: Step, simplified):
        self.variable, self.root, self.simplified = variable, root, simplified


def scalar_only(expr: Expr, option: str = "--steps") -> None:
    """Steps (and claims, option --claim) are for scalar expressions of elementwise rows: a
    GradcliError at the first other node."""
    nodes = expr.nodes()
    if len(nodes) > MAX_NODES:
        raise GradcliError(f"the expression has {len(nodes)} nodes; {option} works expressions of up to "
                           f"{MAX_NODES} step by step", hint=f"leave out {option} for the derivative alone")
    for node in nodes:
        if node.args and not node.op.elementwise:
            raise GradcliError(f"{option} is for scalar expressions; {node.op.symbol} works on arrays", node.span,
                               source=node.source, hint=f"leave out {option} for the derivative of an array expression")


def steps(expr: Expr, wrt=None, *, timeout: float | None = None) -> list[Derivation]:
    """The derivation of expr for each variable of wrt (default: every variable), simplified at the end."""
    from gradcli.binding import check_names, differentiated
    from gradcli.check.deadline import CheckTimeout, deadline
    from gradcli.check.policy import DEFAULT
    scalar_only(expr)
    names = check_names(expr, {}, wrt)
    symbols = symbols_of(names)
    timeout = DEFAULT.timeout if timeout is None else timeout
    try:
        with deadline(timeout):
            roots = [(name, derive(expr, name, symbols)) for name in differentiated(names, wrt)]
    except CheckTimeout as exc:
        raise GradcliError(f"the steps took too long: {exc}", hint="raise --check-timeout") from None
    for _, root in roots:
        if depth(root) > MAX_DEPTH:
            raise GradcliError(f"the steps nest {depth(root)} levels deep; --steps shows at most {MAX_DEPTH}",
                               hint="leave out --steps for the derivative alone")
    return [Derivation(name, root, simplified(root.result, timeout)) for name, root in roots]


def depth(root: Step) -> int:
    """How many levels of steps the derivation shows (the root's alone: 1)."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        step, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in step.steps)
    return deepest


def simplified(e, timeout: float | None):
    """e simplified as `gradcli diff` does (symbolic.simpler), or e itself if that takes longer
    than the timeout."""
    from gradcli.check.deadline import CheckTimeout, deadline
    from gradcli.symbolic import simpler
    try:
        with deadline(timeout):
            return simpler(e)
    except CheckTimeout:
        return e


def symbols_of(names) -> dict:
    """name -> its real SymPy symbol."""
    sp = sympy()
    return {n: sp.Symbol(n, real=True) for n in names}


@lru_cache(maxsize=None)
def formula(op, i: int) -> Expr:
    """The row's derivative formula for input i, parsed."""
    from gradcli.lang.parser import parse
    return parse(op.derivative[i])


def partial(op, i: int, args: list, kw: dict):
    """The row's partial derivative for input i at the inputs `args` (SymPy)."""
    sp = sympy()
    env = {n: np.asarray(a, dtype=object) for n, a in zip(NAMES, args)}
    env.update({k: np.asarray(number(float(v)), dtype=object) for k, v in {**_defaults(op), **kw}.items()})
    return node_values(formula(op, i), env, sp)[formula(op, i).id][()]


def _defaults(op) -> dict:
    """The keyword attrs a call may leave out, at their defaults (leaky_relu's slope)."""
    if not op.keywords:
        return {}
    params = inspect.signature(op.forward).parameters
    return {k: params[k].default for k in op.keywords if k in params and params[k].default is not None}


def constant_formulas(op) -> bool:
    """Whether every formula of the row is a number, not all 0: add, sub, neg (their rules name
    themselves; a step, sign(u), is worked as a function: 0 * du/dx)."""
    given = [formula(op, i) for i, d in enumerate(op.derivative) if d is not None]
    return all(not f.variables() for f in given) and any(f.text.strip() != "0" for f in given)


def derive(expr: Expr, variable: str, symbols: dict, mistake: tuple | None = None) -> Step:
    """The steps of d/d(variable) expr; mistake: (node id, kind, variant) made at that node."""
    return derive_all(expr, variable, symbols, mistake)[expr.id]


def derive_all(expr: Expr, variable: str, symbols: dict, mistake: tuple | None = None) -> dict:
    """Every node's step of d/d(variable) expr: node id -> Step (see derive)."""
    sp = sympy()
    values = {k: v[()] for k, v in node_values(expr, {n: np.asarray(s, dtype=object) for n, s in symbols.items()},
                                               sp).items()}
    taken = set(symbols) | set(getattr(expr, "program", None) or ())     # let u never names a program's step u
    made: dict[int, Step] = {}
    depends: dict[int, bool] = {}
    for node in expr.nodes():
        op = node.op
        depends[node.id] = (op.is_variable and node.kw["name"] == variable) or any(depends[a.id] for a in node.args)
        if not depends[node.id]:
            made[node.id] = Step(node, "constant rule", [], sp.Integer(0), [])
            continue
        if op.is_variable:
            made[node.id] = Step(node, "variable rule", [], sp.Integer(1), [])
            continue
        args = [values[a.id] for a in node.args]
        varying = [i for i, a in enumerate(node.args) if depends[a.id] and op.flows(i)]
        if not varying:         # a comparison: no gradient flows through it
            made[node.id] = Step(node, "constant rule", [], sp.Integer(0), [])
            continue
        factors = {i: partial(op, i, args, node.kw) for i in varying}
        bare = {i: node.args[i].op.is_variable for i in varying}
        sym = symbols[variable]
        let = outer = None
        if op.derivative is not None and constant_formulas(op):
            rule, terms, children = _summed(op, node, factors, varying, bare, made)
        elif len(varying) == 1 and op.rule in SCALING and not factors[varying[0]].has(sym):
            rule, i = "constant multiple rule", varying[0]
            children = [] if bare[i] else [made[node.args[i].id]]
            terms = [(factors[i], None if bare[i] else node.args[i])]
        elif len(varying) == 1 and not bare[varying[0]]:
            i = varying[0]
            name = let_name(taken)
            u = sp.Symbol(name, real=True)
            at_u = partial(op, i, [u if j == i else a for j, a in enumerate(args)], node.kw)
            rule, outer, let = "chain rule", op.rule_of(varying), (name, node.args[i])
            children = [made[node.args[i].id]]
            terms = [(at_u, name)]
        else:
            rule = op.rule_of(varying)
            children = [made[node.args[i].id] for i in varying if not bare[i]]
            terms = [(factors[i], None if bare[i] else node.args[i]) for i in varying]
        parts = [factors[i] * made[node.args[i].id].result for i in varying]
        if mistake is not None and mistake[0] == node.id:
            result = mistaken(mistake[1], mistake[2], node, parts, factors, varying, args, values, made)
        else:
            result = sp.Add(*parts)
        made[node.id] = Step(node, rule, terms, result, children, let, outer, varying)
    for node_id, step in made.items():
        step.value = values[node_id]
    _rename_lets(made[expr.id], taken)
    return made


def let_name(taken) -> str:
    """The first of u, v, w, t, s, q (then u1, u2, ...) that is not taken."""
    names = itertools.chain(LET_NAMES, (f"u{k}" for k in itertools.count(1)))
    return next(n for n in names if n not in taken)


def _rename_lets(root: Step, taken: set) -> None:
    """A chain inside a chain lets v, then w, ... (not u again): each step's let name is the first
    its enclosing chains have not taken."""
    sp = sympy()
    seen = set()
    stack = [(root, frozenset(taken))]
    while stack:
        step, used = stack.pop()
        if id(step) in seen:
            continue
        seen.add(id(step))
        if step.let:
            name, inner = step.let
            new = let_name(used)
            if new != name:
                swap = {sp.Symbol(name, real=True): sp.Symbol(new, real=True)}
                step.terms = [(f.xreplace(swap), new if of == name else of) for f, of in step.terms]
                step.let = (new, inner)
            used = used | {new}
        stack.extend((child, used) for child in step.steps)


def _summed(op, node: Expr, factors: dict, varying: list, bare: dict, made: dict) -> tuple:
    """A sum or difference, with the sums and differences among its inputs worked in the same step:
    a + b - c is one step of three terms (the sum and difference rules), not two of two."""
    terms, children, rules = [], [], {op.rule}
    for i, a in enumerate(node.args):
        if not op.flows(i):
            continue
        inner = made[a.id]
        sign = factors.get(i, number(float(partial(op, i, [0] * len(node.args), {}))))
        if a.args and len(a.args) > 1 and a.op.derivative is not None and constant_formulas(a.op) \
                and inner.rule in ("sum rule", "difference rule", "sum and difference rules"):
            terms += [(sign * f, of) for f, of in inner.terms]
            children += inner.steps
            rules.update(inner.rule.removesuffix("s").replace("sum and difference rule", "sum rule|difference rule")
                         .split("|"))
        else:
            children.append(inner)
            terms.append((sign, a))
    rule = rules.pop() if len(rules) == 1 else "sum and difference rules"
    return rule, terms, children


# -- mistakes a person makes by hand, each at one node --------------------------------------------
# kind -> (does it apply to the step, what the derivative becomes); made in this order, the most
# specific first, so that a claim matching two of them is named by the more telling one.
KINDS = ("chain_rule", "product_rule_term", "quotient_numerator_reversed", "quotient_denominator_not_squared",
         "quotient_of_derivatives", "quotient_rule_term",
         "power_exponent_not_lowered", "wrong_function_derivative", "constant_factor", "sign")


def mistakes(step: Step):
    """(kind, variant) pairs of the mistakes that can be made at this step."""
    op, rule = step.node.op, step.rule
    out = []
    if rule == "chain rule":
        out.append(("chain_rule", 0))
    if rule == "product rule" and len(step.terms) == 2:
        out += [("product_rule_term", 0), ("product_rule_term", 1)]
    if rule == "quotient rule" and 1 in step.varying:
        out += [("quotient_numerator_reversed", 0), ("quotient_denominator_not_squared", 0)]
        if step.varying == (0, 1):
            out += [("quotient_of_derivatives", 0), ("quotient_rule_term", 0), ("quotient_rule_term", 1)]
    if op.rule == "power rule" and op.arity == 2 and step.varying == (0,) and rule != "constant multiple rule":
        out.append(("power_exponent_not_lowered", 0))
        out.append(("constant_factor", 1))          # the exponent not brought down in front
    if op.confusions and rule in ("chain rule", op.rule):
        out += [("wrong_function_derivative", j) for j in range(len(op.confusions))]
    if rule == "constant multiple rule" and not constant_formulas(op) and step.terms[0][0] != -1:
        out.append(("constant_factor", 0))
    if step.terms and rule not in ("constant rule", "variable rule"):
        out += [("sign", j) for j in range(len(step.varying))]
    return out


def mistaken(kind: str, variant: int, node: Expr, parts: list, factors: dict, varying: list, args: list,
             values: dict, made: dict):
    """The node's derivative with the mistake made (parts: the correct terms, one per varying input)."""
    sp = sympy()
    op = node.op
    if kind == "chain_rule":                # the inner derivative left out
        return factors[varying[0]]
    if kind == "product_rule_term":         # one of the two terms left out
        return parts[1 - variant]
    if kind == "quotient_numerator_reversed":   # b*a' - a*b' written the other way round
        return -sp.Add(*parts)
    if kind == "quotient_of_derivatives":     # (u/v)' taken as u'/v'
        return made[node.args[0].id].result / made[node.args[1].id].result
    if kind == "quotient_rule_term":          # one of the numerator's two terms left out
        return parts[1 - variant]
    if kind == "quotient_denominator_not_squared":
        return sp.Add(*parts) * args[1]
    if kind == "power_exponent_not_lowered":    # n*u^n*u' for n*u^(n-1)*u'
        return sp.Add(*parts) * args[0]
    if kind == "wrong_function_derivative":
        from gradcli.check.tree import to_tree
        from gradcli.lang.parser import parse
        wrong = to_tree(parse(op.confusions[variant]), {"x": np.asarray(args[0], dtype=object)}, sp)[()]
        return wrong * made[node.args[0].id].result
    if kind == "constant_factor":
        if variant == 1:                    # the power rule's n not brought down
            return sp.Add(*parts) / args[1]
        return made[node.args[varying[0]].id].result    # the constant factor dropped
    if kind == "sign":
        return sp.Add(*[-p if j == variant else p for j, p in enumerate(parts)])
    raise ValueError(kind)
