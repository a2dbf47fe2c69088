"""Entry point: `gradcli ...` and `python -m gradcli ...`.

The command line is read once with the command specs (spec.read): help, the version, or a
command with its expression or files, variable bindings and options. Errors become messages
and exit codes here, and only here. (The Typer app in app.py reads the same specs with the
same function; it serves the completion scripts.)
"""
from __future__ import annotations

import errno
import os
import signal
import sys

from gradcli.cli import interrupts
from gradcli.cli.interrupts import EXIT_INTERRUPT, EXIT_TERMINATED, Terminated

EXIT_OK, EXIT_OUTPUT, EXIT_USAGE, EXIT_BUG = 0, 1, 2, 70


def dispatch(argv: list[str]) -> int:
    """Run the command line: help, the version, or a command."""
    from gradcli.cli.commands import run
    from gradcli.cli.io import emit
    from gradcli.cli.spec import read

    call = read(argv)
    if call.help:
        from gradcli.cli.help import command_help, program_help
        emit(command_help(call.spec) if call.spec else program_help())
        return EXIT_OK
    if call.version:
        from importlib.metadata import version
        emit(f"gradcli {version('gradcli')}\n")
        return EXIT_OK
    return run(call.spec.name, call.arg, call.bindings, **call.options)


def main(argv: list[str] | None = None) -> None:
    """Run gradcli; turn errors into messages and exit codes."""
    interrupts.install()                # first: a Ctrl-C from here on is a clean stop
    program = argv is None              # the process itself, not a caller in Python
    argv = list(sys.argv[1:] if program else argv)
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
    if program and code == EXIT_INTERRUPT:
        # Python's own exit can still turn a Ctrl-C handled here into death by SIGINT (under
        # python -m, when the signal landed inside numpy's import): leave now, with the code.
        interrupts.leave(code)
    sys.exit(code)


def _run(argv: list[str], GradcliError) -> int:
    from gradcli.cli.io import OutputError, silence_stdout
    if sys.stderr is None:              # stderr closed (2>&-): diagnostics go nowhere, results still out
        sys.stderr = open(os.devnull, "w")
    try:
        code = dispatch(argv)
    except GradcliError as err:
        sys.stderr.write(err.render() + "\n")
        code = EXIT_USAGE
    except OutputError as err:
        sys.stderr.write(f"error: {err}\n")
        silence_stdout()                # what could not be written is dropped, not retried at exit
        return EXIT_OUTPUT
    except BrokenPipeError:
        silence_stdout()
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
        silence_stdout()
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"error: cannot write to standard output: {getattr(exc, 'strerror', None) or exc}\n")
        silence_stdout()
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
