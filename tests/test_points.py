"""eval --points: value and gradient at every row of a CSV, over whole columns."""
import json

import numpy as np
import pytest

import gradcli
from conftest import run_process
from gradcli.points import elementwise_only, evaluate_rows


def write_csv(path, names, data):
    path.write_text(",".join(names) + "\n" + "\n".join(",".join(map(repr, row)) for row in data.tolist()) + "\n")


def test_hundred_thousand_rows_match_per_row_eval(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.uniform(0.5, 2.0, size=(100_000, 3))
    path = tmp_path / "points.csv"
    write_csv(path, ["a", "b", "c"], data)
    text = "a*sin(b) + c^2/a - tanh(a*b*c)"
    r = run_process("eval", text, "--points", str(path), "--no-check", timeout=120)
    assert r.code == 0
    lines = r.out.splitlines()
    assert lines[0] == "value,d_a,d_b,d_c" and len(lines) == 100_001
    got = np.array([[float(x) for x in line.split(",")] for line in lines[1:]])
    a, b, c = data.T
    t = np.tanh(a * b * c)
    np.testing.assert_allclose(got[:, 0], a * np.sin(b) + c ** 2 / a - t, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(got[:, 1], np.sin(b) - c ** 2 / a ** 2 - (1 - t ** 2) * b * c, rtol=1e-12, atol=1e-13)
    expr = gradcli.parse(text)
    for i in rng.choice(100_000, size=300, replace=False):
        per_row = gradcli.evaluate(expr, dict(zip("abc", data[i])))
        assert got[i, 0] == per_row.value
        assert list(got[i, 1:]) == [per_row.grad[n] for n in "abc"]


def test_json_lines_and_constants(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("x,id\n1,7\n2,8\n")
    r = run_process("eval", "k*x^2", "--points", str(path), "--k", "3", "-f", "json")
    recs = [json.loads(line) for line in r.out.splitlines()]
    assert recs == [{"row": 1, "value": 3.0, "grad": {"k": 1.0, "x": 6.0}},
                    {"row": 2, "value": 12.0, "grad": {"k": 4.0, "x": 12.0}}]
    assert "cross-check on rows 1, 2: ok" in r.err


def test_points_from_stdin(cli):
    r = cli("eval", "a*b", "--points", "-", "--no-check", stdin="a,b\n1,2\n3,4\n")
    assert r.out == "value,d_a,d_b\n2.0,2.0,1.0\n12.0,4.0,3.0\n"


def test_non_elementwise_expressions_run_row_by_row():
    expr = gradcli.parse("sum([a, b]) * max(a, b)")
    assert not elementwise_only(expr)
    value, grads, _ = evaluate_rows(expr, {"a": np.array([1.0, 3.0]), "b": np.array([2.0, 1.0])})
    assert value.tolist() == [6.0, 12.0] and grads["a"].tolist() == [2.0, 7.0]


@pytest.mark.parametrize("csv, fragment", [
    ("a,b\n1,2\n3,x\n", "could not convert string 'x' to float64 on line 3"),
    ("a b\n1 2\n", "must name the variables"),
    ("a\n1\n", "'b' has no column"),
    ("a,a\n1,2\n", "repeats"),
])
def test_bad_points_files(cli, csv, fragment):
    r = cli("eval", "a*b", "--points", "-", stdin=csv)
    assert r.code == 2 and fragment in r.err


def test_split_formatting_writes_the_same_rows(cli, monkeypatch, tmp_path):
    from gradcli.cli import workers as commands
    rng = np.random.default_rng(3)
    path = tmp_path / "p.csv"
    write_csv(path, ["a", "b"], rng.uniform(-3, 3, size=(2_345, 2)))
    plain = cli("eval", "a*exp(b)", "--points", str(path), "--no-check").out
    monkeypatch.setattr(commands, "SPLIT_ROWS", 10)
    monkeypatch.setattr(commands, "ROWS_A_BLOCK", 100)
    split = cli("eval", "a*exp(b)", "--points", str(path), "--no-check").out
    assert split == plain and len(split.splitlines()) == 2_346
