"""cli/spec.py: the command line read once, from one spec, for the fast path and for Typer alike."""
import pytest


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
