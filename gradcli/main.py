"""Entry point: `gradcli ...` and `python -m gradcli ...`.

A command line made of a command, its expression or files, variable bindings
and well-formed options runs straight away (the fast path: no Typer import);
anything else (help, a usage error) goes through the Typer app. Errors become
messages and exit codes here, and only here.
"""
from __future__ import annotations

import os
import sys

from gradcli.commands import (EXIT_BUG, EXIT_INTERRUPT, EXIT_OK, EXIT_TERMINATED, EXIT_USAGE, RUN,
                              Terminated, _silence_stdout)
from gradcli.errors import GradcliError
from gradcli.options import COMMANDS, HELP_FLAGS, UsageProblem, parse_own, split_args, takes_value


def fast(argv: list[str]) -> int | None:
    """Run the command if argv is plain enough to need no Typer; None otherwise."""
    if argv == ["--version"]:
        from importlib.metadata import version
        sys.stdout.write(f"gradcli {version('gradcli')}\n")
        return EXIT_OK
    if not argv or argv[0] not in COMMANDS or any(w in HELP_FLAGS for w in argv[1:]):
        return None
    spec = COMMANDS[argv[0]]
    try:
        own, positional, bindings = split_args(argv[1:], takes_value(spec), spec.positional_bindings)
    except UsageProblem:
        return None
    options = parse_own(spec, own)
    if options is None or (not spec.arg.many and len(positional) != 1):
        return None
    return RUN[spec.name](positional if spec.arg.many else positional[0], bindings, **options)


def main(argv: list[str] | None = None) -> None:
    """Run gradcli; turn errors into messages and exit codes."""
    argv = list(sys.argv[1:] if argv is None else argv)
    code = EXIT_OK
    try:
        code = fast(argv)
        if code is None:
            from gradcli import cli
            code = cli.run(argv)
    except GradcliError as err:
        sys.stderr.write(err.render() + "\n")
        code = EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        code = EXIT_INTERRUPT
    except Terminated:
        code = EXIT_TERMINATED
    except BrokenPipeError:
        _silence_stdout()
        code = EXIT_OK
    except RecursionError:
        sys.stderr.write("error: the expression is too deeply nested to process\n")
        code = EXIT_USAGE
    except Exception as exc:  # a bug in gradcli: say so plainly, no traceback unless asked
        if os.environ.get("GRADCLI_DEBUG"):
            raise
        sys.stderr.write(f"internal error (a bug in gradcli): {type(exc).__name__}: {exc}\n"
                         "set GRADCLI_DEBUG=1 to see the traceback\n")
        code = EXIT_BUG
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    sys.exit(code)
