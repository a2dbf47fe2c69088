"""`diff --claim` written out: the verdict for people (correct, or where the claim differs and the
likely mistake, wrapped as the steps are), JSON and LaTeX."""
from __future__ import annotations

from gradcli.render.formulas import sympy
from gradcli.render.records import source_line
from gradcli.render.steps import hanging, paren, shown_text, tex_text


def claim_lines(verdict) -> list[tuple[int, str, str]]:
    """(column, text, note) per line: correct, or where the claim differs and the likely mistake."""
    from gradcli.render.numbers import fmt_num
    v = verdict
    head = f"d/d{v.variable} {shown_text(source_line(v.expr))}"
    if v.correct:
        return [(0, f"correct: {head} = {v.claim}", v.how)]
    out = [(0, f"wrong: {head} is not {v.claim}", "")]
    out.append((2, f"the derivative is {v.derivative}", ""))
    if v.point is not None:
        where = ", ".join(f"{n} = {fmt_num(x)}" for n, x in v.point.items())
        out += [(2, f"at {where}:", ""), (4, f"claimed  {fmt_num(v.claimed)}", ""),
                (4, f"expected {fmt_num(v.expected)}", "")]
    if v.point is None:
        out.append((2, v.how, ""))
    if v.mistake is not None:
        out.append((2, f"likely mistake: {v.mistake.detail}", ""))
    else:
        out.append((2, "no common mistake matches it", f"gradcli diff \"{source_line(v.expr)}\" --steps shows the rules"))
    return out


def claim_layouts(verdict) -> tuple:
    from rich.console import Group

    def build(digits):
        parts = []
        for column, text, note in claim_lines(verdict):
            style = "bold green" if text.startswith("correct") else "bold red" if text.startswith("wrong") else ""
            parts.append(hanging(column, text, note, style))
        return Group(*parts)
    return (build,)


def claim_record(verdict) -> dict:
    v = verdict
    return {"expr": v.expr, "wrt": v.variable, "claim": v.claim, "correct": v.correct, "how": v.how,
            "derivative": v.derivative, "point": v.point, "claimed": v.claimed, "expected": v.expected,
            "mistake": v.mistake.record() if v.mistake is not None else None}


def claim_latex(verdict) -> str:
    """The claim against the derivative, in LaTeX: = when correct, \\neq when not."""
    sp = sympy()
    v = verdict
    f, claim, expected = v.formulas
    d = f"\\frac{{d}}{{d{v.variable}}} {paren(sp, f)}"
    if v.correct:
        return f"{d} = {sp.latex(claim)}"
    note = f" && \\text{{{tex_text(v.mistake.detail)}}}" if v.mistake is not None else ""
    return f"\\begin{{align*}}\n{d} &= {sp.latex(expected)} \\\\\n{d} &\\neq {sp.latex(claim)}{note}\n\\end{{align*}}"


