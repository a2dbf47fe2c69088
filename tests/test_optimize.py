"""optimize.py: gradient descent and its optimizers, divergence, step limits, traces, and the errors of minimize."""
import csv

import numpy as np
import pytest

from gradcli.optimize import minimize


def test_minimize_defaults_reach_the_minimum(cli):
    rec = cli("minimize", "(x-3)^2 + (y+1)^2", "--x", "0", "--y", "0", "-f", "json").json
    assert rec["converged"] and rec["reason"] == "converged"
    assert abs(rec["argmin"]["x"] - 3) < 1e-6 and abs(rec["argmin"]["y"] + 1) < 1e-6


def test_adam_solves_rosenbrock():
    m = minimize("(1-x)^2 + 100*(y-x^2)^2", {"x": -1.2, "y": 1}, optimizer="adam", steps=20_000)
    assert m.steps <= 20_000
    assert abs(m.argmin["x"] - 1) < 1e-4 and abs(m.argmin["y"] - 1) < 1e-4


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_every_optimizer_minimizes_a_bowl(optimizer):
    m = minimize("sum((w - [1, 2])^2)", {"w": [0, 0]}, optimizer=optimizer)
    assert m.converged and np.allclose(m.argmin["w"], [1, 2], atol=1e-6)


def test_divergence_reports_the_last_finite_point_and_exits_1(cli):
    r = cli("minimize", "(1-x)^2 + 100*(y-x^2)^2", "--x", "-1.2", "--y", "1", "--optimizer", "sgd", "-f", "json")
    assert r.code == 1 and "diverged" in r.err
    rec = r.json
    assert rec["reason"] == "diverged" and not rec["converged"]
    assert all(np.isfinite(v) for v in rec["argmin"].values())


def test_step_limit_warns_and_exits_0(cli):
    r = cli("minimize", "(x-3)^2", "--x", "0", "--steps", "3", "-f", "json")
    assert r.code == 0 and r.json["reason"] == "step limit" and "warning" in r.err and r.json["steps"] == 3


def test_trace_writes_every_step(cli, tmp_path):
    path = tmp_path / "trace.csv"
    r = cli("minimize", "(x-3)^2 + y^2", "--x", "0", "--y", "1", "--optimizer", "sgd", "--trace", str(path), "-f", "json")
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["step", "value", "grad_norm", "x", "y"]
    assert len(rows) == r.json["steps"] + 2
    assert rows[1] == ["0", "10.0", repr(float(np.hypot(6, 2))), "0.0", "1.0"]


def test_minimize_table(cli):
    out = cli("minimize", "(x-3)^2", "--x", "0").out
    assert "converged" in out and "argmin" in out


@pytest.mark.parametrize("args, fragment", [
    (["minimize", "x^2"], "starting value"),
    (["minimize", "x^2", "--x", "1", "--optimizer", "newton"], "newton"),
])
def test_minimize_errors(cli, args, fragment):
    r = cli(*args)
    assert r.code == 2 and fragment in r.err
