"""cli/spec.py: the command line read once, from one spec, for the fast path and for Typer alike."""
import subprocess
import sys

import pytest

from gradcli.check.policy import DEFAULT
from gradcli.cli import app, commands, main, spec
from gradcli.cli.spec import COMMANDS
from gradcli.errors import GradcliError


# -- mistyped options ---------------------------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    (["eval", "x", "--x", "1", "--no-chek"], "unknown option --no-chek; did you mean --no-check?"),
    (["eval", "x", "--x", "1", "--tre"], "unknown option --tre; did you mean --tree?"),
    (["eval", "x", "--tre", "--x", "1"], "unknown option --tre; did you mean --tree?"),
    (["eval", "x", "--x", "1", "--formt", "json"], "unknown option --formt; did you mean --format?"),
    (["batch", "--no-chek"], "unknown option --no-chek; did you mean --no-check?"),
    (["eval", "x", "--x"], "--x needs a value"),
    (["eval", "x", "--x", "1", "--y"], "--y is not an option of gradcli eval, nor a variable"),
    (["eval", "x", "--x", "1", "--format", "xml"], "--format takes one of table, json, tsv"),
    (["eval", "x", "--x", "1", "--rtol", "nan"], "--rtol needs a finite number"),
    (["eval", "x", "--x", "1", "-z"], "unknown option -z"),
    (["eval"], "gradcli eval needs an expression"),
    (["evl", "x"], "unknown command 'evl'"),
])
def test_mistyped_options_are_named_with_exit_code_2(cli, args, message):
    r = cli(*args)
    assert r.code == 2 and message in r.err and r.out == ""


def test_a_variable_named_like_an_option_still_binds(cli):
    assert cli("eval", "tre*2", "--tre", "3", "-f", "json", "--no-check").json["grad"] == {"tre": 2.0}


def test_short_version_flag(cli):
    from importlib.metadata import version
    assert cli("-V").out.strip() == cli("--version").out.strip() == f"gradcli {version('gradcli')}"


# -- one reading for the fast path and for Typer -------------------------------------------------
SAMPLES = {float: ["0.5", "0"], int: ["3", "7"], str: ["a,b", "data.csv"]}


def spellings(command):
    """Command lines that use each option of the spec in each of its spellings, with each of its
    values: its flags, --flag=VALUE, the off flag, every choice, a repeated option."""
    base = [command.name] + ([] if command.arg.many else ["x*y"])
    yield base
    for o in command.options:
        if o.is_flag:
            for flag in o.all_flags:
                yield base + [flag]
            continue
        values = list(o.choices) if o.choices else SAMPLES[o.type]
        if o.bare:                      # --retain-grad alone, or with names
            yield base + [o.flags[0]]
            yield [command.name, o.flags[0], *base[1:]]
            values = ["y", "y,z"]
        for flag in o.flags:
            for value in values:
                yield base + [flag, value]
        yield base + [f"{o.flags[0]}={values[-1]}"]
        if o.many:
            yield base + [o.flags[0], values[0], o.flags[0], values[-1]]
    yield base + ["--x", "2", "--y=-3"] + ([] if command.arg.many else ["z=4"])
    yield base + ["--", "--y"] if command.arg.many else base + ["--y", "-1"]


def parity_cases():
    for command in COMMANDS.values():
        for argv in spellings(command):
            yield pytest.param(argv, id=" ".join(argv))


@pytest.mark.parametrize("argv", list(parity_cases()))
def test_fast_path_and_typer_read_every_option_alike(argv, monkeypatch):
    """Every option of every command, in every spelling, through main's fast path (spec.read) and
    through the Typer app: the same command, expression, bindings and option values."""
    calls = []
    monkeypatch.setattr(commands, "run", lambda name, arg, bindings, **options: calls.append(
        (name, list(arg) if isinstance(arg, (list, tuple)) else arg, bindings, options)) or 0)
    assert main.dispatch(argv) == 0
    assert app.run(argv) == 0
    fast, typer = calls
    assert fast == typer
    read = spec.read(argv)
    assert set(read.options) == {o.name for o in read.spec.options}


@pytest.mark.parametrize("argv, value, arg", [
    (["eval", "y = a*b; y + c", "--retain-grad"], "*", "y = a*b; y + c"),
    (["eval", "y = a*b; y + c", "--retain-grad", "y"], "y", "y = a*b; y + c"),
    (["eval", "--retain-grad", "y,z", "z = 2*a; y = z^2; y + 1"], "y,z", "z = 2*a; y = z^2; y + 1"),
    (["eval", "--retain-grad", "x"], "*", "x"),                  # the only word: the expression
    (["eval", "a*b", "--retain-grad", "--a", "2"], "*", "a*b"),
    (["eval", "a*b", "--retain-grad=y"], "y", "a*b"),
    (["graph", "y = a*b; y", "--retain-grad", "y", "--a", "2"], "y", "y = a*b; y"),
])
def test_retain_grad_takes_names_or_stands_alone(argv, value, arg):
    read = spec.read(argv)
    assert read.options["retain_grad"] == value and read.arg == arg


def test_file_gives_the_expression_instead(tmp_path):
    read = spec.read(["eval", "--file", "p.txt", "--a", "2"])
    assert read.arg is None and read.options["file"] == "p.txt" and read.bindings == {"a": "2"}
    with pytest.raises(GradcliError, match="needs an expression"):
        spec.read(["eval", "--a", "2"])


def test_defaults_are_the_specs_and_the_check_policys():
    call = spec.read(["eval", "x", "--x", "1"])
    assert call.options["rtol"] == DEFAULT.rtol and call.options["atol"] == DEFAULT.atol
    assert call.options["check_timeout"] == DEFAULT.timeout and call.options["fmt"] == "table"
    assert call.arg == "x" and call.bindings == {"x": "1"}


@pytest.mark.parametrize("argv, call", [
    (["eval", "a*b", "--a", "2", "b=3"], ("a*b", {"a": "2", "b": "3"})),
    (["eval", "-x^2", "--x", "-2"], ("-x^2", {"x": "-2"})),
    (["eval", "x", "--x=-1e3", "--format=json"], ("x", {"x": "-1e3"})),
    (["batch", "jobs.txt", "more.txt", "--c", "4"], (["jobs.txt", "more.txt"], {"c": "4"})),
    (["batch", "a=1"], (["a=1"], {})),                  # batch takes files, not NAME=VALUE
    (["eval", "x", "--", "--y"], None),                 # after --: words, not options
])
def test_words_options_and_bindings_are_told_apart(argv, call):
    if call is None:
        with pytest.raises(GradcliError, match="--y"):
            spec.read(argv)
        return
    read = spec.read(argv)
    assert (read.arg, read.bindings) == call


def test_a_variable_without_a_value_is_missing_and_the_command_says_so(cli):
    call = spec.read(["eval", "x*y", "--x", "--y", "2"])
    assert call.bindings == {"x": spec.MISSING, "y": "2"}
    r = cli("eval", "x*y", "--x", "--y", "2")
    assert r.code == 2 and "--x needs a value" in r.err


def test_help_and_version_are_read_before_anything_else():
    assert spec.read([]).help and spec.read(["--help"]).help
    assert spec.read(["eval", "x", "--nonsense", "-h"]).help
    assert spec.read(["-V"]).version and spec.read(["--version"]).version
    with pytest.raises(GradcliError, match="unknown option -h"):      # after --, -h is a word
        spec.read(["eval", "x", "--", "-h"])


@pytest.mark.parametrize("argv", [["eval", "a*b", "--a", "2", "--b", "3", "--no-check"], ["--help"],
                                  ["eval", "--help"], ["evl", "x"], ["eval", "x", "--tre"]])
def test_the_command_line_is_read_without_typer(argv):
    """Typer's import costs more than numpy's: the fast path reads every command line itself."""
    code = ("import sys\nfrom gradcli.cli.main import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            "print('typer' in sys.modules, 'click' in sys.modules, file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stderr.strip().splitlines()[-1] == "False False"
