"""The promises of "Guarantees and limits", attacked as an attacker would: randomized, repeated,
and measured (see tests/fuzz/adversarial.py, whose long mode runs the same trials for as long
as asked). Trials run two at a time, so the suite stays within its time."""
import random
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.adversarial import (EXTRA, LIMITS, MODES, POISONS, WRITERS, SignalBench, batch_unwritable_trial, gradcli,
                              memory_trial, poisoned_trial, unwritable_trial)
from fuzz.strategies import hostile_json, non_finite_option_values

TRIALS = 12             # a mode's signal trials in the suite (the long mode runs as many as time allows)


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    return SignalBench(tmp_path_factory.mktemp("signals"))


@pytest.mark.parametrize("mode", list(MODES))
def test_signals_at_random_moments_leave_a_prefix_of_whole_records_and_a_count(bench, mode):
    """SIGINT or SIGTERM at a random moment of the run (or of its start): exit 130 or 143, every
    line a whole record, the output an exact prefix of the uninterrupted one, the count on stderr."""
    bench.prepare(MODES[mode])
    rng = random.Random(f"signals-{mode}")
    trials = TRIALS // 2 if mode in EXTRA else TRIALS
    seeds = [rng.random() for _ in range(trials)]
    with ThreadPoolExecutor(2) as pool:
        notes = list(pool.map(lambda s: bench.trial(MODES[mode], random.Random(s)), seeds))
    stopped = [n for n in notes if "finished before" not in n]
    assert len(stopped) >= trials // 2, notes          # most trials did interrupt a running batch


@pytest.mark.parametrize("poison", list(POISONS))
def test_one_poisoned_line_among_thousands_changes_only_its_own_record(tmp_path, poison):
    note = poisoned_trial(tmp_path, poison, random.Random(poison), lines=1500, jobs=2 if len(poison) % 2 else 1)
    assert "at line" in note


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(line=hostile_json(), seed=st.integers(0, 10 ** 6))
def test_hypothesis_hostile_json_lines_yield_one_record_each(tmp_path_factory, line, seed):
    poisoned_trial(tmp_path_factory.mktemp("poison"), line, random.Random(seed), lines=400, jobs=1)


@pytest.mark.parametrize("how", ["full", "closed"])
@pytest.mark.parametrize("args", WRITERS, ids=[" ".join(a[:2]) for a in WRITERS])
def test_unwritable_stdout_is_one_message_and_exit_1(tmp_path, args, how):
    unwritable_trial(args, how, tmp_path)


@pytest.mark.parametrize("how", ["full", "closed"])
@pytest.mark.parametrize("fmt", ["json", "tsv", "table"])
def test_batch_to_an_unwritable_stdout(tmp_path, how, fmt):
    batch_unwritable_trial(tmp_path, how, fmt)


@pytest.mark.parametrize("limit", LIMITS, ids=[limit.name.split(" (")[0] for limit in LIMITS])
def test_every_stated_limit_holds_in_bounded_memory(tmp_path, limit):
    memory_trial(limit, tmp_path)


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(option_value=non_finite_option_values())
def test_non_finite_option_values_are_usage_errors(option_value):
    option, value, command = option_value
    r = gradcli([*command, option, value])
    assert r.code == 2 and r.err.startswith("error:") and "internal error" not in r.err, (option, value, r.err)
