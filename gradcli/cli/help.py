"""`gradcli --help` and `gradcli COMMAND --help`, written from the command specs in spec.py.

Plain text, wrapped to the terminal (at most MAX_WIDTH columns) at word boundaries, so
nothing is cut; examples are never wrapped, so they paste as they are shown.
"""
from __future__ import annotations

import os
import shutil
import sys
import textwrap

from gradcli.cli.spec import COMMANDS, PROGRAM_HELP, Command, Opt

MAX_WIDTH = 100


def width() -> int:
    if os.environ.get("COLUMNS", "").isdigit():
        return max(20, min(int(os.environ["COLUMNS"]), MAX_WIDTH))
    if sys.stdout.isatty():
        return max(20, min(shutil.get_terminal_size().columns, MAX_WIDTH))
    return 80


def _metavar(o: Opt) -> str:
    if o.is_flag:
        return ""
    if o.choices:
        return "|".join(o.choices)
    return o.metavar or {float: "NUMBER", int: "N"}.get(o.type, "TEXT")


def _spelling(o: Opt) -> str:
    """--format, -f table|json|tsv  or  --check / --no-check."""
    names = ", ".join(o.flags) + (f" / {o.off}" if o.off else "")
    meta = _metavar(o)
    return f"{names} {meta}" if meta else names


def _default(o: Opt) -> str:
    if o.default is None or o.many or (o.is_flag and not o.off):
        return ""
    if o.is_flag:
        return f" (default: {o.flags[0] if o.default else o.off})"
    return f" (default: {o.default:g})" if isinstance(o.default, float) else f" (default: {o.default})"


def _rows(rows: list[tuple[str, str]], columns: int) -> list[str]:
    """Two columns, the second wrapped; a first column too wide for its place gets a line of its own."""
    left = min(max((len(a) for a, _ in rows), default=0) + 2, max(12, columns // 3))
    out = []
    for a, b in rows:
        body = textwrap.wrap(b, max(10, columns - left - 2), break_on_hyphens=False, break_long_words=False) or [""]
        if len(a) + 2 > left:
            out.append(f"  {a}")
            out.extend(" " * (left + 2) + line for line in body)
        else:
            out.append(f"  {a.ljust(left)}{body[0]}")
            out.extend(" " * (left + 2) + line for line in body[1:])
    return out


def command_help(spec: Command, columns: int | None = None) -> str:
    columns = columns or width()
    wrap = textwrap.TextWrapper(columns - 2, initial_indent="  ", subsequent_indent="  ",
                                 break_on_hyphens=False, break_long_words=False)
    usage = textwrap.wrap(f"Usage: gradcli {spec.name} {spec.arg.metavar} [--NAME VALUE ...] [options]",
                          columns, subsequent_indent="         ", break_on_hyphens=False)
    lines = [*usage, "", *wrap.wrap(spec.help), ""]
    lines += _rows([(spec.arg.metavar, spec.arg.help)], columns) + [""]
    options = [(_spelling(o), o.help + _default(o)) for o in spec.options]
    options.append(("-h, --help", "Show this help and exit."))
    lines += ["Options:", *_rows(options, columns), ""]
    lines += ["Examples:", *(f"  {line}" if line else "" for line in spec.examples_text().splitlines())]
    return "\n".join(lines).rstrip() + "\n"


def program_help(columns: int | None = None) -> str:
    columns = columns or width()
    wrap = textwrap.TextWrapper(columns - 2, initial_indent="  ", subsequent_indent="  ",
                                 break_on_hyphens=False, break_long_words=False)
    lines = ["Usage: gradcli COMMAND [ARGS]...", "", *wrap.wrap(PROGRAM_HELP), "", "Commands:"]
    lines += _rows([(c.name, c.help) for c in COMMANDS.values()], columns)
    lines += ["", "Options:", *_rows([("-V, --version", "Print the version and exit."),
                                      ("-h, --help", "Show this help and exit.")], columns)]
    lines += ["", *wrap.wrap("Run gradcli COMMAND --help for a command's options and examples.")]
    return "\n".join(lines) + "\n"
