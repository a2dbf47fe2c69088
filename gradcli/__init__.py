"""gradcli: a gradient calculator. Parse an expression, compute its value and
every gradient with a reverse-mode autograd engine, check them against SymPy.

    >>> import gradcli
    >>> gradcli.evaluate("a*b + c", {"a": 2, "b": 3, "c": 4}).grad
    {'a': 3.0, 'b': 2.0, 'c': 1.0}

The names below are imported when first used, so that `gradcli` on the command line can
set itself up (its Ctrl-C handling first of all) before numpy is imported.
"""
from importlib import import_module
from importlib.util import find_spec

_PUBLIC = {
    "parse": "gradcli.lang.parser", "evaluate": "gradcli.evaluation", "Result": "gradcli.evaluation",
    "tensor": "gradcli.engine.tensor", "Tensor": "gradcli.engine.tensor", "ones": "gradcli.engine.tensor",
    "zeros": "gradcli.engine.tensor", "ones_like": "gradcli.engine.tensor", "zeros_like": "gradcli.engine.tensor",
    "eye": "gradcli.engine.tensor", "no_grad": "gradcli.graph", "grad": "gradcli.engine.backward",
    "GradcliError": "gradcli.errors", "ParseError": "gradcli.errors", "BindError": "gradcli.errors",
    "ShapeError": "gradcli.errors", "GradOutputError": "gradcli.errors",
    "explain": "gradcli.ledger", "Ledger": "gradcli.ledger",
}

__all__ = ["parse", "evaluate", "explain", "Ledger", "tensor", "Tensor", "no_grad", "grad", "Result",
           "ones", "zeros", "ones_like", "zeros_like", "eye",
           "GradcliError", "ParseError", "BindError", "ShapeError", "GradOutputError"]


def __getattr__(name: str):
    if name in _PUBLIC:
        value = getattr(import_module(_PUBLIC[name]), name)
    elif name == "__version__":
        from importlib.metadata import version
        value = version("gradcli")
    elif find_spec(f"{__name__}.{name}") is not None:
        raise AttributeError(name)      # a submodule (from gradcli import render): the import system loads it
    else:
        functions = import_module("gradcli.engine.tensor").FUNCTIONS   # gradcli.sin(x), gradcli.max(x, y), ...
        if name not in functions:
            raise AttributeError(f"module 'gradcli' has no attribute {name!r}")
        value = functions[name]
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_PUBLIC) | set(import_module("gradcli.engine.tensor").FUNCTIONS))
