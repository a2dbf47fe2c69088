"""gradcli explain and gradcli.explain (gradcli/ledger.py, render/ledger.py): the backward pass as a
ledger, written from backprop's own observer; its contributions add up to evaluate's gradients bitwise."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradcli
import terminal
from gradcli.errors import BindError, GradOutputError
from gradcli.engine.ledger import FD_ELEMENTS, atomic, substitute
from gradcli.ledger import explain
from terminal import cut_numbers, has_escape_codes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def edges(ledger):
    """(node text, input text, upstream, local, contribution, accumulated) per edge, as plain Python."""
    rows = ledger.forward
    plain = lambda v: None if v is None else np.asarray(v).tolist()
    return [(rows[e.node].text, rows[e.input].text, plain(e.upstream), plain(e.local), plain(e.contribution),
             plain(e.accumulated)) for e in ledger.backward]


# -- the tutorial: y = a*b + c ------------------------------------------------------------------------
def test_the_tutorials_example_step_by_step():
    ledger = explain("a*b + c", a=2, b=3, c=4)
    assert ledger.value == 10.0
    assert [(s.id, s.name, s.text, s.op, s.inputs, s.value) for s in ledger.forward] == [
        (0, "a", "a", "var", [], 2.0), (1, "b", "b", "var", [], 3.0), (2, None, "a*b", "*", [0, 1], 6.0),
        (3, "c", "c", "var", [], 4.0), (4, None, "a*b + c", "+", [2, 3], 10.0)]
    assert edges(ledger) == [("a*b + c", "a*b", 1.0, 1.0, 1.0, 1.0), ("a*b + c", "c", 1.0, 1.0, 1.0, 1.0),
                             ("a*b", "a", 1.0, 3.0, 3.0, 3.0), ("a*b", "b", 1.0, 2.0, 2.0, 2.0)]
    assert [e.partial for e in ledger.backward] == ["∂(a*b + c)/∂(a*b)", "∂(a*b + c)/∂c", "∂(a*b)/∂a", "∂(a*b)/∂b"]
    assert ledger.grad == {"a": 3.0, "b": 2.0, "c": 1.0}
    assert ledger.finite == pytest.approx({"a": 3.0, "b": 2.0, "c": 1.0}, rel=1e-9)
    text = str(ledger)
    assert [e.local_formula for e in ledger.backward] == ["1", "1", "b", "a"]       # the op rows' formulas
    assert [e.rule for e in ledger.backward] == ["sum rule", "sum rule", "product rule", "product rule"]
    assert ledger.backward[0].pattern == "add passes the gradient to both inputs unchanged"
    for line in ("a*b + c  =  10", "local ∂(a*b)/∂a = b = 3", "upstream × local = 1 × 3 = 3", "∂out/∂a = 3", "∂out/∂c = 1"):
        assert line in text, line
    assert repr(ledger) == text


def test_a_named_step_names_the_output_and_its_node():
    ledger = explain("y = a*b + c", a=2, b=3, c=4)
    assert ledger.output == "y" and ledger.forward[-1].name == "y"
    assert [e.partial for e in ledger.backward][:2] == ["∂y/∂(a*b)", "∂y/∂c"]
    program = explain("y = a*b; z = y + c", a=2, b=3, c=4)
    assert [s.name for s in program.forward] == ["a", "b", "y", "c", "z"]
    assert [e.partial for e in program.backward] == ["∂z/∂y", "∂z/∂c", "∂y/∂a", "∂y/∂b"]
    text = program.text(100)
    assert "[4]  z = y + c  receives ∂z/∂z = 1 (the seed)" in text and "∂z/∂a = 3" in text
    assert [e.local_formula for e in program.backward] == ["1", "1", "b", "a"]     # the op rows' formulas


def test_the_api_takes_values_by_name_or_as_a_dict_and_stays_lazy():
    assert explain("a*b + c", {"a": 2, "b": 3}, c=4).grad == gradcli.explain("a*b + c", a=2, b=3, c=4).grad
    code = "import gradcli, sys; print(sorted(m for m in sys.modules if m.startswith('gradcli.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": ROOT}).stdout
    assert "gradcli.ledger" not in out and "numpy" not in out


def test_the_local_formula_is_the_op_rows_in_the_inputs_own_text(monkeypatch):
    """The rows' `derivative` field (x, y, z: the inputs) is written in the inputs' text."""
    import gradcli.engine.ledger as ledger_module
    formulas = {"mul": ("y", "x"), "div": ("1/y", "-x/y^2"), "sin": ("cos(x)",)}
    monkeypatch.setattr(ledger_module, "_formula", lambda op, i: formulas.get(op.key, (None,) * 3)[i])
    ledger = explain("a*b + sin(a)/(b + 1)", a=2, b=3)
    shown = {(ledger.forward[e.node].text, ledger.forward[e.input].text): e.local_formula for e in ledger.backward}
    assert shown[("a*b", "a")] == "b" and shown[("a*b", "b")] == "a"
    assert shown[("sin(a)/(b + 1)", "b + 1")] == "-sin(a)/(b + 1)^2"
    assert shown[("sin(a)", "a")] == "cos(a)"
    assert "∂(a*b)/∂a = b = 3" in str(ledger)


def test_substitute_reads_tokens_and_brackets_compound_inputs():
    assert substitute("-x/y^2", ["a", "(a+b)"]) == "-a/(a+b)^2"
    assert substitute("cos(x)", ["(a+b)"]) == "cos(a+b)"
    assert substitute("g @ y'", ["A", "(B+C)"]) == "g @ (B+C)'"
    assert substitute("exp(x)*y", ["xx", "y2"]) == "exp(xx)*y2"      # names, not letters inside names
    assert substitute("where(x > 0, 1, slope)", ["(a+b)"], {"slope": 0.2}) == "where((a+b) > 0, 1, 0.2)"
    assert substitute("g at the elements picked; x keeps its shape.", ["v"]) == \
        "g at the elements picked; x keeps its shape. (x = v)"      # words the lexer cannot read: kept
    assert atomic("sin(x)") and atomic("(a+b)") and atomic("[1, 2]") and not atomic("(a)*(b)") and not atomic("a+b")


# -- reuse: one node feeding several ------------------------------------------------------------------
def test_x_times_x_adds_two_contributions():
    ledger = explain("x*x", x=3)
    assert [(e.argument, e.contribution, e.accumulated, e.nth, e.of) for e in ledger.backward] == [
        (0, 3.0, 3.0, 1, 2), (1, 3.0, 6.0, 2, 2)]
    assert ledger.grad == {"x": 6.0}
    text = ledger.text(100)
    assert "∂out/∂x += 3  → 6" in text and "a reused value adds its contributions" in text
    assert "(as input 2)" in text


def test_sin_x_times_sin_x_feeds_one_node_twice():
    ledger = explain("sin(x)*sin(x)", x=1)
    s = np.sin(1.0)
    into_sin = [e for e in ledger.backward if ledger.forward[e.input].text == "sin(x)"]
    assert [(e.contribution, e.accumulated) for e in into_sin] == [(s, s), (s, s + s)]
    (into_x,) = [e for e in ledger.backward if ledger.forward[e.input].text == "x"]
    assert into_x.upstream == s + s and into_x.local == np.cos(1.0)
    assert ledger.grad["x"] == gradcli.evaluate("sin(x)*sin(x)", {"x": 1}).grad["x"]


# -- broadcasting: the sum back to a variable's shape ---------------------------------------------------
def test_broadcast_bias_is_summed_back_as_its_own_step():
    W, b = [[1, 2, 3], [4, 5, 6]], [0.5, 0.25, 0]
    ledger = explain("sum(W + b)", W=W, b=b)
    (into_b,) = [e for e in ledger.backward if ledger.forward[e.input].text == "b"]
    assert into_b.summed and np.shape(into_b.raw) == (2, 3) and np.shape(into_b.contribution) == (3,)
    assert into_b.contribution.tolist() == [2.0, 2.0, 2.0]
    (into_W,) = [e for e in ledger.backward if ledger.forward[e.input].text == "W"]
    assert not into_W.summed
    record = ledger.as_dict()
    (b_rec,) = [r for r in record["backward"] if r["input"] == into_b.input]
    assert b_rec["sum_to"] == {"before": [[1.0] * 3] * 2, "shape_before": [2, 3], "shape": [3]}
    assert all("sum_to" not in r for r in record["backward"] if r["input"] != into_b.input)
    assert "broadcasting grew b from (3,) to (2,3): summed back" in ledger.text(120)


def test_matmul_shows_the_vector_jacobian_product():
    A, v = [[1, 2], [3, 4]], [1, -1]
    ledger = explain("sum(A @ v)", A=A, v=v)
    result = gradcli.evaluate("sum(A @ v)", {"A": A, "v": v})
    mm = [e for e in ledger.backward if ledger.forward[e.node].op == "@"]
    assert len(mm) == 2 and all(e.local is None for e in mm)
    assert mm[0].contribution.tolist() == result.grad["A"].tolist() == [[1.0, -1.0], [1.0, -1.0]]
    assert mm[1].contribution.tolist() == result.grad["v"].tolist() == [4.0, 6.0]
    assert "@ is not elementwise: its vector-Jacobian product" in ledger.text(100)


# -- a non-scalar output -----------------------------------------------------------------------------------
def test_a_vector_output_takes_its_grad_output():
    ledger = explain("x*2", x=[1, 2, 3], grad_output=[1, 1, 1])
    assert ledger.seed.tolist() == [1.0, 1.0, 1.0]
    assert ledger.grad["x"].tolist() == [2.0, 2.0, 2.0]
    assert ledger.backward[0].upstream.tolist() == [1.0, 1.0, 1.0]
    assert ledger.as_dict()["grad_output"] == [1.0, 1.0, 1.0]
    weighted = explain("x*2", x=[1, 2, 3], grad_output="0.5,1,2")
    assert weighted.grad["x"].tolist() == [1.0, 2.0, 4.0]
    assert weighted.finite["x"] == pytest.approx([1.0, 2.0, 4.0], rel=1e-8)


def test_a_vector_output_without_grad_output_is_evaluates_error():
    with pytest.raises(GradOutputError) as ours:
        explain("x*2", x=[1, 2, 3])
    with pytest.raises(GradOutputError) as evals:
        gradcli.evaluate("x*2", {"x": [1, 2, 3]})
    assert ours.value.render() == evals.value.render()
    with pytest.raises(BindError):
        explain("x*2", x=[1, 2, 3], grad_output=[1, 1])


def test_wrt_leaves_the_others_constant():
    ledger = explain("a*b + c", a=2, b=3, c=4, wrt=["a"])
    assert list(ledger.grad) == ["a"] and [ledger.forward[e.input].text for e in ledger.backward] == ["a*b", "a"]


def test_large_arrays_get_finite_differences_on_their_first_elements():
    ledger = explain("sum(x^2)", x=np.linspace(-1, 1, 100))
    fd = ledger.finite["x"]
    assert fd[:FD_ELEMENTS] == pytest.approx(2 * np.linspace(-1, 1, 100)[:FD_ELEMENTS], abs=1e-8)
    assert np.isnan(fd[FD_ELEMENTS:]).all()
    cells = ledger.as_dict()["grad"]["x"]["finite_difference"]
    assert cells[FD_ELEMENTS - 1] is not None and cells[FD_ELEMENTS:] == [None] * (100 - FD_ELEMENTS)
    text = ledger.text(250)
    assert f"the first {FD_ELEMENTS} of 100 elements" in text and "…" in text


# -- the property: the contributions are the gradient, bitwise --------------------------------------------
SHAPES = {"a": (), "v": (3,), "W": (2, 3)}


@st.composite
def expressions(draw, depth=3):
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(["a", "v", "W", "a", "v", "2"]))
    kind = draw(st.sampled_from(["+", "*", "-", "sin", "tanh", "cos", "sum", "reuse"]))
    if kind in ("sin", "tanh", "cos"):
        return f"{kind}({draw(expressions(depth - 1))})"
    if kind == "sum":
        return f"sum({draw(expressions(depth - 1))}, axis=-1)" if draw(st.booleans()) else \
            f"sum({draw(expressions(depth - 1))})"
    if kind == "reuse":             # one subexpression twice: hash-consed into one node that feeds twice
        e = draw(expressions(depth - 1))
        return f"({e})*({e})"
    return f"({draw(expressions(depth - 1))}) {kind} ({draw(expressions(depth - 1))})"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(), st.integers(0, 2**32 - 1))
def test_contributions_into_each_variable_add_up_to_its_gradient_bitwise(body, seed):
    text = f"sum({body})"
    rng = np.random.default_rng(seed)
    expr = gradcli.parse(text)
    values = {n: rng.uniform(-2, 2, SHAPES[n]) if SHAPES[n] else float(rng.uniform(-2, 2)) for n in expr.variables()}
    try:
        result = gradcli.evaluate(expr, values)
    except gradcli.GradcliError:        # sum(..., axis=-1) of a number: no axis
        return
    ledger = explain(expr, values)
    assert np.asarray(ledger.value).tobytes() == np.asarray(result.value).tobytes()
    var_ids = {s.id: s.name for s in ledger.forward if s.op == "var"}
    totals = {}
    for e in ledger.backward:
        if e.input in var_ids:
            name = var_ids[e.input]
            totals[name] = e.contribution if name not in totals else totals[name] + e.contribution
            assert np.asarray(e.accumulated).tobytes() == np.asarray(totals[name]).tobytes()
            assert np.shape(e.contribution) == SHAPES[name]
    for name, g in result.grad.items():
        got = np.asarray(totals.get(name, np.zeros_like(values[name])), dtype=np.float64)
        assert got.shape == np.shape(g) and got.tobytes() == np.asarray(g, dtype=np.float64).tobytes(), name
        assert np.asarray(ledger.grad[name]).tobytes() == np.asarray(g).tobytes()


# -- the Tensor graph ---------------------------------------------------------------------------------------
def test_tensor_backward_explain_returns_the_ledger_and_still_accumulates():
    a, b, c = (gradcli.tensor(v, requires_grad=True) for v in (2.0, 3.0, 4.0))
    y = a * b + c
    ledger = y.backward(explain=True)
    assert a.grad.item() == 3.0 and b.grad.item() == 2.0 and c.grad.item() == 1.0
    texts = [s.text for s in ledger.forward]
    assert texts.count("leaf") == 3 and "MulBackward0" in texts and texts[-1] == "AddBackward0"
    assert ledger.grad == {"t0": 3.0, "t1": 2.0, "t3": 1.0}         # a, b, a*b, c: in the order made
    assert [s.inputs for s in ledger.forward] == [[], [], [0, 1], [], [2, 3]]
    assert all(v is None for v in ledger.finite.values())
    assert "AddBackward0" in str(ledger)
    assert y.backward is not None and (a * b).backward() is None       # without explain: None, as PyTorch


def test_tensor_vector_case_with_grad_output():
    x = gradcli.tensor([1.0, 2.0, 3.0], requires_grad=True)
    ledger = (x * 2).backward(gradcli.tensor([1.0, 1.0, 1.0]), explain=True)
    assert x.grad.tolist() == [2.0, 2.0, 2.0]
    record = json.loads(ledger.to_json())
    assert record["grad_output"] == [1.0, 1.0, 1.0]
    assert [s["text"] for s in record["forward"]] == ["leaf", "constant", "MulBackward0"]
    assert record["backward"][0]["contribution"] == [2.0, 2.0, 2.0]


# -- JSON ---------------------------------------------------------------------------------------------------
def test_json_schema(cli):
    r = cli("explain", "sum(W + b) / n", "--W", "[[1,2,3],[4,5,6]]", "--b", "1,1,1", "--n", "0", "-f", "json")
    assert r.code == 0, r
    rec = r.json
    assert set(rec) == {"expr", "value", "shape", "grad_output", "forward", "backward", "grad", "warnings"}
    assert rec["warnings"][0] == "inf first appears in 'sum(W + b) / n' (column 1)"
    assert "warning: inf first appears" in r.err
    assert rec["value"] == "inf" and rec["grad_output"] is None
    for row in rec["forward"]:
        assert set(row) == {"id", "name", "text", "op", "inputs", "value", "shape"}
    for row in rec["backward"]:
        assert {"node", "input", "upstream", "local", "local_formula", "contribution", "accumulated",
                "pattern"} <= set(row) <= {"node", "input", "argument", "upstream", "local", "local_formula",
                                           "partial", "contribution", "accumulated", "contributions", "nth",
                                           "rule", "pattern", "sum_to"}
    assert list(rec["grad"]) == ["W", "b", "n"]
    assert set(rec["grad"]["n"]) == {"value", "finite_difference"} and rec["grad"]["n"]["value"] == "-inf"


# -- the command line ---------------------------------------------------------------------------------------
def test_cli_ledger_and_exit_codes(cli):
    ok = cli("explain", "a*b + c", "--a", "2", "--b=3", "c=4")
    assert ok.code == 0 and "∂out/∂a = 3" in ok.out and not ok.err
    vector = cli("explain", "x*2", "--x", "1,2,3", "--grad-output", "1,1,1")
    assert vector.code == 0 and "[2, 2, 2] (3,)" in vector.out
    missing = cli("explain", "x*2", "--x", "1,2,3")
    evals = cli("eval", "x*2", "--x", "1,2,3", "--no-check")
    assert missing.code == 2 and missing.err == evals.err and "--grad-output" in missing.err
    free = cli("explain", "a*b", "--a", "2")
    assert free.code == 2 and "needs a value" in free.err and "--b 2" in free.err
    bad = cli("explain", "a*", "--a", "2")
    assert bad.code == 2 and "^" in bad.err
    assert cli("explain", "a", "--a", "2", "--frmat", "json").code == 2
    assert cli("explain", "a", "--a", "2", "-f", "tsv").code == 2
    shape = cli("explain", "x*2", "--x", "1,2,3", "--grad-output", "1,1")
    assert shape.code == 2 and "shape" in shape.err
    assert cli("explain", "a*b", "--a", "2", "--b", "3", "--wrt", "b", "-f", "json").json["grad"].keys() == {"b"}


def test_explain_never_imports_sympy():
    code = ("import sys\nfrom gradcli.cli.main import main\n"
            "try:\n    main(['explain', 'sin(x)*y', '--x', '2', '--y', '3'])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith(('sympy', 'symengine', 'gradcli.symbolic'))),"
            " file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": ROOT})
    assert proc.stderr.strip().splitlines()[-1] == "[]"


# -- what a person sees -------------------------------------------------------------------------------------
TERMINAL_CASES = [
    ["explain", "sin(x)*sin(x) + exp(-x)*y", "--x", "1.3", "--y", "2.718281828459045"],
    ["explain", "sum(W + b)", "--W", "[[1.5,2,3],[4,5,6.25]]", "--b", "0.1,0.2,0.3"],
]


@pytest.mark.parametrize("args", TERMINAL_CASES, ids=lambda a: a[1])
@pytest.mark.parametrize("cols", [40, 80])
def test_in_a_terminal_a_file_and_a_pipe(args, cols):
    tty = terminal.run(args, cols=cols)
    assert tty.code == 0 and "Traceback" not in tty.text
    assert not cut_numbers(tty.text), tty
    assert all(len(line) <= cols for line in tty.screen)
    assert "backward pass" in tty.text and "gradients" in tty.text
    for mode in ("file", "pipe"):
        s = terminal.run(args, cols=cols, stdout=mode)
        assert s.code == 0 and not has_escape_codes(s.out) and not cut_numbers(s.out), s
        assert "backward pass" in s.out and "finite difference" in s.out and "rule" in s.out


def test_a_long_node_text_is_cut_between_tokens():
    text = " + ".join(f"x{i}*x{i + 1}" for i in range(1, 31))
    ledger = explain(text, {f"x{i}": 1.0 for i in range(1, 32)})
    long = [s.text for s in ledger.forward if s.text.endswith("…")]
    assert long and all(s.endswith(" …") and len(s) <= 120 for s in long)
    assert not cut_numbers(ledger.text(80)) and not cut_numbers(ledger.text(40))


def test_ipython_pretty_prints_the_text():
    class Printer:
        def __init__(self):
            self.out = []

        def text(self, s):
            self.out.append(s)
    printer = Printer()
    ledger = explain("x*x", x=3)
    ledger._repr_pretty_(printer, False)
    assert printer.out == [str(ledger)]


def test_a_kink_is_noted_beside_its_finite_difference(cli):
    r = cli("explain", "relu(x)", "--x", "0", "-f", "json")
    assert r.code == 0 and any(w.startswith("not differentiable here: relu'(0) = 0") for w in r.json["warnings"])
    assert "finite difference beside its gradient averages the two sides" in r.err
    assert "warnings" not in cli("explain", "relu(x)", "--x", "1", "-f", "json").json
