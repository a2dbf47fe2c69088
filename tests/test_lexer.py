"""lang/lexer.py: tokens and their positions, and everyday notation read as the language."""
import numpy as np
import pytest

import gradcli
from gradcli.errors import ParseError
from gradcli.lang.lexer import tokenize


# -- pow(a, b) and everyday notation ------------------------------------------------------------
@pytest.mark.parametrize("text, same_as", [
    ("pow(a, b)", "a^b"),
    ("2×x", "2*x"), ("x·y", "x*y"), ("a÷b", "a/b"), ("x − 1", "x - 1"), ("−x", "-x"),
    ("x²", "x^2"), ("x³ + y²", "x^3 + y^2"), ("x⁻¹", "x^-1"), ("2x²"[1:], "x^2"), ("x¹⁰", "x^10"),
    ("√x", "sqrt(x)"), ("√(x + 1)", "sqrt(x + 1)"), ("√x*y", "sqrt(x)*y"),
    ("ln(x)", "log(x)"), ("arcsin(x)", "asin(x)"), ("arctan(x)", "atan(x)"),
    ("π*x", "pi*x"), ("x\u00a0+\u00a0y", "x + y"), ("2\u202f×\u2009x", "2*x"),
])
def test_everyday_notation_is_the_language(text, same_as):
    assert gradcli.parse(text).sexpr() == gradcli.parse(same_as).sexpr()


def test_everyday_notation_keeps_what_was_typed_and_evaluates():
    r = gradcli.evaluate("√x · π + x²", {"x": 4.0})
    assert r.value == pytest.approx(2 * np.pi + 16) and r.grad["x"] == pytest.approx(np.pi / 4 + 8)
    assert r.expr.source == "√x · π + x²"
    assert gradcli.parse("π").kw["name"] == "pi"


def test_tokens_keep_positions_and_reject_what_they_cannot_read():
    toks = tokenize("1.5e3 * x**2")
    assert [(t.kind, t.text, t.start, t.end) for t in toks] == [
        ("num", "1.5e3", 0, 5), ("op", "*", 6, 7), ("name", "x", 8, 9), ("op", "**", 9, 11),
        ("num", "2", 11, 12), ("end", "", 12, 12)]
    with pytest.raises(ParseError):
        tokenize("1 ~ 2")
