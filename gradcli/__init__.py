"""gradcli: a gradient calculator. Parse an expression, compute its value and
every gradient with a reverse-mode autograd engine, check them against SymPy.

    >>> import gradcli
    >>> gradcli.evaluate("a*b + c", {"a": 2, "b": 3, "c": 4}).grad
    {'a': 3.0, 'b': 2.0, 'c': 1.0}
"""
from gradcli import ops as _ops    # fills the engine's op namespace and the Tensor methods
from gradcli.engine import Tensor, grad, no_grad, tensor
from gradcli.errors import BindError, GradcliError, GradOutputError, ParseError, ShapeError
from gradcli.evaluate import Result, evaluate
from gradcli.parser import parse

globals().update(_ops.TENSOR_FUNCTIONS)   # gradcli.sin(x), gradcli.max(x, y), ...: one per op-table name

__all__ = ["parse", "evaluate", "tensor", "Tensor", "no_grad", "grad", "Result",
           "GradcliError", "ParseError", "BindError", "ShapeError", "GradOutputError"]


def __getattr__(name: str):
    if name == "__version__":
        from importlib.metadata import version
        return version("gradcli")
    raise AttributeError(f"module 'gradcli' has no attribute {name!r}")
