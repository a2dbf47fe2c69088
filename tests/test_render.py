"""render/: numbers fitted to a width, the records, one emit for every result kind, and the graph exports."""
import shutil
import subprocess

import pytest

import gradcli


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
