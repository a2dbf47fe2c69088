"""The lexer: text -> tokens, each with its position. It rejects what it cannot read (with that
position); it never skips a character. Operator tokens come from the op table."""
from __future__ import annotations

import re

from gradcli.errors import ParseError, Span
from gradcli.ops import TABLE, Infix, Postfix, Prefix

_NUMBER = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
_DIGITS = frozenset("0123456789.")

# Everyday notation, read as the language's own: each entry is a spelling and what it means.
# (Operator signs such as × ÷ − √ are forms of their rows in the op table.)
SPACES = frozenset(" \t\r\n\v\f\u00a0\u2009\u202f\u200b")     # a non-breaking, thin or zero-width space is a space
NAMES = {"π": "pi"}
SUPERSCRIPT = {**{ch: str(i) for i, ch in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")}, "⁻": "-", "⁺": "+"}     # x² is x^2, x⁻¹ is x^-1
_SUPERSCRIPT = re.compile("[⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+")


class Token:
    __slots__ = ("kind", "text", "start", "end")

    def __init__(self, kind: str, text: str, start: int, end: int):
        self.kind = kind        # num, name, op, end
        self.text = text
        self.start = start
        self.end = end

    @property
    def span(self) -> Span:
        return Span(self.start, self.end)


def _operator_tokens() -> tuple[frozenset, frozenset]:
    """The one-character and the longer operator tokens: brackets, and every form in the op table."""
    tokens = {"(", ")", ",", "[", "]", "+", "=", ":", ";"}    # = names a step or a keyword argument, : slices, ; ends a statement
    for op in TABLE:
        tokens.update(form.token for form in op.forms if isinstance(form, (Infix, Prefix, Postfix)))
    return frozenset(t for t in tokens if len(t) == 1), frozenset(t for t in tokens if len(t) > 1)


_PUNCT, _LONG = _operator_tokens()

_LONG_STARTS = frozenset(t[0] for t in _LONG)

# A new line ends a statement (as ';' does), except inside brackets, after a token that needs
# more (an operator, '(', ',', '='), or before an operator that continues the line before it.
NEWLINE = "\n"
_OPEN, _CLOSE = frozenset("(["), frozenset(")]")
_ENDS_OPERAND = frozenset({")", "]", "'"})
_CONTINUES = frozenset(form.token for op in TABLE for form in op.forms if isinstance(form, Infix)) | {"="}


def tokenize(source: str) -> list[Token]:
    """Split source into tokens; an unreadable character is a ParseError at its position.
    The common tokens are tried first (most are one character: a loop over characters with
    compiled patterns for numbers and names reads a batch job's expression in 26-28 µs, one
    pattern for every token took 34); everyday notation (π, x²) after them."""
    tokens = []
    append = tokens.append
    pos, n = 0, len(source)
    lines = None                # made at the first new line (most sources have none)
    while pos < n:
        ch = source[pos]
        if ch in SPACES:
            if ch == "\n":
                lines = lines or _Lines()
                lines.newline(tokens, pos)
            pos += 1
        elif ch == "#":                             # a comment, to the end of its line
            end = source.find("\n", pos)
            pos = n if end < 0 else end
        elif ch in _PUNCT or ch in _LONG_STARTS:
            text = ch
            if ch in _LONG_STARTS:                  # ** <= == != (the longer tokens of the op table)
                text = next((t for t in _LONG if source.startswith(t, pos)), ch)
                if text not in _PUNCT and text not in _LONG:
                    raise _bad_character(source, pos)       # ! alone
            if lines is not None and text in _CONTINUES and _Lines.pending(tokens):
                tokens.pop()                        # a line that starts with * continues the one before
            append(Token("op", text, pos, pos + len(text)))
            pos += len(text)
        else:
            digits = ch in _DIGITS
            m = (_NUMBER if digits else _NAME).match(source, pos)
            if m is not None:
                end = m.end()
                append(Token("num" if digits else "name", m.group(), pos, end))
                pos = end
            elif ch in NAMES:
                append(Token("name", NAMES[ch], pos, pos + 1))
                pos += 1
            elif ch in SUPERSCRIPT:
                pos = _superscript(source, pos, append)
            else:
                raise _bad_character(source, pos)
    if lines is not None and _Lines.pending(tokens):
        tokens.pop()
    append(Token("end", "", n, n))
    return tokens


class _Lines:
    """Where a new line ends a statement: the bracket depth, counted only when a source has new
    lines (most have none), over the tokens made since the last one."""
    __slots__ = ("depth", "counted")

    def __init__(self):
        self.depth = 0
        self.counted = 0

    def newline(self, tokens: list, pos: int) -> None:
        for tok in tokens[self.counted:]:
            if tok.kind == "op":
                if tok.text in _OPEN:
                    self.depth += 1
                elif tok.text in _CLOSE:
                    self.depth -= 1
        self.counted = len(tokens)
        if self.depth > 0 or not tokens:
            return
        last = tokens[-1]
        if last.kind == "op" and last.text not in _ENDS_OPERAND:
            return                                  # a + ⏎ b, f(x) = ⏎ ..., and a blank line after ;
        tokens.append(Token("op", NEWLINE, pos, pos + 1))
        self.counted = len(tokens)

    @staticmethod
    def pending(tokens: list) -> bool:
        """Whether the last token is a new line that may yet turn out to continue the statement."""
        return bool(tokens) and tokens[-1].text == NEWLINE


def _superscript(source: str, pos: int, append) -> int:
    """x² is x^2, x⁻¹ is x^-1: the tokens ^, a sign and the number, all at the superscript."""
    m = _SUPERSCRIPT.match(source, pos)
    if m is None:
        raise _bad_character(source, pos)
    digits = "".join(SUPERSCRIPT[c] for c in m.group())
    sign, number = (digits[0], digits[1:]) if digits[0] in "-+" else ("", digits)
    append(Token("op", "^", pos, m.end()))
    if sign:
        append(Token("op", sign, pos, m.end()))
    append(Token("num", number, pos, m.end()))
    return m.end()


def _bad_character(source: str, pos: int) -> ParseError:
    ch = source[pos]
    hint = None
    if ch in "\"`":
        hint = "strings are not part of the language; ' is the transpose"
    elif ch == "!":
        hint = "!= compares; for 'not', write 1 - (a < b)"
    elif ch in "&|":
        hint = "for 'and', multiply comparisons: (a < b) * (b < c); for 'or', max(a < b, b < c)"
    elif ch in "{}.$?\\":
        hint = "operators are + - * / @ % ^ **, comparisons < <= > >= == !=, and postfix ' (transpose)"
    return ParseError(f"unexpected character {ch!r}", Span(pos, pos + 1), source=source, hint=hint)
