"""The Pratt parser: tokens -> Expr. Binding powers and function names come from the op table."""
from __future__ import annotations

import bisect
import itertools
import re
import sys

import numpy as np

from gradcli.errors import ParseError, Span, close_matches, position
from gradcli.lang.expr import Builder, Expr, paused_gc
from gradcli.lang.lexer import NEWLINE, Token, tokenize
from gradcli.ops import CONST, CONSTANTS, NUM, OPS, TABLE, VAR, Infix, Postfix, Prefix, functions
from gradcli.ops.numeric import Slice
from gradcli.ops.schema import AXIS, FLAG, INTEGER, NUMBER_KW, SHAPE

MAX_DEPTH = 1000          # nesting levels: parentheses, brackets, calls, right-associative ^ chains
MAX_LENGTH = 2_000_000    # characters in one expression
MAX_NODES = 200_000       # nodes a program's calls may make by inlining its functions' bodies
DISPLAY = 240             # characters of a body a call's node shows with its arguments (then …)
SEPARATORS = frozenset({";", NEWLINE})      # between a program's statements


def _operator_tables():
    infix, prefix, postfix = {}, {}, {}
    for op in TABLE:
        for form in op.forms:
            if isinstance(form, Infix):
                # left-associative: (bp, bp+1); right-associative: (bp+1, bp)
                infix[form.token] = (op, (form.bp + 1, form.bp) if form.right else (form.bp, form.bp + 1))
            elif isinstance(form, Prefix):
                prefix[form.token] = (op, form.bp)
            elif isinstance(form, Postfix):
                postfix[form.token] = (op, form.bp)
    return infix, prefix, postfix


INFIX, PREFIX, POSTFIX = _operator_tables()
KEYWORDS = {k for op in TABLE for k in (op.keywords or ())}      # axis, keepdims, ddof, slope, ...
# Comparisons do not chain; the parser knows them by their binding power, 0, theirs alone.
assert all((form.bp == 0) == (not form.chains) for op in TABLE for form in op.forms if isinstance(form, Infix))
FUNCTIONS = {name: sorted(rows, key=lambda op: not op.statics)    # a row taking literals first
             for name, rows in functions().items()}


def _describe(tok: Token) -> str:
    if tok.text == NEWLINE:
        return "the end of the line"
    return "the end of the input" if tok.kind == "end" else repr(tok.text)


def _ends(tok: Token) -> bool:
    """Whether a token ends a statement: ';', a new line, or the end of the input."""
    return tok.kind == "end" or (tok.kind == "op" and tok.text in SEPARATORS)


class Definition:
    """A function a program defines, f(x, y) = body: inlined at each call."""
    __slots__ = ("name", "params", "start", "span", "scope", "text")

    def __init__(self, name: str, params: list, start: int, span: Span, scope: dict, text: str):
        self.name = name
        self.params = params        # the parameters' names
        self.start = start          # the body's first token
        self.span = span            # the name, where it is defined
        self.scope = scope          # the names visible where it is defined: steps, variables, numbers
        self.text = text            # f(x, y)


class Parser:
    def __init__(self, source: str):
        if len(source) > MAX_LENGTH:
            raise ParseError(f"expression is {len(source):,} characters long; the limit is {MAX_LENGTH:,}",
                             Span(MAX_LENGTH, MAX_LENGTH + 1), source=source)
        self.source = source
        self.tokens = tokenize(source)
        self.pos = 0
        self.depth = 0
        self.build = Builder(source)
        self.leaves: dict[str, Expr] = {}     # variables, constants, numbers and named steps so far, by text
        # a program's names (statements y = ... and f(x) = ...): see program()
        self.assigned: dict[str, Token] = {}    # every name a statement defines -> where
        self.steps: dict[str, tuple[Expr, Span]] = {}
        self.functions: dict[str, Definition] = {}
        self.calls: dict[tuple, Expr] = {}      # (function, argument ids) -> its inlined body
        self.defining: str | None = None        # the step or function whose definition is being read
        self._called: set[int] = set()           # nodes labelled by a call (a step's name replaces it)
        self._call_spans: dict[int, Span] = {}   # of a call inside a body: its span, labelled once its arguments are known
        self.defining_call = False              # reading a body for a call
        self.reading = False                    # reading a definition's body for its errors alone
        self.inlined = 0                        # nodes the calls have made
        self._shown: dict[int, tuple] = {}      # nodes calls made, to show with their arguments (show_arguments)
        self._labels: dict[int, tuple] = {}     # calls inside bodies, to label with their arguments
        self._starts: list[int] | None = None   # the tokens' starts, for a span's first token (bisect)

    # -- token helpers ---------------------------------------------------------
    def peek(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def error(self, message: str, tok: Token | Span, hint: str | None = None) -> ParseError:
        span = tok.span if isinstance(tok, Token) else tok
        return ParseError(message, span, source=self.source, hint=hint)

    def expect(self, text: str, context: str) -> Token:
        tok = self.peek()
        if tok.text != text or tok.kind != "op":
            raise self.error(f"expected '{text}' {context}, found {_describe(tok)}", tok)
        return self.advance()

    # -- grammar -----------------------------------------------------------------
    def parse(self) -> Expr:
        if self.peek().kind == "end":
            raise self.error("empty expression", self.peek(), hint='write an expression such as "a*b + sin(c)"')
        source = self.source
        if ";" in source or "\n" in source or ("=" in source and self.statement(0)):
            node = self.program()
        else:
            node, _ = self.expr_bp(0)
            if self.peek().kind != "end":
                self.unexpected(self.peek())
        node.keep_nodes(self.build.table.values())
        return node

    def unexpected(self, tok: Token):
        if tok.text in (")", "]"):
            raise self.error(f"unmatched '{tok.text}'", tok)
        hint = None
        if tok.text == "=":
            hint = "== compares two values; name=value is a keyword argument of a call, like sum(x, axis=0), " \
                   "and a statement of its own names a step: y = a*b; y + c"
        elif tok.text == ":":
            hint = "a slice is written inside an index: x[1:3]"
        raise self.error(f"unexpected {_describe(tok)}", tok, hint=hint)

    # -- programs: y = a*b; f(x) = x^2 + 1; f(y) + c ----------------------------------------
    def statement(self, i: int) -> str | None:
        """What the statement starting at token i is: "step" (y = ...), "function" (f(x, y) = ...)
        or None (an expression)."""
        tokens = self.tokens
        tok = tokens[i]
        if tok.kind != "name":
            return None
        after = tokens[i + 1]
        if after.kind != "op":
            return None
        if after.text == "=":
            return "step"
        if after.text != "(":
            return None
        j = i + 2
        while True:
            t = tokens[j]
            if t.kind == "name":
                j += 1
                t = tokens[j]
                if t.kind == "op" and t.text == ",":
                    j += 1
                    continue
            if t.kind == "op" and t.text == ")" and tokens[j + 1].kind == "op" and tokens[j + 1].text == "=":
                return "function"
            return None

    def program(self) -> Expr:
        """Statements separated by ';' or new lines: named steps (y = a*b), functions
        (f(x) = x^2 + 1) and expressions; the last statement is the output. A step names its
        node; a call of a function is its body, inlined with the arguments for the parameters."""
        tokens = self.tokens
        starts = [0] + [i + 1 for i, t in enumerate(tokens) if t.kind == "op" and t.text in SEPARATORS]
        for i in starts:
            if self.statement(i) is not None:
                self.assigned.setdefault(tokens[i].text, tokens[i])
        last = None             # (kind, node, span) of the statement read last
        while True:
            tok = self.peek()
            if tok.kind == "op" and tok.text in SEPARATORS:
                self.pos += 1
                continue
            if tok.kind == "end":
                break
            if last is not None and last[0] is None:
                text = self.source[last[2].start:last[2].end]
                raise self.error("only the last statement is the output: this one's value is not used", last[2],
                                 hint=f"name it to use it later (y = {text if len(text) <= 30 else '...'}), or "
                                      "join it to the next line with an operator")
            kind = self.statement(self.pos)
            if kind == "step":
                node, span = self.step()
            elif kind == "function":
                node, span = self.definition()
            else:
                node, span = self.expr_bp(0)
            last = (kind, node, span)
            if not _ends(self.peek()):
                self.unexpected(self.peek())
        if last is None:
            raise self.error("empty expression", self.peek(), hint='write an expression such as "a*b + sin(c)"')
        kind, node, span = last
        if kind == "function":
            defn = list(self.functions.values())[-1]
            raise self.error("a program ends with its output, not a definition", span,
                             hint=f"call it last: ...; {defn.name}({', '.join('abc'[:len(defn.params)] if len(defn.params) <= 3 else defn.params)})")
        node.program = {name: n for name, (n, _) in self.steps.items()}
        return node

    def at(self, start: int) -> str:
        """Where a position is, for a hint: column 12, or line 2, column 1 in a program of lines."""
        return position(self.source, start)

    def check_name(self, tok: Token, what: str) -> None:
        """A name a statement defines is new: no function, constant, or name defined before."""
        text = tok.text
        if text in FUNCTIONS:
            raise self.error(f"'{text}' is a function; a {what} cannot be named so", tok,
                             hint=f"choose another name, like {text}_")
        if text in CONSTANTS:
            raise self.error(f"'{text}' is a constant; a {what} cannot be named so", tok,
                             hint="choose another name")
        earlier = self.steps.get(text) or self.functions.get(text)
        if earlier is not None:
            span = earlier[1] if isinstance(earlier, tuple) else earlier.span
            raise self.error(f"'{text}' is already defined ({self.at(span.start)}): a name is defined once",
                             tok, hint=f"give the new value a new name: {text}2 = ...")

    def step(self) -> tuple[Expr, Span]:
        """name = expression: the expression's node, named."""
        name_tok = self.advance()
        self.advance()                              # =
        self.check_name(name_tok, "step")
        if _ends(self.peek()):
            raise self.error(f"expected an expression after '{name_tok.text} =', found {_describe(self.peek())}",
                             self.peek())
        self.defining = name_tok.text
        node, span = self.expr_bp(0)
        self.defining = None
        self.steps[name_tok.text] = (node, name_tok.span)
        self.leaves[name_tok.text] = node
        if node.args and (getattr(node, "label", None) is None or node.id in self._called):
            node.label = name_tok.text              # a step names its node (a call's result too)
            self._called.discard(node.id)
        return node, Span(name_tok.start, span.end)

    def definition(self) -> tuple[None, Span]:
        """f(x, y) = body: read once here for its errors, with its parameters as variables of
        a scratch builder; each call reads it again with the arguments (see call_defined)."""
        name_tok = self.advance()
        self.advance()                              # (
        params = []
        while self.peek().kind == "name":
            tok = self.advance()
            if tok.text in FUNCTIONS or tok.text in CONSTANTS:
                kind = "function" if tok.text in FUNCTIONS else "constant"
                raise self.error(f"'{tok.text}' is a {kind}; a parameter cannot be named so", tok,
                                 hint="choose another name, like x")
            if tok.text in params:
                raise self.error(f"parameter '{tok.text}' is given twice", tok)
            params.append(tok.text)
            if self.peek().text == ",":
                self.advance()
        self.advance()                              # )
        self.advance()                              # =
        self.check_name(name_tok, "function")
        if _ends(self.peek()):
            raise self.error(f"expected the body of {name_tok.text} after '=', found {_describe(self.peek())}",
                             self.peek())
        text = f"{name_tok.text}({', '.join(params)})"
        defn = Definition(name_tok.text, params, self.pos, name_tok.span, dict(self.leaves), text)
        build, leaves, reading = self.build, self.leaves, self.reading
        self.build = scratch = Builder(self.source, first=1 << 40)
        self.reading = True                         # calls in it are checked, not inlined (nothing is cached)
        self.leaves = {**defn.scope, **{p: scratch.make(VAR, (), name_tok.span, name=p) for p in params}}
        self.defining = name_tok.text
        try:
            _, span = self.expr_bp(0)
        finally:
            self.build, self.leaves, self.defining, self.reading = build, leaves, None, reading
        self.functions[name_tok.text] = defn
        return None, Span(name_tok.start, span.end)

    def call_defined(self, name_tok: Token, defn: Definition) -> tuple[Expr, Span]:
        """f(a, b) of a function the program defines: its body, read with a for x and b for y."""
        open_tok = self.advance()
        args, inner = self.arguments(open_tok, ")")
        span = Span(name_tok.start, inner.end)
        n = len(defn.params)
        if len(args) != n:
            raise self.error(f"{defn.name}() takes {n} argument{'s' * (n != 1)}, got {len(args)}", span,
                             hint=f"it is defined as {defn.text} = ... ({self.at(defn.span.start)})")
        if self.reading:                # a definition read for its errors: the call stands for its value
            return self.build.make(VAR, (), span, name=f"{defn.name}()"), span
        key = (defn.name, *[a.id for a, _ in args])
        node = self.calls.get(key)
        if node is not None:
            return node, span
        if self.inlined > MAX_NODES:
            raise self.error(f"the program's calls make more than {MAX_NODES:,} nodes", span,
                             hint="a function that calls another twice doubles with each level")
        before, counted = len(self.build.table) + self.build.first, self.inlined
        pos, leaves, outer = self.pos, self.leaves, self.defining_call
        self.leaves = {**defn.scope, **{p: a for p, (a, _) in zip(defn.params, args)}}
        self.pos, self.defining_call = defn.start, True
        try:
            node, _ = self.expr_bp(0)
        finally:
            self.pos, self.leaves, self.defining_call = pos, leaves, outer
        self.calls[key] = node
        made = len(self.build.table) + self.build.first - before
        self.inlined += made - (self.inlined - counted)      # the nodes inner calls made are counted already
        self.show_arguments(defn, [a for a, _ in args], before)
        if node.args and node.id >= before:         # made by this call: it is the call's group
            node.label = self.source[span.start:span.end] if span.end - span.start <= 60 else defn.text
            self._called.add(node.id)
            if self.defining_call:                  # inside another call's body: its arguments come later
                self._call_spans[node.id] = span
        return node, span

    # Each grammar method returns (node, span of this occurrence): a shared node
    # keeps the span of its first occurrence, so spans of the text are tracked here.
    def expr_bp(self, min_bp: int) -> tuple[Expr, Span]:
        """Pratt loop: parse operators binding tighter than min_bp.

        a - b * c: after 'a', '-' has (1, 2) >= 0 so its right side is parsed
        with min_bp 2; there '*' (3, 4) binds tighter, so b*c groups first.
        """
        self.depth += 1
        if self.depth > MAX_DEPTH + 1:            # the whole expression is level 0: 1,000 levels inside it
            raise self.error(f"expression nests deeper than {MAX_DEPTH} levels", self.peek())
        lhs, span = self.prefix()
        tokens, make = self.tokens, self.build.make
        while True:
            tok = tokens[self.pos]
            if tok.kind != "op":
                if tok.kind != "end":
                    self.missing_operator(span, tok)
                break
            text = tok.text
            if text in POSTFIX:
                op, bp = POSTFIX[text]
                if bp < min_bp:
                    break
                self.pos += 1
                if text == "[":
                    lhs, span = self.index(lhs, span, tok)
                else:
                    span = Span(span.start, tok.end)
                    lhs = make(op, (lhs,), span)
            elif text in INFIX:
                op, (l_bp, r_bp) = INFIX[text]
                if l_bp < min_bp:
                    break
                self.pos += 1
                after = tokens[self.pos]
                if after.kind == "end" or after.text in (")", "]", ",", ";", NEWLINE):
                    raise self.error(f"expected an expression after '{text}', found {_describe(after)}", after)
                rhs, rspan = self.expr_bp(r_bp)
                if not l_bp:            # a comparison (binding power 0): no other may follow it
                    following = tokens[self.pos]
                    if following.kind == "op" and following.text in INFIX and not INFIX[following.text][1][0]:
                        self.chained(span, tok, rspan, following)
                span = Span(span.start, rspan.end)
                lhs = make(op, (lhs, rhs), span)
            elif text == "(":
                self.missing_operator(span, tok)
            else:
                break
        self.depth -= 1
        return lhs, span

    def chained(self, first: Span, op1: Token, middle: Span, tok: Token):
        """a < b < c: an error that says how to write what it likely means."""
        left = self.source[first.start:first.end]
        mid = self.source[middle.start:middle.end]
        m = re.match(r"\s*([\w.]+)", self.source[tok.end:])
        right = m.group(1) if m else "c"
        if len(left) + len(mid) + len(right) > 40:
            left, mid, right = "a", "b", "c"
        raise self.error(f"comparisons do not chain: '{op1.text}' and then '{tok.text}'", tok,
                         hint=f"to test both, multiply them: ({left} {op1.text} {mid}) * ({mid} {tok.text} {right})")

    def missing_operator(self, span: Span, tok: Token):
        left = self.source[span.start:span.end]
        right = tok.text + ("...)" if tok.text == "(" else "")
        hint = f"write {left}*{right}" if len(left) <= 20 else "insert * to multiply"
        if tok.kind == "num" or self.source[span.end - 1:span.end] == ".":
            hint = "insert an operator, or ',' between array elements"
        if "\n" in self.source[span.end:tok.start]:      # a new line inside brackets is a space
            hint = "a bracket opened before this line is not closed: a new line inside brackets does not end a statement"
        raise self.error(f"expected an operator between '{left}' and '{tok.text}'", tok, hint=hint)

    def prefix(self) -> tuple[Expr, Span]:
        tok = self.tokens[self.pos]
        self.pos += 1
        kind = tok.kind
        if kind == "name" or kind == "num":
            span = Span(tok.start, tok.end)
            leaf = self.leaves.get(tok.text)            # a variable, constant or number seen before
            if leaf is not None and (kind == "num" or self.tokens[self.pos].text != "("):
                return leaf, span
            if kind == "name":
                return self.name(tok)
            node = self.leaves[tok.text] = self.build.make(NUM, (), span, value=float(tok.text))
            return node, span
        if tok.text == "(":
            inner, _ = self.expr_bp(0)
            close = self.expect(")", "to close '('")
            return inner, Span(tok.start, close.end)
        if tok.text == "[":
            return self.array(tok)
        if tok.text in PREFIX:
            op, bp = PREFIX[tok.text]
            if self.peek().kind == "end":
                raise self.error(f"expected an expression after '{tok.text}'", self.peek())
            operand, ospan = self.expr_bp(bp)
            span = Span(tok.start, ospan.end)
            return self.build.make(op, (operand,), span), span
        if tok.text == "+":                         # unary plus: the operand itself
            operand, ospan = self.expr_bp(PREFIX["-"][1])
            return operand, Span(tok.start, ospan.end)
        if tok.kind == "end":
            raise self.error("expected an expression, found the end of the input", tok)
        if tok.text == ")":
            raise self.error("expected an expression before ')'", tok)
        raise self.error(f"expected an expression, found {_describe(tok)}", tok)

    def name(self, tok: Token) -> tuple[Expr, Span]:
        text = tok.text
        after = self.tokens[self.pos]
        calls = after.text == "(" and after.kind == "op"
        if self.assigned and text in self.assigned:
            defn = self.functions.get(text)
            if defn is not None:
                if not calls:
                    raise self.error(f"'{text}' is a function: write {defn.name}(...)", tok)
                return self.call_defined(tok, defn)
            self.undefined(tok, calls)
        if text in FUNCTIONS:
            if not calls:
                raise self.error(f"'{text}' is a function: write {text}(...)", tok)
            return self.call(tok, FUNCTIONS[text])
        if calls:
            close = similar_functions(text)
            hint = f"did you mean {', '.join(close)}?" if close else \
                f"known functions: {', '.join(sorted(FUNCTIONS))}"
            if not close and len(text) <= 3:
                hint += f"; to multiply, write {text}*(...)"
            raise self.error(f"unknown function '{text}'", tok, hint=hint)
        span = Span(tok.start, tok.end)
        node = self.leaves[text] = self.build.make(CONST if text in CONSTANTS else VAR, (), span, name=text)
        return node, span

    def show_arguments(self, defn: Definition, args: list, before: int) -> None:
        """Give each node this call made the body's text with the arguments for the parameters:
        f(t) = t^2 + 1; f(sin(x)) shows sin(x)^2 + 1 and sin(x)^2 (token by token, an argument
        bracketed where the operator beside it binds as tightly); a call inside the body is
        labelled so too (f(u) in g(u) = f(u)*2 called as g(a + b): f(a + b)). Each node is shown
        with the arguments of the innermost call that made it, once the outermost call is read
        (an argument's own text may come from an outer call), in the order the nodes were made."""
        made = len(self.build.table) + self.build.first - before
        bound = {p: a for p, a in zip(defn.params, args)}
        for node in itertools.islice(reversed(self.build.table.values()), max(made, 0)):
            if node.args and node.id not in self._shown:
                self._shown[node.id] = (node, bound)
            span = self._call_spans.pop(node.id, None)      # a call in this body: labelled in its text
            if span is not None:
                self._labels[node.id] = (node, span, bound)
        if self.defining_call:
            return
        for node_id in sorted(self._shown):       # each at most DISPLAY characters: linear in the body
            node, bound = self._shown[node_id]
            span = node.span
            if span.end - span.start > DISPLAY:
                node.display = self.substituted(Span(span.start, span.start + DISPLAY), bound) + "…"
            else:
                node.display = self.substituted(span, bound)
        for node, span, bound in self._labels.values():
            if node.id in self._called:                     # (not since named by a step)
                node.label = self.substituted(span, bound)
        self._shown, self._labels = {}, {}

    def substituted(self, span: Span, bound: dict) -> str:
        """The source text of span with each parameter in bound replaced by its argument's text."""
        if self._starts is None:
            self._starts = [t.start for t in self.tokens]
        tokens, source = self.tokens, self.source
        start, end = span.start, span.end
        k = bisect.bisect_left(self._starts, start)
        out, pos = [], start
        while k < len(tokens) and tokens[k].end <= end and tokens[k].kind != "end":
            tok = tokens[k]
            if tok.kind == "name" and tok.text in bound and tokens[k + 1].text != "(":
                arg = bound[tok.text]
                text = getattr(arg, "label", None) or arg.text
                left = _around(tokens, k - 1, before=True) if tok.start > start else -1
                right = _around(tokens, k + 1, before=False) if tok.end < end else -1
                if getattr(arg, "label", None) is None and _binding(arg) <= max(left, right):
                    text = f"({text})"
                out += [source[pos:tok.start], text]
                pos = tok.end
            k += 1
        out.append(source[pos:end])
        return "".join(out)

    def undefined(self, tok: Token, calls: bool):
        """A name the program defines, used where it is not (yet) defined."""
        text, where = tok.text, self.assigned[tok.text]
        if text == self.defining:
            if calls:
                raise self.error(f"{text} calls itself: a function is inlined at each call, so it cannot recurse",
                                 tok, hint="write the repetition out, or use sum/prod over an array")
            raise self.error(f"'{text}' is used in its own definition", tok,
                             hint=f"a name is defined once: give the new value a new name, {text}2 = ...")
        if text in self.steps and calls:
            raise self.error(f"'{text}' is a step, not a function", tok, hint=f"to multiply, write {text}*(...)")
        if where.start < tok.start:
            raise self.error(f"'{text}' is defined after the function that uses it", tok,
                             hint=f"define {text} ({self.at(where.start)}) before the function")
        raise self.error(f"'{text}' is used before it is defined", tok,
                         hint=f"{text} is defined at {self.at(where.start)}; define it before it is used")

    def arguments(self, open_tok: Token, close: str) -> tuple[list[tuple[Expr, Span]], Span]:
        """Comma-separated expressions up to the closing bracket; returns them and the whole span."""
        args = []           # (each argument's expr_bp counts this level of nesting)
        if self.peek().text == close and self.peek().kind == "op":
            return args, Span(open_tok.start, self.advance().end)
        while True:
            args.append(self.expr_bp(0))
            tok = self.peek()
            if tok.text == "," and tok.kind == "op":
                self.advance()
                continue
            if tok.text == close and tok.kind == "op":
                return args, Span(open_tok.start, self.advance().end)
            raise self.error(f"expected ',' or '{close}' to close '{open_tok.text}', found {_describe(tok)}", tok)

    def call(self, name_tok: Token, rows) -> tuple[Expr, Span]:
        """name(args, keyword=literal, ...): the row of that name the arguments fit."""
        tokens = self.tokens
        open_tok = tokens[self.pos]
        self.pos += 1
        args: list[tuple[object, Span]] = []        # (Expr or a literal tuple, span)
        keywords: dict[str, tuple[object, Span, Token]] = {}
        tuples = False                              # a literal tuple among args: (2, 3)
        tok = tokens[self.pos]
        if tok.text == ")" and tok.kind == "op":
            self.pos += 1
            inner = Span(open_tok.start, tok.end)
        else:
            while True:
                if tok.kind == "name" and tokens[self.pos + 1].text == "=":
                    if not any(op.keywords for op in rows) and tok.text not in KEYWORDS:
                        raise self.error(f"{name_tok.text}() takes no keyword arguments", tokens[self.pos + 1],
                                         hint=f"to compare, write {tok.text} == ...")    # where(x = 1, ...)
                    self.pos += 2
                    value, vspan = self.literal()
                    if tok.text in keywords:
                        raise self.error(f"keyword '{tok.text}' is given twice", Span(tok.start, vspan.end))
                    keywords[tok.text] = (value, Span(tok.start, vspan.end), tok)
                elif keywords:
                    raise self.error("a positional argument cannot follow a keyword argument", tok,
                                     hint="put the keyword arguments last: " + name_tok.text + "(x, axis=0)")
                elif tok.text == "(" and tok.kind == "op" and \
                        (rows[0].statics or tokens[self.pos + 1].kind == "num" or tokens[self.pos + 1].text == "-"):
                    found = self.tuple_literal() or (self.shape_tuple() if rows[0].statics else None)
                    tuples = tuples or found is not None
                    args.append(found or self.expr_bp(0))
                else:
                    args.append(self.expr_bp(0))
                tok = tokens[self.pos]
                if tok.kind == "op":
                    if tok.text == ",":
                        self.pos += 1
                        tok = tokens[self.pos]
                        continue
                    if tok.text == ")":
                        self.pos += 1
                        inner = Span(open_tok.start, tok.end)
                        break
                raise self.error(f"expected ',' or ')' to close '(', found {_describe(tok)}", tok)
        span = Span(name_tok.start, inner.end)
        op = rows[0]
        if len(rows) == 1 and not op.statics and not keywords and not tuples and op.arity == len(args):
            # the usual call: one row, its inputs
            return self.build.make(op, tuple([a for a, _ in args]), span), span
        op, attrs = self.choose(name_tok, rows, args, span, set(keywords))
        for key, (value, kspan, ktok) in keywords.items():
            attrs[key] = self.keyword(op, name_tok.text, key, value, kspan, ktok.span)
        inputs = args if op.arity is None else args[:op.arity]
        node = self.build.make(op, tuple(a for a, _ in inputs), span, **attrs)
        if keywords and getattr(node, "parts", None) is None:
            node.parts = {key: kspan for key, (_, kspan, _) in keywords.items()}
        return node, span

    def tuple_literal(self) -> tuple[tuple, Span] | None:
        """A tuple of integers as an argument, (2, 3) or (3,) (a shape, axes), or None when the
        tokens are an expression in parentheses (then nothing is read; no exception either,
        for most calls' arguments start with a parenthesis)."""
        tokens = self.tokens
        start = tokens[self.pos]            # the '('
        i = self.pos + 1
        items = []
        while True:
            tok = tokens[i]
            sign = 1
            if tok.text == "-" and tok.kind == "op":
                sign, i = -1, i + 1
                tok = tokens[i]
            if tok.kind != "num":
                return None
            value = sign * float(tok.text)
            if value != int(value) or not abs(value) < 2 ** 53:
                return None
            items.append(int(value))
            i += 1
            sep = tokens[i]
            if sep.kind != "op":
                return None
            if sep.text == ")":
                if len(items) == 1:
                    return None             # (3) is a number in parentheses; (3,) a tuple
                break
            if sep.text != ",":
                return None
            i += 1
            if tokens[i].text == ")" and tokens[i].kind == "op":
                sep = tokens[i]
                break
        after = tokens[i + 1]
        if after.kind != "op" or after.text not in (",", ")"):
            return None
        self.pos = i + 1
        return tuple(items), Span(start.start, sep.end)

    def shape_tuple(self) -> tuple[tuple, Span] | None:
        """A tuple of integers written with arithmetic, (5*4, 6), for a function taking literals
        (reshape's shape); None, reading nothing, when the parentheses hold one expression."""
        tokens, i, depth = self.tokens, self.pos, 0
        while True:                     # is there a comma inside these parentheses, at their level?
            tok = tokens[i]
            if tok.kind == "end":
                return None
            if tok.kind == "op":
                if tok.text in ("(", "["):
                    depth += 1
                elif tok.text in (")", "]"):
                    depth -= 1
                    if depth == 0:
                        return None
                elif tok.text == "," and depth == 1:
                    break
            i += 1
        open_tok = self.advance()
        items = []
        while True:
            node, span = self.expr_bp(0)
            value = _literal_of(node)
            if not isinstance(value, int):
                raise self.error("a shape is made of integers: numbers, or arithmetic on them", span,
                                 hint="like reshape(x, (2, 3)) or reshape(x, (5*4, -1))")
            items.append(value)
            tok = self.advance()
            if tok.text == ")" and tok.kind == "op":
                return tuple(items), Span(open_tok.start, tok.end)
            if tok.text != "," or tok.kind != "op":
                raise self.error(f"expected ',' or ')' in a shape, found {_describe(tok)}", tok)
            if self.peek().text == ")" and self.peek().kind == "op":
                return tuple(items), Span(open_tok.start, self.advance().end)

    def literal(self) -> tuple[object, Span]:
        """A keyword's value: a number (-2, 0.5), True/False, or a tuple of them: (0, 1), (3,)."""
        tok = self.advance()
        if tok.text == "(" and tok.kind == "op":
            items = []
            while not (self.peek().text == ")" and self.peek().kind == "op"):
                items.append(self.literal()[0])
                if self.peek().text == "," and self.peek().kind == "op":
                    self.advance()
                elif not (self.peek().text == ")" and self.peek().kind == "op"):
                    raise self.error(f"expected ',' or ')' in a tuple, found {_describe(self.peek())}", self.peek())
            close = self.advance()
            return tuple(items), Span(tok.start, close.end)
        sign = 1
        start = tok
        if tok.text == "-" and tok.kind == "op":
            sign, tok = -1, self.advance()
        if tok.kind == "num":
            value = sign * float(tok.text)
            return (int(value) if value == int(value) and abs(value) < 2 ** 53 else value), Span(start.start, tok.end)
        if tok.kind == "name" and tok.text in ("True", "False", "true", "false") and sign == 1:
            return int(tok.text in ("True", "true")), tok.span
        raise self.error(f"expected a literal value, found {_describe(tok)}", tok,
                         hint="a keyword takes a number (slope=0.2), an integer (axis=-1, ddof=1, keepdims=1) "
                              "or a tuple of integers (axis=(0, 1))")

    def choose(self, name_tok: Token, rows, args: list, span: Span, named: set) -> tuple[object, dict]:
        """The row the arguments fit, and the attrs from its literal positional arguments (those
        given by name, in named, are the keywords')."""
        n = len(args)
        for op in rows:         # a row taking literals first (see FUNCTIONS)
            statics = [s for s in op.statics if s not in named]
            if op.arity is None:
                fits = n >= 1
            else:
                fits = op.arity + len(statics) == n
            if not fits:
                continue
            inputs = args if op.arity is None else args[:op.arity]
            if any(isinstance(a, tuple) for a, _ in inputs):
                continue
            attrs = {}
            for name, (arg, aspan) in zip(statics, args[op.arity:]):
                value = arg if isinstance(arg, tuple) else _literal_of(arg)
                if value is None:
                    break
                attrs[name] = self.keyword(op, name_tok.text, name, value, aspan)
            else:
                return op, attrs
        for arg, aspan in args:
            if isinstance(arg, tuple):
                raise self.error(f"{name_tok.text}() does not take a tuple here", aspan,
                                 hint="a tuple of integers is a shape or axes: reshape(x, (2, 3)), sum(x, axis=(0, 1))")
        counts = " or ".join(dict.fromkeys(str(op.arity + len(op.statics)) if op.arity is not None else "1 or more"
                                           for op in sorted(rows, key=lambda op: op.arity or 0)))
        plural = "s" if counts != "1" else ""
        literal = [op for op in rows if op.statics and op.arity + len(op.statics) == n]
        if literal:
            op = literal[0]
            kinds = " or ".join(sorted({_KINDS[(op.keywords or {}).get(s, NUMBER_KW)] for s in op.statics}))
            raise self.error(f"{name_tok.text}()'s {' and '.join(op.statics)} must be literal values here", span,
                             hint=f"write {kinds}")
        raise self.error(f"{name_tok.text}() takes {counts} argument{plural}, got {n}", span,
                         hint=_usage(name_tok.text, rows))

    def keyword(self, op, fname: str, key: str, value, span: Span, key_span: Span | None = None) -> object:
        """A keyword's value, checked against the kind the row declares for it."""
        kinds = op.keywords or {}
        if key not in kinds:
            known = list(kinds)
            if not known:
                other = next((o for o in FUNCTIONS.get(fname, ()) if o.keywords and key in o.keywords), None)
                hint = None if other is None else \
                    f"{fname}() with {other.arity} argument{'s' * (other.arity != 1)} takes {key}=: {_usage(fname, [other])}"
                raise self.error(f"{fname}() with {op.arity} arguments takes no keyword arguments" if other else
                                 f"{fname}() takes no keyword arguments", span, hint=hint)
            close = close_matches(key, known, n=1, cutoff=0.5)
            hint = (f"did you mean {close[0]}? " if close else "") + f"{fname}() takes {', '.join(known)}"
            raise self.error(f"{fname}() has no keyword '{key}'", key_span or span, hint=hint)
        return _checked(kinds[key], key, value, lambda message: self.error(message, span,
                                                                           hint=f"{key} is {_KINDS[kinds[key]]}"))

    def array(self, open_tok: Token) -> tuple[Expr, Span]:
        args, span = self.arguments(open_tok, "]")
        if not args:
            raise self.error("an array needs at least one element", span)
        return self.build.make(OPS["stack"], tuple(a for a, _ in args), span), span

    def index(self, target: Expr, tspan: Span, open_tok: Token) -> tuple[Expr, Span]:
        """x[1], M[0, 1], M[0] (a row), x[1:3], x[::-1], M[:, 0]: integers and start:stop:step."""
        parts = []
        if self.peek().text == "]" and self.peek().kind == "op":
            raise self.error("an index needs at least one integer or slice, like x[0] or x[1:3]",
                             Span(open_tok.start, self.peek().end))
        while True:
            parts.append(self.index_part())
            tok = self.peek()
            if tok.text == "," and tok.kind == "op":
                self.advance()
                continue
            if tok.text == "]" and tok.kind == "op":
                close = self.advance()
                break
            raise self.error(f"expected ',' or ']' to close '[', found {_describe(tok)}", tok)
        span = Span(tspan.start, close.end)
        return self.build.make(OPS["index"], (target,), span, index=tuple(parts)), span

    def index_part(self):
        """One position of an index: an integer, or a slice start:stop:step (each optional)."""
        tok = self.peek()
        if tok.kind == "end" or (tok.kind == "op" and tok.text in ("]", ",")):
            raise self.error("an index needs an integer or a slice at each position, like x[0] or x[1:3]", tok)
        start = None if tok.text == ":" else self.integer(*self.expr_bp(0))
        if self.peek().text != ":":
            return start
        bounds = [start]
        for _ in range(2):                     # :stop, then :step
            if self.peek().text != ":":
                break
            self.advance()
            after = self.peek()
            bounds.append(None if after.text in (":", ",", "]") else self.integer(*self.expr_bp(0)))
        if len(bounds) == 3 and bounds[2] == 0:
            raise self.error("a slice's step cannot be 0", Span(tok.start, self.peek().start),
                             hint="x[::2] takes every second element, x[::-1] reverses")
        return Slice(*bounds)

    def integer(self, node: Expr, span: Span) -> int:
        """An index: an integer literal, possibly negative (counts from the end)."""
        sign = 1
        if node.op is PREFIX["-"][0]:
            sign, node = -1, node.args[0]
        value = node.kw.get("value") if node.op is NUM else None
        if value is None or not abs(value) < 2 ** 53 or value != int(value):
            raise self.error("an index must be an integer literal, like x[0] or x[-1]", span,
                             hint="a slice is start:stop:step, like x[1:3] or x[::-1]")
        return sign * int(value)


ATOM = 100       # the binding power of an operand that needs no brackets anywhere: a name, a call


def _binding(node: Expr) -> int:
    """How tightly a node's text holds together: its operator's binding power (a*b: 3), or ATOM."""
    for form in node.op.forms:
        if isinstance(form, (Infix, Prefix)):
            return form.bp
    return ATOM


def _around(tokens: list, k: int, before: bool) -> int:
    """The binding power of the operator next to an argument (token k): -1 beside a bracket or
    a comma (nothing to bind against)."""
    tok = tokens[k]
    if not before and tok.text == "[" and tok.kind == "op":
        return POSTFIX["["][1]                  # t[0]: an index binds tightest
    if tok.kind != "op" or tok.text in ("(", ")", ",", "[", "]", ";"):
        return -1
    if before and tok.text in PREFIX and (k == 0 or tokens[k - 1].kind == "op" and
                                          tokens[k - 1].text not in (")", "]", "'")):
        return PREFIX[tok.text][1]              # -t: a prefix sign
    if tok.text in INFIX:
        return max(INFIX[tok.text][1])
    return POSTFIX[tok.text][1] if tok.text in POSTFIX else -1


def _usage(name: str, rows) -> str:
    """How a function of these rows is called: clip(x, lo, hi); sum(x, axis=..., keepdims=...)."""
    forms = []
    for op in sorted(rows, key=lambda op: op.arity or 0):
        code = getattr(op.forward, "__code__", None)           # the forward's own parameter names
        names = code.co_varnames[:op.arity] if code is not None and op.arity and code.co_argcount >= op.arity \
            else "xyz"[:op.arity or 0]
        inputs = ["x, ..."] if op.arity is None else list(names)
        if op.arity is not None and op.statics:
            inputs += list(op.statics)
        keywords = [f"{k}=..." for k in (op.keywords or {}) if k not in op.statics]
        forms.append(f"{name}({', '.join([*inputs, *keywords])})")
    return "write " + " or ".join(dict.fromkeys(forms))


def _literal_of(node) -> object:
    """The number a literal argument is (2, -0.5, 5*4, -pi/2: numbers and constants with
    arithmetic), an int when whole, or None for an expression of variables."""
    value = _constant(node)
    if value is None or not np.isfinite(value):
        return None
    return int(value) if value == int(value) and abs(value) < 2 ** 53 else value


def _constant(node, depth: int = 0) -> float | None:
    """The value of an expression of numbers and constants (elementwise ops on them), or None."""
    op = node.op
    if op is NUM:
        return node.kw["value"]
    if op is CONST:
        return CONSTANTS[node.kw["name"]]
    if op is VAR or not op.elementwise or depth > 50:
        return None
    values = [_constant(a, depth + 1) for a in node.args]
    if None in values:
        return None
    try:
        with np.errstate(all="ignore"):
            out = op.forward(*map(np.float64, values), **node.kw)
    except (ValueError, ArithmeticError, TypeError):
        return None
    return float(out) if np.ndim(out) == 0 else None


_KINDS = {AXIS: "an integer or a tuple of integers, like axis=0, axis=-1 or axis=(0, 1)",
          FLAG: "0 or 1", INTEGER: "an integer", NUMBER_KW: "a number", SHAPE: "a tuple of integers, like (2, 3)"}


def _checked(kind: str, key: str, value, error) -> object:
    """A literal as the kind of value a keyword takes: an axis, a flag, a shape, ..."""
    def integer(v):
        return isinstance(v, int)
    if kind == AXIS and (integer(value) or (isinstance(value, tuple) and value and all(map(integer, value)))):
        return value
    if kind == FLAG and value in (0, 1) and integer(value):
        return bool(value)
    if kind == INTEGER and integer(value):
        return value
    if kind == NUMBER_KW and not isinstance(value, tuple):
        return float(value)
    if kind == SHAPE and (integer(value) or (isinstance(value, tuple) and all(map(integer, value)))):
        return (value,) if integer(value) else value
    raise error(f"{key} must be {_KINDS[kind]}")


def similar_functions(name: str) -> list[str]:
    """Known functions a misspelt name may mean: one it spells out (squareroot: sqrt,
    cumulative_sum: cumsum), close in spelling (sinn: sin, sinh), or a known name it starts
    with or that starts with it (exponential: exp)."""
    lower = name.lower()
    spelled = sorted((f for f in FUNCTIONS if len(f) >= 3 and len(lower) > len(f) + 2 and f[0] == lower[0]
                      and _abbreviates(f, lower)), key=len, reverse=True)
    close = close_matches(name, list(FUNCTIONS), n=3, cutoff=0.6)
    if not close and len(lower) >= 2:
        close = sorted(f for f in FUNCTIONS if len(f) >= 2 and (lower.startswith(f) or f.startswith(lower)))[:3]
    return list(dict.fromkeys(close[:2] + spelled[:2] + close[2:]))[:3]


def _abbreviates(short: str, long: str) -> bool:
    """Whether short's letters appear in long in order (sqrt in squareroot)."""
    letters = iter(long)
    return all(c in letters for c in short)


def parse(source: str) -> Expr:
    """Parse an expression; raises ParseError with a span on bad input."""
    if not isinstance(source, str):
        raise TypeError(f"parse() takes a str, not {type(source).__name__}")
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 6 * MAX_DEPTH + 1000))   # up to 5 frames a level (calls)
    try:
        with paused_gc():       # parsing makes no reference cycles either
            return Parser(source).parse()
    finally:
        sys.setrecursionlimit(limit)
