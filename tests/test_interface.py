"""The interface as a new user meets it: x^0, nan gradients named for what they are, the small
things that read as bugs, JSON lines that stay lines. (Everyday notation: test_lexer.py;
mistyped options: test_spec.py; help: test_help.py.)"""
import json
import os
import re
import subprocess
import sys
import numpy as np
import pytest
import gradcli
from gradcli.check.cross import cross_check
from gradcli.check.matrix import matrix_check
from gradcli.derivatives import hessian


# -- the derivative of x^0 is 0 ---------------------------------------------------------------
@pytest.mark.parametrize("text, values, wrt", [
    ("x^0", {"x": 0.0}, "x"),
    ("x^0", {"x": 3.0}, "x"),
    ("x^y", {"x": [0.0], "y": [0.0]}, "x"),
    ("sum(x^y)", {"x": [0.0, 2.0], "y": [0.0, 0.0]}, "x"),
    ("(x*0)^(y*0)", {"x": 0.0, "y": 1.0}, "x"),
    ("pow(x, 0)", {"x": 0.0}, "x"),
])
def test_zero_exponent_gives_gradient_zero(text, values, wrt):
    """PyTorch's rule: where the exponent is 0 the gradient of the base is 0 (not 0*0^-1 = nan)."""
    grad = gradcli.evaluate(text, values).grad[wrt]
    assert np.array_equal(np.asarray(grad), np.zeros(np.shape(values[wrt])))


def test_zero_exponent_cli_and_check(cli):
    rec = cli("eval", "x^0", "--x", "0", "-f", "json", "--no-check").json
    assert rec["grad"] == {"x": 0.0}
    rec = cli("eval", "x^0", "--x", "0", "-f", "json").json
    assert rec["check"]["status"] == "ok"


def test_zero_exponent_rule_keeps_second_derivatives_right():
    """The fix touches only 0^0: d2/dxdy x^y at y = 0 is still 1/x (SymPy agrees)."""
    d = hessian("x^y", {"x": 2.0, "y": 0.0})
    assert d.hessian[0, 1] == pytest.approx(0.5) and d.hessian[1, 0] == pytest.approx(0.5)
    assert matrix_check("hessian", d).status == "ok"


@pytest.mark.parametrize("text, values", [("x*sqrt(x)", {"x": 0.0}), ("sqrt(x^2)", {"x": 0.0}),
                                          ("sqrt(x)^2", {"x": 0.0})])
def test_a_nan_gradient_where_sympys_finite_value_is_right_is_a_mismatch(text, values):
    check = cross_check(gradcli.evaluate(text, values))
    assert check.status == "mismatch" and "not finite" in check.reason


def test_nan_rows_are_never_marked_agreeing_and_the_reason_names_the_cause(cli):
    r = cli("eval", "x^y", "--x", "-1", "--y", "0.5")
    assert r.code == 0
    rows = [line for line in r.out.splitlines() if line.startswith(("x ", "y "))]
    assert rows and not any("✓" in row for row in rows)
    assert "not real" in r.out and "pole" not in r.out
    pole = cli("eval", "1/x", "--x", "0")
    assert "(a pole" in pole.out


# -- small things that read as bugs ---------------------------------------------------------------
def test_retain_grad_without_tree_shows_intermediate_gradients_in_table_and_tsv(cli):
    table = cli("eval", "a*b+c", "--a", "2", "--b", "3", "--c", "4", "--retain-grad").out
    assert re.search(r"a\*b\s+6\s+1", table) and "gradient (retained)" in table
    tsv = cli("eval", "a*b+c", "--a", "2", "--b", "3", "--c", "4", "--retain-grad", "-f", "tsv").out
    assert "node\ta*b\t[]\t6\t1" in tsv.splitlines()
    plain = cli("eval", "a*b+c", "--a", "2", "--b", "3", "--c", "4", "-f", "tsv").out
    assert "node\t" not in plain


def test_minimize_on_a_vector_says_it_needs_a_scalar(cli):
    r = cli("minimize", "x*2", "--x", "1,2")
    assert r.code == 2 and "minimize needs a scalar expression" in r.err and "--grad-output" not in r.err


def test_diff_of_a_constant_is_zero(cli):
    assert cli("diff", "3").out == "0\n"
    assert cli("diff", "3", "-f", "latex").out == "0\n"


def test_diff_latex_names_the_function(cli):
    out = cli("diff", "x^2*y", "-f", "latex").out.splitlines()
    assert out == ["\\frac{\\partial}{\\partial x} x^{2} y = 2 x y", "\\frac{\\partial}{\\partial y} x^{2} y = x^{2}"]


def test_diff_with_shapes_and_without(cli):
    r = cli("diff", "sum(W @ x)", "--shape", "W=2x3", "--shape", "x=3")
    assert r.code == 0
    assert r.out.splitlines() == ["d/dW = [[x[0], x[1], x[2]], [x[0], x[1], x[2]]]",
                                  "d/dx = [W[0,0] + W[1,0], W[0,1] + W[1,1], W[0,2] + W[1,2]]"]
    bare = cli("diff", "sum(W @ x)")
    assert bare.code == 2 and "--shape W=2x3" in bare.err
    bad = cli("diff", "sum(x)", "--shape", "x=three")
    assert bad.code == 2 and "NAME=SHAPE" in bad.err


def test_a_value_beyond_float_range_warns(cli):
    r = cli("eval", "x*2", "--x", "1e400", "-f", "json", "--no-check")
    assert "1e400" in r.err and "overflows to inf" in r.err and r.json["value"] == "inf"
    assert "overflows" not in cli("eval", "x*2", "--x", "inf", "-f", "json", "--no-check").err


def test_counts_read_as_english(cli):
    out = cli("batch", stdin="x^2 where x=3\n").out
    assert "1 job, 0 failed" in out and "1 jobs" not in out
    r = cli("eval", "a*b", "--points", "-", stdin="a,b\n1,2\n")
    assert "cross-check on row 1:" in r.err


def test_piped_tables_have_no_trailing_spaces():
    proc = subprocess.run([sys.executable, "-m", "gradcli", "eval", "a*b+c", "--a", "2", "--b", "3", "--c", "4"],
                          capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode == 0 and proc.stdout
    assert all(line == line.rstrip() for line in proc.stdout.splitlines())


# -- JSON lines stay lines -----------------------------------------------------------------------------
@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085"])
def test_json_records_escape_line_separators(cli, separator):
    lines = f'{{"expr": "x{separator}+1", "vars": {{"x": 1}}}}\nx where x=2\n'
    out = cli("batch", "-f", "json", stdin=lines).out
    assert separator not in out
    records = out.splitlines()
    assert len(records) == 2 and separator in json.loads(records[0])["expr"]
