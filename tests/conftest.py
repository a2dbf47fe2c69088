import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout

import pytest

from gradcli.cli.main import main

ENV = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100", "TERM": "dumb"}
TRACEBACK = "Traceback (most recent call last)"


class Run:
    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err

    @property
    def json(self):
        def bad(name):
            raise ValueError(f"non-standard JSON constant {name}")
        return json.loads(self.out, parse_constant=bad)

    def __repr__(self):
        return f"Run(code={self.code}, out={self.out!r}, err={self.err!r})"


@pytest.fixture
def cli(monkeypatch):
    """Run gradcli in-process: cli("eval", "a*b", "--a", "2") -> Run(code, out, err)."""
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")

    def run(*args, stdin: str = ""):
        out, err = io.StringIO(), io.StringIO()
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        with redirect_stdout(out), redirect_stderr(err):
            try:
                main(list(args))
                code = 0
            except SystemExit as exc:
                code = exc.code
        result = Run(code, out.getvalue(), err.getvalue())
        assert TRACEBACK not in result.out + result.err, result
        return result
    return run


def on_a_terminal(args: list[str], env: dict, stream: str = "stderr") -> tuple[int, bytes]:
    """Run a command with stdout or stderr on a pseudo-terminal; its exit code and what the terminal got."""
    import pty
    import select
    leader, follower = pty.openpty()
    where = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, stream: follower}
    proc = subprocess.Popen(args, env=env, **where)
    os.close(follower)
    shown = b""
    while True:                     # read while it runs: a full terminal would stop it
        if select.select([leader], [], [], 0.2)[0]:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        elif proc.poll() is not None:
            break
    os.close(leader)
    return proc.wait(timeout=120), shown


def run_process(*args, stdin: str = "", env=None, timeout=60):
    """Run gradcli as a real process."""
    proc = subprocess.run([sys.executable, "-m", "gradcli", *args], input=stdin, capture_output=True,
                          text=True, env=env or ENV, timeout=timeout)
    result = Run(proc.returncode, proc.stdout, proc.stderr)
    assert TRACEBACK not in proc.stdout + proc.stderr, result
    return result
