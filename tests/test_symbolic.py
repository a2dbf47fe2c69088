"""symbolic.py: free variables give symbolic results; gradcli diff prints gradcli syntax that
parses back; the no-check path never imports SymPy."""
import pytest

import gradcli
from gradcli.render.formulas import to_text
from gradcli.check.tree import sympy
from gradcli.symbolic import symbolic_evaluate


# -- free variables -------------------------------------------------------------------------
def test_free_variables_give_a_symbolic_result(cli):
    rec = cli("eval", "a*b+c", "--a", "2", "-f", "json").json
    assert rec["value"] == "2*b + c"
    assert rec["grad"] == {"a": "b", "b": "2", "c": "1"}
    assert rec["free"] == ["b", "c"]
    table = cli("eval", "a*b+c", "--a", "2").out
    assert "2*b + c" in table and "free: b, c" in table


def test_free_variables_with_arrays_and_grad_output():
    sres = symbolic_evaluate(gradcli.parse("x*k"), {"x": [1, 2]}, grad_output=[1, 1])
    assert sres.value_text() == ["k", "2*k"]
    assert sres.grad_text() == {"x": ["k", "k"], "k": "3"}


# -- gradcli diff ------------------------------------------------------------------------------
def test_diff_prints_gradcli_syntax(cli):
    assert cli("diff", "x^2*sin(x)").out == "x^2*cos(x) + 2*x*sin(x)\n"
    assert cli("diff", "a*b + sin(c)", "--wrt", "a,c").out == "d/da = b\nd/dc = cos(c)\n"
    assert cli("diff", "abs(x) + relu(x)").out == "heaviside(x) + sign(x)\n"
    assert "\\cos" in cli("diff", "x^2*sin(x)", "-f", "latex").out
    rec = cli("diff", "x^2*y", "-f", "json").json
    assert rec["grad"] == {"x": "2*x*y", "y": "x^2"} and rec["latex"]["y"] == "x^{2}"


@pytest.mark.parametrize("text", ["x^2*sin(x)", "sigmoid(x)", "exp(x)/log2(x)", "atan2(x, 1 + x^2)",
                                  "softplus(x)*erf(x)", "sqrt(x)^3 - tanh(x)/x", "abs(x) + max(x, 2)"])
def test_diff_output_round_trips_through_eval(cli, text):
    formula = cli("diff", text).out.strip()
    for x in (0.7, 1.3, 2.9):
        want = gradcli.evaluate(text, {"x": x}).grad["x"]
        got = gradcli.evaluate(formula, {"x": x} if "x" in gradcli.parse(formula).variables() else {}).value
        assert got == pytest.approx(want, rel=1e-12, abs=1e-14), (formula, x)


def test_diff_rejects_values_and_vector_outputs(cli):
    assert cli("diff", "x", "--x", "2").code == 2
    r = cli("diff", "[x, y]")
    assert r.code == 2 and "jacobian" in r.err


# -- SymPy stays lazy, and never sees user text ------------------------------------------------
def test_no_check_path_never_imports_symbolic_module():
    import subprocess
    import sys
    code = ("import sys\nfrom gradcli.cli.main import main\n"
            "try:\n    main(['eval', 'x*y', '--x', '2', '--y', '3', '--no-check', '-f', 'json'])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith(('sympy', 'gradcli.symbolic'))), file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stderr.strip().splitlines()[-1] == "[]"


def test_printer_output_parses_back():
    sp = sympy()
    x = sp.Symbol("x", real=True)
    for e in [x ** 2, sp.E ** x, sp.Abs(x), sp.Max(x, 1, 2), sp.Heaviside(x), sp.Rational(1, 3) * x,
              sp.Float(0.1) * x, sp.log(x, 2), sp.sign(x) * sp.pi]:
        text = to_text(e)
        gradcli.parse(text)
        assert "**" not in text
