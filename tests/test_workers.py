"""cli/workers.py: work on several cores, written in input order, nothing lost when a worker dies."""
import os

import pytest

from gradcli.cli import workers


def numbered(n):
    return lambda: iter([(i, f"job {i}") for i in range(1, n + 1)])


def render(chunk):
    """Record texts of a chunk (one per line, with the process that made it) and how many failed."""
    return [f"{n}:{text.upper()}:{os.getpid()}" for n, text in chunk], sum(n % 7 == 0 for n, _ in chunk)


def records(frames):
    texts, failed = [], 0
    for t, f in frames:
        texts += t
        failed += f
    return [t.rsplit(":", 1)[0] for t in texts], failed, {int(t.rsplit(":", 1)[1]) for t in texts}


def test_chunks_cut_lines_into_runs_of_size():
    assert [len(c) for c in workers.chunks(iter(range(70)), 32)] == [32, 32, 6]
    assert list(workers.chunks(iter([]), 32)) == []


@pytest.mark.parametrize("count", [1, 2, 3])
def test_records_come_in_input_order_whatever_the_workers(count):
    texts, failed, pids = records(workers.ordered(numbered(200), render, count, size=8))
    assert texts == [f"{i}:JOB {i}" for i in range(1, 201)]
    assert failed == 200 // 7
    assert len(pids) == count               # every worker did its share, this process one of them


def test_a_worker_that_dies_is_replaced_and_nothing_is_lost():
    parent = os.getpid()

    def dying(chunk):
        if os.getpid() != parent and chunk[0][0] > 40:
            os._exit(3)                     # a child dies halfway
        return render(chunk)

    texts, failed, pids = records(workers.ordered(numbered(120), dying, 2, size=8))
    assert texts == [f"{i}:JOB {i}" for i in range(1, 121)] and failed == 120 // 7
    assert parent in pids


def test_only_a_big_enough_regular_file_is_worth_forking_for(tmp_path):
    small, big = tmp_path / "small.txt", tmp_path / "big.txt"
    small.write_text("x\n")
    big.write_text("x\n" * workers.MIN_BYTES)
    assert workers.worthwhile(str(big), 2)
    assert not workers.worthwhile(str(small), 2) and workers.worthwhile(str(small), 2, min_bytes=0)
    assert not workers.worthwhile(str(big), 1) and not workers.worthwhile("-", 2)
    assert not workers.worthwhile(str(tmp_path), 2) and not workers.worthwhile(str(tmp_path / "none"), 2)


def test_csv_blocks_are_the_shortest_text_that_reads_back():
    cols = [[0.1, 1 / 3, 1e300, -0.0], [1.0, 2.0, 3.0, 4.0]]
    blocks = list(workers.csv_blocks(cols, ",", 0, 4))
    assert blocks == [(4, "0.1,1.0\n0.3333333333333333,2.0\n1e+300,3.0\n-0.0,4.0")]
    assert [float(row.split(",")[0]) for row in blocks[0][1].split("\n")] == cols[0]


class Out:
    """A record stream: each write is a line."""

    def __init__(self):
        self.lines = []

    def write(self, text):
        self.lines.extend(text.split("\n"))


class Progress:
    def __init__(self):
        self.done = 0

    def advance(self, n=1):
        self.done += n


def run_rows(cols, sep=","):
    out, progress = Out(), Progress()
    workers.write_rows(out, cols, sep, progress)
    return out.lines, progress.done


@pytest.fixture
def small_split(monkeypatch):
    """Split from 10 rows on, in blocks of 3, on a machine with two cores."""
    monkeypatch.setattr(workers, "SPLIT_ROWS", 10)
    monkeypatch.setattr(workers, "ROWS_A_BLOCK", 3)
    monkeypatch.setattr(workers.os, "cpu_count", lambda: 2)


def expected(cols, sep=","):
    return [sep.join(map(repr, row)) for row in zip(*cols)]


def test_rows_split_between_two_processes_come_out_whole_and_in_order(small_split):
    cols = [[i / 7 for i in range(25)], [float(-i) for i in range(25)]]
    lines, done = run_rows(cols, "\t")
    assert lines == expected(cols, "\t") and done == 25
    assert run_rows([[1.5, 2.5]]) == (["1.5", "2.5"], 2)           # below SPLIT_ROWS: one process


class Unreadable(float):
    """A number whose text a forked child cannot make (it dies doing so)."""
    parent = os.getpid()

    def __repr__(self):
        if os.getpid() != Unreadable.parent:
            raise RuntimeError("the child fails")
        return float.__repr__(self)


def test_rows_a_failed_child_was_to_format_are_formatted_here(small_split):
    Unreadable.parent = os.getpid()
    cols = [[Unreadable(i + 0.5) for i in range(12)]]
    lines, done = run_rows(cols)
    assert lines == [repr(i + 0.5) for i in range(12)] and done == 12
