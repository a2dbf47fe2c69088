"""Every command's arguments and options, declared once.

The Typer app (app.py) is built from these specs, and so are the completion
scripts; the fast path (main.py) parses argv with them without importing Typer.
Variables are bound as --NAME VALUE, --NAME=VALUE or (after the expression)
NAME=VALUE; `split_args` tells them apart from a command's own options.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import NamedTuple

from gradcli.check.policy import DEFAULT, USING


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
    many: bool = False          # may be given several times; the value is the tuple of them
    bare: str | None = None     # the value of the option written without one (--retain-grad: "*", all)

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
        if self.type is float and not math.isfinite(value):
            raise ValueError(text)
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
    examples: tuple             # command lines that paste and run, in order; "# ..." lines explain the next
    arg: Arg
    options: tuple
    positional_bindings: bool = True    # NAME=VALUE after the expression binds a variable

    def examples_text(self) -> str:
        return "\n".join(self.examples)

    @property
    def epilog(self) -> str:
        return "Examples:\n\n" + "\n\n".join(self.examples)


PROGRAM_HELP = "A gradient calculator: value, gradients and computational graph of a math expression."

# -- options shared by several commands -------------------------------------------------
WRT = Opt("wrt", ("--wrt",), None, "Differentiate only with respect to these (a,b); the rest are constants.",
          metavar="NAMES")
GRAD_OUTPUT = Opt("grad_output", ("--grad-output",), None,
                  "Seed gradient for a non-scalar output, as in y.backward(grad_output).", metavar="VALUE")
CHECK = Opt("check", ("--check",), True, "Cross-check gradients against the exact derivative.", bool,
            off="--no-check")
RTOL = Opt("rtol", ("--rtol",), DEFAULT.rtol, "Cross-check relative tolerance.", float, min=0.0)
ATOL = Opt("atol", ("--atol",), DEFAULT.atol, "Cross-check absolute tolerance.", float, min=0.0)
CHECK_TIMEOUT = Opt("check_timeout", ("--check-timeout",), DEFAULT.timeout,
                    "Give up on the exact check after this long (0: no limit).", float, metavar="SECONDS", min=0.0)
CHECK_WITH = Opt("check_with", ("--check-with",), DEFAULT.using,
                 "The exact check: auto (SymEngine, SymPy where SymEngine cannot), symengine or sympy.",
                 choices=USING)
FORMAT = Opt("fmt", ("--format", "-f"), "table", "Output: table (Rich), json or tsv.", choices=("table", "json", "tsv"))
RETAIN_GRAD = Opt("retain_grad", ("--retain-grad",), None,
                  "Keep and show gradients of intermediate nodes: of every one, or of the named steps (y,z).",
                  metavar="[NAMES]", bare="*")
FILE = Opt("file", ("--file",), None, "Read EXPR from a file (- for standard input): a program of statements, "
           "one a line or separated by ;.", metavar="PATH")
CHECKS = (CHECK, RTOL, ATOL, CHECK_TIMEOUT, CHECK_WITH)

EXPR = Arg("expr", "EXPR", 'The expression, e.g. "a*b + sin(c)"; then the variables\' values: --a 2, --a=2 or a=2.')

COMMANDS = {c.name: c for c in [
    Command("eval", "Value and gradient of EXPR at the given point, cross-checked against the exact derivative.", (
        'gradcli eval "a*b+c" --a 2 --b 3 --c 4',
        'gradcli eval "sum(x*w)" --x 1,2,3 --w "[4,5,6]" -f json',
        "printf 'a,b\\n1,2\\n3,4\\n' | gradcli eval \"a*sin(b)\" --points -",
        'gradcli eval "x*2" --x 1,2,3 --grad-output 1,1,1 --tree',
        "# a program: named steps, and functions inlined at each call",
        'gradcli eval "y = a*b; z = y + c" --a 2 --b 3 --c 4 --retain-grad y',
        'gradcli eval "f(x) = x^2 + 1; f(a) + f(b)" --a 1 --b 2',
    ), EXPR, (
        FILE, WRT, GRAD_OUTPUT,
        Opt("no_grad", ("--no-grad",), False, "Evaluate only; record nothing.", bool),
        RETAIN_GRAD,
        Opt("tree", ("--tree",), False, "Also show the computational graph.", bool),
        Opt("points", ("--points",), None, "CSV of points (header: variable names; - for stdin): value and "
            "gradient at every row, as CSV value,d_a,... (JSON lines with -f json).", metavar="FILE"),
        *CHECKS, FORMAT)),
    Command("diff", "The symbolic gradient of EXPR, simplified, in gradcli's own syntax (it pastes back into eval).",
            (
        'gradcli diff "x^2*sin(x)"',
        'gradcli diff "a*b + sin(c)" --wrt a,c',
        'gradcli diff "sigmoid(x)" --format latex',
        'gradcli diff "sum(W @ x)" --shape W=2x3 --shape x=3',
        'gradcli diff "x^2*sin(x)" --steps',
        'gradcli diff "sin(x^2)" --claim "2*x*cos(x^2)"',
    ), Arg("expr", "EXPR", "A scalar expression."), (
        FILE, WRT, CHECK_TIMEOUT,
        Opt("steps", ("--steps",), False, "Show the derivation rule by rule (sum, product, chain rule, ...), "
            "for a scalar expression.", bool),
        Opt("claim", ("--claim",), None, "Check a derivative done by hand: right (exit 0), or where it differs and "
            "which common mistake it matches (exit 1).", metavar="FORMULA"),
        Opt("shape", ("--shape",), (), "An array variable's shape, as W=2x3 or x=3 (again for each one); "
            "its gradient is then an array of formulas.", metavar="NAME=SHAPE", many=True),
        Opt("fmt", ("--format", "-f"), "text", "Output: text (gradcli syntax), latex or json.",
            choices=("text", "latex", "json")))),
    Command("batch", "Run many jobs: one record per job, in input order, as soon as each is ready.", (
        "printf 'a*b+c where a=2, b=3, c=4\\nx^2 where x=5\\n' | gradcli batch -f json",
        "printf 'a*b+c where a=2, b=3\\nx^2 where x=5\\n' > jobs.txt",
        "# with c = 4 wherever a line gives c no value:",
        "gradcli batch jobs.txt --c 4 --no-check -f tsv",
    ), Arg("files", "[FILE]...", "Files of jobs, one a line: EXPR, EXPR where a=2, b=[1,2], or a JSON object. "
         "None or - reads standard input. --NAME VALUE gives every line a default.", many=True),
        (WRT, *CHECKS, FORMAT,
         Opt("jobs", ("--jobs", "-j"), None, "Worker processes for a file of jobs (default: the usable cores; "
             "1: this process only). Records stay in input order.", int, min=1, metavar="N")),
        positional_bindings=False),
    Command("hessian", "The Hessian of EXPR at a point, by differentiating the engine's gradient again.", (
        'gradcli hessian "x^2*y + y^3" --x 1 --y 2',
        'gradcli hessian "sum(x^3)" --x 1,2,3 -f json',
    ), Arg("expr", "EXPR", "A scalar expression."), (FILE, WRT, *CHECKS, FORMAT)),
    Command("jacobian", "The Jacobian of EXPR: a row per output element, a column per variable element.", (
        'gradcli jacobian "[x*y, x+y]" --x 2 --y 3',
        'gradcli jacobian "softmax(x)" --x 1,2,3 -f json',
    ), Arg("expr", "EXPR", "An expression, often a vector."), (FILE, WRT, *CHECKS, FORMAT)),
    Command("minimize", "Gradient descent from the given point: argmin, minimum, and why it stopped.", (
        'gradcli minimize "(x-3)^2 + (y+1)^2" --x 0 --y 0',
        'gradcli minimize "(1-x)^2 + 100*(y-x^2)^2" --x -1.2 --y 1 --trace steps.csv',
        'gradcli minimize "sum((w - 1)^2)" --w 0,0,0 -f json',
    ), Arg("expr", "EXPR", "A scalar expression; the variables' values are the start."), (
        FILE, WRT,
        Opt("optimizer", ("--optimizer",), "adam", "Update rule, as in torch.optim.",
            choices=("sgd", "momentum", "adam")),
        Opt("lr", ("--lr",), None, "Learning rate (default: sgd 0.1, momentum 0.05, adam 0.1).", float, min=0.0),
        Opt("steps", ("--steps",), 20_000, "Most updates to make.", int, min=0),
        Opt("tol", ("--tol",), 1e-8, "Converged when |gradient| < tol.", float, min=0.0),
        Opt("trace", ("--trace",), None, "Write every step as CSV.", metavar="FILE"),
        FORMAT)),
    Command("graph", "The computational graph of EXPR after backward: as a tree, Graphviz DOT, Mermaid or JSON.",
            (
        'gradcli graph "a*b+c" --a 2 --b 3 --c 4',
        'gradcli graph "sin(x)*sin(x)" --x 1 -f dot | dot -Tsvg > graph.svg',
        'gradcli graph "sum(W @ v)" --W "[[1,2],[3,4]]" --v 1,1 -f mermaid',
    ), Arg("expr", "EXPR", "The expression."), (
        FILE, WRT, GRAD_OUTPUT, RETAIN_GRAD,
        Opt("fmt", ("--format", "-f"), "tree", "tree, dot (Graphviz), mermaid or json.",
            choices=("tree", "dot", "mermaid", "json")))),
    Command("explain", "The backward pass of EXPR as a ledger: each node's gradient, local derivative and "
            "contributions, the gradients beside finite differences.", (
        'gradcli explain "y = a*b + c" --a 2 --b 3 --c 4',
        'gradcli explain "x*2" --x 1,2,3 --grad-output 1,1,1',
        'gradcli explain "sum(W + b)" --W "[[1,2,3],[4,5,6]]" --b 1,1,1 -f json',
    ), EXPR, (
        FILE, WRT, GRAD_OUTPUT,
        Opt("fmt", ("--format", "-f"), "table", "Output: table (the ledger, Rich) or json.",
            choices=("table", "json")))),
    Command("plot", "EXPR and its derivative drawn together, with the derivative's zeros and undefined points marked.",
            (
        'gradcli plot "sin(x)" --x -3:3',
        'gradcli plot "x^3 - 3*x" --x -2.5:2.5 --points 400',
        'gradcli plot "abs(x) + a*x" --x -1:1 --a 0.5 -f json',
    ), Arg("expr", "EXPR", "An expression of one variable, given as a range: --x -3:3."), (
        FILE, Opt("points", ("--points",), 200, "How many samples.", int, min=2),
        Opt("fmt", ("--format", "-f"), "plot", "plot (terminal) or json (the samples).", choices=("plot", "json")))),
]}

HELP_FLAGS = ("-h", "--help")


def takes_value(command: Command) -> dict:
    """Every spelling of the command's own options -> whether it takes a value, or (a str) the
    value it takes when written alone (--retain-grad: "*")."""
    out = {flag: o.bare or not o.is_flag for o in command.options for flag in o.all_flags}
    out.update({flag: False for flag in HELP_FLAGS})
    return out


class Missing:
    """The value of a --NAME written without one (at the end, or before another option)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = Missing()


def split_args(args: list[str], own: dict, positional_bindings: bool, command: str | None = None) -> tuple[list, list, dict]:
    """Separate a command's own options, its positional words, and variable bindings.

    Every --NAME that is not an own option takes the next word as its value, even
    one starting with '-' (--a -2), unless that word is an option itself or there is
    none: its value is then MISSING (the command decides whether NAME was a variable
    without a value or a misspelt option). The first positional word is the expression
    even if it starts with '-' (-x^2, or ---x, which no option name can be).
    """
    mine, positional, bindings = [], [], {}
    words = list(args)
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        name, eq, value = word.partition("=")
        if word == "--":
            positional.extend(words[i:])
            break
        if name in own and type(own[name]) is str and not eq:             # --retain-grad [y,z]
            following = words[i] if i < len(words) else None
            if following is not None and _NAMES.fullmatch(following) and (
                    positional or any(not w.startswith("-") for w in words[i + 1:])):
                mine += [word, following]
                i += 1
            else:
                mine.append(f"{name}={own[name]}")
        elif name in own and (name.startswith("--") or not eq):            # --format json, --tree, -f json
            mine.append(word)
            if own[name] and not eq and i < len(words):
                mine.append(words[i])
                i += 1
        elif _names_a_binding(word):                                         # --a 2, --a=2, --a -2
            if not name[2:].isidentifier():
                raise unknown_option(name, own, command)
            if not eq:
                if i < len(words) and not (words[i] in own or _names_a_binding(words[i])):
                    value = words[i]
                    i += 1
                else:
                    value = MISSING
            _bind(bindings, name[2:], value)
        elif positional_bindings and positional and eq and name.isidentifier():  # a=2 after EXPR
            _bind(bindings, name, value)
        else:
            positional.append(word)
    return mine, positional, bindings


_NAMES = re.compile(r"[A-Za-z_]\w*(?:,[A-Za-z_]\w*)*")


def _names_a_binding(word: str) -> bool:
    return word.startswith("--") and (word[2:3].isalpha() or word[2:3] == "_")


def unknown_option(flag: str, own, command: str | None = None):
    """unknown option --no-chek; did you mean --no-check?"""
    from gradcli.errors import GradcliError, close_matches
    close = close_matches(flag, [f for f in own if f.startswith("--")], n=1, cutoff=0.6)
    if close:
        return GradcliError(f"unknown option {flag}; did you mean {close[0]}?")
    where = f"gradcli {command} --help lists its options" if command else "gradcli --help lists the commands"
    return GradcliError(f"unknown option {flag}", hint=where)


def _bind(bindings: dict, name: str, value) -> None:
    if name in bindings:
        from gradcli.errors import BindError
        raise BindError(f"'{name}' is given a value twice", name=name)
    bindings[name] = value


def parse_own(command: Command, words: list[str]) -> dict:
    """Values of the command's own options from its words (as split_args leaves them)."""
    from gradcli.errors import GradcliError
    values = {o.name: o.default for o in command.options}
    by_flag = {flag: o for o in command.options for flag in o.all_flags}
    it = iter(words)
    for word in it:
        flag, eq, text = word.partition("=")
        o = by_flag.get(flag if (eq and flag.startswith("--")) else word)
        if o is None:
            raise unknown_option(flag, by_flag, command.name)
        if o.is_flag:
            if eq:
                raise GradcliError(f"{flag} takes no value", hint=f"write {flag} alone")
            values[o.name] = word != o.off
            continue
        shown = flag if eq else word
        if not eq:
            text = next(it, None)
            if text is None:
                raise GradcliError(f"{shown} needs a value", hint=f"for example {shown} {_example(o)}")
        try:
            value = o.convert(text)
        except ValueError:
            raise GradcliError(f"{shown} {_expects(o)}, not {text!r}") from None
        values[o.name] = (*values[o.name], value) if o.many else value
    return values


EXAMPLES = {"FORMULA": '"2*x"', "NAMES": "a,b", "[NAMES]": "y,z", "PATH": "program.txt", "FILE": "data.csv",
            "VALUE": "1,1", "SECONDS": "10", "N": "2", "NAME=SHAPE": "W=2x3"}


def _example(o: Opt) -> str:
    if o.choices:
        return o.choices[0]
    return EXAMPLES.get(o.metavar or "", {float: "1e-6", int: "2"}.get(o.type, "VALUE"))


def _expects(o: Opt) -> str:
    if o.choices:
        return "takes one of " + ", ".join(o.choices)
    what = {float: "a finite number", int: "a whole number"}.get(o.type, "a value")
    return "needs " + what + (f" of at least {o.min:g}" if o.min is not None else "")


VERSION_FLAGS = ("--version", "-V")


class Call(NamedTuple):
    """A command line, read: help or the version asked for, or a command with its expression (its
    files, for batch), its variable bindings and its own options' values."""
    spec: Command | None = None
    arg: object = None
    bindings: dict | None = None        # None with help or the version
    options: dict | None = None
    help: bool = False
    version: bool = False


def read(argv: list[str]) -> Call:
    """The one reading of a command line (the fast path and the Typer app both come through
    split_args); a GradcliError says what does not fit."""
    from gradcli.errors import GradcliError, close_matches
    if argv and argv[0] in VERSION_FLAGS and len(argv) == 1:
        return Call(version=True)
    if not argv or argv[0] in HELP_FLAGS:
        return Call(help=True)
    name = argv[0]
    if name not in COMMANDS:
        if name.startswith("-"):
            close = close_matches(name, [*VERSION_FLAGS, *HELP_FLAGS], n=1, cutoff=0.6)
            raise GradcliError(f"unknown option {name}" + (f"; did you mean {close[0]}?" if close else ""),
                               hint=None if close else "gradcli --help lists the commands and options")
        close = close_matches(name, list(COMMANDS), n=1)
        raise GradcliError(f"unknown command '{name}'",
                           hint=f"did you mean {close[0]}?" if close else f"the commands are {', '.join(COMMANDS)}")
    spec = COMMANDS[name]
    words = argv[1:]
    before_end = words[:words.index("--")] if "--" in words else words
    if any(w in HELP_FLAGS for w in before_end):
        return Call(spec, help=True)
    own, positional, bindings = split_args(words, takes_value(spec), spec.positional_bindings, name)
    options = parse_own(spec, own)
    if spec.arg.many:
        return Call(spec, positional, bindings, options)
    if not positional:
        if options.get("file") is not None:
            return Call(spec, None, bindings, options)
        raise GradcliError(f"gradcli {name} needs an expression", hint=f"for example: {spec.examples[0]}")
    if len(positional) > 1:
        extra = positional[1]
        if extra.startswith("-") and len(extra) > 1 and not extra[1:2].isdigit():
            raise GradcliError(f"unknown option {extra}", hint=f"gradcli {name} --help lists its options")
        raise GradcliError(f"gradcli {name} takes one expression, but got {len(positional)}: "
                           + ", ".join(repr(p) for p in positional[:4]),
                           hint="quote the expression (\"a * b\"), and give values as --NAME VALUE or NAME=VALUE "
                                "(NAME=VALUE for a variable named like an option: tree=3)")
    return Call(spec, positional[0], bindings, options)
