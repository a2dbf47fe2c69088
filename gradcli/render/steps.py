"""`diff --steps` and `diff --claim` written out: numbered, indented steps for people (Rich text
that wraps at its spaces), JSON, and a LaTeX align* block.

For people, each derivation reads as a chain of equalities:

    d/dx sin(x^2)
    = cos(u) * du/dx   chain rule (sine rule), let u = x^2
      1. d/dx x^2 = 2*x   power rule
    = 2*x*cos(x^2)
"""
from __future__ import annotations

import re

from gradcli.render.formulas import sympy, to_text

_PLAIN = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*|[0-9.]+)$")


def shown(node) -> str:
    """A node's text, in parentheses unless it is a name, a number or one call."""
    return shown_text(node.text)


def shown_text(text: str) -> str:
    """The text of an expression, in parentheses unless it is a name, a number or one call."""
    return text if _PLAIN.match(text) or _one_call(text) else f"({text})"


def _one_call(text: str) -> bool:
    """name(...) whose parenthesis closes at the end."""
    m = re.match(r"^[A-Za-z_][A-Za-z0-9_]*\(", text)
    if not m:
        return False
    depth = 0
    for i, c in enumerate(text[m.end() - 1:], m.end() - 1):
        depth += c == "("
        depth -= c == ")"
        if depth == 0:
            return i == len(text) - 1
    return False


def d_of(of, v: str) -> str:
    """d(x^2)/dx, du/dx."""
    if isinstance(of, str):
        return f"d{of}/d{v}"
    return f"d{of.text}/d{v}" if of.text.isidentifier() else f"d({of.text})/d{v}"


def formula_text(step, v: str) -> str:
    """The rule's formula: a sum of factor * d(input)/dv (the quotient rule's over its square)."""
    if not step.terms:
        return to_text(step.result)
    if step.rule == "quotient rule":
        return _over_square(step, lambda f, of: _term(f, of, v), to_text,
                            lambda num, den, d: f"({num})/" + (den if d.is_Atom or d.is_Pow or d.is_Function
                                                                else f"({den})"))
    out = ""
    for factor, of in step.terms:
        text = _term(factor, of, v)
        if not out:
            out = text
        elif text.startswith("-"):
            out += " - " + text[1:]
        else:
            out += " + " + text
    return out


def _term(factor, of, v: str) -> str:
    if of is None:
        return to_text(factor)
    if factor.is_Add and factor.could_extract_minus_sign():     # -(x + 1) * d(...), not (-x - 1) * d(...)
        return "-" + _term(-factor, of, v)
    d = d_of(of, v)
    if factor == 1:
        return d
    if factor == -1:
        return "-" + d
    f = to_text(factor)
    return f"({f}) * {d}" if factor.is_Add else f"{f} * {d}"


def rule_text(step) -> str:
    if step.rule == "chain rule":
        name, inner = step.let
        return f"chain rule ({step.outer}), let {name} = {inner.text}"
    return step.rule


def lines(derivation) -> list[tuple[int, str, str]]:
    """(column, text, rule) per line of a derivation, in the order people read them: a step's
    own steps indented under it, numbered 1., 1.1., ..., and its result under its text."""
    v, root = derivation.variable, derivation.root
    out = [(0, f"d/d{v} {shown(root.node)}", "")]
    result = to_text(root.result)
    formula = formula_text(root, v)
    out.append((0, f"= {formula}", rule_text(root)))
    if root.steps:
        _children(root, v, 2, "", out)
        out.append((0, f"= {result}", ""))
    elif result != formula:                 # x*x: x + x, then 2*x
        out.append((0, f"= {result}", ""))
    simplified = to_text(derivation.simplified)
    if simplified != result:
        out.append((0, f"= {simplified}", "simplified"))
    return out


def _children(step, v: str, column: int, prefix: str, out: list) -> None:
    for k, child in enumerate(step.steps, 1):
        number = f"{prefix}{k}."
        out.append((column, f"{number} d/d{v} {shown(child.node)} = {formula_text(child, v)}", rule_text(child)))
        if child.steps:
            inner = column + len(number) + 1        # under the step's d/dx
            _children(child, v, inner, number, out)
            out.append((inner, f"= {to_text(child.result)}", ""))


def steps_layouts(derivations) -> tuple:
    """The layout for people: every derivation's lines, wrapped at spaces, indents kept."""
    from rich.console import Group
    from rich.text import Text

    def build(digits):
        if not derivations:
            return Text("the expression has no variables: its derivative is 0")
        parts = []
        for n, d in enumerate(derivations):
            if n:
                parts.append(Text(""))
            parts += [hanging(column, text, rule) for column, text, rule in lines(d)]
        return Group(*parts)
    return (build,)


def hanging(column: int, text: str, note: str = "", style: str = ""):
    """A line at its column whose wrapped part stays under its text, after a leading "1.1." or "=":
    see Hanging."""
    head, _, rest = text.partition(" ")
    if not (head == "=" or head.endswith(".")) or not rest:
        head, rest = "", text
    return Hanging(column, head, rest, note, style)


class Hanging:
    """One line for people, wrapped to the width it is given: at spaces only (never inside a
    formula's word or a number), never before an "=" (a wrapped part starting with "=" would read
    as a step's result), the wrapped parts under the text after the head; the note (the rule) dim."""

    def __init__(self, column: int, head: str, text: str, note: str = "", style: str = ""):
        self.lead = " " * column + (head + " " if head else "")
        self.under = len(self.lead) + (0 if head else 2)   # where a wrapped part starts
        self.tokens = [(w, style) for w in _words(text)]
        if note:
            self.tokens += [(w, "dim") for w in _words(note)]
            self.note_at = len(self.tokens) - len(_words(note))
        else:
            self.note_at = None

    def _lines(self, width: int) -> list:
        lines, line, used = [], [], 0
        room = max(width - len(self.lead), 1)
        for k, (word, style) in enumerate(self.tokens):
            gap = 0 if not line else 3 if k == self.note_at else 1
            if line and used + gap + len(word) > room:
                lines.append(line)
                line, used, gap = [], 0, 0
                room = max(width - self.under, 1)
            line.append((" " * gap, None))
            line.append((word, style))
            used += gap + len(word)
        lines.append(line)
        return lines

    def __rich_console__(self, console, options):
        from rich.text import Text
        for n, line in enumerate(self._lines(options.max_width)):
            out = Text(self.lead if n == 0 else " " * self.under)
            for piece, style in line:
                out.append(piece, style or None)
            yield out

    def __rich_measure__(self, console, options):
        from rich.measure import Measurement
        longest = max((len(w) for w, _ in self.tokens), default=0)
        full = sum(len(w) + 1 for w, _ in self.tokens) + 2
        return Measurement(len(self.lead) + longest, len(self.lead) + full)


def _words(text: str) -> list[str]:
    """The words a line may wrap between: an "=" stays with the word before it."""
    out = []
    for word in text.strip(" ").split(" "):
        if word == "=" and out:
            out[-1] += " ="
        else:
            out.append(word)        # an empty word keeps a run of spaces (claimed  0.25)
    return out


def step_json(step, v: str) -> dict:
    out = {"expr": step.node.text, "rule": step.rule, "formula": formula_text(step, v),
           "result": to_text(step.result)}
    if step.let:
        out["let"] = {step.let[0]: step.let[1].text}
        out["function_rule"] = step.outer
    out["steps"] = [step_json(c, v) for c in step.steps]
    return out


def steps_record(source: str, derivations) -> dict:
    return {"expr": source, "derivations": [
        {"wrt": d.variable, "result": to_text(d.simplified), "steps": [step_json(d.root, d.variable)]}
        for d in derivations]}


def steps_latex(derivations) -> str:
    """One align* block: each derivation a chain of equalities, the rules in \\text{} at the right."""
    sp = sympy()
    partial = len(derivations) > 1
    rows = [] if derivations else ["0"]
    for d in derivations:
        v = sp.latex(sp.Symbol(d.variable))         # alpha: \\alpha, x1: x_{1}
        op = (f"\\frac{{\\partial}}{{\\partial {v}}}" if partial else f"\\frac{{d}}{{d{v}}}")
        root = d.root
        rows.append(f"{op} {paren(sp, root.value)} &= {_formula_latex(sp, root, op)} "
                    f"&& {_rule_latex(sp, root)}")
        _latex_children(sp, root, op, 1, "", rows)
        if root.steps:
            rows.append(f"&= {sp.latex(root.result)}")
        if to_text(d.simplified) != to_text(root.result):
            rows.append(f"&= {sp.latex(d.simplified)} && \\text{{simplified}}")
    return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"


def _latex_children(sp, step, op: str, depth: int, prefix: str, rows: list) -> None:
    for k, child in enumerate(step.steps, 1):
        number = f"{prefix}{k}."
        pad = "\\quad " * depth
        rows.append(f"&{pad}\\text{{{number}}}\\ {op} {paren(sp, child.value)} = {_formula_latex(sp, child, op)} "
                    f"&& {_rule_latex(sp, child)}")
        if child.steps:
            _latex_children(sp, child, op, depth + 1, number, rows)
            rows.append(f"&{pad}\\quad = {sp.latex(child.result)}")


def paren(sp, e) -> str:
    text = sp.latex(e)
    return text if e.is_Atom or e.is_Function else f"\\left({text}\\right)"


def _formula_latex(sp, step, op: str) -> str:
    if not step.terms:
        return sp.latex(step.result)
    term = lambda factor, of: _term_latex(sp, step, op, factor, of)     # noqa: E731
    if step.rule == "quotient rule":
        return _over_square(step, term, sp.latex, lambda num, den, d: f"\\frac{{{num}}}{{{den}}}")
    out = ""
    for factor, of in step.terms:
        text = term(factor, of)
        out = text if not out else out + (" - " + text[1:] if text.startswith("-") else " + " + text)
    return out


def _term_latex(sp, step, op: str, factor, of) -> str:
    if of is None:
        return sp.latex(factor)
    if factor.is_Add and factor.could_extract_minus_sign():
        return "-" + _term_latex(sp, step, op, -factor, of)
    d = _d_latex(op, of) if isinstance(of, str) else f"{op} {paren(sp, _value_of(step, of))}"
    return d if factor == 1 else f"-{d}" if factor == -1 else \
        (f"\\left({sp.latex(factor)}\\right) {d}" if factor.is_Add else f"{sp.latex(factor)} {d}")


def _over_square(step, term, printed, over) -> str:
    """The quotient rule as taught, (du/dx*v - u*dv/dx)/v^2: the terms over their common
    denominator, in their order; term(factor, of) writes one, over(numerator, denominator) the
    fraction."""
    sp = sympy()
    if all(of is None for _, of in step.terms):     # x/y by x and y: no input's own derivative to show
        return printed(step.result)
    form = sp.Add(*[f * sp.Symbol(f"QQMARK{k}") for k, (f, _) in enumerate(step.terms)])
    _, den = sp.fraction(sp.together(form))
    out = ""
    for factor, of in step.terms:
        text = term(sp.cancel(factor * den), of)
        out = text if not out else out + (" - " + text[1:].lstrip() if text.startswith("-") else " + " + text)
    return over(out, printed(den), den)


def _d_latex(op: str, name: str) -> str:
    """du/dx in LaTeX, as the operator op is written (d or partial)."""
    sp = sympy()
    name = sp.latex(sp.Symbol(name))
    return op.replace("{d}", f"{{d{name}}}").replace("{\\partial}", f"{{\\partial {name}}}")


def _rule_latex(sp, step) -> str:
    """The rule in words, and a chain rule's let u = ... as mathematics."""
    if step.rule != "chain rule":
        return f"\\text{{{tex_text(step.rule)}}}"
    name, inner = step.let
    return f"\\text{{chain rule ({tex_text(step.outer)}), let }} {name} = {sp.latex(_value_of(step, inner))}"


def _value_of(step, node):
    """The SymPy value of one of the step's input nodes (its child step holds it)."""
    for child in step.steps:
        if child.node is node:
            return child.value
    return sympy().Symbol(node.text)


_TEX = {"\\": "\\textbackslash{}", "{": "\\{", "}": "\\}", "^": "\\^{}", "_": "\\_", "&": "\\&", "%": "\\%",
        "#": "\\#", "$": "\\$", "~": "\\~{}"}


def tex_text(text: str) -> str:
    """Plain text inside \\text{}: LaTeX's special characters escaped."""
    return "".join(_TEX.get(c, c) for c in text)
