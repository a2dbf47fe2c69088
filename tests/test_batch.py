"""gradcli batch: job lines, defaults, records in order, streaming, errors, formats."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import ENV, on_a_terminal, run_process
from gradcli.batch import Options, parse_line, parse_where, run
from gradcli.errors import GradcliError


@pytest.mark.parametrize("text, expr, values", [
    ("a*b+c", "a*b+c", {}),
    ("  x^2 where x=5", "x^2", {"x": "5"}),
    ("a*b where a=2, b=[1,2]", "a*b", {"a": "2", "b": "[1,2]"}),
    ("sum(v) where v=1,2,3, k=4", "sum(v)", {"v": "1,2,3", "k": " 4"}),
    ("dot(u, v) where u=[1, 2], v = [[3], [4]]", "dot(u, v)", {"u": "[1, 2]", "v": " [[3], [4]]"}),
])
def test_parse_line(text, expr, values):
    job = parse_line(text, 7)
    assert (job.line, job.expr, {k: v.strip() for k, v in job.values.items()}) == \
        (7, expr, {k: v.strip() for k, v in values.items()})


@pytest.mark.parametrize("text", ["", "   ", "# a comment", "   # indented comment"])
def test_blank_and_comment_lines_are_skipped(text):
    assert parse_line(text, 1) is None


def test_json_line():
    job = parse_line('{"expr": "sum(x*2)", "vars": {"x": [1, 2]}, "wrt": ["x"], "grad_output": null}', 3)
    assert (job.expr, job.values, job.wrt) == ("sum(x*2)", {"x": [1, 2]}, ["x"])


@pytest.mark.parametrize("text, fragment", [
    ('{"expr": "x", "vars": {"x": 1}', "invalid JSON"),
    ('{"expr": 3}', "needs \"expr\""),
    ('{"expr": "x", "colour": 1}', "unknown key 'colour'"),
    ('{"expr": "x", "vars": [1]}', "\"vars\" must be an object"),
    ("x where 2", "expected name=value"),
    ("x where x=1, x=2", "given a value twice"),
])
def test_bad_lines(text, fragment):
    with pytest.raises(GradcliError) as info:
        parse_line(text, 1)
    assert fragment in info.value.message


def test_where_offsets_point_into_the_line():
    values, offsets, names = parse_where(" a=2, bb = [1,2]", 10)
    assert values == {"a": "2", "bb": " [1,2]"} and names == {"a": 11, "bb": 16} and offsets["a"] == 13


def records(text, **options):
    lines = list(enumerate(text.split("\n"), 1))
    return list(run(lines, Options(**{"check": False, **options})))


def test_defaults_apply_where_a_line_lacks_the_variable():
    recs = records("a*2\na^2 where a=5\nx+1", defaults={"a": "3", "x": "1"})
    assert [r.result.value for r in recs] == [6.0, 25.0, 2.0]
    assert [r.result.grad for r in recs] == [{"a": 2.0}, {"a": 10.0}, {"x": 1.0}]


def test_every_job_yields_one_record_in_order():
    recs = records("x where x=1\n\n# c\nx+ where x=1\n2x\nx*3 where x=2\n")
    assert [(r.line, r.error is None) for r in recs] == [(1, True), (4, False), (5, False), (6, True)]
    assert recs[1].column == 3 and recs[2].column == 2


def test_error_columns_point_into_values():
    (rec,) = records("x+1 where x=1..2")
    assert rec.error_type == "parse" and rec.column == 15          # the second "."


def test_check_runs_in_batch():
    (rec,) = records("x^2*sin(x) where x=1.3", check=True)
    assert rec.check.status == "ok" and rec.check.method == "symengine"


def test_free_variables_in_batch(cli):
    r = cli("batch", "-", "-f", "json", stdin="a*b+c where a=2\n")
    rec = r.json
    assert rec["value"] == "2*b + c" and rec["free"] == ["b", "c"] and rec["line"] == 1


def test_json_records_have_eval_fields(cli):
    r = cli("batch", "-", "-f", "json", "--no-check", stdin="a*b+c where a=2, b=3, c=4\n")
    rec = json.loads(r.out)
    assert list(rec)[:6] == ["line", "expr", "value", "shape", "grad", "check"]
    assert rec["grad"] == {"a": 3.0, "b": 2.0, "c": 1.0}


def test_error_record(cli):
    r = cli("batch", "-", "-f", "json", "--no-check", stdin="x*2\n2y where y=1\n")
    lines = [json.loads(line) for line in r.out.splitlines()]
    assert r.code == 1
    assert lines[0]["value"] == "2*x" and lines[0]["free"] == ["x"]
    assert lines[1] == {"line": 2, "expr": "2y", "error": {
        "type": "parse", "message": "expected an operator between '2' and 'y'", "column": 2, "hint": "write 2*y"}}


def test_exit_codes(cli):
    assert cli("batch", "-", "-f", "json", "--no-check", stdin="x where x=1\n").code == 0
    assert cli("batch", "-", "-f", "json", "--no-check", stdin="x where x=1\nx+\n").code == 1
    assert cli("batch", "missing-file.txt").code == 2


def test_tsv_and_table_formats(cli):
    r = cli("batch", "-", "-f", "tsv", "--no-check", stdin="x^2 where x=3\nx+\n")
    assert r.out.splitlines() == ["line\tkind\tname\tshape\tvalue\tgrad", "1\toutput\tx^2\t[]\t9\t",
                                  "1\tvar\tx\t[]\t3\t6", "2\terror\tparse\t\texpected an expression after '+', "
                                  "found the end of the input\t"]
    table = cli("batch", "-", stdin="x^2 where x=3\nx+\n").out
    assert "∂/∂x = 6" in table and "parse error (column 3)" in table and "2 jobs, 1 failed" in table


def test_several_files_name_their_records(cli, tmp_path):
    one, two = tmp_path / "one.txt", tmp_path / "two.txt"
    one.write_text("x where x=1\n")
    two.write_text("\ny where y=2\n")
    r = cli("batch", str(one), str(two), "-f", "json", "--no-check")
    recs = [json.loads(line) for line in r.out.splitlines()]
    assert [(rec["file"], rec["line"]) for rec in recs] == [(str(one), 1), (str(two), 2)]


def test_invalid_utf8_line_is_an_error_record(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"x where x=1\n\xff\xfe + x\ny where y=2\n")
    r = run_process("batch", str(path), "-f", "json", "--no-check")
    recs = [json.loads(line) for line in r.out.splitlines()]
    assert [rec["line"] for rec in recs] == [1, 2, 3]
    assert recs[1]["error"]["type"] == "parse" and "\ufffd" in recs[1]["expr"]


def test_ten_thousand_jobs_with_failures_keep_count_and_order(tmp_path):
    rng = np.random.default_rng(5)
    lines, bad = [], set()
    for i in range(10_000):
        if rng.random() < 0.1:
            lines.append(rng.choice(["x+", "2x where x=1", "sin(", "q where q=1..2", "{bad json"]))
            bad.add(i + 1)
        else:
            lines.append(f"x*{i} + sin(x) where x={i % 7}")
    path = tmp_path / "jobs.txt"
    path.write_text("\n".join(lines) + "\n")
    r = run_process("batch", str(path), "-f", "json", "--no-check", timeout=120)
    recs = [json.loads(line) for line in r.out.splitlines()]
    assert r.code == 1
    assert len(recs) == 10_000
    assert [rec["line"] for rec in recs] == list(range(1, 10_001))
    assert {rec["line"] for rec in recs if "error" in rec} == bad
    good = [rec for rec in recs if "error" not in rec]
    assert all(rec["grad"]["x"] == pytest.approx((rec["line"] - 1) + np.cos((rec["line"] - 1) % 7)) for rec in good)


def test_records_stream_before_input_ends():
    proc = subprocess.Popen([sys.executable, "-m", "gradcli", "batch", "-", "-f", "json", "--no-check"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        proc.stdin.write("x^2 where x=3\n")
        proc.stdin.flush()
        first = proc.stdout.readline()             # stdin is still open
        assert json.loads(first)["grad"] == {"x": 6.0}
        proc.stdin.write("x^3 where x=2\n")
        proc.stdin.close()
        assert json.loads(proc.stdout.readline())["grad"] == {"x": 12.0}
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()


def test_closed_pipe_stops_quietly(tmp_path):
    path = tmp_path / "jobs.txt"
    path.write_text("x where x=1\n" * 20000)
    proc = subprocess.run(f"{sys.executable} -m gradcli batch {path} -f json --no-check | head -1",
                          shell=True, capture_output=True, text=True, env=ENV, timeout=120)
    assert json.loads(proc.stdout)["line"] == 1
    assert proc.stderr == ""


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_mid_run_leaves_whole_records_and_a_summary(tmp_path, sig, code):
    path = tmp_path / "jobs.txt"
    path.write_text("sum(x*x) where x=[1,2,3]\n" * 200_000)
    proc = subprocess.Popen([sys.executable, "-m", "gradcli", "batch", str(path), "-f", "json", "--no-check"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    import select
    assert select.select([proc.stdout.fileno()], [], [], 60)[0]     # output has begun
    time.sleep(0.3)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code
    lines = out.splitlines()
    assert lines and all(json.loads(line)["value"] == 14.0 for line in lines)
    assert f"stopped after {len(lines)} jobs" in err
    assert "Traceback" not in err


def test_progress_only_on_a_terminal(tmp_path):
    """The display's delay is a parameter (GRADCLI_PROGRESS_DELAY): 0 shows it at once, however
    fast or loaded the machine, so the test never races the clock."""
    path = tmp_path / "jobs.txt"
    path.write_text("".join(f"sin(x)*{i} + x^2 where x=1\n" for i in range(200)))     # distinct: no parse reuse
    at_once = {**ENV, "GRADCLI_PROGRESS_DELAY": "0"}
    quiet = run_process("batch", str(path), "-f", "json", "--no-check", env=at_once)
    assert quiet.err == "" and len(quiet.out.splitlines()) == 200
    env = {k: v for k, v in at_once.items() if k not in ("NO_COLOR", "TERM")}
    code, shown = on_a_terminal([sys.executable, "-m", "gradcli", "batch", str(path), "-f", "json", "--no-check"],
                                {**env, "TERM": "xterm"})
    assert code == 0
    assert b"jobs" in shown and b"/200" in shown


def _mixed_jobs(path, n: int, seed: int) -> None:
    """n lines: good jobs, garbage, blank lines, comments, JSON, and a line of invalid UTF-8."""
    rng = np.random.default_rng(seed)
    kinds = ["sin(x)*{i} + x^2 where x={v}", "x+", "", "# note {i}", '{{"expr": "a*b", "vars": {{"a": {v}, "b": 2}}}}',
             "sum(u*u) where u=[{v},1]", "log(x - {v}) where x=1", "1/(x-x) where x={v}"]
    lines = [rng.choice(kinds).format(i=i, v=i % 5) for i in range(n)]
    data = "\n".join(lines).encode() + b"\n\xff\xfe + x\n"
    path.write_bytes(data)


@pytest.mark.parametrize("fmt", ["json", "tsv"])
def test_workers_write_exactly_what_one_process_writes(tmp_path, fmt):
    from gradcli.cli import workers as parallel
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    _mixed_jobs(first, 3000, 1)
    _mixed_jobs(second, 1200, 2)
    assert first.stat().st_size > parallel.MIN_BYTES and second.stat().st_size > parallel.MIN_BYTES
    one = run_process("batch", str(first), str(second), "-f", fmt, "--no-check", "--jobs", "1", timeout=120)
    three = run_process("batch", str(first), str(second), "-f", fmt, "--no-check", "--jobs", "3", timeout=120)
    assert one.code == three.code == 1
    assert three.out == one.out and three.err == one.err
    assert len(one.out.splitlines()) > 3000


def test_a_worker_that_dies_loses_nothing(tmp_path):
    """Killing a worker mid-run: this process does its chunks, and the output is unchanged."""
    path = tmp_path / "jobs.txt"
    _mixed_jobs(path, 6000, 3)
    expected = run_process("batch", str(path), "-f", "json", "--no-check", "--jobs", "1", timeout=120).out
    proc = subprocess.Popen([sys.executable, "-m", "gradcli", "batch", str(path), "-f", "json", "--no-check",
                             "--jobs", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    import select
    assert select.select([proc.stdout.fileno()], [], [], 60)[0]             # output has begun
    children = open(f"/proc/{proc.pid}/task/{proc.pid}/children").read().split()
    for pid in children:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:      # already done: the run must be whole all the same
            pass
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and "Traceback" not in err
    assert out == expected


def test_worker_count_is_an_option(cli):
    r = cli("batch", "--jobs", "0", "-")
    assert r.code == 2 and "--jobs" in r.err


def test_checked_jobs_share_workers_even_in_a_small_file(tmp_path):
    path = tmp_path / "jobs.txt"
    path.write_text("".join(f"sin(x)*y^{i} + abs(y) where x=0.5, y={i - 4}\n" for i in range(10)) + "x+\n")
    one = run_process("batch", str(path), "-f", "json", "--jobs", "1")
    two = run_process("batch", str(path), "-f", "json", "--jobs", "2")
    assert one.code == two.code == 1
    assert two.out == one.out and len(one.out.splitlines()) == 11
    statuses = [json.loads(line).get("check", {}).get("status") for line in one.out.splitlines()]
    assert statuses[:10].count("ok") >= 9
