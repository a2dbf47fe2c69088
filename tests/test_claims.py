"""diff --claim: a derivative done by hand, checked; a wrong one tied to the common mistake it makes."""
import pytest

from gradcli.claims import check_claim
from gradcli.errors import GradcliError, ParseError
from gradcli.lang.parser import parse


def verdict(expr, claim, wrt=None):
    return check_claim(parse(expr), claim, wrt)


@pytest.mark.parametrize("expr, claim", [
    ("sin(x^2)", "2*x*cos(x^2)"), ("sin(x^2)", "cos(x^2)*x*2"),
    ("(x + 1)^2", "2*x + 2"),                               # expanded
    ("x^2 + 2*x + 1", "2*(x + 1)"),                         # factored
    ("x^2*sin(x)", "x*(2*sin(x) + x*cos(x))"),
    ("x/(x^2 + 1)", "(1 - x^2)/(x^2 + 1)^2"),
    ("log(x^2 + 1)", "2*x/(1 + x^2)"),
    ("exp(3*x)", "3*e^(3*x)"),
    ("tan(x)", "1/cos(x)^2"),
    ("sigmoid(x)", "exp(-x)/(1 + exp(-x))^2"),
    ("x*y", "y"),
    ("log(x - 5)", "1/(x - 5)"),                            # defined from 5 on: wider points
])
def test_correct_claims_in_other_forms(expr, claim):
    wrt = ["x"] if "y" in expr else None
    v = verdict(expr, claim, wrt)
    assert v.correct and v.point is None and v.mistake is None, (expr, claim, v.how)


@pytest.mark.parametrize("kind, expr, claim, node", [
    ("chain_rule", "sin(x^2)", "cos(x^2)", "sin(x^2)"),
    ("chain_rule", "exp(3*x)", "exp(3*x)", "exp(3*x)"),
    ("chain_rule", "log(x^2 + 1)", "1/(x^2 + 1)", "log(x^2 + 1)"),
    ("chain_rule", "(x^2 + 1)^3", "3*(x^2 + 1)^2", "(x^2 + 1)^3"),
    ("product_rule_term", "x^2*sin(x)", "2*x*sin(x)", "x^2*sin(x)"),
    ("product_rule_term", "x*exp(x)", "x*exp(x)", "x*exp(x)"),
    ("product_rule_term", "sin(x)*cos(x) + x", "cos(x)^2 + 1", "sin(x)*cos(x)"),
    ("sign", "x^3 - x^2", "3*x^2 + 2*x", "x^3 - x^2"),
    ("sign", "exp(x) - x^4", "exp(x) + 4*x^3", "exp(x) - x^4"),
    ("sign", "sin(x) - x^2", "cos(x) + 2*x", "sin(x) - x^2"),
    ("quotient_numerator_reversed", "x/(x^2 + 1)", "(2*x^2 - (x^2 + 1))/(x^2 + 1)^2", "x/(x^2 + 1)"),
    ("quotient_numerator_reversed", "sin(x)/x", "(sin(x) - x*cos(x))/x^2", "sin(x)/x"),
    ("quotient_numerator_reversed", "(x + 1)/(x - 1)", "2/(x - 1)^2", "(x + 1)/(x - 1)"),
    ("quotient_denominator_not_squared", "x/(x^2 + 1)", "(1 - x^2)/(x^2 + 1)", "x/(x^2 + 1)"),
    ("quotient_denominator_not_squared", "sin(x)/x", "(x*cos(x) - sin(x))/x", "sin(x)/x"),
    ("quotient_denominator_not_squared", "exp(x)/(x + 2)", "(exp(x)*(x + 2) - exp(x))/(x + 2)", "exp(x)/(x + 2)"),
    ("quotient_of_derivatives", "sin(x)/x", "cos(x)", "sin(x)/x"),
    ("quotient_of_derivatives", "x^2/(x + 1)", "2*x", "x^2/(x + 1)"),
    ("quotient_of_derivatives", "exp(x)/x^2", "exp(x)/(2*x)", "exp(x)/x^2"),
    ("quotient_rule_term", "sin(x)/x", "cos(x)/x", "sin(x)/x"),
    ("quotient_rule_term", "exp(x)/x^2", "-2*exp(x)/x^3", "exp(x)/x^2"),
    ("quotient_rule_term", "(x + 1)/(x^2 + 3)", "-2*x*(x + 1)/(x^2 + 3)^2", "(x + 1)/(x^2 + 3)"),
    ("power_exponent_not_lowered", "x^3", "3*x^3", "x^3"),
    ("power_exponent_not_lowered", "(x^2 + 1)^3", "3*(x^2 + 1)^3*2*x", "(x^2 + 1)^3"),
    ("power_exponent_not_lowered", "sin(x)^2 + x", "2*sin(x)^2*cos(x) + 1", "sin(x)^2"),
    ("wrong_function_derivative", "sin(x^2)", "-2*x*cos(x^2)", "sin(x^2)"),
    ("wrong_function_derivative", "cos(x) + x^2", "sin(x) + 2*x", "cos(x)"),
    ("wrong_function_derivative", "x*tan(x)", "tan(x) + x/cos(x)", "tan(x)"),
    ("constant_factor", "5*x^3", "3*x^2", "5*x^3"),
    ("constant_factor", "x^4", "x^3", "x^4"),
    ("constant_factor", "sin(x)*exp(x)", "2*(cos(x)*exp(x) + sin(x)*exp(x))", "sin(x)*exp(x)"),
])
def test_each_mistake_is_recognised(kind, expr, claim, node):
    v = verdict(expr, claim)
    assert not v.correct and v.mistake is not None, (expr, claim)
    assert (v.mistake.kind, v.mistake.node) == (kind, node), (expr, claim, v.mistake.detail)
    assert v.point and v.claimed != v.expected


def test_the_chain_rule_detail_names_the_factor_and_the_node():
    v = verdict("sin(x^2)", "cos(x^2)")
    assert v.mistake.detail == "missing the factor 2*x = d(x^2)/dx, chain rule at sin(x^2)"


def test_a_wrong_claim_matching_no_mistake():
    v = verdict("sin(x^2)", "x^3 + 1")
    assert not v.correct and v.mistake is None and v.point is not None


def test_a_claim_that_does_not_parse_or_names_another_variable():
    with pytest.raises(ParseError) as err:
        verdict("sin(x^2)", "2*x*cos(x^2")
    assert err.value.where == "--claim" and err.value.source == "2*x*cos(x^2"
    with pytest.raises(GradcliError) as err:
        verdict("sin(x^2)", "2*y")
    assert "'y'" in err.value.message and err.value.span.start == 2


# -- the CLI ----------------------------------------------------------------------------------------
def test_cli_exit_codes_and_text(cli):
    r = cli("diff", "sin(x^2)", "--claim", "2*x*cos(x^2)")
    assert r.code == 0 and r.out.startswith("correct: d/dx sin(x^2) = 2*x*cos(x^2)"), r
    r = cli("diff", "sin(x^2)", "--claim", "cos(x^2)")
    assert r.code == 1, r
    lines = r.out.splitlines()
    assert lines[0] == "wrong: d/dx sin(x^2) is not cos(x^2)"
    assert lines[1] == "  the derivative is 2*x*cos(x^2)"
    assert lines[2].startswith("  at x = ") and lines[3].startswith("    claimed  ")
    assert lines[4].startswith("    expected ")
    assert lines[-1] == "  likely mistake: missing the factor 2*x = d(x^2)/dx, chain rule at sin(x^2)"
    r = cli("diff", "sin(x^2)", "--claim", "cos(x^2")
    assert r.code == 2 and "in --claim:" in r.err and "^" in r.err and r.out == "", r
    r = cli("diff", "sin(x^2)", "--claim", "2*z")
    assert r.code == 2 and "'z'" in r.err, r
    r = cli("diff", "x*y", "--claim", "y")
    assert r.code == 2 and "--wrt" in r.err, r
    r = cli("diff", "x*y", "--claim", "y", "--wrt", "x")
    assert r.code == 0, r
    r = cli("diff", "x", "--claim", "1", "--steps")
    assert r.code == 2, r


def test_cli_json_fields(cli):
    rec = cli("diff", "sin(x^2)", "--claim", "cos(x^2)", "-f", "json").json
    assert rec["correct"] is False and set(rec["point"]) == {"x"}
    assert isinstance(rec["claimed"], float) and isinstance(rec["expected"], float)
    assert rec["mistake"] == {"kind": "chain_rule", "node": "sin(x^2)",
                              "detail": "missing the factor 2*x = d(x^2)/dx, chain rule at sin(x^2)"}
    rec = cli("diff", "sin(x^2)", "--claim", "2*x*cos(x^2)", "-f", "json").json
    assert rec["correct"] is True and rec["point"] is None and rec["claimed"] is None
    assert rec["expected"] is None and rec["mistake"] is None
    out = cli("diff", "sin(x^2)", "--claim", "cos(x^2)", "-f", "latex").out
    assert "\\neq" in out


@pytest.mark.parametrize("args", [
    ["max(atanh(x/(x^y)), 3)", "--claim", "0", "--wrt", "x"],        # complex values inside max
    ["(max(log1p(x^x), x))/3", "--claim", "x"],
    ["((-pi)^x)^(4*(3 - x))", "--claim", "x", "-f", "latex"],        # a derivative with I in it
    ["log(-x^2 - 1)", "--claim", "1"],                               # defined at no real point
    ["1/0*x", "--claim", "1", "-f", "json"],
])
def test_hostile_claims_end_in_a_verdict_or_an_error_never_a_traceback(cli, args):
    r = cli("diff", *args)
    assert r.code in (0, 1, 2), r


def test_a_claim_sympy_cannot_prove_is_correct_at_the_random_points():
    v = verdict("abs(x)", "x/abs(x)")
    assert v.correct and v.how == "equal at 16 random points in [-1000, 1000] (SymPy did not show it)"
    assert verdict("sin(x^2)", "2*x*cos(x^2)").how == "symbolically equal"


@pytest.mark.parametrize("claim", ["2*x + relu(x - 3)", "2*x + heaviside(x - 5)", "where(x < 10, 2*x, 0)",
                                   "2*x + (x > 7)", "2*x + 1e-9", "2.0000000001*x"])
def test_a_claim_wrong_only_far_out_or_by_a_hair_is_wrong(claim):
    assert not verdict("x^2", claim).correct


def test_a_constant_difference_however_small_is_wrong():
    v = verdict("exp(x)", "exp(x) + 1e-300")
    assert not v.correct and v.point is not None


def test_a_confused_derivative_is_named_in_the_arguments_text(cli):
    r = cli("diff", "sin(x^2)", "--claim", "-2*x*cos(x^2)")
    assert r.code == 1 and "the wrong derivative of sin: -cos(x^2) instead of cos(x^2)" in r.out


def test_an_array_claim_is_an_error_with_a_caret(cli):
    r = cli("diff", "x^2", "--claim", "[2*x, 1]")
    assert r.code == 2 and "in --claim:" in r.err and "^" in r.err
    r = cli("diff", "sum(x^2)", "--claim", "2*x")
    assert r.code == 2 and "--claim is for scalar expressions" in r.err


def test_a_claim_that_names_a_step_says_to_write_it_in_the_variables(cli):
    r = cli("diff", "y = x^2; sin(y)", "--claim", "2*x*cos(y)")
    assert r.code == 2 and "y is a step of the program: a claim is written in the variables, x" in r.err
