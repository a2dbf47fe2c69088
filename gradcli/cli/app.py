"""The Typer app, built from the command specs in spec.py.

It serves the completion scripts (scripts/completions.py reads it), and runs a command line as
the fast path in main.py does, through the same split_args and commands.run: test_spec.py holds
the two to the same result. main.py never imports it (Typer's import costs more than numpy's).
"""
from __future__ import annotations

import inspect
from enum import Enum
from typing import Annotated, Optional

import typer
from typer._click import exceptions as click_exc
from typer.core import TyperCommand

from gradcli.cli import commands
from gradcli.cli.spec import COMMANDS, PROGRAM_HELP, Command, Opt, split_args, takes_value


class BindingCommand(TyperCommand):
    """A command whose variables are bound as --NAME VALUE, --NAME=VALUE or NAME=VALUE
    (see spec.split_args); bindings are left in ctx.meta["bindings"]."""
    spec: Command

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        own, positional, bindings = split_args(args, takes_value(self.spec), self.spec.positional_bindings,
                                               self.spec.name)
        ctx.meta["bindings"] = bindings
        return super().parse_args(ctx, own + ["--"] + positional)


def _option(o: Opt) -> inspect.Parameter:
    default = o.default
    if o.choices:
        annotation = Enum(o.name.title(), {c: c for c in o.choices}, type=str)
        default = annotation(o.default)
    elif o.is_flag:
        annotation = bool
    elif o.many:
        annotation, default = Optional[list[o.type]], None
    else:
        annotation = o.type if o.default is not None else Optional[o.type]
    decls = [f"{o.flags[0]}/{o.off}" if o.off else o.flags[0], *o.flags[1:]]
    info = typer.Option(*decls, help=o.help, metavar=o.metavar, min=o.min)
    return inspect.Parameter(o.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=Annotated[annotation, info])


def _argument(spec: Command) -> inspect.Parameter:
    a = spec.arg
    info = typer.Argument(metavar=a.metavar, help=a.help, show_default=False)
    if a.many:
        return inspect.Parameter(a.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None,
                                 annotation=Annotated[Optional[list[str]], info])
    if any(o.name == "file" for o in spec.options):        # --file may give it instead
        return inspect.Parameter(a.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None,
                                 annotation=Annotated[Optional[str], info])
    return inspect.Parameter(a.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Annotated[str, info])


def _command(spec: Command):
    """A Typer command function for a spec: its signature is generated from the spec."""
    def command(ctx: typer.Context, **kw):
        value = kw.pop(spec.arg.name)
        opts = {k: v.value if isinstance(v, Enum) else v for k, v in kw.items()}
        opts.update({o.name: tuple(opts[o.name] or ()) for o in spec.options if o.many})
        return commands.run(spec.name, value or [] if spec.arg.many else value, ctx.meta["bindings"], **opts)

    context = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)
    command.__signature__ = inspect.Signature([context, _argument(spec), *map(_option, spec.options)])
    command.__doc__ = spec.help
    command.__name__ = spec.name
    return command


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version
        typer.echo(f"gradcli {version('gradcli')}")
        raise typer.Exit()


app = typer.Typer(
    name="gradcli", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    help=PROGRAM_HELP)


@app.callback()
def _main(version: Annotated[Optional[bool], typer.Option(
        "--version", "-V", callback=_version, is_eager=True, help="Print the version and exit.")] = None) -> None:
    """The program's options (--version); the commands are added from the specs below."""


for _spec in COMMANDS.values():
    _cls = type(f"{_spec.name.title()}Command", (BindingCommand,), {"spec": _spec})
    app.command(_spec.name, cls=_cls, epilog=_spec.epilog, help=_spec.help)(_command(_spec))


def run(argv: list[str]) -> int:
    """Parse argv with Typer and run the command (help, usage errors and all)."""
    try:
        return typer.main.get_command(app).main(args=argv, prog_name="gradcli", standalone_mode=False) or 0
    except click_exc.UsageError as err:
        err.show()
        return commands.EXIT_USAGE
    except typer.Abort:
        raise KeyboardInterrupt from None
