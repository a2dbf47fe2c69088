"""Work on more than one core, written in input order: batch jobs, and the rows of a points file.

The lines of a file are cut into chunks of CHUNK lines. With n workers, chunk k
belongs to worker k mod n: worker 0 is this process, the others are forked
children that read the same file themselves and send their chunks' finished
records back through a pipe. This process writes chunk 0, then 1, then 2, ...,
computing its own and reading the children's, so the output is exactly the
sequential run's. A child runs at most a pipe's buffer ahead (bounded memory);
a child that dies is replaced by doing its chunks here; nothing is lost.
"""
from __future__ import annotations

import os
import signal
import sys
from itertools import islice
from typing import Callable, Iterator

CHUNK = 32              # lines a chunk: small enough for streaming, big enough to amortise a pipe write
CHECKED_CHUNK = 8       # with the check a job takes a millisecond or more: small chunks keep the workers even
MIN_BYTES = 16_384      # unchecked, a smaller file is done in one process (forking costs more than it saves)

Render = Callable[[list], tuple[list[str], int]]     # chunk of (line number, text) -> record texts, failed


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def worthwhile(path: str, workers: int, min_bytes: int = MIN_BYTES) -> bool:
    """Parallel only for a regular file big enough, on a system that can fork."""
    if workers < 2 or not hasattr(os, "fork") or path == "-":
        return False
    try:
        return os.path.isfile(path) and os.path.getsize(path) >= min_bytes
    except OSError:
        return False


def chunks(lines: Iterator, size: int = CHUNK) -> Iterator[list]:
    while chunk := list(islice(lines, size)):
        yield chunk


def ordered(open_lines: Callable[[], Iterator], render: Render, workers: int,
            size: int = CHUNK) -> Iterator[tuple[list[str], int]]:
    """(record texts, failed count) per chunk, in input order, computed by `workers` processes.

    open_lines() gives a fresh iterator over the file's (number, text) pairs; each
    process calls it once.
    """
    children: dict[int, tuple[int, object]] = {}        # worker index -> (pid, reader)
    try:
        for index in range(1, workers):
            others = [reader for _, reader in children.values()]
            children[index] = _fork(index, workers, open_lines, render, size, others)
        for k, chunk in enumerate(chunks(open_lines(), size)):
            child = children.get(k % workers)
            if child is not None:
                frame = _receive(child[1])
                if frame is not None:
                    yield frame
                    continue
                _stop(*children.pop(k % workers))       # it died: its chunks are done here from now on
            yield render(chunk)
    finally:
        for pid, reader in children.values():
            _stop(pid, reader)


def _fork(index: int, workers: int, open_lines, render: Render, size: int, others: list) -> tuple[int, object]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:                                # the child: its chunks into the pipe, then leave
        code = 1
        try:
            os.close(read_fd)
            for reader in others:               # the other workers' pipes are the parent's alone
                reader.close()
            signal.signal(signal.SIGINT, signal.SIG_IGN)        # the parent decides when the run stops
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            with os.fdopen(write_fd, "wb") as pipe:
                for k, chunk in enumerate(chunks(open_lines(), size)):
                    if k % workers == index:
                        texts, failed = render(chunk)
                        parts = [t.encode("utf-8", "surrogateescape") for t in texts]
                        sizes = b"".join(b" %d" % len(p) for p in parts)
                        pipe.write(b"%d%s\n" % (failed, sizes) + b"".join(parts))
                        pipe.flush()
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    return pid, os.fdopen(read_fd, "rb")


def _receive(reader) -> tuple[list[str], int] | None:
    """One chunk's records from a child, or None if the child is gone."""
    header = reader.readline()              # "failed size size ...": one size a record
    try:
        failed, *sizes = map(int, header.split())
    except ValueError:
        return None
    texts = []
    for size in sizes:
        body = reader.read(size)
        if len(body) != size:
            return None
        texts.append(body.decode("utf-8", "surrogateescape"))
    return texts, failed


def _stop(pid: int, reader) -> None:
    reader.close()
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


# -- the rows of a points file: a forked child formats the second half ----------------------------
ROWS_A_BLOCK = 50_000
SPLIT_ROWS = 200_000        # from this many rows on, a second process formats half of them


def csv_blocks(cols: list, sep: str, start: int, stop: int):
    """Blocks of CSV rows (without the last newline); repr is the shortest text that reads
    back to the same float, and map/zip/join run in C."""
    for lo in range(start, stop, ROWS_A_BLOCK):
        hi = min(lo + ROWS_A_BLOCK, stop)
        yield hi - lo, "\n".join(map(sep.join, zip(*(map(repr, c[lo:hi]) for c in cols))))


def write_rows(out, cols: list, sep: str, progress) -> None:
    """All rows, in order. Formatting floats is the cost here, so with many rows and a second
    core a forked child formats the second half into a spill file while this process writes
    the first; then the spill is copied out, whole lines at a time."""
    n = len(cols[0])
    if n < SPLIT_ROWS or (os.cpu_count() or 1) < 2 or not hasattr(os, "fork"):
        for count, text in csv_blocks(cols, sep, 0, n):
            out.write(text)
            progress.advance(count)
        return
    import tempfile
    mid = n // 2
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spill:
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:                                    # the child: format the second half, then leave
            code = 1
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                for _, text in csv_blocks(cols, sep, mid, n):
                    spill.write(text + "\n")
                spill.flush()
                code = 0
            finally:
                os._exit(code)
        try:
            for count, text in csv_blocks(cols, sep, 0, mid):
                out.write(text)
                progress.advance(count)
            _, status = os.waitpid(pid, 0)
            pid = 0
            if status != 0:                             # the child failed: format the rest here
                for count, text in csv_blocks(cols, sep, mid, n):
                    out.write(text)
                    progress.advance(count)
                return
            spill.seek(0)
            for lines in iter(lambda: spill.readlines(1 << 22), []):
                out.write("".join(lines)[:-1])
                progress.advance(len(lines))
        finally:
            if pid:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
