"""Each way the promises of "Guarantees and limits" once broke, as a test of its own."""
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import gradcli
from conftest import ENV
from gradcli.check.cross import cross_check

PYTHON = os.path.realpath(sys.executable)


def run(args, **kw):
    return subprocess.run([PYTHON, "-m", "gradcli", *args], capture_output=True, text=True, env=ENV, **kw)


# -- 1. SIGTERM is a stop, never a record ------------------------------------------------------------
def test_terminated_cannot_be_caught_as_an_ordinary_exception():
    from gradcli.cli.interrupts import Terminated
    assert not issubclass(Terminated, Exception) and issubclass(Terminated, BaseException)


def test_sigterm_mid_batch_stops_with_143_and_no_fake_record(tmp_path):
    import signal
    from fuzz.adversarial import gradcli as spawn
    path = tmp_path / "t.txt"
    path.write_text("sin(x)*x^2 where x=3\n" * 300_000)
    r = spawn(["batch", str(path), "-f", "json", "--no-check", "--jobs", "1"], signal_at=0.8, sig=signal.SIGTERM)
    assert r.code == 143 and '"internal"' not in r.out and "Terminated" not in r.out
    lines = r.out.splitlines()
    assert all(json.loads(line)["value"] == 9 * np.sin(3) for line in lines)
    assert f"stopped after {len(lines)} jobs" in r.err


# -- 2. one line never stops the run ---------------------------------------------------------------------
@pytest.mark.parametrize("line, kind", [
    ('{"expr": "x", "vars": {"x": ' + "7" * 5000 + '}}', "parse"),
    ('{"expr": "x", "vars": {"x": ' + "[" * 100_000 + "]" * 100_000 + '}}', "parse"),
    ('{"expr": "x*2", "vars": {"x": ' + "9" * 330 + '}}', None),            # beyond float range: inf, a warning
    ("x*2^20000", None),
], ids=["huge-int", "deep-json", "beyond-float", "huge-power"])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_one_hostile_line_is_one_record_and_the_run_goes_on(tmp_path, line, kind, jobs):
    path = tmp_path / "jobs.txt"
    good = [f"x^2 where x={i}" for i in range(400)]
    path.write_text("\n".join(good[:200] + [line] + good[200:]) + "\n")
    r = run(["batch", str(path), "-f", "json", "--no-check", "--jobs", jobs])
    records = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(records) == 401 and r.returncode in (0, 1) and "internal" not in r.stdout
    assert [rec["line"] for rec in records] == list(range(1, 402))
    assert all(rec["value"] == float(i * i) for i, rec in enumerate(records[:200]))
    if kind:
        assert records[200]["error"]["type"] == kind


def test_a_huge_constant_times_a_free_variable_prints(cli):
    for args in (["eval", "x*2^20000"], ["diff", "x*2^20000"], ["eval", "x*3^9000", "-f", "json"]):
        r = cli(*args)
        assert r.code == 0 and "internal error" not in r.err


# -- 3. no traceback: stdout closed, Ctrl-C while numpy is imported ---------------------------------------------
def test_closed_stdout_is_a_message_and_exit_1():
    proc = subprocess.run(f"{PYTHON} -m gradcli eval x --x 1 >&-", shell=True, capture_output=True, text=True, env=ENV)
    assert proc.returncode == 1 and "standard output" in proc.stderr and "Traceback" not in proc.stderr


def test_ctrl_c_during_the_imports_is_a_clean_stop():
    """A SIGINT once gradcli's handlers are in (before numpy's import is done): exit 130, 'interrupted'."""
    import signal
    from fuzz.adversarial import gradcli as spawn
    for at in (0.0, 0.005, 0.02, 0.05):
        r = spawn(["eval", "sin(x)", "--x", "1"], signal_at=at, sig=signal.SIGINT)
        assert "Traceback" not in r.err and "internal error" not in r.err, r.err
        assert r.code in (0, 130), r
        if r.code == 130:
            assert r.err.strip() == "interrupted" and r.out == ""


# -- 4. the check's deadline and its finite differences --------------------------------------------------------
def test_the_deadline_covers_finite_differences():
    x = np.full(3000, 2.0)
    expr = "sum(log(x)*sin(x)*exp(-x)*tanh(x)*cosh(x/9))"
    result = gradcli.evaluate(expr, {"x": x})
    started = time.monotonic()
    check = cross_check(result, timeout=1e-4)
    assert check.status == "timeout" and check.method == "finite-difference"
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("n", [300, 600, 2000])
def test_a_sum_of_many_variables_checks_in_linear_time_and_agrees(n):
    names = [f"v{i}" for i in range(n)]
    result = gradcli.evaluate("+".join(names), dict.fromkeys(names, 1.0))
    started = time.monotonic()
    check = cross_check(result)
    assert check.status == "ok", check
    assert time.monotonic() - started < 20


@pytest.mark.parametrize("size", [3, 300])
def test_log_at_negative_points_gets_one_verdict_whatever_the_method(size):
    check = cross_check(gradcli.evaluate("sum(log(x))", {"x": np.full(size, -1.0)}))
    assert check.status == "nondifferentiable" and "not real" in check.conventions[0]


# -- 5. memory: limits, each enforced --------------------------------------------------------------------------
def test_hessian_and_jacobian_have_a_size_limit(cli):
    r = cli("jacobian", "x*2", "--x", ",".join(["1"] * 1001), "--no-check")
    assert r.code == 2 and "the limit is 1,000,000" in r.err
    r = cli("hessian", "sum(x^2)", "--x", ",".join(["1"] * 1001), "--no-check")
    assert r.code == 2 and "the limit is 1,000,000" in r.err


def test_graph_json_texts_are_bounded(cli):
    expr = "+".join(f"sin(x*{i})" for i in range(2000))
    rec = cli("graph", expr, "--x", "1", "-f", "json").json
    assert max(len(n["text"]) for n in rec["graph"]) <= 120
    assert rec["graph"][-1]["text"].endswith("…")


def test_diff_of_a_large_power_stays_small():
    r = run(["diff", "(a+b)^1000000"], timeout=60)
    assert r.returncode == 0 and r.stdout.splitlines()[0] == "d/da = 1000000*(a + b)^999999"


def test_a_batch_line_past_the_limit_is_read_past_and_is_an_error_record(tmp_path):
    from gradcli.batch import MAX_LINE, lines_of
    import io
    text = "x" * (MAX_LINE + 5) + "\nx where x=2\n"
    lines = list(lines_of(io.StringIO(text)))
    assert len(lines) == 2 and len(lines[0][1]) <= 200 and lines[1] == (2, "x where x=2")


# -- 6. no internal error for anything a user can type --------------------------------------------------------------
@pytest.mark.parametrize("args, fragment", [
    (["eval", "v", "--grad-output", "0,0"], "--grad-output has shape (2,)"),
    (["eval", "x", "--x", "1", "--rtol", "nan"], "--rtol needs a finite number"),
    (["minimize", "x^2", "--x", "1", "--lr", "nan", "-f", "json"], "--lr needs a finite number"),
    (["plot", "x", "--x=-1e308:1e308", "-f", "json"], "the range must be finite"),
    (["eval", "x", "--x", "1", "--check-timeout", "inf"], "--check-timeout needs a finite number"),
    (["minimize", "x^2", "--x", "1", "--trace", "/nonexistent/dir/t.csv"], "cannot write the --trace file"),
    (["batch", "-"], "standard input is closed"),
], ids=lambda v: " ".join(v)[:40] if isinstance(v, list) else None)
def test_user_input_gives_a_message_and_exit_2(args, fragment):
    r = run(args, stdin=subprocess.DEVNULL if args[-1] != "-" else None) if args[-1] != "-" else \
        subprocess.run(f"{PYTHON} -m gradcli batch - <&-", shell=True, capture_output=True, text=True, env=ENV)
    assert r.returncode == 2 and fragment in r.stderr and "internal error" not in r.stderr, r.stderr


def test_a_check_timeout_past_the_timers_range_is_no_limit(cli):
    rec = cli("eval", "x^2", "--x", "3", "--check-timeout", "1e300", "-f", "json").json
    assert rec["check"]["status"] == "ok"


@pytest.mark.parametrize("target", ["/dev/full"])
def test_a_full_disk_is_one_message_and_exit_1(target):
    for args in (["eval", "x", "--x", "1"], ["eval", "x", "--x", "1", "-f", "json"]):
        proc = subprocess.run(f"{PYTHON} -m gradcli {' '.join(args)} > {target}", shell=True,
                              capture_output=True, text=True, env=ENV)
        assert proc.returncode == 1 and proc.stderr.strip() == \
            "error: cannot write to standard output: No space left on device"


def test_too_many_open_files_is_a_message(tmp_path):
    path = tmp_path / "jobs.txt"
    path.write_text("x^2 where x=1\n" * 3000)
    proc = subprocess.run(f"ulimit -n 5; {PYTHON} -m gradcli batch {path} -f json --no-check --jobs 2",
                          shell=True, capture_output=True, text=True, env=ENV)
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert proc.returncode in (0, 2)
    if proc.returncode == 2:
        assert "Too many open files" in proc.stderr


def test_plot_of_huge_values_writes_no_numpy_warnings(cli):
    r = run(["plot", "exp(x)", "--x", "0:800"])
    assert r.returncode == 0 and "RuntimeWarning" not in r.stderr and r.stderr == ""


# -- 7. Hessians and Jacobians: never ok when not finite ----------------------------------------------------------
def test_an_infinite_hessian_is_not_ok(cli):
    rec = cli("hessian", "x^1000", "--x", "10", "-f", "json").json
    assert rec["check"]["status"] == "nondifferentiable"


def test_a_nan_jacobian_entry_where_sympy_is_finite_is_a_mismatch(cli):
    r = cli("jacobian", "[1/x, x]", "--x", "0", "-f", "json")
    assert r.code == 1 and r.json["check"]["status"] == "mismatch" and "[1, 0]" in r.json["check"]["reason"]


# -- 8. smaller -------------------------------------------------------------------------------------------------------
def test_a_byte_order_mark_is_skipped(cli, tmp_path):
    path = tmp_path / "jobs.txt"
    path.write_bytes(b"\xef\xbb\xbfx^2 where x=3\n")
    assert json.loads(cli("batch", str(path), "-f", "json").out)["value"] == 9.0
    points = tmp_path / "p.csv"
    points.write_bytes(b"\xef\xbb\xbfa,b\r\n1,2\r\n")
    assert cli("eval", "a*b", "--points", str(points), "--no-check").out.splitlines()[1] == "2.0,2.0,1.0"


def test_lines_are_counted_at_newlines_only(cli, tmp_path):
    path = tmp_path / "jobs.txt"
    path.write_bytes(b"x where x=1\nx\ry where x=1, y=2\nx where x=3\n")
    records = [json.loads(x) for x in cli("batch", str(path), "-f", "json", "--no-check").out.splitlines()]
    assert [r["line"] for r in records] == [1, 2, 3] and records[2]["value"] == 3.0


def test_one_thousand_levels_are_allowed():
    from gradcli.lang.parser import MAX_DEPTH
    gradcli.parse("(" * MAX_DEPTH + "x" + ")" * MAX_DEPTH)
    with pytest.raises(gradcli.ParseError):
        gradcli.parse("(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1))


def test_a_closed_pipe_exits_0_in_every_format(tmp_path):
    path = tmp_path / "jobs.txt"
    path.write_text("x^2 where x=1\n" * 5000)
    for fmt in ("table", "json", "tsv"):
        proc = subprocess.run(f"{PYTHON} -m gradcli batch {path} -f {fmt} --no-check | head -1; exit ${{PIPESTATUS[0]}}",
                              shell=True, executable="/bin/bash", capture_output=True, text=True, env=ENV)
        assert proc.returncode == 0 and proc.stderr == "", (fmt, proc.stderr)


def test_a_points_row_with_a_missing_field_names_its_line(cli):
    r = cli("eval", "a*b", "--points", "-", stdin="a,b\n1,2\n3\n")
    assert r.code == 2 and "line 3" in r.err and "usecols" not in r.err


def test_a_signal_that_lands_where_python_cannot_raise_it_comes_again():
    """A Ctrl-C inside a callback of the import system's locks is 'ignored' by Python, with a
    traceback; gradcli's hook sends it again, so it stops the run as any other."""
    import subprocess
    import sys
    code = ("import time\nfrom gradcli.cli import interrupts\ninterrupts.install()\n"
            "class A:\n    def __del__(self):\n        raise KeyboardInterrupt()\n"
            "A()\ntry:\n    time.sleep(30)\n    print('not stopped')\nexcept KeyboardInterrupt:\n    print('stopped')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout == "stopped\n" and "Traceback" not in r.stderr and "ignored" not in r.stderr
