"""Tensor: a Node with PyTorch's surface. requires_grad, grad, grad_fn, backward(), retain_grad(),
detach(), item(), the operators, and every function of the op table as a method and a function
(x.sin() and gradcli.sin(x)), made from the table here, one loop for all.
"""
from __future__ import annotations

import warnings
from typing import Callable

import numpy as np

from gradcli.engine.backward import gradients
from gradcli.engine.format import tensor_str
from gradcli.graph import Node, apply, as_array, grad_enabled, make
from gradcli.errors import GradOutputError, ShapeError
from gradcli.ops import F, functions

NON_LEAF_GRAD = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
    "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. "
    "If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor instead.")


class Tensor(Node):
    """An array with autograd: requires_grad, grad, grad_fn, backward()."""
    __slots__ = ()
    __array_priority__ = 1000       # numpy scalars defer to Tensor's operators

    @property
    def grad(self) -> "Tensor | None":
        """The gradient backward() left here; reading it on a non-leaf that keeps none warns."""
        if self._grad is None and self.grad_fn is not None and not self._retains_grad:
            warnings.warn(NON_LEAF_GRAD, UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value: "Tensor | None") -> None:
        if value is not None and not isinstance(value, Tensor):
            raise TypeError(f"assigned grad expected to be a Tensor or None but got {type(value).__name__}")
        if value is not None and value.shape != self.shape:
            raise GradOutputError(f"assigned grad has shape {list(value.shape)}; the tensor's is {list(self.shape)}")
        self._grad = value

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def numel(self) -> int:
        return self.data.size

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's .grad after backward()."""
        if not self.requires_grad:
            raise GradOutputError("can't retain_grad on Tensor that has requires_grad=False")
        if not self.is_leaf:
            self._retains_grad = True

    def detach(self) -> "Tensor":
        """The same data, cut from the graph."""
        return Tensor(self.data)

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        if not self.is_leaf:
            raise GradOutputError("you can only change requires_grad flags of leaf variables.")
        self.requires_grad = flag
        return self

    def item(self) -> float:
        if self.data.size != 1:
            raise ShapeError(f"a Tensor with {self.data.size} elements cannot be converted to Scalar")
        return float(np.reshape(self.data, ()))

    def __float__(self) -> float:
        return self.item()

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ShapeError(f"Boolean value of Tensor with {self.data.size} elements is ambiguous")
        return bool(self.item())

    def __format__(self, spec: str) -> str:
        # As PyTorch: a 0-D tensor formats as its number (f"{a.grad}" prints 3.0), others as repr.
        return format(self.item(), spec) if self.data.ndim == 0 else format(repr(self), spec)

    def zero_(self) -> "Tensor":
        """Fill with zeros, in place (a.grad.zero_() between backward calls); returns self."""
        if self.requires_grad and (grad_enabled() or not self.is_leaf):
            raise GradOutputError("a Tensor that requires grad is being used in an in-place operation",
                                  hint="zero its gradient instead (t.grad.zero_() or t.grad = None), "
                                       "or a leaf under no_grad()")
        # A fresh array, not a write into the old one: gradients may share an array (a + b
        # passes one gradient to both), and zeroing one must leave the others be.
        self.data = np.float64(0.0) if self.data.ndim == 0 else np.zeros_like(self.data)
        return self

    def tolist(self):
        return self.data.tolist()

    def numpy(self) -> np.ndarray:
        if self.requires_grad:
            raise GradOutputError("Can't call numpy() on Tensor that requires grad. "
                                  "Use tensor.detach().numpy() instead.")
        return np.asarray(self.data)

    def backward(self, gradient=None, retain_graph: bool = False, create_graph: bool = False,
                 explain: bool = False):
        """Compute gradients of this tensor and accumulate them into leaf .grad. explain=True also
        returns the pass as a Ledger (gradcli.explain's): each node's gradient, local derivatives,
        contributions; the nodes are named t0, t1, ... in topological order."""
        if not self.requires_grad:
            raise GradOutputError("element 0 of tensors does not require grad and does not have a grad_fn")
        ledger = None
        if explain:
            from gradcli.engine.ledger import tensor_ledger
            grads, ledger = tensor_ledger(self, gradient, retain_graph=retain_graph or create_graph,
                                          create_graph=create_graph)
        else:
            grads = gradients(self, gradient, retain_graph=retain_graph or create_graph, create_graph=create_graph)
        for t, g in grads.items():
            if t.is_leaf and t._grad is not None:
                t._grad = t._grad + g if create_graph else Tensor(t._grad.data + g.data)
            else:
                t._grad = g
        return ledger

    def __repr__(self) -> str:
        suffixes = [f"size={tuple(self.shape)}"] if self.data.size == 0 and self.data.ndim != 1 else []
        if self.grad_fn is not None:
            suffixes.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self.requires_grad:
            suffixes.append("requires_grad=True")
        return tensor_str(np.asarray(self.data), "tensor(", suffixes)

    def __len__(self) -> int:
        return len(self.data)

    # -- operators: each applies a row of the op table ------------------------
    def __add__(self, o): return F.add(self, o)
    def __radd__(self, o): return F.add(o, self)
    def __sub__(self, o): return F.sub(self, o)
    def __rsub__(self, o): return F.sub(o, self)
    def __mul__(self, o): return F.mul(self, o)
    def __rmul__(self, o): return F.mul(o, self)
    def __truediv__(self, o): return F.div(self, o)
    def __rtruediv__(self, o): return F.div(o, self)
    def __pow__(self, o): return F.pow(self, o)
    def __rpow__(self, o): return F.pow(o, self)
    def __matmul__(self, o): return F.matmul(self, o)
    def __rmatmul__(self, o): return F.matmul(o, self)
    def __neg__(self): return F.neg(self)
    def __abs__(self): return F.abs(self)
    def __pos__(self): return self

    def __getitem__(self, index):
        return F.index(self, index=index if isinstance(index, tuple) else (index,))

    @property
    def T(self) -> "Tensor":
        return F.transpose(self)

    def t(self) -> "Tensor":
        """The transpose of a matrix (a vector or a number as it is), like torch's t()."""
        if self.data.ndim > 2:
            raise ShapeError(f"t() expects a tensor with <= 2 dimensions, but this one has {self.data.ndim}",
                             hint="use .T (every axis reversed) for more dimensions")
        return F.transpose(self)

    # Comparisons give 1.0/0.0 and carry no gradient (PyTorch gives bools; gradcli's tensors
    # are all float64). Tensors stay hashable by identity: the engine keys dicts by them.
    __hash__ = object.__hash__

    def __eq__(self, o): return _compare(np.equal, self, o)
    def __ne__(self, o): return _compare(np.not_equal, self, o)
    def __lt__(self, o): return _compare(np.less, self, o)
    def __le__(self, o): return _compare(np.less_equal, self, o)
    def __gt__(self, o): return _compare(np.greater, self, o)
    def __ge__(self, o): return _compare(np.greater_equal, self, o)


def _compare(ufunc, a: Tensor, b) -> Tensor:
    if not isinstance(b, (Node, np.ndarray, int, float, np.number)):
        return NotImplemented           # t == None is False, as for any object
    return make(Tensor, ufunc(a.data, as_array(b)).astype(np.float64))


def function(name: str, rows) -> Callable:
    """gradcli.<name> and Tensor.<name>: the row of that name taking as many inputs as the call
    gives (max(x) reduces, max(x, y) is elementwise, as torch.max); always returns a Tensor."""
    by_arity = {op.arity: op for op in rows}

    def call(*xs, **attrs):
        op = by_arity.get(len(xs), by_arity.get(None))       # None: a row of any number (concat, stack)
        if op is None:
            counts = " or ".join(map(str, sorted(n for n in by_arity if n is not None)))
            raise TypeError(f"{name}() takes {counts} tensor argument{'s' * (counts != '1')} ({len(xs)} given)")
        return apply(op, *(x if isinstance(x, Node) else tensor(x) for x in xs[:1]), *xs[1:], **attrs)
    call.__name__ = call.__qualname__ = name
    call.__doc__ = " / ".join(f"{name}({'x, ...' if op.arity is None else ', '.join('xyz'[:op.arity])}): "
                              f"op {op.key!r}, backward {op.grad_fn}" for op in sorted(rows, key=lambda op: op.arity or 0))
    return call


# Every function of the expression language is also gradcli.<name>(x, ...) and x.<name>(...)
# (x.sin(), x.max() and x.max(y)); a name the Tensor class defines itself wins.
FUNCTIONS: dict[str, Callable] = {name: function(name, rows) for name, rows in functions().items()}
for _name, _fn in FUNCTIONS.items():
    if _name not in vars(Tensor):
        setattr(Tensor, _name, _fn)


def tensor(data, requires_grad: bool = False) -> Tensor:
    """A new leaf tensor (float64), like torch.tensor."""
    return Tensor(data.data if isinstance(data, Node) else data, requires_grad=requires_grad)


def _shape(size) -> tuple:
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)


def ones(*size, requires_grad: bool = False) -> Tensor:
    """A leaf of ones, like torch.ones(2, 3) or torch.ones((2, 3))."""
    return Tensor(np.ones(_shape(size)), requires_grad=requires_grad)


def zeros(*size, requires_grad: bool = False) -> Tensor:
    """A leaf of zeros, like torch.zeros."""
    return Tensor(np.zeros(_shape(size)), requires_grad=requires_grad)


def ones_like(t, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones_like(as_array(t)), requires_grad=requires_grad)


def zeros_like(t, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros_like(as_array(t)), requires_grad=requires_grad)


def eye(n: int, m: int | None = None, requires_grad: bool = False) -> Tensor:
    """The identity matrix, like torch.eye."""
    return Tensor(np.eye(n, m), requires_grad=requires_grad)
