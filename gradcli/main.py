"""Entry point: `gradcli ...` and `python -m gradcli ...`.

The command line is read with the command specs (options.py): help, the version, a
command with its expression or files, variable bindings and options. Errors become
messages and exit codes here, and only here. (The Typer app in cli.py reads the same
specs; it serves the completion scripts.)
"""
from __future__ import annotations

import errno
import os
import signal
import sys

from gradcli import interrupts
from gradcli.interrupts import EXIT_INTERRUPT, EXIT_TERMINATED, Terminated

EXIT_OK, EXIT_OUTPUT, EXIT_USAGE, EXIT_BUG = 0, 1, 2, 70

VERSION_FLAGS = ("--version", "-V")


def dispatch(argv: list[str]) -> int:
    """Run the command line: help, version, or a command."""
    from gradcli.commands import emit, run
    from gradcli.errors import GradcliError, close_matches
    from gradcli.options import COMMANDS, HELP_FLAGS, parse_own, split_args, takes_value

    if argv and argv[0] in VERSION_FLAGS and len(argv) == 1:
        from importlib.metadata import version
        emit(f"gradcli {version('gradcli')}\n")
        return EXIT_OK
    if not argv or argv[0] in HELP_FLAGS:
        from gradcli.help import program_help
        emit(program_help())
        return EXIT_OK
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
        from gradcli.help import command_help
        emit(command_help(spec))
        return EXIT_OK
    own, positional, bindings = split_args(words, takes_value(spec), spec.positional_bindings, name)
    options = parse_own(spec, own)
    if spec.arg.many:
        return run(name, positional, bindings, **options)
    if not positional:
        raise GradcliError(f"gradcli {name} needs an expression", hint=f"for example: {spec.examples[0]}")
    if len(positional) > 1:
        extra = positional[1]
        if extra.startswith("-") and len(extra) > 1 and not extra[1:2].isdigit():
            raise GradcliError(f"unknown option {extra}", hint=f"gradcli {name} --help lists its options")
        raise GradcliError(f"gradcli {name} takes one expression, but got {len(positional)}: "
                           + ", ".join(repr(p) for p in positional[:4]),
                           hint="quote the expression (\"a * b\"), and give values as --NAME VALUE or NAME=VALUE "
                                "(NAME=VALUE for a variable named like an option: tree=3)")
    return run(name, positional[0], bindings, **options)


def main(argv: list[str] | None = None) -> None:
    """Run gradcli; turn errors into messages and exit codes."""
    interrupts.install()                # first: a Ctrl-C from here on is a clean stop
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["batch"]:
        interrupts.report.update(done=lambda: 0, what="job")     # stopped before the first job
    code = EXIT_OK
    try:
        from gradcli.errors import GradcliError
        code = _run(argv, GradcliError)
    except KeyboardInterrupt:
        code = _stopped(EXIT_INTERRUPT, "interrupted")
    except Terminated:
        code = _stopped(EXIT_TERMINATED, None)
    interrupts.exit_quietly(code)
    sys.exit(code)


def _run(argv: list[str], GradcliError) -> int:
    from gradcli.commands import OutputError, _silence_stdout
    if sys.stderr is None:              # stderr closed (2>&-): diagnostics go nowhere, results still out
        sys.stderr = open(os.devnull, "w")
    try:
        code = dispatch(argv)
    except GradcliError as err:
        sys.stderr.write(err.render() + "\n")
        code = EXIT_USAGE
    except OutputError as err:
        sys.stderr.write(f"error: {err}\n")
        _silence_stdout()                # what could not be written is dropped, not retried at exit
        return EXIT_OUTPUT
    except BrokenPipeError:
        _silence_stdout()
        code = EXIT_OK
    except RecursionError:
        sys.stderr.write("error: the expression is too deeply nested to process\n")
        code = EXIT_USAGE
    except Exception as exc:  # a bug in gradcli: say so plainly, no traceback unless asked
        if interrupts.received() is not None:   # a signal's exception, turned into another by a library
            raise (KeyboardInterrupt() if interrupts.received() == signal.SIGINT else Terminated()) from None
        if isinstance(exc, OSError) and exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.EAGAIN):
            # the system refused a resource: too many open files, no memory, no process
            sys.stderr.write(f"error: {exc.strerror}; gradcli could not go on "
                             "(for open files, raise the limit: ulimit -n)\n")
            return EXIT_USAGE
        if os.environ.get("GRADCLI_DEBUG"):
            raise
        sys.stderr.write(f"internal error (a bug in gradcli): {type(exc).__name__}: {exc}\n"
                         "set GRADCLI_DEBUG=1 to see the traceback\n")
        code = EXIT_BUG
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"error: cannot write to standard output: {getattr(exc, 'strerror', None) or exc}\n")
        _silence_stdout()
        return EXIT_OUTPUT
    return code


def _stopped(code: int, plain: str | None) -> int:
    """A signal stopped the run: say how far it got (or that it was interrupted)."""
    message = interrupts.stopped_message() or plain
    if message:
        try:
            sys.stderr.write(message + "\n")
            sys.stderr.flush()
        except (OSError, ValueError, AttributeError):
            pass
    return code
