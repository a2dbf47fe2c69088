"""Long fuzzing runs: the suite's fuzz properties with as many examples as time allows.

    python tests/fuzz/run.py --minutes 30            # every target, in turn, until time is up
    python tests/fuzz/run.py --minutes 5 --only cli  # one target

Targets: parse, evaluate, check (with the cross-check), cli (in-process
runs of `gradcli eval`), batch (in-process batch runs of many lines), backends
(SymEngine and SymPy give the same verdict on a random expression at a point). Each
round runs every target with a fresh random seed; a failure prints the
shrunk input, the seed and the error, and the run goes on. The summary line
counts examples and failures; the exit code is 1 if anything failed.
"""
from __future__ import annotations

import argparse
import io
import random
import sys
import time
import traceback
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from fuzz.strategies import (backends_agree, cli_answers_cleanly, evaluates_or_fails_cleanly,  # noqa: E402
                             expressions_at_points, hostile_text, mutations, parses_or_fails_cleanly)


class Run:
    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err

    def __repr__(self):
        return f"Run(code={self.code}, out={self.out[:300]!r}, err={self.err[:300]!r})"


def in_process(*args: str) -> Run:
    from gradcli.cli.main import main
    out, err = io.StringIO(), io.StringIO()
    stdin, sys.stdin = sys.stdin, io.StringIO("")
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                main(list(args))
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 2
            except BaseException:                       # what the CLI let through: a finding
                err.write(traceback.format_exc())
                code = -1
    finally:
        sys.stdin = stdin
    return Run(code, out.getvalue(), err.getvalue())


def batch_lines(lines: list[str]) -> None:
    import json

    from gradcli.batch import Options, lines_of, run
    from gradcli.render.numbers import dumps
    from gradcli.render.records import batch_record
    lines = [t.replace("\r", " ").replace("\n", " ") for t in lines]
    records = [json.loads(dumps(batch_record(r))) for r in run(lines_of(lines), Options(check=False))]
    jobs = [n for n, t in enumerate(lines, 1) if t.strip() and not t.strip().startswith("#")]
    assert [r["line"] for r in records] == jobs, (lines, records)
    for r in records:
        column = r.get("error", {}).get("column")
        assert column is None or 1 <= column <= len(lines[r["line"] - 1]) + 1, r


TARGETS = {
    "parse": (hostile_text(), parses_or_fails_cleanly),
    "evaluate": (hostile_text(), evaluates_or_fails_cleanly),
    "check": (mutations(), lambda text: evaluates_or_fails_cleanly(text, check=True)),
    "cli": (st.tuples(hostile_text(), st.sampled_from(["table", "json", "tsv"])),
            lambda args: cli_answers_cleanly(in_process, *args)),
    "batch": (st.lists(hostile_text(), min_size=1, max_size=20), batch_lines),
    "backends": (expressions_at_points(), backends_agree),
}


def fuzz(name: str, examples: int, seed: int) -> tuple[int, str | None]:
    strategy, prop = TARGETS[name]
    count = [0]

    @settings(max_examples=examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def target(value):
        count[0] += 1
        prop(value)

    target._hypothesis_internal_use_seed = seed
    try:
        target()
    except Exception:
        return count[0], traceback.format_exc()
    return count[0], None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--only", help="comma-separated targets: " + ",".join(TARGETS))
    ap.add_argument("--examples", type=int, default=2000, help="examples per target per round")
    opts = ap.parse_args()
    names = opts.only.split(",") if opts.only else list(TARGETS)
    from gradcli.graph import silence_numpy
    silence_numpy()
    end = time.monotonic() + opts.minutes * 60
    totals = dict.fromkeys(names, 0)
    failures = []
    rounds = 0
    while time.monotonic() < end:
        rounds += 1
        for name in names:
            if time.monotonic() >= end:
                break
            seed = random.randrange(2 ** 32)
            examples = opts.examples // 10 if name in ("check", "backends") else opts.examples
            started = time.monotonic()
            n, failure = fuzz(name, examples, seed)
            totals[name] += n
            print(f"round {rounds} {name:9s} seed {seed:10d}: {n:6d} examples in "
                  f"{time.monotonic() - started:6.1f} s" + ("  FAILED" if failure else ""), flush=True)
            if failure:
                failures.append((name, seed, failure))
                print(failure, flush=True)
    print(f"{rounds} rounds, {sum(totals.values())} examples "
          f"({', '.join(f'{k} {v}' for k, v in totals.items())}), {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
