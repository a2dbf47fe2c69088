"""The commands: the command line's values -> one library call -> render.emit -> the exit code.

Each takes the expression (or files), the variable bindings and the command's own options as
declared in spec.py; none imports Typer. Exit codes: 0 success (the check agreed or was
skipped), 1 results printed but a check disagreed (or minimize diverged), 2 bad usage or input;
main.py adds 1 for output that cannot be written, 130 interrupted, 143 terminated.
"""
from __future__ import annotations

import math
import sys

from gradcli.cli.io import warn, write
from gradcli.cli.spec import COMMANDS, MISSING, unknown_option
from gradcli.errors import GradcliError, close_matches

EXIT_OK, EXIT_MISMATCH, EXIT_USAGE = 0, 1, 2


def eval_(expr: str, bindings: dict, *, wrt=None, grad_output=None, no_grad=False, retain_grad=None, tree=False,
          points=None, check=True, rtol=None, atol=None, check_timeout=None, check_with=None, fmt="table") -> int:
    """Value and gradient of EXPR at the given point, cross-checked against the exact derivative."""
    from gradcli import render
    from gradcli.evaluation import evaluate
    from gradcli.lang.parser import parse

    parsed, policy = parse(expr), _policy(rtol, atol, check_timeout, check_with)
    if points is not None:
        from gradcli.cli.runs import points_run
        return points_run(parsed, points, bindings, names(wrt), fmt, check, policy)
    if any(n not in bindings for n in parsed.variables()):
        return _free(parsed, bindings, names(wrt), grad_output, not no_grad, policy.timeout, fmt)
    retain = retained(retain_grad)
    result = evaluate(parsed, bindings, wrt=names(wrt), grad_output=grad_output, grad=not no_grad,
                      retain_grad=retain, trace=tree)
    warn(result.notes)
    verdict = _verdict(check, lambda: _cross_check(result, policy))
    write(render.emit(render.Evaluated(result, verdict, tree, tree or bool(retain)), fmt))
    return _code(verdict)


def _free(parsed, bindings, wrt, grad_output, grad: bool, timeout, fmt) -> int:
    """Some variables have no value: the result is symbolic, with the bound values substituted."""
    from gradcli import render
    from gradcli.render import records
    from gradcli.symbolic import symbolic_evaluate
    sres = symbolic_evaluate(parsed, bindings, wrt=wrt, grad_output=grad_output, grad=grad, timeout=timeout)
    write(render.emit(render.Symbolic(sres, records.symbolic_check(sres)), fmt))
    return EXIT_OK


def diff(expr: str, bindings: dict, *, wrt=None, check_timeout=None, shape=(), steps=False, claim=None,
         fmt="text") -> int:
    """The symbolic gradient of EXPR, simplified, in gradcli's own syntax (it pastes back into eval)."""
    from gradcli import render
    from gradcli.errors import ShapeError
    from gradcli.lang.parser import parse
    from gradcli.symbolic import derivatives

    if bindings:
        raise GradcliError("gradcli diff takes no values: every variable is a symbol",
                           hint="for values at a point use gradcli eval; a variable without a value stays symbolic")
    parsed, shapes = parse(expr), _shapes(shape)
    timeout = _policy(None, None, check_timeout).timeout
    if (steps or claim is not None) and shapes:
        raise GradcliError(f"--{'steps' if steps else 'claim'} is for scalar variables; leave out --shape")
    if steps and claim is not None:
        raise GradcliError("give --steps or --claim, not both", hint="--claim shows the derivative it expected")
    if steps:
        from gradcli.steps import steps as derivation_steps
        write(render.emit(render.Stepped(parsed.source, derivation_steps(parsed, names(wrt), timeout=timeout)), fmt))
        return EXIT_OK
    if claim is not None:
        from gradcli.claims import check_claim
        verdict = check_claim(parsed, claim, names(wrt), timeout=timeout)
        write(render.emit(render.Claimed(verdict), fmt))
        return EXIT_OK if verdict.correct else EXIT_MISMATCH
    try:
        d = derivatives(parsed, names(wrt), shapes=shapes, timeout=timeout)
    except ShapeError as err:
        if not shapes:
            err.hint = (err.hint + "; " if err.hint else "") + "give array variables their shapes: --shape W=2x3 --shape x=3"
        raise
    if not d.simplified:
        sys.stderr.write("warning: simplification took too long; the derivative is shown as computed\n")
    write(render.emit(render.Diffed(parsed.source, d), fmt))
    return EXIT_OK


def _shapes(words) -> dict:
    """--shape W=2x3 --shape x=3 -> {"W": (2, 3), "x": (3,)}."""
    found = {}
    for word in words:
        name, eq, dims = word.partition("=")
        try:
            shape = tuple(int(n) for n in dims.lower().replace(",", "x").split("x")) if eq else None
        except ValueError:
            shape = None
        if not name.strip().isidentifier() or not shape or min(shape) < 1 or math.prod(shape) > 256:
            raise GradcliError(f"--shape {word}: write NAME=SHAPE, as W=2x3 or x=3",
                               hint="at most 256 elements, each size at least 1")
        found[name.strip()] = shape
    return found


def batch(files: list, bindings: dict, *, wrt=None, check=True, rtol=None, atol=None, check_timeout=None,
          check_with=None, fmt="table", jobs=None) -> int:
    """Run many jobs: one record per job, in input order, as soon as each is ready."""
    from gradcli.cli.runs import batch_run
    policy = _policy(rtol, atol, check_timeout, check_with)
    failed = batch_run(files or ["-"], bindings, names(wrt), check, policy, fmt, jobs)
    return EXIT_MISMATCH if failed else EXIT_OK


def hessian(expr: str, bindings: dict, *, wrt=None, check=True, rtol=None, atol=None, check_timeout=None,
            check_with=None, fmt="table") -> int:
    """The Hessian of EXPR at a point, by differentiating the engine's gradient again."""
    from gradcli import render
    from gradcli.derivatives import hessian
    d = hessian(expr, bindings, names(wrt))
    warn(d.notes)
    verdict = _verdict(check, lambda: _matrix_check("hessian", d, _policy(rtol, atol, check_timeout, check_with)))
    write(render.emit(render.Matrix("Hessian", d, d.labels, d.labels, d.hessian, verdict), fmt))
    return _code(verdict)


def jacobian(expr: str, bindings: dict, *, wrt=None, check=True, rtol=None, atol=None, check_timeout=None,
             check_with=None, fmt="table") -> int:
    """The Jacobian of EXPR: a row per output element, a column per variable element."""
    from gradcli import render
    from gradcli.derivatives import jacobian, labels_of
    d = jacobian(expr, bindings, names(wrt))
    warn(d.notes)
    verdict = _verdict(check, lambda: _matrix_check("jacobian", d, _policy(rtol, atol, check_timeout, check_with)))
    rows = labels_of(["out"], {"out": d.value})
    write(render.emit(render.Matrix("Jacobian", d, rows, d.labels, d.jacobian, verdict), fmt))
    return _code(verdict)


def minimize(expr: str, bindings: dict, *, wrt=None, optimizer="adam", lr=None, steps=20_000, tol=1e-8,
             trace=None, fmt="table") -> int:
    """Gradient descent from the given point: argmin, minimum, and why it stopped."""
    from gradcli import render
    from gradcli.cli.runs import descend
    m = descend(expr, bindings, names(wrt), optimizer, lr, steps, tol, trace)
    warn(m.notes)
    if m.reason == "diverged":
        sys.stderr.write("error: diverged: a nan or inf appeared; the last finite point is shown\n"
                         "hint: lower --lr, or try --optimizer adam\n")
    elif m.reason == "step limit":
        sys.stderr.write(f"warning: no convergence in {m.steps} steps (|gradient| = {m.grad_norm:.3g} >= "
                         f"{tol:g}); raise --steps or --lr\n")
    write(render.emit(render.Minimum(m), fmt))
    return EXIT_MISMATCH if m.reason == "diverged" else EXIT_OK


def graph(expr: str, bindings: dict, *, wrt=None, grad_output=None, retain_grad=None, fmt="tree") -> int:
    """The computational graph of EXPR after backward: as a tree, Graphviz DOT, Mermaid or JSON."""
    from gradcli import render
    from gradcli.evaluation import evaluate
    result = evaluate(expr, bindings, wrt=names(wrt), grad_output=grad_output, retain_grad=retained(retain_grad),
                      trace=True)
    warn(result.notes)
    write(render.emit(render.Graph(result), fmt))
    return EXIT_OK


def explain(expr: str, bindings: dict, *, wrt=None, grad_output=None, fmt="table") -> int:
    """The backward pass of EXPR as a ledger: each node's gradient, local derivative and contributions."""
    from gradcli import render
    from gradcli.ledger import explain as ledger
    from gradcli.lang.parser import parse
    parsed = parse(expr)
    missing = [n for n in parsed.variables() if n not in bindings]
    if missing:
        raise GradcliError(f"gradcli explain needs a value for every variable; {', '.join(missing)} "
                           f"{'has' if len(missing) == 1 else 'have'} none",
                           hint=f"give it as --{missing[0]} 2 (or {missing[0]}=2); for a symbolic gradient use "
                                "gradcli diff")
    found = ledger(parsed, bindings, wrt=names(wrt), grad_output=grad_output)
    warn(found.notes)
    write(render.emit(render.Explained(found), fmt))
    return EXIT_OK


def plot(expr: str, bindings: dict, *, points=200, fmt="plot") -> int:
    """EXPR and its derivative drawn together, with the derivative's zeros and undefined points marked."""
    from gradcli import render
    from gradcli.cli.io import console
    from gradcli.plot import sample
    from gradcli.render.plot import WIDEST
    write(render.emit(render.Plotted(sample(expr, bindings, points), min(console().width, WIDEST)), fmt))
    return EXIT_OK


# -- what several commands decide, once ------------------------------------------------------------
def names(wrt: str | None) -> list[str] | None:
    """--wrt a,b -> ["a", "b"]; None differentiates every variable."""
    return None if wrt is None else [n.strip() for n in wrt.split(",") if n.strip()]


def retained(retain_grad: str | None):
    """--retain-grad: None keeps no intermediate gradient, "*" (written alone) every one, "y,z"
    those of the steps named so."""
    if retain_grad is None:
        return False
    return True if retain_grad == "*" else names(retain_grad)


def read_program(path: str) -> str:
    """The text of --file PATH (- for standard input)."""
    if path == "-":
        return sys.stdin.read().removeprefix("\ufeff")
    try:
        with open(path, encoding="utf-8-sig") as f:       # a byte-order mark is not part of the program
            return f.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise GradcliError(f"cannot read --file {path}: {reason}") from None


def _policy(rtol, atol, timeout, using=None):
    """The check's policy from the options: each left out takes CheckPolicy's default; a timeout of 0
    means no limit."""
    from gradcli.check.policy import DEFAULT, CheckPolicy
    return CheckPolicy(DEFAULT.rtol if rtol is None else rtol, DEFAULT.atol if atol is None else atol,
                       DEFAULT.timeout if timeout is None else (timeout or None), using or DEFAULT.using)


def _cross_check(result, policy):
    from gradcli.check.cross import cross_check
    return cross_check(result, rtol=policy.rtol, atol=policy.atol, timeout=policy.timeout, using=policy.using)


def _matrix_check(kind: str, d, policy):
    from gradcli.check.matrix import matrix_check
    return matrix_check(kind, d, rtol=policy.rtol, atol=policy.atol, timeout=policy.timeout, using=policy.using)


def _verdict(check: bool, run):
    """The check's verdict (or skipped, for --no-check); a timeout or an error is also a warning."""
    from gradcli.check.policy import skipped
    verdict = run() if check else skipped("--no-check")
    if verdict.status in ("timeout", "error"):
        sys.stderr.write(f"warning: cross-check {verdict.status}: {verdict.reason}\n")
    return verdict


def _code(verdict) -> int:
    return EXIT_MISMATCH if verdict.status == "mismatch" else EXIT_OK


# -- the command line's bindings, checked before anything runs ----------------------------------------
def check_bindings(command: str, arg, bindings: dict) -> None:
    """A --NAME without a value, or one that is no variable but looks like one of the command's
    options, is a mistake to name before anything runs: "unknown option --tre; did you mean
    --tree?", or "--x needs a value"."""
    spec = COMMANDS[command]
    flags = [f for o in spec.options for f in o.all_flags if f.startswith("--")] + ["--help"]
    suspects = [n for n, v in bindings.items() if v is MISSING or close_matches(f"--{n}", flags, n=1, cutoff=0.75)]
    if not suspects:
        return
    variables = None if spec.arg.many else _variables_of(arg)
    for name in suspects:
        missing = bindings[name] is MISSING
        if variables is not None and name in variables:
            if missing:
                raise GradcliError(f"--{name} needs a value, as in --{name} 2", name=name)
            continue
        error = unknown_option(f"--{name}", flags, command)
        if variables is None:           # batch: a default for the lines' variables, or an option's typo
            if "did you mean" in error.message:
                error.hint = f"a default for a variable named so is written in the jobs' lines ({name}=...)"
                raise error
            if missing:
                raise GradcliError(f"--{name} needs a value, as in --{name} 2", name=name)
            continue
        if "did you mean" in error.message:
            raise error
        if missing:
            raise GradcliError(f"--{name} is not an option of gradcli {command}, nor a variable of the expression",
                               hint=f"the variables are {', '.join(variables)}" if variables else None, name=name)
        # otherwise not an option's typo: evaluate says the variable is unknown


def _variables_of(source: str) -> list[str]:
    from gradcli.lang.parser import parse
    return parse(source).variables()


def run(command: str, arg, bindings: dict, **options) -> int:
    """Run a command once its command line is read: arg is the expression (the files for batch),
    or None with --file, which reads it."""
    import warnings
    path = options.pop("file", None)
    if path is not None:
        if arg is not None:
            raise GradcliError(f"gradcli {command} takes the expression or --file, not both",
                               hint="write the program in the file, or give it on the command line")
        if path == "-" and options.get("points") == "-":
            raise GradcliError("--file and --points cannot both read standard input", hint="give one of them a file")
        arg = read_program(path)
    elif arg is None:
        spec = COMMANDS[command]
        raise GradcliError(f"gradcli {command} needs an expression", hint=f"for example: {spec.examples[0]}")
    check_bindings(command, arg, bindings)
    warnings.simplefilter("ignore")     # gradcli reports numeric trouble itself (see the notes)
    return RUN[command](arg, bindings, **options)


# Command name -> implementation; the fast path and the Typer app both dispatch through run().
RUN = {"eval": eval_, "diff": diff, "batch": batch, "hessian": hessian, "jacobian": jacobian,
       "minimize": minimize, "graph": graph, "explain": explain, "plot": plot}
