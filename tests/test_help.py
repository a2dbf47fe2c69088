"""cli/help.py: help as people read it, no noise, wrapped at any width, examples that paste and run."""
import os
import shlex
import shutil
import subprocess
import sys

import pytest

import gradcli
from gradcli.cli.help import command_help, program_help
from gradcli.cli.spec import COMMANDS


# -- help as people read it ---------------------------------------------------------------------
NOISE = ("<bool>", "<list[str]>", "{EXPR}", "[[FILE]...]...", "<float range>", "[x>=0.0]", "[default:", "…")


@pytest.mark.parametrize("name", list(COMMANDS))
def test_help_has_no_noise_and_shows_its_examples_whole(cli, name):
    text = cli(name, "--help").out
    for noise in NOISE:
        assert noise not in text, noise
    for example in COMMANDS[name].examples:
        assert f"  {example}\n" in text, example
    assert '"[x*y, x+y]"' in cli("jacobian", "--help").out


@pytest.mark.parametrize("columns", [40, 80, 120])
def test_help_wraps_words_and_never_cuts(columns):
    """Every line fits (an example is never wrapped, so it pastes whole), and every help text is
    there word for word once the wrapping is undone."""
    for spec in COMMANDS.values():
        text = command_help(spec, columns)
        for line in text.splitlines():
            if line.strip() not in spec.examples:
                assert len(line) <= columns, line
        words = " ".join(text.split())
        for o in spec.options:
            assert o.help in words, o.help
        assert spec.help in words and spec.arg.help in words
    top = program_help(columns)
    assert all(len(line) <= columns for line in top.splitlines())
    assert all(c.help in " ".join(top.split()) for c in COMMANDS.values())


def test_help_examples_fit_80_columns_with_their_indent():
    for spec in COMMANDS.values():
        for example in spec.examples:
            assert len("  " + example) <= 80, example


def help_examples():
    for spec in COMMANDS.values():
        yield pytest.param(spec.name, list(spec.examples), id=spec.name)


@pytest.mark.parametrize("name, examples", list(help_examples()))
def test_every_help_example_pastes_and_runs(name, examples, tmp_path):
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "80"}
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "gradcli").write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m gradcli \"$@\"\n")
    (bindir / "gradcli").chmod(0o755)
    env["PATH"] = f"{bindir}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(gradcli.__file__))
    for example in examples:
        if example.startswith("#"):
            continue
        if "| dot " in example and shutil.which("dot") is None:
            pytest.skip("needs Graphviz's dot")
        proc = subprocess.run(["bash", "-o", "pipefail", "-c", example], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, (example, proc.stderr)
        assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("command", list(__import__("gradcli.cli.spec").cli.spec.COMMANDS))
def test_every_command_has_help_with_examples(cli, command):
    short, long = cli(command, "-h"), cli(command, "--help")
    assert short.code == 0 and short.out == long.out
    assert short.out.rstrip().splitlines()[-1].strip().startswith("gradcli ")
    assert "Examples" in short.out
