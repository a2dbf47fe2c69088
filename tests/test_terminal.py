"""What a person sees: every human-facing output in a real pseudo-terminal at 40, 80 and 200
columns, with stdout and stderr each the terminal, a file or a pipe.

A test fails if a number is shown cut (an ellipsis against it) or shown wrong (its digits are
not the true value rounded), if a record is missing from the file or pipe, or if escape codes
reach a file.
"""
import functools
import json
import re

import pytest

import terminal
from terminal import WIDTHS, cut_numbers, has_escape_codes

NUMBER = re.compile(r"(?<![\w.\]])[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?(?![\w.(\[])")


def shown(args, cols, **streams):
    s = terminal.run(args, cols=cols, **streams)
    assert "Traceback" not in s.text and "Traceback" not in (s.err or "")
    assert not cut_numbers(s.text), f"numbers cut at {cols} columns: {cut_numbers(s.text)}\n{s.text}"
    for line in s.screen:
        assert len(line) <= cols
    return s


def rounds_to(text: str, value: float) -> bool:
    """text is value rounded to text's own significant digits (or value exactly)."""
    shown_value = float(text)
    if shown_value == value:
        return True
    mantissa = text.lstrip("+-").split("e")[0].replace(".", "").lstrip("0")
    digits = max(1, len(mantissa))
    return float(f"{value:.{digits}g}") == shown_value


def numbers_on(screen_text: str) -> list[str]:
    return NUMBER.findall(screen_text.replace("−", "-"))


def assert_shown(value, screen_text: str):
    """Every element of value appears on the screen, correctly rounded."""
    tokens = numbers_on(screen_text)
    for v in (value if isinstance(value, list) else [value]):
        if isinstance(v, list):
            assert_shown(v, screen_text)
            continue
        assert any(rounds_to(t, float(v)) for t in tokens), f"{v!r} is not shown right in:\n{screen_text}"


def json_of(args):
    """The JSON record of args: every digit, to hold the screen to (once for every width)."""
    return json.loads(_json_text(tuple(args)))


@functools.lru_cache(maxsize=None)
def _json_text(args: tuple) -> str:
    check = ["--no-check"] if args[0] in ("eval", "hessian", "jacobian") else []   # the numbers alone
    s = terminal.run([*args, "-f", "json", *check], cols=200, stdout="pipe", stderr="pipe")
    return s.out


# -- the cases the issue saw, at every width ----------------------------------------------------
CASES = [
    ["eval", "exp(-x)*y", "--x", "50", "--y", "1.5"],
    ["eval", "a*b+c", "--a", "2", "--b", "3", "--c", "4"],
    ["eval", "x^2*sin(x)", "--x", "1.3"],
    ["eval", "sum(tanh(x*y))", "--x", "0.5,-1,2", "--y", "2"],
    ["eval", "x*2", "--x", "1,2,3", "--grad-output", "1,1,1", "--tree"],
    ["eval", "sin(x)*sin(x)", "--x", "1", "--tree", "--retain-grad"],
    ["eval", "exp(-x)*y*z/w", "--x", "50", "--y", "1.5", "--z", "1e-300", "--w", "3", "--retain-grad"],
    ["jacobian", "softmax(x)", "--x", "1,2,3"],
    ["hessian", "x^2*y + y^3/7", "--x", "1.1", "--y", "2.3"],
    ["minimize", "(x-3)^2 + (y+1)^2", "--x", "0", "--y", "0"],
    ["eval", "sum(where(x > 0, x^2, -x) * softmax(x, axis=0))", "--x", "0.5,-1.25,2"],
    ["eval", "logdet(M) + sum(inv(M)[0, ::-1])", "--M", "[[2,1],[1,3]]"],
    ["eval", "sum(M[:, 1:]) + var(M, axis=0, ddof=1)[0]", "--M", "[[1.5,2,3],[4,5,6.25]]", "--tree"],
    ["eval", "tanh(W @ v) * v", "--W", "[[1,2],[3,4]]", "--v", "0.1,-0.2", "--grad-output", "1,2", "--no-check"],
    ["eval", "y = a*b; z = y + c", "--a", "2.5", "--b", "3.25", "--c", "4", "--tree", "--retain-grad", "y"],
    ["eval", "f(x) = x^2 + 1\ng(u, v) = f(u)*v\ng(a, b) + f(b)", "--a", "0.75", "--b", "-1.5", "--tree"],
]


@pytest.mark.parametrize("cols", WIDTHS)
@pytest.mark.parametrize("args", CASES, ids=[" ".join(c[:2]) for c in CASES])
def test_numbers_are_never_cut_and_never_wrong(args, cols):
    s = shown(args, cols)
    assert s.code == 0, s
    rec = json_of(args)
    if args[0] == "eval":
        assert_shown(rec["value"], s.text)
        for g in rec["grad"].values():
            assert_shown(g, s.text)
    elif args[0] == "jacobian":
        assert_shown(rec["jacobian"], s.text)
    elif args[0] == "hessian":
        assert_shown(rec["hessian"], s.text)
    else:
        for v in rec["argmin"].values():
            assert_shown(v, s.text)
        assert_shown(rec["value"], s.text)


@pytest.mark.parametrize("cols", WIDTHS)
def test_rounding_is_announced_and_json_keeps_every_digit(cols):
    """The first line says so exactly when a number is shown with fewer digits than it has."""
    args = ["jacobian", "softmax(x)", "--x", "1,2,3"]
    s = shown(args, cols)
    entries = [v for row in json_of(args)["jacobian"] for v in row]
    every_digit = all(repr(v) in s.text for v in entries)
    announced = s.screen[0].startswith("numbers rounded to fit")
    assert announced != every_digit, s
    assert announced == (cols == 80)        # 80: one table, rounded; 40: blocks of columns; 200: all of it
    assert json_of(args)["jacobian"][0][1] == -0.022033044520174298


def test_the_issue_cases_show_short_numbers_with_their_exponent():
    """2.89e-22, never 2.893124771945…; -0.022033…, never -0.0220330445201742…"""
    s = shown(["eval", "exp(-x)*y", "--x", "50", "--y", "1.5"], 40)
    assert re.search(r"-2\.89\d*e-22", s.text)
    s = shown(["jacobian", "softmax(x)", "--x", "1,2,3"], 80)
    assert "…" not in s.text
    s = shown(["minimize", "x^2 + 1e-9*x", "--x", "1"], 40)
    assert "…" not in s.text and re.search(r"e-0\d", s.text)


# -- every human-facing output, at every width: nothing cut, nothing broken ------------------------
OUTPUTS = [
    ["eval", "a*b+c", "--a", "2"],                                   # free variables: symbolic table
    ["eval", "relu(x)", "--x", "0"],                                 # nondifferentiable
    ["eval", "x*sqrt(x)", "--x", "0"],                               # mismatch (exit 1)
    ["eval", "[1/x, x]", "--x", "0", "--grad-output", "1,1"],
    ["eval", "sum(W @ v)", "--W", "[[1,2],[3,4]]", "--v", "1,1", "--tree"],
    ["eval", "M*1.2345678912345", "--M", "[[1,2,3],[4,5,6]]", "--grad-output", "[[1,1,1],[1,1,1]]"],
    ["diff", "x^2*sin(x)"],
    ["diff", "a*b + sin(c)", "-f", "latex"],
    ["graph", "sin(x)*sin(x)*exp(y)", "--x", "1.234567", "--y", "0.5"],
    ["graph", "sum(W @ v)", "--W", "[[1,2],[3,4]]", "--v", "1,1", "-f", "mermaid"],
    ["plot", "x^3 - 3*x", "--x", "-2.5:2.5", "--points", "120"],
    ["plot", "1/x", "--x", "-2:2"],
    ["hessian", "sum(x^3)", "--x", "1,2,3"],
    ["minimize", "sum((w - 1)^2)", "--w", "0,0,0"],
    ["--help"],
    *([c, "--help"] for c in ("eval", "diff", "batch", "hessian", "jacobian", "minimize", "graph", "explain", "plot")),
    ["eval", "2x + 1", "--x", "3"],                                  # errors
    ["eval", "sinn(x)", "--x", "3"],
    ["eval", "x", "--x", "1", "--no-chek"],
    ["eval", "where(x > 0, sqrt(x), 0)", "--x", "-1"],               # the NaN trap, explained
    ["eval", "sum(inv(M))", "--M", "[[1,2],[2,4]]"],                  # a singular matrix
    ["eval", "a < b < c", "--a", "1"],                               # errors of the new language
    ["eval", "sum(x, axes=0)", "--x", "1,2"],
    ["eval", "concat(M, x, axis=0)", "--M", "[[1,2],[3,4]]", "--x", "1,2"],
]


@pytest.mark.parametrize("cols", WIDTHS)
@pytest.mark.parametrize("args", OUTPUTS, ids=[" ".join(a[:3]) for a in OUTPUTS])
def test_every_human_output_fits_the_terminal(args, cols):
    s = shown(args, cols)
    assert s.code in (0, 1, 2), s
    assert s.text.strip(), "nothing was shown"
    if args[-1] == "--help":
        assert s.code == 0
        for noise in ("<bool>", "<list[str]>", "{EXPR}", "[[FILE]...]...", "<float range>", "[x>=0.0]", "…"):
            assert noise not in s.text


def test_errors_show_a_caret_under_the_problem_at_every_width():
    for cols in WIDTHS:
        s = shown(["eval", "2x + 1", "--x", "3"], cols)
        assert s.code == 2
        lines = s.screen
        i = next(i for i, line in enumerate(lines) if line.strip() == "2x + 1")
        assert lines[i + 1].index("^") == lines[i].index("x")


# -- output to files and pipes: every record, in order, no escape codes ---------------------------
@pytest.fixture(scope="module")
def jobs_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("jobs") / "jobs.txt"
    path.write_text("".join(f"sin(x)*{i} + x^2 where x={i % 7}\n" for i in range(3000)))
    return path


def progress_env(cols):
    return terminal.environment(cols, GRADCLI_PROGRESS_DELAY="0")


@pytest.mark.parametrize("stderr", ["tty", "file", "pipe"])
@pytest.mark.parametrize("stdout", ["file", "pipe"])
@pytest.mark.parametrize("how", [["-f", "json"], ["-f", "json", "--jobs", "1"], ["-f", "tsv"], ["-f", "json", "-"]],
                         ids=["json", "jobs1", "tsv", "stdin"])
def test_batch_puts_every_record_in_the_file_whatever_stderr_is(jobs_file, stdout, stderr, how):
    stdin = jobs_file.read_text() if how[-1] == "-" else None
    args = ["batch", *([] if stdin else [str(jobs_file)]), *how, "--no-check"]
    s = terminal.run(args, cols=80, stdout=stdout, stderr=stderr, stdin=stdin, env=progress_env(80))
    assert s.code == 0, s
    lines = s.out.splitlines()
    if "tsv" in how:
        assert lines[0].startswith("line\t") and len(lines) == 1 + 2 * 3000
        numbers = [int(line.split("\t")[0]) for line in lines[1:]]
        assert numbers == sorted(numbers) and set(numbers) == set(range(1, 3001))
    else:
        assert [json.loads(line)["line"] for line in lines] == list(range(1, 3001))
    assert not has_escape_codes(s.out)
    if stderr == "tty":
        assert b"jobs" in s.raw, "the progress display should show on the terminal"
        assert b"3000" in s.raw or stdin is not None, "a file's total is known"
        assert '"line"' not in s.text and "sin(x)" not in s.text, "records reached the terminal"
    else:
        assert not has_escape_codes(s.err) and s.err == ""


def test_progress_stays_off_when_records_stream_to_the_terminal(jobs_file):
    s = terminal.run(["batch", str(jobs_file), "-f", "json", "--no-check"], cols=200, env=progress_env(200))
    assert s.code == 0
    lines = [line for line in s.screen if line.startswith('{"line"')]
    assert len(lines) >= 40            # the screen shows the records (a long one wraps, so count starts)
    assert b"jobs" not in s.raw.replace(b'"jobs', b"")


def test_progress_display_is_transient_and_counts_done_of_total(jobs_file):
    s = terminal.run(["batch", str(jobs_file), "--no-check"], cols=80, env=progress_env(80))
    assert s.code == 0
    assert re.search(rb"\d+/3000", s.raw), "done/total"
    assert "3000 jobs, 0 failed or disagreed" in s.text


@pytest.mark.parametrize("stdout", ["file", "pipe"])
def test_a_table_to_a_file_keeps_every_digit_and_no_trailing_blanks(stdout):
    args = ["eval", "exp(-x)*y", "--x", "50", "--y", "1.5"]
    s = terminal.run(args, cols=40, stdout=stdout, stderr="tty")
    assert s.code == 0
    assert "2.8931247719458766e-22" in s.out and "numbers rounded" not in s.out
    assert not has_escape_codes(s.out)
    assert all(line == line.rstrip() for line in s.out.splitlines())
    s = terminal.run(["batch", "-"], cols=40, stdout=stdout, stderr="tty",
                     stdin="exp(-x)*y where x=50, y=1.5\n")
    assert "2.8931247719458766e-22" in s.out and not has_escape_codes(s.out)
    assert all(line == line.rstrip() for line in s.out.splitlines())


@pytest.mark.parametrize("cols", WIDTHS)
def test_batch_table_on_a_terminal(jobs_file, cols, tmp_path):
    path = tmp_path / "few.txt"
    path.write_text("exp(-x)*y where x=50, y=1.5\nsoftmax(x)[0] where x=1,2,3\n2y where y=1\n"
                    "x^0.5 where x=0\n")
    s = shown(["batch", str(path)], cols)
    assert s.code == 1                  # line 3 does not parse
    for value in (2.8931247719458766e-22, 0.09003057317038046):
        assert_shown(value, s.text)
    assert "4 jobs, 1 failed or disagreed" in " ".join(s.text.split())


def test_batch_reading_a_terminal_says_it_waits_for_ctrl_d():
    def typed(raw):
        return b"until Ctrl-D" in raw

    s = terminal.run(["batch", "-f", "json", "--no-check"], cols=80, stdin="tty", stdout="pipe",
                     until=typed, send=lambda raw: b"x^2 where x=3\n\x04")
    assert s.code == 0
    assert "reading jobs from standard input" in s.text
    assert json.loads(s.out.splitlines()[0])["grad"] == {"x": 6.0}


def test_points_rows_all_reach_the_file_with_progress_on_the_terminal(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("a,b\n" + "".join(f"{i},{i / 7}\n" for i in range(20000)))
    s = terminal.run(["eval", "a*sin(b)", "--points", str(path), "--no-check"], cols=80, stdout="file",
                     env=progress_env(80))
    assert s.code == 0
    assert len(s.out.splitlines()) == 20001 and not has_escape_codes(s.out)
    assert b"rows" in s.raw             # the progress showed ...
    assert s.text.strip() == ""         # ... and, transient, left the screen empty


@pytest.mark.parametrize("cols", WIDTHS)
def test_a_long_warning_wraps_at_its_spaces_on_a_terminal_and_is_one_line_in_a_pipe(cols):
    args = ["eval", "where(x > 0, sqrt(x), 0)", "--x", "-1", "--no-check"]
    s = terminal.run(args, cols=cols, stdout="pipe", stderr="tty")
    piped = terminal.run(args, cols=cols, stdout="pipe", stderr="pipe").err.splitlines()
    trap = next(line for line in piped if "branch not taken" in line)
    assert trap.endswith("write where(x > 0, sqrt(where(x > 0, x, 1)), 0)")
    screen = [line.rstrip() for line in s.screen if line.strip()]
    start = next(i for i, line in enumerate(screen) if line.startswith("warning: nan gradient"))
    lines = [screen[start]]
    for line in screen[start + 1:]:
        if not line.startswith("  "):
            break
        lines.append(line)
    assert all(len(line) <= cols for line in lines)
    assert " ".join(part.strip() for part in lines) == trap        # every word, none cut


# -- diff --steps and --claim: wrapped at their spaces, every word kept ------------------------------
STEPS_AND_CLAIMS = [
    (["diff", "exp(sin(x^2))/x + 3*x^2", "--steps"], 0),
    (["diff", "sin(x^2)", "--claim", "cos(x^2)"], 1),
]


@pytest.mark.parametrize("cols", (40, 80))
@pytest.mark.parametrize("args, code", STEPS_AND_CLAIMS, ids=["steps", "claim"])
def test_steps_and_claims_wrap_at_their_spaces_and_keep_every_word(args, code, cols):
    s = shown(args, cols)
    assert s.code == code, s
    filed = _filed(tuple(args))
    assert s.text.split() == filed.split(), f"words lost or cut at {cols} columns:\n{s.text}"
    if "--claim" in args:
        rec = json_of(args)
        assert_shown(rec["claimed"], s.text)
        assert_shown(rec["expected"], s.text)


@functools.lru_cache(maxsize=None)
def _filed(args: tuple) -> str:
    """The output written to a file: one line a step (no wrapping), no escape codes."""
    s = terminal.run(list(args), cols=40, stdout="file", stderr="pipe")
    assert not has_escape_codes(s.out), s
    assert all(line == line.rstrip() for line in s.out.splitlines())
    return s.out


def test_steps_in_a_file_are_one_line_a_step():
    out = _filed(("diff", "exp(sin(x^2))/x + 3*x^2", "--steps"))
    assert "  1. d/dx (exp(sin(x^2))/x) = (x * d(exp(sin(x^2)))/dx - exp(sin(x^2)))/x^2   quotient rule" in \
        out.splitlines()


@pytest.mark.parametrize("cols", [40, 80])
def test_explain_never_cuts_an_array_gradient(cols):
    args = ["explain", "tanh(W @ v) * v", "--W", "[[1,2],[3,4]]", "--v", "0.1,-0.2", "--grad-output", "1,2"]
    s = shown(args, cols)
    assert s.code == 0, s
    rec = json.loads(terminal.run([*args, "-f", "json"], cols=200, stdout="pipe", stderr="pipe").out)
    for g in rec["grad"].values():
        assert_shown(g["value"], s.text.split("gradients")[-1])
