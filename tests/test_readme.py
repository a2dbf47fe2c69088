"""The README is the front door: its commands and examples must work as written.

`python tests/test_readme.py --update` rewrites the example outputs from real runs.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
ENV = {**os.environ, "NO_COLOR": "1", "COLUMNS": "80", "TERM": "dumb"}
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def console_examples(text: str):
    """(command, expected output) for each `$ ` line of the console blocks."""
    for lang, body in BLOCK.findall(text):
        if lang != "console":
            continue
        lines = body.splitlines()
        i = 0
        while i < len(lines):
            if lines[i].startswith("$ "):
                j = i + 1
                while j < len(lines) and not lines[j].startswith("$ "):
                    j += 1
                yield lines[i][2:], "\n".join(lines[i + 1:j])
                i = j
            else:
                i += 1


def run(command: str) -> str:
    proc = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=ENV, cwd=ROOT)
    return (proc.stdout + proc.stderr).rstrip("\n")


EXAMPLES = list(console_examples(README.read_text()))


@pytest.mark.parametrize("command, expected", EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_readme_example(command, expected):
    got = run(command)
    assert [line.rstrip() for line in got.splitlines()] == [line.rstrip() for line in expected.splitlines()]


def setup_commands():
    blocks = [body.strip() for lang, body in BLOCK.findall(README.read_text()) if lang == "sh"]
    return blocks[0], blocks[1]


def test_readme_opens_with_the_two_setup_commands():
    install, test = setup_commands()
    assert "\n" not in install and "\n" not in test
    assert install.startswith("pip install . && gradcli eval ")
    assert test == 'pip install -e ".[test]" && python -m pytest'
    got = run(install.split("&& ", 1)[1])
    assert "a*b+c  =  10" in got


def test_ci_runs_the_readme_test_command():
    _, test = setup_commands()
    ci = (ROOT / ".ci" / "run").read_text()
    assert test in ci.splitlines()


def test_readme_python_example_runs_and_its_comments_are_true():
    code = next(body for lang, body in BLOCK.findall(README.read_text()) if lang == "python")
    # Each `expr  # comment` line: print repr(expr) so the comment can be compared with it.
    probe = [re.sub(r"^(\S.*?)\s+# (.*)$", r"print(repr((\1)))", line) if "  # " in line and "=" not in line.split("#")[0]
             else line for line in code.splitlines()]
    proc = subprocess.run([sys.executable, "-c", "\n".join(probe)], capture_output=True, text=True, env=ENV)
    assert proc.returncode == 0, proc.stderr
    comments = [line.split("# ", 1)[1] for line in code.splitlines()
                if "  # " in line and "=" not in line.split("#")[0]]
    printed = proc.stdout.splitlines()
    assert printed[0] == comments[0]                                     # result.value
    assert printed[-1] == "(" + comments[-1] + ")"                       # a.grad, b.grad


def test_guarantees_name_tests_that_exist():
    """Each test the "Guarantees and limits" section names is a real test function."""
    import ast
    section = README.read_text().split("## Guarantees and limits")[1].split("\n## ")[0]
    named = set(re.findall(r"`(test_\w+\.py)::(test_\w+)`", section))
    assert len(named) >= 10
    for filename, name in sorted(named):
        tree = ast.parse((ROOT / "tests" / filename).read_text())
        functions = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert name in functions, f"{filename}::{name}"


def update() -> None:
    text = README.read_text()
    for command, expected in console_examples(text):
        got = "\n".join(line.rstrip() for line in run(command).splitlines())
        old = f"$ {command}\n{expected}\n" if expected else f"$ {command}\n"
        text = text.replace(old, f"$ {command}\n{got}\n", 1)
    README.write_text(text)


if __name__ == "__main__" and "--update" in sys.argv:
    update()
