"""render/: numbers fitted to a width, the records, one emit for every result kind, and the graph exports."""
import io
import json
import math
import shutil
import subprocess

import numpy as np
import pytest
from rich.console import Console
from rich.text import Text

import gradcli
from gradcli import render
from gradcli.batch import Options, run
from gradcli.check.cross import cross_check
from gradcli.cli.spec import COMMANDS
from gradcli.render import records
from gradcli.render.numbers import KEEP, Digits, dumps, fitted, fmt_num, fmt_value, to_json, tsv_cell


def test_graph_formats(cli):
    tree = cli("graph", "sin(x)*sin(x)", "--x", "1").out
    assert "MulBackward0" in tree and "shown above" in tree
    dot = cli("graph", "a*b+c", "--a", "2", "--b", "3", "--c", "4", "-f", "dot").out
    assert dot.startswith("digraph gradcli {") and dot.count("->") == 4
    assert 'fillcolor="lightblue"' in dot and 'fillcolor="darkolivegreen1"' in dot and 'fillcolor="lightgrey"' in dot
    mermaid = cli("graph", "a*b+c", "--a", "2", "--b", "3", "--c", "4", "-f", "mermaid").out
    assert mermaid.startswith("flowchart BT") and "n2 --> n4" in mermaid and "class n4 output" in mermaid
    rec = cli("graph", "a*b+c", "--a", "2", "--b", "3", "--c", "4", "-f", "json", "--retain-grad").json
    assert [n["grad"] for n in rec["graph"]] == [3.0, 2.0, 1.0, 1.0, 1.0]


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz (Debian package graphviz) is not installed")
def test_dot_renders_with_graphviz(cli):
    dot = cli("graph", "sum(W @ v) + sin(W[0,1])", "--W", "[[1,2],[3,4]]", "--v", "1,1", "-f", "dot").out
    svg = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True, check=True).stdout
    graph = gradcli.evaluate("sum(W @ v) + sin(W[0,1])", {"W": [[1, 2], [3, 4]], "v": [1, 1]}).graph
    for node in graph:
        assert f"<title>n{node.id}</title>" in svg
        assert node.text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")[:30] in svg


# -- numbers ------------------------------------------------------------------------------------
@pytest.mark.parametrize("x, digits, text", [
    (10.0, None, "10"), (0.1, None, "0.1"), (1e-300, None, "1e-300"), (-0.0, None, "-0"),
    (float("inf"), None, "inf"), (-float("inf"), None, "-inf"), (float("nan"), None, "nan"),
    (1 / 3, None, "0.3333333333333333"), (2 ** 60, None, "1.152921504606847e+18"),
    (2.8867513459481287e-22, 3, "2.89e-22"), (1 / 3, 4, "0.3333"),
    (123456.0, 3, "123456"),            # the exact text is shorter than 1.23e+05: kept
    (-1234.5678, 6, "-1234.57"),
])
def test_fmt_num_is_the_shortest_exact_text_or_keeps_its_exponent(x, digits, text):
    assert fmt_num(x, digits) == text


def test_digits_notes_when_a_number_is_shown_rounded():
    d = Digits(4)
    assert d.num(0.5) == "0.5" and not d.rounded
    assert d.num(1 / 3) == "0.3333" and d.rounded
    assert Digits().num(1 / 3) == repr(1 / 3)


def test_arrays_align_and_summarize():
    assert fmt_value(np.array([1.0, -2.5, 10.0])) == "[   1, -2.5,   10]"
    assert fmt_value(np.array([[1.0, 2.0], [3.0, 40.0]])) == "[[ 1,  2],\n [ 3, 40]]"
    big = fmt_value(np.arange(1000.0))
    assert big == "[0, 1, 2, …, 997, 998, 999]".replace("0, 1, 2", "  0,   1,   2")
    assert fmt_value(np.zeros(0)) == "[]"


def test_json_is_strict_and_one_line():
    assert to_json(np.array([1.0, np.nan, -np.inf])) == [1.0, "nan", "-inf"]
    assert to_json(np.float64(2.5)) == 2.5 and to_json(None) is None
    text = dumps({"expr": "a\u2028b\u0085", "value": to_json(np.inf)})
    assert text == '{"expr": "a\\u2028b\\u0085", "value": "inf"}'
    assert len(text.splitlines()) == 1 and json.loads(text)["expr"] == "a\u2028b\u0085"


def test_tsv_cells_are_compact():
    assert tsv_cell(np.array([[1.0, 2.0], [3.0, np.nan]])) == "[[1,2],[3,nan]]"
    assert tsv_cell(None) == "" and tsv_cell(0.1) == "0.1"


# -- fitting to a width -----------------------------------------------------------------------------
def pis(count):
    """A layout: `count` copies of pi in one word (a line that cannot wrap)."""
    return lambda digits: Text(",".join([digits.num(math.pi)] * count))


def test_fitted_shows_every_digit_when_they_fit():
    shown, digits = fitted(200, pis(3))
    assert shown.plain == ",".join([repr(math.pi)] * 3) and not digits.rounded


def test_fitted_takes_the_most_digits_that_fit():
    shown, digits = fitted(30, pis(3))        # 3 numbers and 2 commas in 30 columns: 9 characters each
    assert shown.plain == "3.1415927,3.1415927,3.1415927" and digits.rounded and digits.limit == 8
    assert len(shown.plain) <= 30


def test_fitted_gives_up_a_layout_rather_than_go_below_keep_digits():
    """pis(10) fits 80 columns only with 6 digits or fewer; with KEEP = 6 it is kept, but in
    40 columns it would need 2, so the next layout (fewer numbers a line) is taken."""
    stacked = lambda digits: Text("\n".join([digits.num(math.pi)] * 10))
    shown, digits = fitted(80, pis(10), stacked)
    assert shown.plain.count("3.14159") == 10 and digits.limit == KEEP
    shown, digits = fitted(40, pis(10), stacked)
    assert shown.plain.splitlines()[0] == repr(math.pi) and not digits.rounded


def test_when_nothing_fits_the_last_layout_has_the_fewest_digits():
    shown, digits = fitted(10, pis(10))
    assert digits.limit == 3 and shown.plain.startswith("3.14,3.14,")


# -- one emit for every result kind -------------------------------------------------------------------
EMITS = {"eval": [render.Evaluated, render.Symbolic], "diff": [render.Diffed], "hessian": [render.Matrix],
         "jacobian": [render.Matrix], "minimize": [render.Minimum], "graph": [render.Graph],
         "plot": [render.Plotted], "explain": [render.Explained]}


@pytest.mark.parametrize("command", list(EMITS))
def test_every_format_a_command_offers_is_rendered(command):
    offered = next(o for o in COMMANDS[command].options if o.name == "fmt").choices
    for kind in EMITS[command]:
        assert set(render.FORMATS[kind]) == set(offered), kind


def test_batch_writes_json_and_tsv_records_and_a_table_at_the_end():
    """Batch streams its JSON and TSV records one by one (records.batch_text); its table is emitted."""
    assert set(render.FORMATS[render.Batch]) == {"table"}
    recs = list(run([(1, "x^2 where x=2"), (2, "x^")], Options()))
    lines = [json.loads(records.batch_text(r, "json", None)) for r in recs]
    assert lines[0]["grad"] == {"x": 4.0} and lines[1]["error"]["column"] == 3
    assert json.loads(records.batch_text(recs[0], "json", "a.txt"))["file"] == "a.txt"
    assert records.batch_text(recs[0], "tsv", "a.txt").split("\n")[0] == "a.txt\t1\toutput\tx^2\t[]\t4\t"


def test_emit_gives_text_for_machines_and_layouts_for_people():
    result = gradcli.evaluate("a*b + sin(a)", {"a": 2.0, "b": 3.0})
    check = cross_check(result)
    shown = render.Evaluated(result, check)
    assert json.loads(render.emit(shown, "json")) == records.eval_record(result, check.record())
    assert render.emit(shown, "tsv") == records.eval_tsv(result)
    layouts = render.emit(shown, "table")
    assert len(layouts) == 3
    for layout in layouts:
        out = io.StringIO()
        Console(file=out, width=100, color_system=None).print(layout(Digits()))
        assert fmt_num(result.value) in out.getvalue() and "a*b + sin(a)" in out.getvalue()
