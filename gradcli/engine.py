"""The autograd engine: a PyTorch-like Tensor on numpy, and reverse mode.

A Tensor made by an op whose inputs require grad records a `Function` (its
`grad_fn`): the op-table row, the input tensors and static attrs. The graph is
a DAG of tensors; `gradients()` walks it in reverse topological order with an
explicit stack and returns a fresh dict tensor -> gradient. `Tensor.backward()`
writes leaf `.grad` (accumulating, as PyTorch does) and retained non-leaf grads
from that dict. The engine knows ops only through the rows it is handed; the
Tensor methods named after the table's functions (x.sin(), x.max(y)) are made
by `function()` and attached by gradcli.ops, one per name.
"""
from __future__ import annotations

import contextlib
import gc
import math
import warnings
from typing import Callable

import numpy as np

from gradcli.errors import GradOutputError, ShapeError

_state = {"grad_enabled": True}


class no_grad(contextlib.ContextDecorator):
    """Context manager (or decorator) under which no op is recorded."""

    def __enter__(self):
        self.prev = _state["grad_enabled"]
        _state["grad_enabled"] = False
        return self

    def __exit__(self, *exc):
        _state["grad_enabled"] = self.prev
        return False


class enable_grad(no_grad):
    """Context manager under which ops are recorded (used for create_graph)."""

    def __enter__(self):
        self.prev = _state["grad_enabled"]
        _state["grad_enabled"] = True
        return self


def is_grad_enabled() -> bool:
    return _state["grad_enabled"]


@contextlib.contextmanager
def paused_gc():
    """Pause the cyclic garbage collector: graphs hold no cycles (an output points to its
    inputs, never back), so refcounting frees them, and the collector's repeated scans of a
    growing graph would make building and walking it quadratic."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def quiet():
    """IEEE results (inf, nan) without numpy's warnings (free after silence_numpy())."""
    return contextlib.nullcontext() if _state.get("silenced") else np.errstate(all="ignore")


def silence_numpy() -> None:
    """Turn numpy's floating-point warnings off for this process, for good (the CLI reports
    non-finite values itself); quiet() is then free."""
    np.seterr(all="ignore")
    _state["silenced"] = True


class AccumulateGrad:
    """The node that writes a leaf's .grad; what next_functions shows for a leaf."""
    __slots__ = ("variable",)

    def __init__(self, variable: "Tensor"):
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    next_functions = ()

    def __repr__(self) -> str:
        return "<AccumulateGrad>"


class Function:
    """A recorded op application: the backward node of a non-leaf tensor."""
    __slots__ = ("op", "inputs", "attrs", "freed")

    def __init__(self, op, inputs: tuple["Tensor", ...], attrs: dict):
        self.op = op
        self.inputs = inputs
        self.attrs = attrs
        self.freed = False

    def name(self) -> str:
        return self.op.grad_fn

    @property
    def next_functions(self) -> tuple:
        """(node, 0) per input: its grad_fn, AccumulateGrad for a leaf, None if no grad flows."""
        out = []
        for x in self.inputs:
            if x.grad_fn is not None:
                out.append((x.grad_fn, 0))
            elif x.requires_grad:
                out.append((AccumulateGrad(x), 0))
            else:
                out.append((None, 0))
        return tuple(out)

    def __repr__(self) -> str:
        return f"<{self.name()}>"


def _as_array(data) -> np.ndarray:
    if isinstance(data, Tensor):
        return data.data
    if isinstance(data, np.ndarray) and data.dtype == np.float64:
        return data
    if isinstance(data, (float, int)) and not isinstance(data, bool):
        return np.float64(data)
    arr = np.asarray(data, dtype=np.float64)
    return arr[()] if arr.ndim == 0 else arr


NON_LEAF_GRAD = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
    "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. "
    "If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor instead.")


class Tensor:
    """An array with autograd: requires_grad, grad, grad_fn, backward()."""
    # gradcli's own code reads and writes the `_grad` slot: the `grad` property (which warns,
    # as PyTorch does) is for users, and stays out of the hot loops.
    __slots__ = ("data", "requires_grad", "_grad", "grad_fn", "_retains_grad", "__weakref__")
    __array_priority__ = 1000       # numpy scalars defer to Tensor's operators

    def __init__(self, data, requires_grad: bool = False, grad_fn: Function | None = None):
        self.data = _as_array(data)
        self.requires_grad = requires_grad
        self._grad: Tensor | None = None
        self.grad_fn = grad_fn
        self._retains_grad = False

    # -- PyTorch-like surface -------------------------------------------------
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
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

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
        if self.requires_grad and (is_grad_enabled() or not self.is_leaf):
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

    def backward(self, gradient=None, retain_graph: bool = False, create_graph: bool = False) -> None:
        """Compute gradients of this tensor and accumulate them into leaf .grad."""
        if not self.requires_grad:
            raise GradOutputError("element 0 of tensors does not require grad and does not have a grad_fn")
        grads = gradients(self, gradient, retain_graph=retain_graph or create_graph,
                          create_graph=create_graph, keep=_kept)
        for t, g in grads.items():
            if t.is_leaf and t._grad is not None:
                t._grad = t._grad + g if create_graph else Tensor(t._grad.data + g.data)
            else:
                t._grad = g

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


# -- repr: PyTorch's layout (torch/_tensor_str.py) ------------------------------
LINE_WIDTH, THRESHOLD, EDGE = 80, 1000, 3     # more than THRESHOLD numbers: EDGE at each end


class _Numbers:
    """One format for every number of a tensor, as PyTorch chooses it: whole numbers as `3.`,
    others with 4 decimals, scientific when the magnitudes span more than 1000x or leave
    [1e-4, 1e8]; right-aligned to the widest (zeros, inf and nan do not take part)."""

    def __init__(self, shown: np.ndarray):
        vals = shown[np.isfinite(shown) & (shown != 0)]
        self.style, self.width = ".0f", 1
        if vals.size:
            big, small = np.max(np.abs(vals)), np.min(np.abs(vals))
            whole = bool(np.all(vals == np.ceil(vals)))
            if big / 1000 > small or big > 1e8 or (not whole and small < 1e-4):   # big/small overflows
                self.style = ".4e"
            elif not whole:
                self.style = ".4f"
            self.width = max(len(self.text(v)) for v in vals.tolist())

    def text(self, v: float) -> str:
        out = format(v, self.style)
        return out + "." if self.style == ".0f" and math.isfinite(v) else out

    def __call__(self, v: float) -> str:
        return self.text(v).rjust(self.width)


def _shown(a: np.ndarray, summarize: bool) -> np.ndarray:
    """The numbers a repr shows, flat: all, or when summarizing the first and last EDGE of each axis."""
    if not summarize or a.ndim == 0:
        return np.ravel(a)
    if a.shape[0] > 2 * EDGE:
        a = np.concatenate((a[:EDGE], a[-EDGE:]))
    return np.concatenate([_shown(row, True) for row in a]) if a.ndim > 1 else a


def _nested(a: np.ndarray, indent: int, fmt: _Numbers, summarize: bool) -> str:
    """Rows aligned under the first: each level of nesting indents one more column; a vector
    wraps at LINE_WIDTH; blocks of a 3-D (or more) tensor are parted by blank lines."""
    if a.ndim == 0:
        return fmt(float(a))
    def each(part):
        return [fmt(v) for v in part.tolist()] if a.ndim == 1 else \
            [_nested(row, indent + 1, fmt, summarize) for row in part]
    cut = summarize and a.shape[0] > 2 * EDGE
    parts = each(a[:EDGE]) + [" ..." if a.ndim == 1 else "..."] + each(a[-EDGE:]) if cut else each(a)
    if a.ndim > 1:
        return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(parts) + "]"
    per_line = max(1, (LINE_WIDTH - indent) // (fmt.width + 2))
    lines = [", ".join(parts[i:i + per_line]) for i in range(0, len(parts), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def tensor_str(a: np.ndarray, prefix: str, suffixes: list[str]) -> str:
    """prefix + the numbers + ", suffix" each (on a line of its own if it would pass LINE_WIDTH) + ")"."""
    indent = len(prefix)
    if a.size == 0:
        out = prefix + "[]"
    else:
        summarize = a.size > THRESHOLD
        out = prefix + _nested(a, indent, _Numbers(_shown(a, summarize)), summarize)
    last = len(out) - out.rfind("\n") + 1        # the last line's length + 2, as PyTorch counts it
    for suffix in suffixes:
        if last + len(suffix) + 2 > LINE_WIDTH:
            out += ",\n" + " " * indent + suffix
            last = indent + len(suffix)
        else:
            out += ", " + suffix
            last += len(suffix) + 2
    return out + ")"


def _compare(ufunc, a: Tensor, b) -> Tensor:
    if not isinstance(b, (Tensor, np.ndarray, int, float, np.number)):
        return NotImplemented           # t == None is False, as for any object
    return _wrap(ufunc(a.data, _as_array(b)).astype(np.float64))


def _kept(t: "Tensor") -> bool:
    return t.is_leaf or t._retains_grad


def tensor(data, requires_grad: bool = False) -> Tensor:
    """A new leaf tensor (float64), like torch.tensor."""
    return Tensor(data.data if isinstance(data, Tensor) else data, requires_grad=requires_grad)


def _shape(size) -> tuple:
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)


def ones(*size, requires_grad: bool = False) -> Tensor:
    """A leaf of ones, like torch.ones(2, 3) or torch.ones((2, 3))."""
    return Tensor(np.ones(_shape(size)), requires_grad=requires_grad)


def zeros(*size, requires_grad: bool = False) -> Tensor:
    """A leaf of zeros, like torch.zeros."""
    return Tensor(np.zeros(_shape(size)), requires_grad=requires_grad)


def ones_like(t, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones_like(_as_array(t)), requires_grad=requires_grad)


def zeros_like(t, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros_like(_as_array(t)), requires_grad=requires_grad)


def eye(n: int, m: int | None = None, requires_grad: bool = False) -> Tensor:
    """The identity matrix, like torch.eye."""
    return Tensor(np.eye(n, m), requires_grad=requires_grad)


def _wrap(data, requires_grad: bool = False, grad_fn=None) -> Tensor:
    """A Tensor around an op's output (already float64), without Tensor()'s conversions."""
    t = Tensor.__new__(Tensor)
    t.data = data if type(data) in (np.ndarray, np.float64) else _as_array(data)
    t.requires_grad = requires_grad
    t._grad = None
    t.grad_fn = grad_fn
    t._retains_grad = False
    return t


def apply(op, *inputs, **attrs) -> Tensor:
    """Run an op-table row forward on tensors, recording it if any input needs grad."""
    xs = tuple(x if type(x) is Tensor else Tensor(x) for x in inputs)
    data = op.forward(*[x.data for x in xs], **attrs)
    if _state["grad_enabled"]:
        for x in xs:
            if x.requires_grad:
                return _wrap(data, True, Function(op, xs, attrs))
    return _wrap(data)


def dispatcher(op):
    """F.<op>: records on tensors; on plain arrays and numbers it is the numpy forward alone."""
    forward = op.forward

    def call(*xs, **attrs):
        for x in xs:
            if type(x) is Tensor:
                return apply(op, *xs, **attrs)
        return forward(*xs, **attrs)
    call.__name__ = op.key
    return call


def function(name: str, rows) -> Callable:
    """gradcli.<name> and Tensor.<name>: the row of that name taking as many inputs as the call
    gives (max(x) reduces, max(x, y) is elementwise, as torch.max); always returns a Tensor."""
    by_arity = {op.arity: op for op in rows}

    def call(*xs, **attrs):
        op = by_arity.get(len(xs))
        if op is None:
            counts = " or ".join(map(str, sorted(by_arity)))
            raise TypeError(f"{name}() takes {counts} tensor argument{'s' * (counts != '1')} ({len(xs)} given)")
        return apply(op, *xs, **attrs)
    call.__name__ = call.__qualname__ = name
    call.__doc__ = " / ".join(f"{name}({', '.join('xyz'[:op.arity])}): op {op.key!r}, backward {op.grad_fn}"
                              for op in sorted(rows, key=lambda op: op.arity))
    return call


def topological(root: Tensor) -> list[Tensor]:
    """Tensors that require grad and reach root, inputs before outputs (iterative DFS).

    A tensor is appended once all of its inputs are: it is marked when first
    expanded, not when pushed, so one reached by several paths waits for all.
    """
    order: list[Tensor] = []
    expanded: set[int] = set()
    stack = [(root, False)]
    while stack:
        t, done = stack.pop()
        if done:
            order.append(t)
            continue
        if id(t) in expanded:
            continue
        expanded.add(id(t))
        stack.append((t, True))
        if t.grad_fn is not None:
            for x in t.grad_fn.inputs:
                if x.requires_grad and id(x) not in expanded:
                    stack.append((x, False))
    return order


def _seed(root: Tensor, gradient) -> Tensor:
    if gradient is None:
        if root.data.size != 1:
            raise GradOutputError("grad can be implicitly created only for scalar outputs",
                                  hint="pass a gradient of the output's shape: y.backward(grad_output)")
        return _wrap(np.float64(1.0) if root.data.ndim == 0 else np.ones_like(root.data))
    g = gradient if isinstance(gradient, Tensor) else Tensor(gradient)
    if g.shape != root.shape:
        raise GradOutputError(f"Mismatch in shape: grad_output has a shape of {list(g.shape)} "
                              f"and output has a shape of {list(root.shape)}")
    return g


def input_grad(op, i: int, g, ans, inputs, attrs: dict, shape: tuple):
    """The gradient flowing to input i of one op: its VJP rule, summed back to the input's shape."""
    gi = op.vjp(i, g, ans, inputs, attrs)
    return gi if getattr(gi, "shape", ()) == shape else F.sum_to(gi, shape=shape)


def gradients(root: Tensor, gradient=None, *, retain_graph: bool = False, create_graph: bool = False,
              keep=_kept, order: list[Tensor] | None = None) -> dict[Tensor, Tensor]:
    """Reverse-mode pass: {tensor: d(root·gradient)/d tensor} for every tensor keep() accepts.

    Pure: writes no .grad. Walks the graph in reverse topological order; a
    gradient reaching a tensor by several paths is summed; a non-kept tensor's
    gradient is dropped as soon as it has been passed on to its inputs.

    The VJP rules run on tensors when create_graph is set, so the gradient is
    itself a graph; otherwise they run on the plain arrays (F.<op> is then just
    numpy), which is the same arithmetic without the bookkeeping.
    """
    order = topological(root) if order is None else order      # a caller may know it already
    seed = _seed(root, gradient)
    record = bool(create_graph)
    pending: dict[Tensor, object] = {root: seed if record else seed.data}
    result: dict[Tensor, Tensor] = {}
    with (enable_grad() if record else no_grad()), quiet():
        for t in reversed(order):
            g = pending.pop(t, None)
            if g is None:
                continue
            if (t.grad_fn is None or t._retains_grad) if keep is _kept else keep(t):
                result[t] = g if record else _wrap(g)
            fn = t.grad_fn
            if fn is None:
                continue
            if fn.freed:
                raise GradOutputError(
                    "Trying to backward through the graph a second time (or directly access saved "
                    "tensors after they have already been freed). Specify retain_graph=True if you "
                    "need to backward through the graph a second time.")
            inputs = fn.inputs if record else tuple([x.data for x in fn.inputs])
            ans = t if record else t.data
            for i, x in enumerate(fn.inputs):
                if not x.requires_grad:
                    continue
                gi = input_grad(fn.op, i, g, ans, inputs, fn.attrs, x.data.shape)
                prev = pending.get(x)
                pending[x] = gi if prev is None else prev + gi
            if not retain_graph:
                fn.freed = True
    return result


def grad(outputs: Tensor, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False) -> tuple[Tensor, ...]:
    """Functional gradient, like torch.autograd.grad: d outputs / d each input."""
    single = isinstance(inputs, Tensor)
    inputs = (inputs,) if single else tuple(inputs)
    wanted = {id(x) for x in inputs}
    grads = gradients(outputs, grad_outputs, create_graph=create_graph,
                      retain_graph=create_graph if retain_graph is None else retain_graph,
                      keep=lambda t: id(t) in wanted)
    return tuple(grads.get(x, Tensor(np.zeros_like(x.data))) for x in inputs)


class _Ops:
    """F.name(*tensors, **attrs) applies the op-table row `name`; filled by gradcli.ops."""


F = _Ops()


from gradcli import ops as _ops  # noqa: E402,F401  (fills F and the Tensor methods from the op table)
