"""Every command's arguments and options, declared once.

The Typer app (cli.py) is built from these specs, and so are the completion
scripts; the fast path (main.py) parses argv with them without importing Typer.
Variables are bound as --NAME VALUE, --NAME=VALUE or (after the expression)
NAME=VALUE; `split_args` tells them apart from a command's own options.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, eq=False, repr=False)
class Opt:
    name: str                   # the parameter name the command receives
    flags: tuple                # ("--format", "-f")
    default: object
    help: str
    type: type = str            # str, float, int or bool
    choices: tuple = ()
    off: str | None = None      # "--no-check": the flag that sets a bool option to False
    metavar: str | None = None
    min: float | None = None

    @property
    def is_flag(self) -> bool:
        return self.type is bool

    @property
    def all_flags(self) -> tuple:
        return self.flags + ((self.off,) if self.off else ())

    def convert(self, text: str):
        """The value of `--flag TEXT`; ValueError if it is not one."""
        if self.choices and text not in self.choices:
            raise ValueError(text)
        value = self.type(text)
        if self.min is not None and value < self.min:
            raise ValueError(text)
        return value


@dataclass(frozen=True, eq=False, repr=False)
class Arg:
    name: str
    metavar: str
    help: str
    many: bool = False          # any number of words (files)


@dataclass(frozen=True, eq=False, repr=False)
class Command:
    name: str
    help: str
    epilog: str
    arg: Arg
    options: tuple
    positional_bindings: bool = True    # NAME=VALUE after the expression binds a variable


# -- options shared by several commands -------------------------------------------------
WRT = Opt("wrt", ("--wrt",), None, "Differentiate only with respect to these (a,b); the rest are constants.",
          metavar="NAMES")
GRAD_OUTPUT = Opt("grad_output", ("--grad-output",), None,
                  "Seed gradient for a non-scalar output, as in y.backward(grad_output).", metavar="VALUE")
CHECK = Opt("check", ("--check",), True, "Cross-check gradients against SymPy.", bool, off="--no-check")
RTOL = Opt("rtol", ("--rtol",), 1e-9, "Cross-check relative tolerance.", float, min=0.0)
ATOL = Opt("atol", ("--atol",), 1e-12, "Cross-check absolute tolerance.", float, min=0.0)
CHECK_TIMEOUT = Opt("check_timeout", ("--check-timeout",), 5.0, "Give up on SymPy after this long (0: no limit).",
                    float, metavar="SECONDS", min=0.0)
FORMAT = Opt("fmt", ("--format", "-f"), "table", "Output: table (Rich), json or tsv.", choices=("table", "json", "tsv"))
RETAIN_GRAD = Opt("retain_grad", ("--retain-grad",), False, "Keep and show gradients of intermediate nodes.", bool)
CHECKS = (CHECK, RTOL, ATOL, CHECK_TIMEOUT)

EXPR = Arg("expr", "EXPR", 'The expression, e.g. "a*b + sin(c)"; then the variables\' values: --a 2, --a=2 or a=2.')

COMMANDS = {c.name: c for c in [
    Command("eval", "Value and gradient of EXPR at the given point, cross-checked against SymPy.", """Examples:

  gradcli eval "a*b+c" --a 2 --b 3 --c 4

  gradcli eval "sum(x*w)" --x 1,2,3 --w "[4,5,6]" -f json

  gradcli eval "x*2" --x 1,2,3 --grad-output 1,1,1 --tree
""", EXPR, (
        WRT, GRAD_OUTPUT,
        Opt("no_grad", ("--no-grad",), False, "Evaluate only; record nothing.", bool),
        RETAIN_GRAD,
        Opt("tree", ("--tree",), False, "Also show the computational graph.", bool),
        Opt("points", ("--points",), None, "CSV of points (header: variable names; - for stdin): value and "
            "gradient at every row, as CSV value,d_a,... (JSON lines with -f json).", metavar="FILE"),
        *CHECKS, FORMAT)),
    Command("diff", "The symbolic gradient of EXPR, simplified, in gradcli's own syntax (it pastes back into eval).",
            """Examples:

  gradcli diff "x^2*sin(x)"

  gradcli diff "a*b + sin(c)" --wrt a,c

  gradcli diff "sigmoid(x)" --format latex
""", Arg("expr", "EXPR", "A scalar expression."), (
        WRT, CHECK_TIMEOUT,
        Opt("fmt", ("--format", "-f"), "text", "Output: text (gradcli syntax), latex or json.",
            choices=("text", "latex", "json")))),
    Command("batch", "Run many jobs: one record per job, in input order, as soon as each is ready.", """Examples:

  printf 'a*b+c where a=2, b=3, c=4\\nx^2 where x=5\\n' | gradcli batch -f json

  gradcli batch jobs.txt --no-check -f tsv

  gradcli batch jobs.txt --a 3       (a = 3 wherever a line gives it no value)
""", Arg("files", "[FILE]...", "Files of jobs, one a line: EXPR, EXPR where a=2, b=[1,2], or a JSON object. "
         "None or - reads standard input. --NAME VALUE gives every line a default.", many=True),
        (WRT, *CHECKS, FORMAT,
         Opt("jobs", ("--jobs", "-j"), None, "Worker processes for a file of jobs (default: the usable cores; "
             "1: this process only). Records stay in input order.", int, min=1, metavar="N")),
        positional_bindings=False),
    Command("hessian", "The Hessian of EXPR at a point, by differentiating the engine's gradient again.", """Examples:

  gradcli hessian "x^2*y + y^3" --x 1 --y 2

  gradcli hessian "sum(x^3)" --x 1,2,3 -f json
""", Arg("expr", "EXPR", "A scalar expression."), (WRT, *CHECKS, FORMAT)),
    Command("jacobian", "The Jacobian of EXPR: a row per output element, a column per variable element.", """Examples:

  gradcli jacobian "[x*y, x+y]" --x 2 --y 3

  gradcli jacobian "softmax(x)" --x 1,2,3 -f json
""", Arg("expr", "EXPR", "An expression, often a vector."), (WRT, *CHECKS, FORMAT)),
    Command("minimize", "Gradient descent from the given point: argmin, minimum, and why it stopped.", """Examples:

  gradcli minimize "(x-3)^2 + (y+1)^2" --x 0 --y 0

  gradcli minimize "(1-x)^2 + 100*(y-x^2)^2" --x -1.2 --y 1 --optimizer adam --trace steps.csv

  gradcli minimize "sum((w - 1)^2)" --w 0,0,0 -f json
""", Arg("expr", "EXPR", "A scalar expression; the variables' values are the start."), (
        WRT,
        Opt("optimizer", ("--optimizer",), "adam", "Update rule, as in torch.optim.",
            choices=("sgd", "momentum", "adam")),
        Opt("lr", ("--lr",), None, "Learning rate (default: sgd 0.1, momentum 0.05, adam 0.1).", float, min=0.0),
        Opt("steps", ("--steps",), 20_000, "Most updates to make.", int, min=0),
        Opt("tol", ("--tol",), 1e-8, "Converged when |gradient| < tol.", float, min=0.0),
        Opt("trace", ("--trace",), None, "Write every step as CSV.", metavar="FILE"),
        FORMAT)),
    Command("graph", "The computational graph of EXPR after backward: as a tree, Graphviz DOT, Mermaid or JSON.",
            """Examples:

  gradcli graph "a*b+c" --a 2 --b 3 --c 4

  gradcli graph "sin(x)*sin(x)" --x 1 -f dot | dot -Tsvg > graph.svg

  gradcli graph "sum(W @ v)" --W "[[1,2],[3,4]]" --v 1,1 -f mermaid
""", Arg("expr", "EXPR", "The expression."), (
        WRT, GRAD_OUTPUT, RETAIN_GRAD,
        Opt("fmt", ("--format", "-f"), "tree", "tree, dot (Graphviz), mermaid or json.",
            choices=("tree", "dot", "mermaid", "json")))),
    Command("plot", "EXPR and its derivative drawn together, with the derivative's zeros and undefined points marked.",
            """Examples:

  gradcli plot "sin(x)" --x -3:3

  gradcli plot "x^3 - 3*x" --x -2.5:2.5 --points 400

  gradcli plot "abs(x) + a*x" --x -1:1 --a 0.5 -f json
""", Arg("expr", "EXPR", "An expression of one variable, given as a range: --x -3:3."), (
        Opt("points", ("--points",), 200, "How many samples.", int, min=2),
        Opt("fmt", ("--format", "-f"), "plot", "plot (terminal) or json (the samples).", choices=("plot", "json")))),
]}

HELP_FLAGS = ("-h", "--help")


def takes_value(command: Command) -> dict:
    """Every spelling of the command's own options -> whether it takes a value."""
    out = {flag: not o.is_flag for o in command.options for flag in o.all_flags}
    out.update({flag: False for flag in HELP_FLAGS})
    return out


class UsageProblem(Exception):
    """The words on the command line do not fit the command."""


def split_args(args: list[str], own: dict, positional_bindings: bool) -> tuple[list, list, dict]:
    """Separate a command's own options, its positional words, and variable bindings.

    Every --NAME that is not an own option takes the next word as its value, even
    one starting with '-' (--a -2); the first positional word is the expression
    even if it starts with '-' (-x^2, or ---x, which no option name can be).
    """
    mine, positional, bindings = [], [], {}
    words = iter(args)
    for word in words:
        name, eq, value = word.partition("=")
        if word == "--":
            positional.extend(words)
        elif name in own and (name.startswith("--") or not eq):              # --format json, --tree, -f json
            mine.append(word)
            if own[name] and not eq:
                mine.extend(v for v in [next(words, None)] if v is not None)
        elif word.startswith("--") and (name[2:3].isalpha() or name[2:3] == "_"):   # --a 2, --a=2, --a -2
            if not eq:
                value = next(words, None)
                if value is None:
                    raise UsageProblem(f"{word} needs a value, as in {word} 2")
            _bind(bindings, name[2:], value, word)
        elif positional_bindings and positional and eq and name.isidentifier():  # a=2 after EXPR
            _bind(bindings, name, value, word)
        else:
            positional.append(word)
    return mine, positional, bindings


def _bind(bindings: dict, name: str, value: str, word: str) -> None:
    if not name.isidentifier():
        raise UsageProblem(f"no such option: {word.partition('=')[0]}")
    if name in bindings:
        raise UsageProblem(f"'{name}' is given a value twice")
    bindings[name] = value


def parse_own(command: Command, words: list[str]) -> dict | None:
    """Values of the command's own options from its words; None if any word is not simple
    (the Typer app then parses them and explains the problem)."""
    values = {o.name: o.default for o in command.options}
    by_flag = {flag: o for o in command.options for flag in o.all_flags}
    it = iter(words)
    for word in it:
        flag, eq, text = word.partition("=")
        o = by_flag.get(flag if (eq and flag.startswith("--")) else word)
        if o is None:
            return None
        if o.is_flag:
            values[o.name] = word != o.off
            continue
        if not eq:
            text = next(it, None)
            if text is None:
                return None
        try:
            values[o.name] = o.convert(text)
        except ValueError:
            return None
    return values
