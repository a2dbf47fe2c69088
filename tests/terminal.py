"""Run gradcli as a person does: under a real pseudo-terminal of a given width.

`run(args, cols=80, stdout="tty", stderr="tty")` starts `python -m gradcli ...`
with each of stdout and stderr the terminal, a file or a pipe (and stdin the
terminal, a file's text, or nothing), reads everything the terminal receives
while the program runs, and replays it through a VT100 emulator (pyte) of the
same size, so `screen` is what a person would see: cursor moves, erased lines
and wraps at the right margin included. What went to a file or a pipe is kept
byte for byte, escape codes and all, so a test can say that none reached it.
"""
from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from dataclasses import dataclass

import pyte

WIDTHS = (40, 80, 200)
MODES = ("tty", "file", "pipe")
ESCAPE = re.compile(r"\x1b")
# A number with an ellipsis against it: "2.8931…", "…0.5" (an array's "…" element stands alone).
CUT_NUMBER = re.compile(r"[0-9.eE+-]…|…[0-9.]")


@dataclass
class Shown:
    code: int
    screen: list[str]          # the terminal's lines as a person sees them, trailing blanks removed
    raw: bytes                 # every byte the terminal received
    out: str | None            # stdout, when it was a file or a pipe
    err: str | None            # stderr, when it was a file or a pipe

    @property
    def text(self) -> str:
        return "\n".join(self.screen)

    def __repr__(self) -> str:
        return f"Shown(code={self.code}, screen=<<\n{self.text}\n>>, out={self.out!r:.2000}, err={self.err!r:.2000})"


def environment(cols: int, **extra) -> dict:
    """A terminal user's environment: colours allowed, no width forced."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES", "FORCE_COLOR")}
    env.update(TERM="xterm-256color", PYTHONIOENCODING="utf-8", **extra)
    return env


def run(args: list[str], *, cols: int = 80, rows: int = 50, stdout: str = "tty", stderr: str = "tty",
        stdin: str | None = None, env: dict | None = None, timeout: float = 120,
        until=None, send=None) -> Shown:
    """Run gradcli with the streams as asked; stdin: None (nothing), "tty", or a text to pipe in.

    until(raw_bytes_so_far) -> bool and send(raw) -> bytes let a test act on an event (type at
    a prompt, send a signal) instead of sleeping.
    """
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    files = {}

    def target(mode: str, name: str):
        if mode == "tty":
            return follower
        if mode == "file":
            files[name] = tempfile.TemporaryFile()
            return files[name]
        if mode == "pipe":
            return subprocess.PIPE
        raise ValueError(mode)

    stdin_arg = follower if stdin == "tty" else (subprocess.PIPE if stdin is not None else subprocess.DEVNULL)
    proc = subprocess.Popen([sys.executable, "-m", "gradcli", *args], stdin=stdin_arg,
                            stdout=target(stdout, "out"), stderr=target(stderr, "err"),
                            env=env or environment(cols), start_new_session=True,
                            preexec_fn=_controlling_terminal)
    os.close(follower)
    if stdin is not None and stdin != "tty":         # fed beside the reading below: no pipe fills up
        threading.Thread(target=_feed, args=(proc.stdin, stdin.encode("utf-8", "surrogateescape")),
                         daemon=True).start()
    raw, piped = bytearray(), {"out": bytearray(), "err": bytearray()}
    streams = {leader: raw}
    if proc.stdout is not None:
        streams[proc.stdout.fileno()] = piped["out"]
    if proc.stderr is not None:
        streams[proc.stderr.fileno()] = piped["err"]
    deadline = time.monotonic() + timeout
    acted = False
    while streams:
        if time.monotonic() > deadline:
            proc.kill()
            raise TimeoutError(f"gradcli {' '.join(args)} did not finish in {timeout} s")
        ready, _, _ = select.select(list(streams), [], [], 0.1)
        for fd in ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:             # the terminal's last reader has gone (EIO)
                chunk = b""
            if chunk:
                streams[fd].extend(chunk)
            else:
                del streams[fd]
        if until is not None and not acted and until(bytes(raw)):
            acted = True
            reply = send(bytes(raw)) if send else None
            if reply:
                os.write(leader, reply)
        if not ready and proc.poll() is not None and leader in streams:
            # Everything the program wrote is already in the terminal's buffer: drain it.
            while select.select([leader], [], [], 0)[0]:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    break
                raw.extend(chunk)
            del streams[leader]
    os.close(leader)
    code = proc.wait(timeout=timeout)
    outputs = {}
    for name in ("out", "err"):
        if name in files:
            files[name].seek(0)
            outputs[name] = files[name].read().decode("utf-8", "replace")
            files[name].close()
        elif (stdout if name == "out" else stderr) == "pipe":
            outputs[name] = piped[name].decode("utf-8", "replace")
    return Shown(code, screen_of(bytes(raw), cols), bytes(raw), outputs.get("out"), outputs.get("err"))


def _feed(pipe, data: bytes) -> None:
    try:
        pipe.write(data)
        pipe.close()
    except (BrokenPipeError, OSError):
        pass


def _controlling_terminal() -> None:
    """In the child, after setsid(): make the pseudo-terminal its controlling terminal, so that
    Ctrl-C typed at it is SIGINT and a read from it sees Ctrl-D, as in a shell."""
    for fd in (0, 1, 2):
        if os.isatty(fd):
            fcntl.ioctl(fd, termios.TIOCSCTTY, 0)
            return


def screen_of(raw: bytes, cols: int) -> list[str]:
    """What a terminal of `cols` columns shows after receiving raw (no line ever scrolls away)."""
    lines = raw.count(b"\n") + raw.count(b"\r") + 10
    screen = pyte.Screen(cols, max(24, lines))
    stream = pyte.ByteStream(screen)
    stream.feed(raw)
    shown = [line.rstrip() for line in screen.display]
    while shown and not shown[-1]:
        shown.pop()
    return shown


def cut_numbers(text: str) -> list[str]:
    """Every place where an ellipsis touches a number."""
    return [text[max(0, m.start() - 12):m.end() + 12] for m in CUT_NUMBER.finditer(text)]


def has_escape_codes(text: str | None) -> bool:
    return text is not None and bool(ESCAPE.search(text))
