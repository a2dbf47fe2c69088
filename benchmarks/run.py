#!/usr/bin/env python3
"""Run every benchmark and write benchmarks/RESULTS.md.

    python benchmarks/run.py            # everything (about ten minutes)
    python benchmarks/run.py --quick    # fewer repeats and sizes, for a look

Machines here are shared and noisy: absolute times drift, so each comparison
is a ratio measured pair by pair in the same run (A then B, repeated), and
every figure is the median of the repeats with its min and max. Peers that
are not installed (pip install -e ".[bench]": torch, autograd) are skipped
with a note.
"""
from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from workloads import REFERENCE, batch_lines, random_expressions  # noqa: E402

PY = sys.executable
GRADCLI = [PY, "-m", "gradcli"]
ENV = {**os.environ, "NO_COLOR": "1"}
ROWS: list[dict] = []
NOTES: list[str] = []


def have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def wall(cmd: list[str], stdin: str | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
                   env=ENV, check=False)
    return time.perf_counter() - start


def stats(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def paired(a_cmd, b_cmd, repeats: int, stdin=None) -> tuple[list, list, list]:
    """Run A then B, `repeats` times; returns A's times, B's times and the ratios B/A pair by pair."""
    wall(a_cmd, stdin), wall(b_cmd, stdin)          # warm the file cache
    a_times, b_times = [], []
    for _ in range(repeats):
        a_times.append(wall(a_cmd, stdin))
        b_times.append(wall(b_cmd, stdin))
    return a_times, b_times, [b / a for a, b in zip(a_times, b_times)]


def row(group: str, what: str, times_b, ratios, target: str | None, command: str, baseline: str,
        ok: bool | None = None) -> None:
    med, lo, hi = stats(times_b)
    rmed, rlo, rhi = stats(ratios)
    ROWS.append({"group": group, "what": what, "time": f"{med:.3f} s ({lo:.3f}–{hi:.3f})",
                 "ratio": f"{rmed:.2f} ({rlo:.2f}–{rhi:.2f})", "baseline": baseline, "target": target or "",
                 "ok": "" if ok is None else ("yes" if ok else "**no**"), "command": command})
    print(f"{group:10} {what:48} {med:8.3f} s  ratio {rmed:6.2f}  {target or ''}", flush=True)


def check(ratio_median: float, op: str, bound: float) -> bool:
    return ratio_median <= bound if op == "<=" else ratio_median >= bound


# -- 1. start-up ---------------------------------------------------------------------------
def startup(repeats: int) -> None:
    subprocess.run([PY, "-m", "compileall", "-q", str(ROOT / "gradcli")], check=True)   # as pip install does
    numpy_cmd = [PY, "-c", "import numpy"]
    eval_json = GRADCLI + ["eval", "a*b+c", "--a", "2", "--b", "3", "--c", "4", "--no-check", "--format", "json"]
    eval_table = GRADCLI + ["eval", "a*b+c", "--a", "2", "--b", "3", "--c", "4", "--no-check"]
    eval_check = GRADCLI + ["eval", "a*b+c", "--a", "2", "--b", "3", "--c", "4", "--format", "json"]
    eval_check_table = GRADCLI + ["eval", "a*b+c", "--a", "2", "--b", "3", "--c", "4"]
    eval_sympy = eval_check + ["--check-with", "sympy"]
    for what, cmd, base_cmd, base, bound in [
        ("eval --no-check -f json", eval_json, numpy_cmd, "python -c 'import numpy'", 1.3),
        ("eval --no-check (table)", eval_table, numpy_cmd, "python -c 'import numpy'", 1.5),
        ("eval with the check (default), -f json", eval_check, numpy_cmd, "python -c 'import numpy'", 1.6),
        ("eval with the check (default), -f json", eval_check, eval_json, "the same with --no-check", 1.25),
        ("eval with the check (default), table", eval_check_table, numpy_cmd, "python -c 'import numpy'", 1.9),
        ("eval --check-with sympy, -f json", eval_sympy, [PY, "-c", "import numpy, sympy"],
         "python -c 'import numpy, sympy'", 1.2),
    ]:
        _, b, r = paired(base_cmd, cmd, repeats)
        row("start-up", what, b, r, f"<= {bound}", shlex.join(cmd[2:]), base, check(statistics.median(r), "<=", bound))
    one_shot = {
        "autograd": "import autograd.numpy as np\nfrom autograd import grad\nf = lambda a, b, c: a*b + c\n"
                    "print([grad(f, i)(2.0, 3.0, 4.0) for i in range(3)])",
        "torch": "import torch\na, b, c = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (2., 3., 4.))\n"
                 "y = a*b + c\ny.backward()\nprint(y.item(), a.grad.item(), b.grad.item(), c.grad.item())",
        "sympy": "import sympy\na, b, c = sympy.symbols('a b c')\ny = a*b + c\n"
                 "print([float(sympy.diff(y, s).subs({a: 2, b: 3, c: 4})) for s in (a, b, c)])",
    }
    for peer, script in one_shot.items():
        if not have(peer):
            NOTES.append(f"start-up: {peer} is not installed; its one-shot script was skipped.")
            continue
        a, _, r = paired([PY, "-c", script], eval_json, repeats)
        target = "<= 1.0" if peer == "autograd" else None
        row("start-up", f"eval -f json vs a one-shot {peer} script", a, r, target, shlex.join(eval_json[2:]),
            f"{peer} one-shot script", check(statistics.median(r), "<=", 1.0) if target else None)


# -- 2. batch ------------------------------------------------------------------------------------
TORCH_BATCH = r'''
import re, sys, torch
torch.set_num_threads(1)
FN = {"sin": torch.sin, "cos": torch.cos, "tanh": torch.tanh, "exp": torch.exp, "log": torch.log}
TOKEN = re.compile(r"\s*(?:(\d+\.?\d*)|([A-Za-z_]\w*)|(.))")
def parse(text, env):
    toks = [m.groups() for m in TOKEN.finditer(text) if any(m.groups())]
    pos = [0]
    peek = lambda: toks[pos[0]] if pos[0] < len(toks) else (None, None, None)
    def take():
        pos[0] += 1; return toks[pos[0] - 1]
    def atom():
        num, name, op = take()
        if num: return torch.tensor(float(num), dtype=torch.float64)
        if op == "(":
            e = expr(); take(); return e
        if op == "-": return -atom()
        if name in FN:
            take(); a = expr(); take(); return FN[name](a)
        return env[name]
    def power():
        a = atom()
        if peek()[2] == "^":
            take(); return a ** atom()
        return a
    def term():
        a = power()
        while peek()[2] in ("*", "/"):
            op = take()[2]; b = power(); a = a * b if op == "*" else a / b
        return a
    def expr():
        a = term()
        while peek()[2] in ("+", "-"):
            op = take()[2]; b = term(); a = a + b if op == "+" else a - b
        return a
    return expr()
for line in open(sys.argv[1]):
    text, _, where = line.partition(" where ")
    env = {k: torch.tensor(float(v), dtype=torch.float64, requires_grad=True)
           for k, v in (kv.split("=") for kv in where.strip().split(", "))}
    parse(text, env).backward()
'''

SYMPY_LOOP = r'''
import sys
from sympy import diff
from sympy.parsing.sympy_parser import parse_expr
for line in open(sys.argv[1]):
    text, _, where = line.partition(" where ")
    point = {k: float(v) for k, v in (kv.split("=") for kv in where.strip().split(", "))}
    e = parse_expr(text.replace("^", "**"))
    value = float(e.subs(point))
    grads = [float(diff(e, s).subs(point)) for s in sorted(e.free_symbols, key=str)]
'''


def batch(repeats: int, tmp: Path, check_subset: int) -> None:
    exprs = random_expressions(2000)
    jobs = tmp / "jobs.txt"
    jobs.write_text(batch_lines(exprs))
    ref = tmp / "reference.py"
    ref.write_text(REFERENCE)
    cmd = GRADCLI + ["batch", str(jobs), "--no-check", "--format", "json"]
    a, b, r = paired([PY, str(ref), str(jobs)], cmd, repeats)
    row("batch", "2,000 jobs, --no-check -f json, throughput vs reference engine",
        b, [1 / x for x in r], ">= 0.8", "batch jobs.txt --no-check --format json",
        "reference engine (benchmarks/workloads.py), whole process", check(statistics.median([1 / x for x in r]), ">=", 0.8))
    NOTES.append(f"batch: gradcli {2000 / statistics.median(b):.0f} jobs/s, the reference engine "
                 f"{2000 / statistics.median(a):.0f} jobs/s (whole process, start-up included).")
    if have("torch"):
        script = tmp / "torch_batch.py"
        script.write_text(TORCH_BATCH)
        a, b, r = paired([PY, str(script), str(jobs)], cmd, max(3, repeats // 2))
        row("batch", "2,000 jobs, --no-check, throughput vs PyTorch scalar tensors", b, [1 / x for x in r], ">= 5",
            "batch jobs.txt --no-check --format json", "PyTorch scalars (1 thread), whole process",
            check(statistics.median([1 / x for x in r]), ">=", 5))
    else:
        NOTES.append("batch: torch is not installed; the PyTorch comparison was skipped.")
    checked = GRADCLI + ["batch", str(jobs), "--check", "--format", "json"]
    a, b, r = paired(cmd, checked, repeats)
    row("batch", "2,000 jobs with --check -f json, throughput vs its own --no-check", b, [1 / x for x in r], ">= 0.3",
        "batch jobs.txt --check --format json", "gradcli batch jobs.txt --no-check -f json",
        check(statistics.median([1 / x for x in r]), ">=", 0.3))
    NOTES.append(f"batch: with the check gradcli does {2000 / statistics.median(b):.0f} jobs/s "
                 f"(--no-check: {2000 / statistics.median(a):.0f} jobs/s), whole process.")
    subset = tmp / "subset.txt"
    subset.write_text(batch_lines(exprs[:check_subset]))
    loop = tmp / "sympy_loop.py"
    loop.write_text(SYMPY_LOOP)
    # A plain SymPy loop does a few jobs a second: it runs the first check_subset jobs, and the
    # ratio is jobs per second, gradcli's over all 2,000 against the loop's.
    a, b, r = paired([PY, str(loop), str(subset)], checked, max(2, repeats // 4))
    per_job = [(2000 / tb) / (check_subset / ta) for ta, tb in zip(a, b)]
    row("batch", f"2,000 jobs with --check, jobs/s vs a plain SymPy loop (its first {check_subset})", b, per_job,
        ">= 100", "batch jobs.txt --check --format json", "parse_expr + diff + subs per job, whole process",
        check(statistics.median(per_job), ">=", 100))
    NOTES.append(f"batch: the plain SymPy loop does {check_subset / statistics.median(a):.1f} jobs/s.")
    cmd = GRADCLI + ["batch", str(subset), "--check", "--format", "json"]
    a, b, r = paired([PY, str(loop), str(subset)], cmd, max(2, repeats // 4))
    row("batch", f"first {check_subset} jobs with --check vs a plain SymPy loop", b, [1 / x for x in r], ">= 10",
        "batch subset.txt --check --format json", "parse_expr + diff + subs per job, whole process",
        check(statistics.median([1 / x for x in r]), ">=", 10))


# -- 3. large arrays -----------------------------------------------------------------------------------
def large(sizes: list[int], repeats: int) -> None:
    import gradcli
    rng = np.random.default_rng(0)
    f1 = gradcli.parse("sum(sin(x)*exp(-x^2) + x^3/(1+x^2))")
    f2 = gradcli.parse("sum(tanh(x*y) + log(1+exp(x)))")

    def np_f1(x):
        return np.sum(np.sin(x) * np.exp(-x ** 2) + x ** 3 / (1 + x ** 2))

    def np_f1_grad(x):
        e = np.exp(-x ** 2)
        s, c = np.sin(x), np.cos(x)
        q = 1 + x ** 2
        value = np.sum(s * e + x ** 3 / q)
        return value, c * e - 2 * x * s * e + (3 * x ** 2 * q - 2 * x ** 4) / q ** 2

    def np_f2(x, y):
        return np.sum(np.tanh(x * y) + np.log(1 + np.exp(x)))

    def np_f2_grad(x, y):
        t = np.tanh(x * y)
        e = np.exp(x)
        value = np.sum(t + np.log(1 + e))
        d = 1 - t * t
        return value, d * y + e / (1 + e), d * x

    def timed(fn) -> float:
        best = []
        for _ in range(repeats):
            gc.collect()
            start = time.perf_counter()
            fn()
            best.append(time.perf_counter() - start)
        return statistics.median(best)

    def peak(fn) -> int:
        gc.collect()
        tracemalloc.start()
        fn()
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    for n in sizes:
        x = rng.uniform(-2, 2, n)
        y = rng.uniform(-2, 2, n)
        cases = [("f1", lambda: np_f1(x), lambda: np_f1_grad(x), lambda: gradcli.evaluate(f1, {"x": x}),
                  "sum(sin(x)*exp(-x^2) + x^3/(1+x^2))"),
                 ("f2", lambda: np_f2(x, y), lambda: np_f2_grad(x, y), lambda: gradcli.evaluate(f2, {"x": x, "y": y}),
                  "sum(tanh(x*y) + log(1+exp(x)))")]
        for name, forward, hand, ours, text in cases:
            ratios_hand, ratios_ours = [], []
            for _ in range(repeats):
                base = timed(forward)
                ratios_hand.append(timed(hand) / base)
                ratios_ours.append(timed(ours) / base)
            rel = [o / h for o, h in zip(ratios_ours, ratios_hand)]
            row("arrays", f"{name}, N={n:.0e}: gradcli / numpy forward", [timed(ours)], ratios_ours, None,
                f"gradcli.evaluate('{text}', ...)", "numpy forward")
            row("arrays", f"{name}, N={n:.0e}: hand-written / numpy forward", [timed(hand)], ratios_hand, None,
                "hand-written numpy value+gradient", "numpy forward")
            row("arrays", f"{name}, N={n:.0e}: gradcli ratio / hand-written ratio", [timed(ours)], rel, "<= 1.15",
                f"gradcli.evaluate('{text}', ...)", "hand-written numpy value+gradient",
                check(statistics.median(rel), "<=", 1.15))
            if n <= 1_000_000:
                mem = peak(ours) / peak(hand)
                ROWS.append({"group": "memory", "what": f"{name}, N={n:.0e}: peak extra memory, gradcli / hand-written",
                             "time": "", "ratio": f"{mem:.2f}", "baseline": "hand-written (tracemalloc peak)",
                             "target": "<= 1.2", "ok": "yes" if mem <= 1.2 else "**no**",
                             "command": f"gradcli.evaluate('{text}', ...)"})
                print(f"memory     {name} N={n:.0e} {mem:.2f}", flush=True)
        for peer in ("torch", "autograd"):
            if not have(peer):
                NOTES.append(f"arrays: {peer} is not installed; skipped.")
        if have("torch"):
            import torch
            torch.set_num_threads(1)
            tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
            ty = torch.tensor(y, dtype=torch.float64, requires_grad=True)

            def torch_f2():
                tx.grad = ty.grad = None
                (torch.tanh(tx * ty) + torch.log(1 + torch.exp(tx))).sum().backward()
            ratios = [timed(torch_f2) / timed(lambda: np_f2(x, y)) for _ in range(repeats)]
            row("arrays", f"f2, N={n:.0e}: PyTorch (1 thread) / numpy forward", [timed(torch_f2)], ratios, None,
                "torch value+backward", "numpy forward")
        if have("autograd"):
            import autograd
            import autograd.numpy as anp
            ag = autograd.value_and_grad(lambda a, b: anp.sum(anp.tanh(a * b) + anp.log(1 + anp.exp(a))), (0, 1))
            ratios = [timed(lambda: ag(x, y)) / timed(lambda: np_f2(x, y)) for _ in range(repeats)]
            row("arrays", f"f2, N={n:.0e}: HIPS autograd / numpy forward", [timed(lambda: ag(x, y))], ratios, None,
                "autograd.value_and_grad", "numpy forward")


# -- 4. points file --------------------------------------------------------------------------------------
def points(rows_n: int, repeats: int, tmp: Path) -> None:
    rng = np.random.default_rng(1)
    data = rng.uniform(0.5, 2.0, size=(rows_n, 5))
    path = tmp / "points.csv"
    np.savetxt(path, data, delimiter=",", header="a,b,c,d,f", comments="", fmt="%.17g")
    load = [PY, "-c", f"import numpy as np; np.loadtxt({str(path)!r}, delimiter=',', skiprows=1)"]
    cmd = GRADCLI + ["eval", "a*sin(b) + c*exp(-d) + f^2", "--points", str(path), "--no-check"]
    check_run = subprocess.run(cmd, capture_output=True, text=True, env=ENV)
    if check_run.returncode != 0 or check_run.stdout.count("\n") != rows_n + 1:
        raise SystemExit(f"the points command failed: {check_run.stderr[:300]}")
    _, b, r = paired(load, cmd, repeats)
    row("points", f"{rows_n:,} rows x 5 variables, whole command vs np.loadtxt", b, r, "<= 3",
        "eval 'a*sin(b) + c*exp(-d) + f^2' --points points.csv --no-check > out.csv", "np.loadtxt of the same file",
        check(statistics.median(r), "<=", 3))


# -- 5. growth ---------------------------------------------------------------------------------------------
def growth(sizes: list[int], repeats: int) -> None:
    import gradcli
    previous = None
    for n in sizes:
        text = " + ".join(f"x{i}*x{i + 1}" for i in range(1, n + 1))
        values = {f"x{i}": 1.0 + i / n for i in range(1, n + 2)}
        times = []
        for _ in range(repeats):
            gc.collect()
            start = time.perf_counter()
            gradcli.evaluate(text, values)
            times.append(time.perf_counter() - start)
        med = statistics.median(times)
        ratio = [t / previous for t in times] if previous else [1.0]
        row("growth", f"n={n:,} terms, text to gradients" + (" (vs n/10)" if previous else ""), times, ratio,
            "<= 12" if previous else None, "gradcli.evaluate('x1*x2 + x2*x3 + ...', values)",
            "the same for n/10" if previous else "", check(statistics.median(ratio), "<=", 12) if previous else None)
        previous = med


# -- 6. explain ---------------------------------------------------------------------------------------------
def explain(repeats: int) -> None:
    """gradcli explain of a 200-node expression (68 variables, each with its finite differences),
    the whole command: the ledger fitted to 80 columns, and its JSON; under a second each."""
    n = 67          # x1*x2 + ... + x67*x68: 68 variables, 67 products, 66 sums = 201 nodes
    text = " + ".join(f"x{i}*x{i + 1}" for i in range(1, n + 1))
    binds = [f"x{i}={1.0 + i / n!r}" for i in range(1, n + 2)]
    plain = GRADCLI + ["eval", text, *binds, "--no-check", "-f", "json"]
    shown = "explain 'x1*x2 + ... + x67*x68' x1=... (201 nodes)"
    for what, cmd, env in [("the ledger, fitted to 80 columns", GRADCLI + ["explain", text, *binds], {"COLUMNS": "80"}),
                           ("the ledger as JSON", GRADCLI + ["explain", text, *binds, "-f", "json"], {})]:
        ENV.update(env)
        try:
            a, b, r = paired(plain, cmd, repeats)
        finally:
            for k in env:
                del ENV[k]
        row("explain", f"201 nodes, 68 variables: {what}", b, r, "< 1 s", shown + ("" if env else " -f json"),
            "eval of the same --no-check -f json", statistics.median(b) < 1.0)


def machine() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version
    versions = [f"Python {platform.python_version()}"]
    for package in ("numpy", "sympy", "typer", "rich", "torch", "autograd"):
        try:
            versions.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            pass
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    return [f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, {cpu}", ", ".join(versions)]


def write(path: Path, elapsed: float, argv: list[str]) -> None:
    lines = ["# gradcli benchmark results", "",
             f"Written by `python benchmarks/run.py{' ' + ' '.join(argv) if argv else ''}` in {elapsed:.0f} s.", ""]
    lines += [f"- {m}" for m in machine()]
    lines += ["", "Times are medians over the repeats (min–max in brackets). Ratios are measured pair by pair",
              "in the same run (baseline, then gradcli), and the median ratio is what the target is held to.",
              "For throughput rows the ratio is gradcli's speed over the baseline's (higher is better).", "",
              "| group | benchmark | gradcli time | ratio | baseline | target | met | command |",
              "|---|---|---|---|---|---|---|---|"]
    for r in ROWS:
        lines.append(f"| {r['group']} | {r['what']} | {r['time']} | {r['ratio']} | {r['baseline']} | "
                     f"{r['target']} | {r['ok']} | `{r['command']}` |")
    if NOTES:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in NOTES]
    path.write_text("\n".join(lines) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repeats and smaller sizes")
    ap.add_argument("--only", help="comma-separated: startup,batch,arrays,points,growth,explain")
    ap.add_argument("--out", default=str(HERE / "RESULTS.md"))
    opts = ap.parse_args()
    quick = opts.quick
    groups = set((opts.only or "startup,batch,arrays,points,growth,explain").split(","))
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if "startup" in groups:
            startup(5 if quick else 11)
        if "batch" in groups:
            batch(3 if quick else 7, tmp, 20 if quick else 60)
        if "arrays" in groups:
            large([100_000, 1_000_000] if quick else [100_000, 1_000_000, 10_000_000], 3 if quick else 5)
        if "points" in groups:
            points(100_000 if quick else 1_000_000, 3 if quick else 5, tmp)
        if "growth" in groups:
            growth([1_000, 10_000] if quick else [1_000, 10_000, 100_000], 3 if quick else 5)
        if "explain" in groups:
            explain(5 if quick else 9)
    write(Path(opts.out), time.perf_counter() - start, sys.argv[1:])
    print(f"wrote {opts.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
