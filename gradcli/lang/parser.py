"""The Pratt parser: tokens -> Expr. Binding powers and function names come from the op table."""
from __future__ import annotations

import sys

from gradcli.errors import ParseError, Span, close_matches
from gradcli.lang.expr import Builder, Expr, paused_gc
from gradcli.lang.lexer import Token, tokenize
from gradcli.ops import CONST, CONSTANTS, NUM, OPS, TABLE, VAR, Infix, Postfix, Prefix, functions

MAX_DEPTH = 1000          # nesting levels: parentheses, brackets, calls, right-associative ^ chains
MAX_LENGTH = 2_000_000    # characters in one expression


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
FUNCTIONS = functions()


def _describe(tok: Token) -> str:
    return "the end of the input" if tok.kind == "end" else repr(tok.text)


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
        self.leaves: dict[str, Expr] = {}     # variables, constants and numbers seen so far, by text

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
        node, _ = self.expr_bp(0)
        tok = self.peek()
        if tok.kind != "end":
            if tok.text in (")", "]"):
                raise self.error(f"unmatched '{tok.text}'", tok)
            raise self.error(f"unexpected {_describe(tok)}", tok)
        node.keep_nodes(self.build.table.values())
        return node

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
                if after.kind == "end" or after.text in (")", "]", ","):
                    raise self.error(f"expected an expression after '{text}', found {_describe(after)}", after)
                rhs, rspan = self.expr_bp(r_bp)
                span = Span(span.start, rspan.end)
                lhs = make(op, (lhs, rhs), span)
            elif text == "(":
                self.missing_operator(span, tok)
            else:
                break
        self.depth -= 1
        return lhs, span

    def missing_operator(self, span: Span, tok: Token):
        left = self.source[span.start:span.end]
        right = tok.text + ("...)" if tok.text == "(" else "")
        hint = f"write {left}*{right}" if len(left) <= 20 else "insert * to multiply"
        if tok.kind == "num" or self.source[span.end - 1:span.end] == ".":
            hint = "insert an operator, or ',' between array elements"
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
        args, inner = self.arguments(self.advance(), ")")
        span = Span(name_tok.start, inner.end)
        for op in rows:
            if op.arity == len(args):
                return self.build.make(op, tuple(a for a, _ in args), span), span
        counts = " or ".join(str(n) for n in sorted(op.arity for op in rows))
        plural = "s" if counts != "1" else ""
        raise self.error(f"{name_tok.text}() takes {counts} argument{plural}, got {len(args)}", span)

    def array(self, open_tok: Token) -> tuple[Expr, Span]:
        args, span = self.arguments(open_tok, "]")
        if not args:
            raise self.error("an array needs at least one element", span)
        return self.build.make(OPS["stack"], tuple(a for a, _ in args), span), span

    def index(self, target: Expr, tspan: Span, open_tok: Token) -> tuple[Expr, Span]:
        args, ispan = self.arguments(open_tok, "]")
        if not args:
            raise self.error("an index needs at least one integer, like x[0]", ispan)
        index = tuple(self.integer(a, aspan) for a, aspan in args)
        span = Span(tspan.start, ispan.end)
        return self.build.make(OPS["index"], (target,), span, index=index), span

    def integer(self, node: Expr, span: Span) -> int:
        """An index: an integer literal, possibly negative (counts from the end)."""
        sign = 1
        if node.op is PREFIX["-"][0]:
            sign, node = -1, node.args[0]
        value = node.kw.get("value") if node.op is NUM else None
        if value is None or not abs(value) < 2 ** 53 or value != int(value):
            raise self.error("an index must be an integer literal, like x[0] or x[-1]", span)
        return sign * int(value)


def similar_functions(name: str) -> list[str]:
    """Known functions a misspelt name may mean: close in spelling (sinn: sin, sinh), or a
    known name it starts with or that starts with it (exponential: exp)."""
    close = close_matches(name, list(FUNCTIONS), n=3, cutoff=0.6)
    lower = name.lower()
    if not close and len(lower) >= 2:
        close = sorted(f for f in FUNCTIONS if len(f) >= 2 and (lower.startswith(f) or f.startswith(lower)))[:3]
    return close


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
