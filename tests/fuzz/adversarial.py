"""Attacks on gradcli's promises, as real processes: signals at random moments, a poisoned line
somewhere in a large file, output that cannot be written, and memory watched for every limit.

The suite (tests/test_adversarial.py) runs a bounded number of trials; for a long run:

    python tests/fuzz/adversarial.py --minutes 30           # every attack in turn, fresh seeds
    python tests/fuzz/adversarial.py --minutes 5 --only signals

Each trial asserts what the README promises: exit 130 or 143 after a signal, every line written
a whole record and the output an exact prefix of the uninterrupted run, the count on stderr;
every record but the poisoned line's unchanged; a one-line message and exit 1 when stdout fails;
peak memory within the stated bound.
"""
from __future__ import annotations

import json
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
ENV = {**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "100", "OPENBLAS_NUM_THREADS": "1",
       "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
TRACEBACK = "Traceback (most recent call last)"
CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


@dataclass
class Finished:
    code: int
    out: str
    err: str
    peak_mb: float          # the process's own peak resident memory (with measure=True)


# A small process that runs gradcli and reports its peak memory: a child forked from the test
# runner would count the runner's own pages, copied at the fork, as its memory.
LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as report:
    report.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status) % 256)
"""


def handlers_installed(pid: int, wait: float = 30.0) -> bool:
    """Wait until the process catches SIGTERM (gradcli's handlers are in; Python alone leaves SIGTERM
    to its default), reading /proc: an event, not a guess at how long start-up takes."""
    end = time.monotonic() + wait
    while time.monotonic() < end:
        try:
            with open(f"/proc/{pid}/status") as status:
                caught = next(int(line.split()[1], 16) for line in status if line.startswith("SigCgt:"))
        except (OSError, StopIteration):
            return False
        if caught & (1 << (signal.SIGTERM - 1)):
            return True
        time.sleep(0.002)
    return False


def gradcli(args: list[str], *, stdin=None, stdout=subprocess.PIPE, env=None, preexec=None, timeout=300,
            signal_at: float | None = None, sig=signal.SIGINT, before_handlers: bool = False,
            measure: bool = False) -> Finished:
    """Run `python -m gradcli args`; optionally send sig signal_at seconds after gradcli's handlers
    are installed (or, before_handlers, after the start). With measure, its own peak memory is read
    by a launcher (wait4), so that no other process can blur it."""
    command = [sys.executable, "-m", "gradcli", *args]
    report = None
    if measure:
        report = tempfile.NamedTemporaryFile(delete=False)
        report.close()
        command = [sys.executable, "-c", LAUNCHER, report.name, *command]
    proc = subprocess.Popen(command, stdin=subprocess.PIPE if isinstance(stdin, bytes)
                            else stdin, stdout=stdout, stderr=subprocess.PIPE, env=env or ENV, cwd=ROOT,
                            preexec_fn=preexec)
    import threading
    chunks = {"out": [], "err": []}

    def drain(stream, key):
        for block in iter(lambda: stream.read(1 << 16), b""):
            chunks[key].append(block)

    readers = [threading.Thread(target=drain, args=(proc.stderr, "err"), daemon=True)]
    if proc.stdout is not None:
        readers.append(threading.Thread(target=drain, args=(proc.stdout, "out"), daemon=True))
    for r in readers:
        r.start()
    if isinstance(stdin, bytes):
        def feed():
            try:
                proc.stdin.write(stdin)
                proc.stdin.close()
            except (BrokenPipeError, OSError):
                pass
        threading.Thread(target=feed, daemon=True).start()
    if signal_at is not None:
        if not before_handlers:
            handlers_installed(proc.pid)
        time.sleep(signal_at)
        os.kill(proc.pid, sig)          # not Popen.send_signal: its poll() would reap the child before wait4
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            raise TimeoutError(f"gradcli {' '.join(args)[:200]} ran past {timeout} s")
        time.sleep(0.01)
    proc.returncode = os.waitstatus_to_exitcode(status)
    for r in readers:
        r.join(timeout=60)
    out = b"".join(chunks["out"]).decode("utf-8", "replace")
    err = b"".join(chunks["err"]).decode("utf-8", "replace")
    peak = math.nan
    if report is not None:
        with open(report.name) as f:
            peak = int(f.read() or 0) / 1024
        os.unlink(report.name)
    return Finished(proc.returncode, out, err, peak)


# -- signals ----------------------------------------------------------------------------------------
def jobs_text(n: int, check: bool = False) -> str:
    """n distinct, deterministic jobs (so a prefix of the output identifies where the run was)."""
    if check:
        return "".join(f"sin(x)*{i % 13} + x^{i % 5} where x={(i % 7) / 3}\n" for i in range(n))
    return "".join(f"sin(x)*{i % 97} + x^2 + y where x={i % 7}, y={i}\n" for i in range(n))


@dataclass
class Mode:
    name: str
    args: list          # after "batch"
    stdin: bool
    lines: int
    check: bool
    window: tuple       # seconds after the start between which a signal is sent


MODES = {      # each file lasts a few seconds, so that a signal in its window finds the run going
    "file": Mode("file", ["-f", "json", "--no-check", "--jobs", "1"], False, 24_000, False, (0.2, 1.0)),
    "stdin": Mode("stdin", ["-", "-f", "json", "--no-check"], True, 24_000, False, (0.2, 1.0)),
    "jobs2": Mode("jobs2", ["-f", "json", "--no-check", "--jobs", "2"], False, 40_000, False, (0.2, 1.0)),
    "check": Mode("check", ["-f", "json", "--jobs", "2"], False, 6_000, True, (0.3, 1.2)),
    "startup": Mode("startup", ["-f", "json", "--no-check", "--jobs", "1"], False, 24_000, False, (0.0, 0.3)),
    "tsv": Mode("tsv", ["-f", "tsv", "--no-check"], False, 60_000, False, (0.2, 1.0)),
    "early": Mode("early", ["-f", "json", "--no-check", "--jobs", "1"], False, 24_000, False, (0.0, 0.05)),
}
EXTRA = ("tsv", "early")     # beyond the modes the promises name: fewer trials in the suite


class SignalBench:
    """One file per mode and its uninterrupted output, made once."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.files: dict[str, Path] = {}
        self.reference: dict[str, list[str]] = {}

    def prepare(self, mode: Mode) -> None:
        if mode.name in self.files:
            return
        path = self.folder / f"{mode.name}.txt"
        path.write_text(jobs_text(mode.lines, mode.check))
        self.files[mode.name] = path
        args, stdin = self.command(mode)
        whole = gradcli(args, stdin=stdin)
        assert whole.code == 0, whole.err[-2000:]
        self.reference[mode.name] = whole.out.splitlines()

    def command(self, mode: Mode):
        path = self.files[mode.name]
        if mode.stdin:
            return ["batch", *mode.args], path.read_bytes()
        return ["batch", str(path), *mode.args], None

    def trial(self, mode: Mode, rng: random.Random) -> str:
        """Send SIGINT or SIGTERM at a random moment; assert the promises; say what happened."""
        self.prepare(mode)
        early = mode.name == "early"                # SIGTERM within Python's own start, before gradcli's handlers
        sig = signal.SIGTERM if early else rng.choice([signal.SIGINT, signal.SIGTERM])
        at = rng.uniform(*mode.window)
        args, stdin = self.command(mode)
        r = gradcli(args, stdin=stdin, signal_at=at, sig=sig, before_handlers=early)
        reference = self.reference[mode.name]
        lines = r.out.splitlines()
        assert TRACEBACK not in r.err and "internal error" not in r.err, r.err[-2000:]
        if r.code == 0:                             # finished before the signal
            assert lines == reference
            return f"{mode.name}: finished before {sig.name} at {at:.2f} s"
        if r.code == -sig:                          # the default action, before gradcli ran: nothing written
            assert early and r.out == "" and r.err == "", (mode.name, r.err[-300:])
            return f"{mode.name}: {sig.name} at {at:.3f} s, before gradcli's handlers: ended by the signal"
        assert r.code == CODES[sig], (mode.name, sig.name, at, r.code, r.err[-500:])
        assert r.out == "" or r.out.endswith("\n"), "a half-written last line"
        assert lines == reference[:len(lines)], "not a prefix of the uninterrupted output"
        records = sum(1 for line in lines if _is_record(line, mode))
        assert f"stopped after {records} job" in r.err, (mode.name, records, r.err[-300:])
        return f"{mode.name}: {sig.name} at {at:.2f} s, {records} records, exit {r.code}"


def _is_record(line: str, mode: Mode) -> bool:
    if "tsv" in mode.args:
        return line.split("\t")[1] == "output"       # one "output" row a job (the header has "kind")
    json.loads(line)
    return True


# -- poisoned lines ----------------------------------------------------------------------------------
POISONS = {
    "huge-int": '{"expr": "x", "vars": {"x": ' + "7" * 5000 + '}}',
    "deep-json": '{"expr": "x", "vars": {"x": ' + "[" * 100_000 + "]" * 100_000 + '}}',
    "overflow-json": '{"expr": "x*2", "vars": {"x": 1e309}}',
    "nan-json": '{"expr": "x*2", "vars": {"x": NaN}, "grad_output": Infinity}',
    "huge-power": "x*2^20000",
    "huge-power-bound": "x*2^20000 where x=1",
    "deep-expr": "(" * 5000 + "x" + ")" * 5000 + " where x=1",
    "nul": "x\x00 + 1 where x=1",
    "bad-utf8": "x + \udcff where x=1",
    "free-grad-output": '{"expr": "v", "grad_output": [0, 0]}',
    "long-vector": "sum(v) where v=" + ",".join(["1"] * 200_000),
    "bom-mid-file": "\ufeffx where x=1",
    "lone-cr": "x\ry where x=1, y=2",
}


def poisoned_trial(folder: Path, poison: str, rng: random.Random, lines: int = 3000, jobs: int = 2) -> str:
    """One poisoned line at a random place among good ones: it yields one record (an error, or a
    result), and every other record is exactly what it is without it."""
    good = jobs_text(lines).splitlines()
    at = rng.randrange(lines)
    clean = folder / "clean.txt"
    dirty = folder / "dirty.txt"
    clean.write_text("\n".join(good[:at] + ["0"] + good[at + 1:]) + "\n")
    text = POISONS[poison] if poison in POISONS else poison
    dirty.write_bytes(("\n".join(good[:at] + [text] + good[at + 1:]) + "\n").encode("utf-8", "surrogateescape"))
    expected = gradcli(["batch", str(clean), "-f", "json", "--no-check", "--jobs", str(jobs)])
    got = gradcli(["batch", str(dirty), "-f", "json", "--no-check", "--jobs", str(jobs)])
    assert TRACEBACK not in got.err and "internal error" not in got.out + got.err, (poison, got.err[-1000:])
    assert got.code in (0, 1), (poison, got.code, got.err[-500:])
    want, have = expected.out.splitlines(), got.out.splitlines()
    assert len(have) == len(want) == lines, (poison, len(have), len(want))
    for i, (a, b) in enumerate(zip(want, have)):
        if i != at:
            assert a == b, (poison, i)
    record = json.loads(have[at])
    assert record["line"] == at + 1
    return f"{poison} at line {at + 1}: " + ("error " + record["error"]["type"] if "error" in record else "a result")


# -- output that cannot be written ---------------------------------------------------------------------
WRITERS = [
    ["eval", "a*b+c", "--a", "2", "--b", "3", "--c", "4"],
    ["eval", "a*b+c", "--a", "2", "--b", "3", "--c", "4", "-f", "json"],
    ["eval", "x*2", "--x", "1,2,3", "--grad-output", "1,1,1", "--tree", "-f", "tsv"],
    ["diff", "x^2*sin(x)"],
    ["hessian", "x^2*y", "--x", "1", "--y", "2"],
    ["jacobian", "softmax(x)", "--x", "1,2,3", "-f", "json"],
    ["minimize", "(x-3)^2", "--x", "0"],
    ["graph", "sin(x)*sin(x)", "--x", "1", "-f", "dot"],
    ["plot", "sin(x)", "--x", "-3:3"],
    ["--help"],
    ["eval", "--help"],
]


def unwritable_trial(args: list[str], how: str, folder: Path) -> str:
    """stdout /dev/full or closed: one line naming standard output, exit 1, no traceback."""
    if how == "full":
        with open("/dev/full", "w") as full:
            r = gradcli(args, stdout=full)
    else:
        r = gradcli(args, stdout=None, preexec=lambda: os.close(1))
    assert TRACEBACK not in r.err and "internal error" not in r.err, r.err
    assert r.code == 1, (args, how, r.code, r.err)
    assert r.err.strip().splitlines() == [r.err.strip().splitlines()[-1]] and "standard output" in r.err, r.err
    return f"{' '.join(args[:2])} to {how} stdout: {r.err.strip()}"


def batch_unwritable_trial(folder: Path, how: str, fmt: str) -> str:
    path = folder / "jobs.txt"
    path.write_text(jobs_text(5000))
    return unwritable_trial(["batch", str(path), "-f", fmt, "--no-check"], how, folder)


# -- memory, for every limit the README states ------------------------------------------------------------
@dataclass
class Limit:
    name: str
    bound_mb: int
    run: object         # folder -> Finished (and it asserts the clean answer itself)


def _batch_line(folder: Path, text: str, extra: list[str] | None = None) -> Finished:
    path = folder / "line.txt"
    with open(path, "w") as f:
        f.write(text)
        f.write("\nx where x=2\n")
    r = gradcli(["batch", str(path), "-f", "json", "--no-check", *(extra or [])], measure=True)
    lines = r.out.splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["value"] == 2.0, (r.code, r.err[-500:])
    return r


def limit_expression_length(folder):
    r = _batch_line(folder, "x+" * 1_000_001 + "x")
    assert "the limit is 2,000,000" in r.out.splitlines()[0]
    return r


def limit_nesting(folder):
    r = _batch_line(folder, "(" * 1001 + "x" + ")" * 1001 + " where x=1")
    assert "nests deeper than 1000 levels" in r.out.splitlines()[0]
    return r


def limit_elements(folder):
    r = _batch_line(folder, "sum(v) where v=" + ",".join(["1"] * 10_000_001))
    assert "the limit is 10,000,000" in r.out.splitlines()[0]
    return r


def limit_line_length(folder):
    r = _batch_line(folder, "x" * ((1 << 26) + 10))
    assert "longer than 67,108,864 characters" in r.out.splitlines()[0]
    return r


def limit_matrix_entries(folder):
    v = ",".join(["1"] * 10_000)
    r = gradcli(["jacobian", "x*2", "--x", v, "--no-check"], measure=True)
    assert r.code == 2 and "the limit is 1,000,000" in r.err, r.err
    return r


def limit_graph_text(folder):
    expr = "+".join(f"sin(x*{i})" for i in range(10_000))         # about 114 KB: an argument may be 128 KB
    r = gradcli(["graph", expr, "--x", "1", "-f", "json"], measure=True)
    assert r.code == 0 and len(r.out) < 20_000_000, len(r.out)
    return r


def limit_symbolic_power(folder):
    r = gradcli(["diff", "(a+b)^1000000"], measure=True)
    assert r.code == 0 and "1000000*(a + b)^999999" in r.out, r.err
    return r


def limit_check_time(folder):
    started = time.monotonic()
    r = gradcli(["eval", "*".join(f"(x+{i})" for i in range(1, 400)), "--x", "0.5", "--check-timeout", "2",
                 "-f", "json"], measure=True)
    assert r.code == 0 and time.monotonic() - started < 60, r.err
    return r


LIMITS = [      # bounds: about twice the peak measured on a 2-core Linux machine with numpy 2.4
    Limit("expression length (2,000,000 characters)", 150, limit_expression_length),
    Limit("nesting depth (1,000 levels)", 150, limit_nesting),
    Limit("elements in a value (10,000,000)", 250, limit_elements),
    Limit("batch line length (64 Mi characters)", 400, limit_line_length),
    Limit("Hessian and Jacobian entries (1,000,000)", 150, limit_matrix_entries),
    Limit("graph node texts (120 characters a node)", 300, limit_graph_text),
    Limit("diff of a large power of a sum", 200, limit_symbolic_power),
    Limit("check timeout (--check-timeout)", 250, limit_check_time),
]


def memory_trial(limit: Limit, folder: Path) -> str:
    r = limit.run(folder)
    assert TRACEBACK not in r.err and "internal error" not in r.out + r.err, r.err[-1000:]
    assert r.peak_mb <= limit.bound_mb, f"{limit.name}: {r.peak_mb:.0f} MB > {limit.bound_mb} MB"
    return f"{limit.name}: peak {r.peak_mb:.0f} MB (bound {limit.bound_mb} MB)"


# -- the long mode ---------------------------------------------------------------------------------------
def main() -> int:
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--only", help="comma-separated: signals,poison,unwritable,memory")
    opts = ap.parse_args()
    kinds = opts.only.split(",") if opts.only else ["signals", "poison", "unwritable", "memory"]
    end = time.monotonic() + opts.minutes * 60
    counts: dict[str, int] = {}
    failures = []
    rng = random.Random()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bench = SignalBench(folder)
        while time.monotonic() < end:
            kind = rng.choice(kinds)
            try:
                if kind == "signals":
                    name = rng.choice(list(MODES))
                    note = bench.trial(MODES[name], rng)
                elif kind == "poison":
                    name = rng.choice(list(POISONS) + ["random"])
                    poison = name if name != "random" else _random_poison(rng)
                    note = poisoned_trial(folder, poison, rng, jobs=rng.choice([1, 2]))
                elif kind == "unwritable":
                    name = "unwritable"
                    note = unwritable_trial(rng.choice(WRITERS), rng.choice(["full", "closed"]), folder)
                else:
                    limit = rng.choice(LIMITS)
                    name = limit.name
                    note = memory_trial(limit, folder)
            except AssertionError as exc:
                failures.append((kind, name, repr(exc)[:2000]))
                note = f"FAILED {exc!r}"[:2000]
            counts[kind] = counts.get(kind, 0) + 1
            print(f"{kind:10s} {note}", flush=True)
    print(f"{sum(counts.values())} trials ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}), "
          f"{len(failures)} failures")
    for failure in failures:
        print("FAILED", *failure)
    return 1 if failures else 0


def _random_poison(rng: random.Random) -> str:
    """A random hostile JSON line: deep, huge or non-finite."""
    depth = rng.choice([10, 1000, 50_000])
    number = rng.choice(["1e309", "-1e309", "NaN", "Infinity", "9" * rng.choice([400, 4301, 20_000]), "1e-400"])
    inner = "[" * depth + number + "]" * depth
    return rng.choice([
        f'{{"expr": "sum(x)", "vars": {{"x": {inner}}}}}',
        f'{{"expr": "x*y", "vars": {{"x": {number}, "y": 2}}}}',
        f'{{"expr": "v*2", "vars": {{"v": [1, 2]}}, "grad_output": [{number}, 1]}}',
        f'{{"expr": {json.dumps("x" * rng.choice([10, 3_000_000]))}, "vars": {{}}}}',
        f'{{"expr": "x", "vars": {{"x": {{"y": {inner}}}}}}}',
    ])


if __name__ == "__main__":
    sys.exit(main())
