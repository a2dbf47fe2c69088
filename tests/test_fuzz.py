"""Fuzzing in the suite: random bytes, token soups and mutated expressions through parse,
evaluate, the cross-check and the CLI (in-process, and a sample through real processes).
Every outcome is a result or a clean error; tests/fuzz/run.py runs the same for longer."""
import json
import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ENV
from fuzz.strategies import (cli_answers_cleanly, evaluates_or_fails_cleanly, hostile_text, mutations,
                             parses_or_fails_cleanly)
from gradcli.batch import Options, lines_of, run

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(text=hostile_text())
def test_fuzz_parse_gives_an_expression_or_a_clean_error(text):
    parses_or_fails_cleanly(text)


@FAST
@given(text=hostile_text())
def test_fuzz_evaluate_gives_a_result_or_a_clean_error(text):
    evaluates_or_fails_cleanly(text)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=mutations())
def test_fuzz_cross_check_never_crashes_or_disagrees(text):
    evaluates_or_fails_cleanly(text, check=True)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(text=hostile_text(), fmt=st.sampled_from(["table", "json", "tsv"]))
def test_fuzz_cli_exits_0_1_or_2_without_a_traceback(cli, text, fmt):
    cli_answers_cleanly(cli, text, fmt)


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")


def _expected_jobs(lines: list[str]) -> list[int]:
    """Line numbers that are jobs: not blank, not a # comment."""
    return [n for n, t in enumerate(lines, 1) if t.strip() and not t.strip().startswith("#")]


def _assert_records(lines: list[str], records: list[dict]) -> None:
    assert [r["line"] for r in records] == _expected_jobs(lines)
    for r in records:
        column = r.get("error", {}).get("column")
        if column is not None:
            assert 1 <= column <= len(lines[r["line"] - 1]) + 1, r


@FAST
@given(lines=st.lists(hostile_text().map(_one_line), min_size=1, max_size=12))
def test_fuzz_batch_gives_one_record_per_job(lines):
    from gradcli.render.numbers import dumps
    from gradcli.render.records import batch_record
    records = [json.loads(dumps(batch_record(rec)))
               for rec in run(lines_of(lines), Options(check=False))]
    _assert_records(lines, records)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(lines=st.lists(hostile_text().map(_one_line), min_size=1, max_size=40))
def test_fuzz_batch_through_a_real_process(tmp_path_factory, lines):
    path = tmp_path_factory.mktemp("fuzz") / "jobs.txt"
    path.write_bytes("".join(t + "\n" for t in lines).encode("utf-8", "surrogateescape"))
    proc = subprocess.run([sys.executable, "-m", "gradcli", "batch", str(path), "-f", "json", "--no-check"],
                          capture_output=True, env=ENV, timeout=120)
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode in (0, 1, 2) and "Traceback" not in err, err
    records = [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]
    read_back = path.read_bytes().decode("utf-8", "surrogateescape").split("\n")[:-1]
    _assert_records(read_back, records)
