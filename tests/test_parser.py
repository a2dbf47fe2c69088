"""Parser tables: input -> S-expression; bad input -> message and caret column."""
import pytest

import gradcli
from gradcli.errors import ParseError
from gradcli.lang.parser import MAX_DEPTH, parse


@pytest.mark.parametrize("text, sexpr", [
    ("a*b+c", "(+ (* a b) c)"),
    ("a + b * c", "(+ a (* b c))"),
    ("a - b - c", "(- (- a b) c)"),
    ("a / b / c", "(/ (/ a b) c)"),
    ("-x^2", "(- (^ x 2))"),
    ("2^3^2", "(^ 2 (^ 3 2))"),
    ("2**3**2", "(^ 2 (^ 3 2))"),
    ("x**3 - 2*x", "(- (^ x 3) (* 2 x))"),
    ("2^-x", "(^ 2 (- x))"),
    ("-2^-x^2", "(- (^ 2 (- (^ x 2))))"),
    ("+x", "x"),
    ("a*-b", "(* a (- b))"),
    ("(a+b)*c", "(* (+ a b) c)"),
    ("((x))", "x"),
    ("2.5 + .5 + 1e-3 + 6.02E23", "(+ (+ (+ 2.5 0.5) 0.001) 6.02e+23)"),
    ("pi*r^2", "(* pi (^ r 2))"),
    ("e^x", "(^ e x)"),
    ("sin(x)^2 + cos(x)^2", "(+ (^ (sin x) 2) (^ (cos x) 2))"),
    ("atan2(y, x)", "(atan2 y x)"),
    ("max(a, b) + max(x)", "(+ (max a b) (max x))"),
    ("W @ v", "(@ W v)"),
    ("matmul(W, v)", "(@ W v)"),           # one row, two spellings
    ("a @ b * c", "(* (@ a b) c)"),
    ("x'", "(transpose x)"),
    ("x'^2", "(^ (transpose x) 2)"),
    ("-x'", "(- (transpose x))"),
    ("transpose(x)", "(transpose x)"),
    ("x[1]*3", "(* ([] x (1,)) 3)"),
    ("x[-1]", "([] x (-1,))"),
    ("M[0, 1]", "([] M (0, 1))"),
    ("M[0][1]", "([] ([] M (0,)) (1,))"),
    ("[1, 2, 3]", "([…] 1 2 3)"),
    ("[[1, 2], [3, 4]]", "([…] ([…] 1 2) ([…] 3 4))"),
    ("[x, 2*x]", "([…] x (* 2 x))"),
    ("sum(x*w)", "(sum (* x w))"),
    ("x_1 + _y2", "(+ x_1 _y2)"),
])
def test_parses_to(text, sexpr):
    assert parse(text).sexpr() == sexpr


@pytest.mark.parametrize("text, message, column, hint", [
    ("a*b+", "expected an expression after '+'", 5, None),
    ("a*b+)", "expected an expression after '+'", 5, None),
    ("2x", "expected an operator between '2' and 'x'", 2, "write 2*x"),
    ("2(x+1)", "expected an operator between '2' and '('", 2, "write 2*(...)"),
    ("x y", "expected an operator between 'x' and 'y'", 3, "write x*y"),
    ("sinn(x)", "unknown function 'sinn'", 1, "sin"),
    ("(a+b", "expected ')' to close '('", 5, None),
    ("a+b)", "unmatched ')'", 4, None),
    ("", "empty expression", 1, None),
    ("   ", "empty expression", 4, None),
    ("atan2(x)", "atan2() takes 2 arguments, got 1", 1, None),
    ("sin(x, y)", "sin() takes 1 argument, got 2", 1, None),
    ("max()", "max() takes 1 or 2 arguments, got 0", 1, None),
    ("a $ b", "unexpected character '$'", 3, None),
    ("a ! b", "unexpected character '!'", 3, None),
    ("x.y", "unexpected character '.'", 2, None),
    ('"x"', "unexpected character '\"'", 1, "strings"),
    ("a + 1 = 2", "unexpected '='", 7, "== compares"),
    ("1..2", "expected an operator between '1.' and '.2'", 3, None),
    ("sum", "'sum' is a function", 1, None),
    ("sin x", "'sin' is a function", 1, None),
    ("x[y]", "an index must be an integer literal", 3, None),
    ("x[1.5]", "an index must be an integer literal", 3, None),
    ("x[]", "an index needs at least one integer", 2, None),
    ("[]", "an array needs at least one element", 1, None),
    ("[1, 2,]", "expected an expression, found ']'", 7, None),
    ("[1 2]", "expected an operator between '1' and '2'", 4, None),
    ("f(x)", "unknown function 'f'", 1, "f*(...)"),
    ("__import__('os').system('echo pwned')", "unexpected character '.'", 17, None),
    ("a*(b+c", "expected ')' to close '('", 7, None),
    ("*a", "expected an expression, found '*'", 1, None),
    ("a**", "expected an expression after '**'", 4, None),
    ("é", "unexpected character 'é'", 1, None),
    ("x\x00", "unexpected character '\\x00'", 2, None),
])
def test_error_message_and_caret(text, message, column, hint):
    with pytest.raises(ParseError) as info:
        parse(text)
    err = info.value
    assert message in err.message
    assert err.column == column
    if hint:
        assert hint in err.hint
    rendered = err.render().splitlines()
    assert rendered[0] == f"error: {err.message}"
    caret_line = next(line for line in rendered if line.strip().startswith("^"))
    assert caret_line.index("^") - 2 == column - 1


def test_shared_subexpressions_are_one_node():
    expr = parse("sin(x)*sin(x) + sin(x)")
    nodes = expr.nodes()
    assert sum(1 for n in nodes if n.op.key == "sin") == 1
    assert [n.text for n in nodes][-1] == "sin(x)*sin(x) + sin(x)"
    product = next(n for n in nodes if n.op.key == "mul")
    assert product.text == "sin(x)*sin(x)"


def test_variables_in_order_of_first_appearance():
    assert parse("c*b + a*c + pi").variables() == ["c", "b", "a"]


def test_constants_are_not_variables():
    assert parse("pi*e*x").variables() == ["x"]


def test_5000_nested_parentheses_give_a_clean_error():
    text = "(" * 5000 + "x" + ")" * 5000
    with pytest.raises(ParseError) as info:
        parse(text)
    assert f"deeper than {MAX_DEPTH}" in info.value.message


def test_nesting_just_under_the_limit_parses():
    depth = MAX_DEPTH - 5
    assert parse("(" * depth + "x" + ")" * depth).sexpr() == "x"
    assert parse("2^" * (depth - 2) + "x").variables() == ["x"]


def test_long_sum_parses_without_recursion():
    expr = parse("+".join(["a"] * 100_000))
    assert len(expr.nodes()) == 100_000      # 1 leaf + 99,999 additions


def test_long_source_error_shows_a_window_around_the_caret():
    text = "a+" * 5000 + "$" + "+a" * 5000
    with pytest.raises(ParseError) as info:
        parse(text)
    lines = info.value.render().splitlines()
    assert all(len(line) < 100 for line in lines)
    assert lines[1].index("$") == lines[2].index("^")


@pytest.mark.parametrize("name, hinted", [("sinn", "sin"), ("exponential", "exp"), ("lg", "log"),
                                          ("squareroot", "sqrt"), ("Tanh", "tanh")])
def test_an_unknown_function_hints_the_known_one_it_resembles(name, hinted):
    with pytest.raises(gradcli.ParseError) as err:
        gradcli.parse(f"{name}(x)")
    assert hinted in err.value.hint.split("?")[0]
