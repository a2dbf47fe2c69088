"""The CLI contract: variable forms, options, formats, exit codes, no traceback."""
import json
import subprocess
import sys
import pytest
from conftest import ENV, on_a_terminal, run_process


@pytest.mark.parametrize("args", [
    ["a*b+c", "--a", "2", "--b", "3", "--c", "4"],
    ["a*b+c", "a=2", "b=3", "c=4"],
    ["a*b+c", "--a=2", "--b=3", "--c=4"],
    ["--a", "2", "a*b+c", "b=3", "--c=4"],
    ["a*b+c", "--format", "json", "--a", "2", "--b", "3", "--c", "4"],
])
def test_variable_forms(cli, args):
    r = cli("eval", *args, "-f", "json")
    assert r.code == 0
    rec = r.json
    assert rec["value"] == 10.0 and rec["grad"] == {"a": 3.0, "b": 2.0, "c": 1.0}
    assert rec["expr"] == "a*b+c" and rec["shape"] == []


def test_negative_value_and_negative_expression(cli):
    rec = cli("eval", "a*b", "--a", "-2", "--b", "3", "-f", "json").json
    assert rec["value"] == -6.0 and rec["grad"] == {"a": 3.0, "b": -2.0}
    rec = cli("eval", "-x^2", "--x", "-1.5e-1", "-f", "json").json
    assert rec["value"] == -0.0225 and rec["grad"] == {"x": 0.3}


@pytest.mark.parametrize("value, expected", [
    ("[1,2,3]", [1.0, 2.0, 3.0]), ("1,2,3", [1.0, 2.0, 3.0]), ("[[1,2],[3,4]]", [[1.0, 2.0], [3.0, 4.0]]),
    ("pi/2", 1.5707963267948966), ("-1.5e-3", -0.0015), ("2", 2.0),
])
def test_value_forms(cli, value, expected):
    rec = cli("eval", "sum(x)", "--x", value, "-f", "json", "--tree").json
    assert rec["graph"][0]["value"] == expected


def test_option_named_variable_uses_name_equals_value(cli):
    rec = cli("eval", "tree*format", "tree=3", "format=2", "-f", "json").json
    assert rec["value"] == 6.0 and rec["grad"] == {"tree": 2.0, "format": 3.0}


def test_wrt(cli):
    rec = cli("eval", "a*b+c", "--a", "2", "--b", "3", "--c", "4", "--wrt", "c,a", "-f", "json").json
    assert rec["grad"] == {"a": 3.0, "c": 1.0}


def test_grad_output(cli):
    rec = cli("eval", "x*2", "--x", "[1,2,3]", "--grad-output", "[1,0,3]", "-f", "json").json
    assert rec["value"] == [2.0, 4.0, 6.0] and rec["grad"] == {"x": [2.0, 0.0, 6.0]}
    assert rec["shape"] == [3]


def test_no_grad(cli):
    rec = cli("eval", "a*b", "--a", "2", "--b", "3", "--no-grad", "-f", "json", "--tree").json
    assert rec["grad"] is None
    assert all(node["requires_grad"] is False and node["grad_fn"] is None for node in rec["graph"])


def test_retain_grad_and_graph_json(cli):
    rec = cli("eval", "a*b+c", "--a", "2", "--b", "3", "--c", "4", "--retain-grad", "-f", "json").json
    graph = rec["graph"]
    assert [n["text"] for n in graph] == ["a", "b", "a*b", "c", "a*b+c"]
    assert set(graph[0]) == {"id", "op", "text", "value", "shape", "is_leaf", "requires_grad", "grad",
                             "grad_fn", "inputs"}
    assert graph[2] == {"id": 2, "op": "*", "text": "a*b", "value": 6.0, "shape": [], "is_leaf": False,
                        "requires_grad": True, "grad": 1.0, "grad_fn": "MulBackward0", "inputs": [0, 1]}
    freed = cli("eval", "a*b+c", "--a", "2", "--b", "3", "--c", "4", "--tree", "-f", "json").json
    assert freed["graph"][2]["grad"] is None and freed["graph"][0]["grad"] == 3.0


def test_json_is_strict_with_non_finite_numbers(cli):
    r = cli("eval", "log(x) + sqrt(y)", "--x", "-1", "--y", "0", "-f", "json")
    assert r.code == 0
    rec = r.json
    assert rec["value"] == "nan" and rec["grad"] == {"x": -1.0, "y": "inf"}
    assert "warning: nan first appears in 'log(x)'" in r.err


def test_check_is_reported(cli):
    rec = cli("eval", "a*b", "--a", "1", "--b", "2", "-f", "json", "--no-check").json
    assert rec["check"]["status"] == "skipped" and rec["check"]["reason"] == "--no-check"


def test_tsv(cli):
    r = cli("eval", "sum(x*w)", "--x", "1,2", "--w", "3,4", "--wrt", "x", "-f", "tsv")
    assert r.out == ("kind\tname\tshape\tvalue\tgrad\n"
                     "output\tsum(x*w)\t[]\t11\t\n"
                     "var\tx\t[2]\t[1,2]\t[3,4]\n"
                     "var\tw\t[2]\t[3,4]\t\n")


def test_table(cli):
    r = cli("eval", "a*b+c", "--a", "2", "--b", "3", "--c", "0.5")
    assert r.code == 0
    lines = r.out.splitlines()
    assert lines[0] == "a*b+c  =  6.5"
    rows = [line.split()[:3] for line in lines if line.split()[:1] in (["a"], ["b"], ["c"])]
    assert rows == [["a", "2", "3"], ["b", "3", "2"], ["c", "0.5", "1"]]
    assert "cross-check:" in r.out


def test_table_aligns_arrays(cli):
    r = cli("eval", "sum(W @ v)", "--W", "[[1,2],[3,4]]", "--v", "1,1")
    assert "[[1, 2]," in r.out and " [3, 4]]" in r.out and "[4, 6]" in r.out


def test_tree(cli):
    r = cli("eval", "sin(x)*sin(x)", "--x", "1", "--tree")
    out = r.out
    assert "sin(x)*sin(x)  #2  *  = 0.7080734182735712" in out
    assert "MulBackward0 · non-leaf · requires_grad" in out
    assert "grad freed" in out
    assert "leaf · requires_grad" in out and "grad = 0.9092974268256818" in out
    assert "↑ sin(x)  #1 (shown above)" in out
    assert out.count("SinBackward0") == 1
    kept = cli("eval", "sin(x)*sin(x)", "--x", "1", "--tree", "--retain-grad").out
    assert "grad freed" not in kept and "grad = 1.682941969615793 (retained)" in kept


@pytest.mark.parametrize("args, fragment", [
    (["a*b+"], "expected an expression after '+'"),
    (["2x", "--x", "1"], "write 2*x"),
    (["sinn(x)", "--x", "1"], "did you mean sin"),
    (["a*b", "--a", "1", "--b", "2", "--q", "3"], "'q', which is not a variable"),
    (["x*2", "--x", "[1,2,3]"], "--grad-output"),
    (["(a+b", "--a", "1", "--b", "2"], "expected ')'"),
    (["[1,2]+[1,2,3]"], "shapes (2,) and (3,) do not fit '+'"),
    (["atan2(x)", "--x", "1"], "atan2() takes 2 arguments"),
    (["pi*2", "--pi", "3"], "'pi' is a constant"),
    (["a+1", "--a", "1..2"], "in value of a"),
    (["__import__('os').system('echo pwned')"], "unexpected character"),
    ([""], "empty expression"),
    (["a*b", "--a", "1", "--b", "2", "--fromat", "json"], "did you mean --format?"),
    (["x", "--x"], "--x needs a value"),
    (["x", "--x", "1", "--x", "2"], "given a value twice"),
    (["x*2", "--x", "1,2", "--grad-output", "1,2,3"], "--grad-output has shape (3,)"),
    (["x", "--x", "1", "--wrt", "y"], "not a variable"),
    (["x", "--x", "1", "-f", "xml"], "xml"),
])
def test_bad_input_exits_2_with_a_message(cli, args, fragment):
    r = cli("eval", *args)
    assert r.code == 2
    assert fragment in r.err
    assert r.out == ""


def test_error_shows_caret_under_the_column(cli):
    r = cli("eval", "a*b+)", "--a", "1", "--b", "2")
    assert r.err.splitlines()[:3] == ["error: expected an expression after '+', found ')'", "  a*b+)", "      ^"]


def test_version_and_help(cli):
    from importlib.metadata import version
    assert cli("--version").out.strip() == f"gradcli {version('gradcli')}"
    r = cli("eval", "-h")
    assert r.code == 0 and "Examples" in r.out and "--grad-output" in r.out


# Through real processes.
def test_python_dash_m_and_exit_codes():
    r = run_process("eval", "a*b+c", "--a", "2", "--b", "3", "--c", "4", "-f", "json")
    assert r.code == 0 and json.loads(r.out)["grad"] == {"a": 3.0, "b": 2.0, "c": 1.0}
    bad = run_process("eval", "a*b+", "-f", "json")
    assert bad.code == 2 and bad.out == "" and "error:" in bad.err


def test_console_script_is_installed():
    import shutil
    exe = shutil.which("gradcli")
    assert exe, "the gradcli console script is on PATH"
    proc = subprocess.run([exe, "eval", "x^2", "--x", "3", "-f", "json"], capture_output=True, text=True, env=ENV)
    assert json.loads(proc.stdout)["grad"] == {"x": 6.0}


def test_no_check_does_not_import_sympy():
    code = ("import sys; from gradcli.cli.main import main\n"
            "try:\n    main(['eval', 'a*b+c', '--a', '2', '--b', '3', '--c', '4', '--no-check', '-f', 'json'])\n"
            "except SystemExit:\n    pass\n"
            "print('sympy' in sys.modules, file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV)
    assert proc.stderr.strip().splitlines()[-1] == "False"
    assert json.loads(proc.stdout)["value"] == 10.0


def test_output_to_a_pipe_has_no_colour_codes():
    env = {k: v for k, v in ENV.items() if k not in ("NO_COLOR", "TERM")}
    r = run_process("eval", "a*b", "--a", "2", "--b", "3", "--tree", env=env)
    assert "\x1b[" not in r.out and "MulBackward0" in r.out


def test_closed_pipe_ends_quietly():
    values = ",".join(str(i) for i in range(20000))      # ~1 MB of JSON: more than a pipe holds
    proc = subprocess.run(f"{sys.executable} -m gradcli eval 'sum(x*1)' --x {values} --retain-grad -f json "
                          "| head -c 10", shell=True, capture_output=True, text=True, env=ENV)
    assert proc.stdout == '{"expr": "'
    assert proc.stderr == ""


def _on_a_terminal(env_extra):
    env = {k: v for k, v in ENV.items() if k not in ("NO_COLOR", "TERM")}
    code, out = on_a_terminal([sys.executable, "-m", "gradcli", "eval", "a*b", "--a", "2", "--b", "3", "--no-check"],
                              {**env, **env_extra}, stream="stdout")
    assert code == 0
    return out.decode()


def test_colour_only_on_a_terminal_that_wants_it():
    assert "\x1b[" in _on_a_terminal({"TERM": "xterm-256color"})
    assert "\x1b[" not in _on_a_terminal({"TERM": "xterm-256color", "NO_COLOR": "1"})
    assert "\x1b[" not in _on_a_terminal({"TERM": "dumb"})
