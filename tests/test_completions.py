"""Completion scripts: generated from the Typer app, never stale, and they work in bash."""
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def generator():
    spec = importlib.util.spec_from_file_location("completions", ROOT / "scripts" / "completions.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_completion_scripts_are_up_to_date():
    for name, text in generator().render().items():
        assert (ROOT / "completions" / name).read_text() == text, \
            f"completions/{name} is stale: run python scripts/completions.py"


def test_every_command_and_option_is_in_the_scripts():
    commands, _ = generator().spec()
    bash = (ROOT / "completions" / "gradcli.bash").read_text()
    assert {c.name for c in commands} >= {"eval", "diff", "batch"}
    for c in commands:
        assert c.name in bash
        for o in c.options:
            assert all(n in bash for n in o.names)


def complete(*words: str) -> list[str]:
    script = (f"source {ROOT / 'completions' / 'gradcli.bash'}\n"
              f"COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
              "_gradcli; printf '%s\\n' \"${COMPREPLY[@]}\"")
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completes_commands_options_and_choices():
    assert complete("gradcli", "e") == ["eval"]
    assert complete("gradcli", "eval", "--fo") == ["--format"]
    assert complete("gradcli", "eval", "x", "--format", "j") == ["json"]
    assert complete("gradcli", "diff", "-f", "la") == ["latex"]
    assert "--no-check" in complete("gradcli", "batch", "--no")
