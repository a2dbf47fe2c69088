"""Completion scripts: generated from the Typer app, never stale, and they complete in a real shell.

bash and zsh run interactively in a pseudo-terminal: a test types a partial command line and
TAB, then a key bound to print the line editor's buffer. What the shell listed comes before
that print, the completed line inside it; no step waits for a fixed time.
"""
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pexpect
import pytest

from gradcli.cli.spec import COMMANDS

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "completions"
PROMPT = "READY> "
SHOW_BUFFER = "\x18\x02"            # Ctrl-X Ctrl-B, bound in each rc below
TIMEOUT = 60                        # seconds for one event; each takes milliseconds on an idle machine
FILES = ["jobs.txt", "points.csv"]  # in the shells' working directory

RC = {
    "bash": f"""PS1='{PROMPT}'
bind 'set show-all-if-ambiguous on'     # one TAB lists the candidates
bind 'set bell-style none'
source {SCRIPTS / 'gradcli.bash'}
bind -x '"\\C-x\\C-b": printf "BUFFER<%s>END\\n" "$READLINE_LINE"; READLINE_LINE='
""",
    "zsh": f"""PS1='{PROMPT}'
unsetopt PROMPT_SP BEEP
unset zle_bracketed_paste
bindkey -e
zstyle ':completion:*' format 'MSG<%d>'     # show group names and messages, marked
fpath=({SCRIPTS} $fpath)
autoload -U compinit && compinit -u -D
_show_buffer() {{ zle -I; print -r -- "BUFFER<$BUFFER>END"; BUFFER= }}
zle -N _show_buffer
bindkey '^X^B' _show_buffer
""",
}


def generator():
    spec = importlib.util.spec_from_file_location("completions", ROOT / "scripts" / "completions.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def spec():
    commands, top = generator().spec()
    return {c.name: c for c in commands}, top


def test_completion_scripts_are_up_to_date():
    for name, text in generator().render().items():
        assert (SCRIPTS / name).read_text() == text, \
            f"completions/{name} is stale: run python scripts/completions.py"


def test_every_command_and_option_is_in_the_scripts(spec):
    commands, _ = spec
    assert set(commands) == set(COMMANDS)
    for name in ["gradcli.bash", "_gradcli", "gradcli.fish"]:
        script = (SCRIPTS / name).read_text()
        for c in commands.values():
            assert c.name in script, name
            for o in c.options:
                assert all(n.lstrip("-") in script for n in o.names), (name, o.names)


@dataclass
class Completion:
    line: str       # the command line after TAB
    shown: str      # what the shell printed under it: candidates, descriptions, messages

    @property
    def listed(self) -> set[str]:
        """The candidates listed (none when TAB inserted the only one)."""
        lines = [line for line in self.shown.splitlines() if not line.startswith("MSG<")]
        return {word for line in lines for word in line.split(" -- ")[0].split()}

    @property
    def messages(self) -> list[str]:
        return re.findall(r"^MSG<(.*)>", self.shown, re.M)


class Shell:
    """An interactive bash or zsh in a pseudo-terminal, started with RC as its only settings."""

    def __init__(self, name: str, home: Path):
        self.name = name
        (home / f".{name}rc").write_text(RC[name])
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "ZDOTDIR": str(home),
               "TERM": "dumb", "INPUTRC": "/dev/null"}
        args = {"bash": ["--noprofile", "--rcfile", str(home / ".bashrc"), "-i"],
                "zsh": ["--no-globalrcs", "-i"]}[name]      # and $ZDOTDIR/.zshrc
        self.child = pexpect.spawn(shutil.which(name), args, env=env, cwd=str(home), encoding="utf-8",
                                   dimensions=(100, 250), timeout=TIMEOUT)
        self.child.delaybeforesend = None
        self.child.expect_exact(PROMPT)

    def tab(self, line: str) -> Completion:
        self.child.send(line + "\t" + SHOW_BUFFER)
        self.child.expect(r"BUFFER<(.*?)>END")
        completed, printed = self.child.match.group(1), self.child.before
        self.child.expect_exact(PROMPT)         # the empty line it redraws: ready for the next
        text = re.sub(r"[^\n -~]", "", printed)    # bells, carriage returns
        shown = [row.rstrip() for row in text.split("\n")[1:] if PROMPT not in row]    # [0]: the line typed
        return Completion(completed, "\n".join(row for row in shown if row))

    def close(self):
        self.child.terminate(force=True)


@pytest.fixture(scope="module", params=["bash", "zsh"])
def shell(request, tmp_path_factory):
    if shutil.which(request.param) is None:
        pytest.skip(f"{request.param} is not installed")
    home = tmp_path_factory.mktemp(request.param)
    for name in FILES:
        (home / name).write_text("")
    sh = Shell(request.param, home)
    yield sh
    sh.close()


def test_commands_complete(shell, spec):
    commands, top = spec
    assert shell.tab("gradcli ev").line == "gradcli eval "
    assert shell.tab("gradcli ex").line == "gradcli explain "
    assert shell.tab("gradcli e").listed >= {"eval", "explain"}
    assert shell.tab("gradcli j").line == "gradcli jacobian "
    assert shell.tab("gradcli ").listed >= set(commands)
    assert shell.tab("gradcli --").listed == {n for o in top for n in o.names if n.startswith("--")}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_options_complete_after_the_expression_and_bindings(shell, spec, command):
    c = spec[0][command]
    longs = {n for o in c.options for n in o.names if n.startswith("--")}
    fmt = next(o for o in c.options if "--format" in o.names)
    assert shell.tab(f"gradcli {command} x --").listed == longs
    assert shell.tab(f"gradcli {command} x --x 1 --").listed == longs
    assert shell.tab(f"gradcli {command} --fo").line == f"gradcli {command} --format "
    assert shell.tab(f"gradcli {command} x --fo").line == f"gradcli {command} x --format "
    assert shell.tab(f"gradcli {command} x --x -2 y=3 --fo").line == f"gradcli {command} x --x -2 y=3 --format "
    for line in [f"gradcli {command} x --format ", f"gradcli {command} x --x 1 -f "]:
        assert shell.tab(line).listed == set(fmt.choices), line
    first = fmt.choices[0]
    assert shell.tab(f"gradcli {command} x -f {first[:2]}").line == f"gradcli {command} x -f {first} "


def test_choices_and_files_of_other_options(shell):
    assert shell.tab("gradcli minimize x --x 0 --optimizer ").listed == {"sgd", "momentum", "adam"}
    assert shell.tab("gradcli minimize x --optimizer mo").line == "gradcli minimize x --optimizer momentum "
    assert shell.tab("gradcli minimize x --trace po").line == "gradcli minimize x --trace points.csv "
    assert shell.tab("gradcli eval x --points p").line == "gradcli eval x --points points.csv "
    assert shell.tab("gradcli batch --no").line == "gradcli batch --no-check "
    assert shell.tab("gradcli eval x --no-").listed == {"--no-check", "--no-grad"}


def test_batch_completes_file_names(shell):
    assert shell.tab("gradcli batch jo").line == "gradcli batch jobs.txt "
    assert shell.tab("gradcli batch --no-check -f json jo").line == "gradcli batch --no-check -f json jobs.txt "
    assert shell.tab("gradcli batch jobs.txt --a 3 ").listed >= set(FILES)


@pytest.mark.parametrize("shell", ["zsh"], indirect=True)      # bash completion shows no descriptions
def test_zsh_shows_descriptions_as_written(shell, spec):
    commands, _ = spec
    listing = shell.tab("gradcli ").shown
    for c in commands.values():
        assert f"{c.name} -- {c.help}" in re.sub(" +", " ", listing)      # gradcli's, engine's, derivative's
    for c in commands.values():
        shown = re.sub(" +", " ", shell.tab(f"gradcli {c.name} x --").shown)
        assert all(o.help in shown for o in c.options), c.name              # (0: no limit), |gradient|
    assert shell.tab("gradcli minimize ").messages == ["A scalar expression; the variables' values are the start."]
    assert shell.tab("gradcli plot ").messages == ["An expression of one variable, given as a range: --x -3:3."]
    assert "a variable's value (--NAME VALUE or NAME=VALUE)" in shell.tab("gradcli eval x ").messages


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_with_descriptions_as_written(spec):
    commands, _ = spec

    def complete(line: str) -> list[str]:
        script = f"source {SCRIPTS / 'gradcli.fish'}; complete -C {line!r}"
        return subprocess.run(["fish", "--no-config", "-c", script], capture_output=True, text=True,
                              check=True, timeout=TIMEOUT).stdout.splitlines()

    assert set(complete("gradcli ")) == {f"{c.name}\t{c.help}" for c in commands.values()}
    assert complete("gradcli eval x --x 1 --fo") == ["--format\tOutput: table (Rich), json or tsv."]
    assert {line.split("\t")[0] for line in complete("gradcli diff x --format ")} == {"text", "latex", "json"}
