"""Programs: named steps (y = a*b; z = y + c), functions inlined at each call (f(x) = x^2 + 1),
statements on lines or separated by ';', and --file, --retain-grad NAMES."""
import json
import re

import numpy as np
import pytest

from gradcli.errors import BindError, ParseError
from gradcli.evaluation import evaluate
from gradcli.lang.parser import parse
from gradcli.ops import TABLE

# -- a program is the expression it spells out -------------------------------------------------------
SAME = [
    ("y = a*b; z = y + c", "a*b + c"),
    ("y = a*b\nz = y + c\n", "a*b + c"),
    ("y = a*b; y + sin(y)", "a*b + sin(a*b)"),
    ("f(x) = x^2 + 1; f(a) + f(b)", "(a^2 + 1) + (b^2 + 1)"),
    ("f(x, y) = x*y - y; f(b, a) + f(a, 2)", "(b*a - a) + (a*2 - 2)"),
    ("f(x) = x^2\ng(x) = f(x)*f(x + 1)\ng(a) + b", "a^2*(a + 1)^2 + b"),
    ("k = 2*c; f(x) = k*x; f(a) + f(b)", "2*c*a + 2*c*b"),              # a step defined before f, inside f
    ("x = 2*a; f(x) = x^2; f(b) + x", "b^2 + 2*a"),                    # the parameter shadows the step
    ("f(a) = a + 1; f(b)*a", "(b + 1)*a"),                             # ... and the variable
    ("s(v) = sum(v*v); s(w) + s(w + c)", "sum(w*w) + sum((w + c)*(w + c))"),
    ("y = a*b;\n\n# a comment\nz = y +\n  c  # continued after the operator\nz", "a*b + c"),
    ("y = a*b\n  + c\ny", "a*b + c"),                                  # a line starting with + continues
    ("f(x) = max(x,\n  0)\nf(a - b)", "max(a - b, 0)"),                # inside brackets
]


@pytest.mark.parametrize("program, expr", SAME)
def test_a_program_computes_what_it_spells_out(program, expr):
    values = {"a": 0.7, "b": -1.3, "c": 2.1, "w": np.array([0.5, -2.0, 1.5])}
    got = evaluate(program, {k: v for k, v in values.items() if k in parse(program).variables()})
    want = evaluate(expr, {k: v for k, v in values.items() if k in parse(expr).variables()})
    assert np.array_equal(got.value, want.value)
    assert got.grad.keys() == want.grad.keys()
    for name in want.grad:
        np.testing.assert_allclose(got.grad[name], want.grad[name], rtol=1e-15, atol=0)


def test_functions_are_inlined_so_the_graph_is_a_dag_of_table_ops():
    expr = parse("f(x) = exp(x)*x; f(a) + f(f(a))")
    assert all(n.op in TABLE for n in expr.nodes())
    assert expr.sexpr() == "(+ (* (exp a) a) (* (exp (* (exp a) a)) (* (exp a) a)))"
    twice = parse("f(x) = sin(x); f(a) * f(a)")
    assert twice.args[0] is twice.args[1]                  # one call's body, used twice


def test_steps_name_their_nodes_and_calls_label_their_group():
    expr = parse("y = a*b; f(x) = x^2 + 1; z = f(y) + c; z")
    labels = {n.label: n.text for n in expr.nodes() if getattr(n, "label", None)}
    assert labels == {"y": "a*b", "f(y)": "y^2 + 1", "z": "f(y) + c"}     # the body in the call's arguments
    assert set(expr.program) == {"y", "z"} and expr.program["z"] is expr
    named = parse("f(x) = x^2 + 1; y = f(a); y")          # a step's name replaces the call's label
    assert named.label == "y"


def test_an_alias_of_a_variable_names_no_node():
    expr = parse("y = a; y*b")
    assert [getattr(n, "label", None) for n in expr.nodes()] == [None, None, None]
    assert evaluate(expr, {"a": 2, "b": 5}).grad == {"a": 5.0, "b": 2.0}


# -- errors: a message and a caret under the name ----------------------------------------------------
ERRORS = [
    ("y = a; y = b; y", "'y' is already defined (column 1): a name is defined once", 8),
    ("z = y + c; y = a*b; z", "'y' is used before it is defined", 5),
    ("x = x + 1; x", "'x' is used in its own definition", 5),
    ("sin = a*b; sin", "'sin' is a function; a step cannot be named so", 1),
    ("pi = 3; pi", "'pi' is a constant", 1),
    ("exp(x) = x; exp(a)", "'exp' is a function; a function cannot be named so", 1),
    ("f(x) = f(x - 1); f(a)", "f calls itself", 8),
    ("f(x) = x^2; f(a, b)", "f() takes 1 argument, got 2", 13),
    ("f(x, y) = x*y; f(a)", "f() takes 2 arguments, got 1", 16),
    ("f(x) = x^2", "a program ends with its output, not a definition", 1),
    ("a*b; c", "only the last statement is the output", 1),
    ("f(x) = x*k; k = 2; f(a)", "'k' is used before it is defined", 10),
    ("y = a*b; y(2)", "'y' is a step, not a function", 10),
    ("f(x) = x; f + 1", "'f' is a function: write f(...)", 11),
    ("f(x, x) = x; f(1, 2)", "parameter 'x' is given twice", 6),
    ("f(sin) = sin; f(1)", "'sin' is a function; a parameter cannot be named so", 3),
    ("y = ; y", "expected an expression after 'y ='", 5),
    ("f(x) = ; f(1)", "expected the body of f after '='", 8),
    ("y = a*b; z = y + $", "unexpected character '$'", 18),
]


@pytest.mark.parametrize("program, message, column", ERRORS)
def test_program_errors_name_the_problem_with_a_caret(program, message, column):
    with pytest.raises(ParseError) as info:
        parse(program)
    assert message in info.value.message
    assert info.value.column == column
    assert "^" in info.value.render()


def test_an_error_in_a_program_of_lines_shows_its_line():
    with pytest.raises(ParseError) as info:
        parse("y = a*b\nz = q + 1\nw = z*y\nw = 1\nw")
    assert info.value.render().splitlines()[:4] == [
        "error: 'w' is already defined (line 3, column 1): a name is defined once",
        "  line 4:", "  w = 1", "  ^"]


def test_a_function_that_doubles_at_every_level_is_stopped_not_run_out_of_memory(monkeypatch):
    monkeypatch.setattr("gradcli.lang.parser.MAX_NODES", 20_000)     # the limit's check, not its size
    levels = "\n".join(f"f{i}(x) = f{i - 1}(x*2) + f{i - 1}(x*3)" for i in range(1, 40))
    with pytest.raises(ParseError, match="more than 20,000 nodes"):
        parse("f0(x) = x + 1\n" + levels + "\nf39(a)")


# -- the CLI ---------------------------------------------------------------------------------------
def test_eval_shows_the_steps_names(cli):
    r = cli("eval", "y = a*b; z = y + c", "--a", "2", "--b", "3", "--c", "4", "--retain-grad", "y")
    assert r.code == 0 and r.out.startswith("y = a*b; z = y + c  =  10")
    assert "y = a*b" in r.out.split("intermediate")[1]
    tree = cli("eval", "y = a*b; z = y + c", "--a", "2", "--b", "3", "--c", "4", "--tree").out
    assert "z = y + c  #4  +  = 10" in tree and "y = a*b  #2  *  = 6" in tree


def test_retain_grad_keeps_the_named_steps_only_and_alone_keeps_all(cli):
    program = "y = a*b; z = y + c; w = z^2; w"
    args = ("eval", program, "--a", "2", "--b", "3", "--c", "4", "-f", "json")
    named = {n["name"]: n for n in cli(*args, "--retain-grad", "y,z").json["graph"] if "name" in n}
    assert named["y"]["grad"] == 20.0 and named["z"]["grad"] == 20.0 and named["w"]["grad"] is None
    graph = cli(*args, "--retain-grad", "y").json["graph"]
    assert [n.get("name") for n in graph if not n["is_leaf"] and n["grad"] is not None] == ["y"]
    every = cli(*args, "--retain-grad").json["graph"]
    assert all(n["grad"] is not None for n in every if n["requires_grad"])
    tsv = cli("eval", program, "--a", "2", "--b", "3", "--c", "4", "-f", "tsv", "--retain-grad", "z").out
    assert "node\tz\t[]\t10\t20" in tsv


def test_retain_grad_of_a_name_that_is_no_step_is_an_error(cli):
    r = cli("eval", "y = a*b; y + c", "--a", "2", "--b", "3", "--c", "4", "--retain-grad", "q")
    assert r.code == 2 and "no step is named q" in r.err and "the named steps are y" in r.err
    with pytest.raises(BindError, match="no step is named"):
        evaluate("a*b", {"a": 1, "b": 2}, retain_grad=["y"])


def test_graph_formats_name_the_steps(cli):
    args = ("graph", "y = a*b; z = y + c", "--a", "2", "--b", "3", "--c", "4")
    assert '"y = a*b\\nop * · MulBackward0' in cli(*args, "-f", "dot").out
    assert 'n2["y = a*b<br/>op * · MulBackward0' in cli(*args, "-f", "mermaid").out
    graph = cli(*args, "-f", "json").json["graph"]
    assert [n.get("name") for n in graph] == [None, None, "y", None, "z"]
    assert "name" not in cli("graph", "a*b", "--a", "1", "--b", "2", "-f", "json").json["graph"][2]


def test_the_tree_shows_each_call_as_a_named_group(cli):
    tree = cli("graph", "f(x) = x^2 + 1; f(a) + f(b)", "--a", "1", "--b", "2").out
    assert "├── f(a) = a^2 + 1  #4  +  = 2" in tree and "└── f(b) = b^2 + 1  #7  +  = 5" in tree
    assert "│   ├── a^2  #2  ^  = 1" in tree


@pytest.mark.parametrize("program, texts", [
    ("f(t) = t^2 + 1; f(sin(x))*f(x)", ["sin(x)^2", "sin(x)^2 + 1", "x^2", "x^2 + 1"]),
    ("f(t) = 2*t; g(u, v) = f(u)*v; g(a + b, c)", ["2*(a + b)", "f(a + b)*c"]),
    ("f(t) = exp(t) - t; f(x*y)", ["exp(x*y)", "exp(x*y) - x*y"]),
])
def test_a_calls_nodes_read_in_its_arguments(program, texts):
    shown = [n.text for n in parse(program).nodes() if n.args]
    for text in texts:
        assert text in shown, (text, shown)


def test_a_call_inside_a_body_is_labelled_with_the_outer_arguments():
    expr = parse("f(t) = 2*t; g(u, v) = f(u)*v; h(w) = g(w, w + 1); h(a*b)")
    labels = sorted(n.label for n in expr.nodes() if getattr(n, "label", None))
    assert labels == ["f(a*b)", "h(a*b)"]          # g(w, w + 1) is h(w)'s whole body: the outer call names it
    assert expr.text == "f(a*b)*(a*b + 1)"
    assert [(n.op.symbol, n.text) for n in parse("f(t) = t^2; f(a + b) + f(-a)").nodes() if n.op.symbol == "^"] == \
        [("^", "(a + b)^2"), ("^", "(-a)^2")]


def test_file_reads_a_program_from_a_file_or_standard_input(cli, tmp_path):
    path = tmp_path / "program.txt"
    path.write_text("# the tutorial's example\ny = a*b\nz = y + c\n")
    rec = cli("eval", "--file", str(path), "--a", "2", "--b", "3", "--c", "4", "-f", "json").json
    assert rec["value"] == 10.0 and rec["grad"] == {"a": 3.0, "b": 2.0, "c": 1.0}
    piped = cli("eval", "--file", "-", "--a", "2", "--b", "3", "--c", "4", "-f", "json", stdin=path.read_text()).json
    assert piped == rec
    table = cli("eval", "--file", str(path), "--a", "2", "--b", "3", "--c", "4").out
    assert table.startswith("y = a*b; z = y + c  =  10")          # statements on one line, no comment
    both = cli("eval", "a*b", "--file", str(path))
    assert both.code == 2 and "the expression or --file, not both" in both.err
    missing = cli("eval", "--file", str(tmp_path / "nope.txt"))
    assert missing.code == 2 and "cannot read --file" in missing.err and "No such file" in missing.err
    bad = tmp_path / "bad.txt"
    bad.write_text("y = a*b\nz = y +* c\n")
    err = cli("eval", "--file", str(bad), "--a", "1", "--b", "1", "--c", "1").err
    assert "line 2:" in err and "z = y +* c" in err


@pytest.mark.parametrize("args, key, want", [
    (("diff", "f(x) = x^2*sin(x); f(a)", "-f", "json"), "grad", {"a": "a^2*cos(a) + 2*a*sin(a)"}),
    (("hessian", "f(x) = x^3; y = f(a)*b; y", "--a", "2", "--b", "3", "-f", "json"), "hessian", [[36.0, 12.0], [12.0, 0.0]]),
    (("jacobian", "f(x) = x^2; [f(a), f(b)]", "--a", "1", "--b", "3", "-f", "json"), "jacobian", [[2.0, 0.0], [0.0, 6.0]]),
    (("eval", "f(x) = x^2\ny = f(a) + f(b)", "--a", "1", "--b", "3", "-f", "json"), "grad", {"a": 2.0, "b": 6.0}),
])
def test_definitions_work_in_every_command(cli, args, key, want):
    r = cli(*args)
    assert r.code == 0, r
    assert r.json[key] == want


def test_definitions_work_in_minimize_plot_and_batch(cli):
    m = cli("minimize", "f(x) = (x - 3)^2; f(a) + f(b)", "--a", "0", "--b", "0", "-f", "json").json
    assert abs(m["argmin"]["a"] - 3) < 1e-6 and abs(m["argmin"]["b"] - 3) < 1e-6
    p = cli("plot", "f(t) = t^3 - 3*t; f(x)", "--x", "-2:2", "--points", "5", "-f", "json").json
    assert p["value"] == [-2.0, 2.0, 0.0, -2.0, 2.0] and p["derivative"] == [9.0, 0.0, -3.0, 0.0, 9.0]
    out = cli("batch", "-f", "json", "--no-check",
              stdin="y = a*b; y + c where a=2, b=3, c=4\nf(x) = x^2; f(a) where a=3\ny = ; y\n").out
    records = [json.loads(line) for line in out.splitlines()]
    assert records[0]["value"] == 10.0 and records[1]["grad"] == {"a": 6.0}
    assert "error" in records[2] and len(records) == 3


# -- properties: naming a step or wrapping the expression in a function changes no digit ---------------
from hypothesis import HealthCheck, given, settings            # noqa: E402
from hypothesis import strategies as st                         # noqa: E402

from fuzz.strategies import expressions                         # noqa: E402


def _same(program: str, expr: str, values: dict):
    try:
        want = evaluate(expr, values)
    except Exception as exc:                                     # a clean error: the program gives it too
        with pytest.raises(type(exc)):
            evaluate(program, values)
        return
    got = evaluate(program, values)
    np.testing.assert_array_equal(got.value, want.value)
    assert got.grad.keys() == want.grad.keys()
    for name, g in want.grad.items():
        np.testing.assert_array_equal(got.grad[name], g)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expr=expressions(), inner=expressions(depth=2))
def test_a_named_step_or_a_function_gives_every_digit_the_expression_gives(expr, inner):
    values = {"a": 0.7, "b": -1.25, "c": 1.5}
    _same(f"y = {inner}\nz = ({expr}) * y\nz", f"({expr}) * ({inner})", values)
    # parameters named like the variables they are given: the body is the expression itself
    _same(f"g(a, b, c) = {expr}; g(a, b, c) + c", f"({expr}) + c", values)
    # parameters bound to other variables: a body inlined with the arguments
    renamed = re.sub(r"\b[ab]\b", lambda m: {"a": "p", "b": "q"}[m.group()], expr)
    swapped = re.sub(r"\b[ab]\b", lambda m: {"a": "b", "b": "a"}[m.group()], expr)
    _same(f"h(p, q) = {renamed}; h(b, a)", swapped, values)


def test_files_with_a_byte_order_mark_crlf_and_comments_read_as_typed(cli, tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffy = a*b  # first\r\nz = y + 1  # second\r\n".encode("utf-8"))
    r = cli("eval", "--file", str(path), "--a", "1", "--b", "2", "--no-check")
    assert r.code == 0 and r.out.startswith("y = a*b; z = y + 1  =  3")


def test_an_unclosed_bracket_before_a_new_line_is_named(cli):
    r = cli("eval", "--file", "-", "--a", "1", "--b", "2", stdin="y = a*b\nz = (y + 1\nz\n")
    assert r.code == 2 and "a bracket opened before this line is not closed" in r.err


def test_mermaid_labels_escape_comparisons(cli):
    out = cli("graph", "(a < b)*a", "--a", "1", "--b", "2", "-f", "mermaid").out
    assert '"a #lt; b<br/>op #lt;' in out and "<b" not in out.replace("<br/>", "")


def test_the_chain_rules_let_never_takes_a_steps_name(cli):
    out = cli("diff", "u = x^2; sin(cos(x))*u", "--steps").out
    assert "let v = cos(x)" in out and "let u" not in out


@pytest.mark.parametrize("program, value", [
    ("a = x*2; g(t) = t^2; f(t) = g(a) + t; f(x)", 10.5),      # a call inside a body, of a name in scope
    ("y = x + 1; g(t) = t^2; f(t) = g(x) + t; f(y)", 4.75),
    ("g(t) = t + 1; f(t) = g(2) * g(t); f(x) + g(2)", 10.5),
])
def test_a_call_inside_a_body_computes_what_it_spells_out(program, value):
    assert evaluate(program, {"x": 1.5}).value == value


def test_a_definition_never_called_costs_nothing_and_a_long_body_is_read_in_linear_time():
    doubling = "\n".join(f"f{i}(x) = f{i - 1}(x*2) + f{i - 1}(x*3)" for i in range(1, 40))
    assert parse("f0(x) = x + 1\n" + doubling + "\na").sexpr() == "a"       # defined, never called
    long = parse("f(t) = " + " + ".join(f"t*{i}" for i in range(3000)) + "; f(x)")
    assert len(long.nodes()) > 6000 and long.text.endswith("…") and len(long.text) < 300


def test_an_index_of_a_parameter_keeps_the_argument_together():
    assert [n.text for n in parse("f(t) = t[0]*2; f(a + b)").nodes() if n.args][-1] == "(a + b)[0]*2"


def test_a_warning_in_a_program_of_lines_names_its_line(cli):
    r = cli("eval", "y = x + 1\nz = log(y - 5)\nz", "--x", "1", "--no-check")
    assert "warning: nan first appears in 'log(y - 5)' (line 2, column 5)" in r.err
