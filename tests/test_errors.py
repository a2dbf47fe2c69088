"""errors.py: spans, the error family, and the caret renderer."""
import pytest

from gradcli.errors import (
    BindError,
    GradcliError,
    GradOutputError,
    ParseError,
    ShapeError,
    Span,
    caret_lines,
    close_matches,
    render_error,
)


def test_span_equality_and_hash():
    assert Span(1, 3) == Span(1, 3) and Span(1, 3) != Span(1, 4) and len({Span(1, 3), Span(1, 3)}) == 1


def test_every_error_is_a_gradcli_error_with_its_kind():
    kinds = {ParseError: "parse", BindError: "bind", ShapeError: "shape", GradOutputError: "grad"}
    for cls, kind in kinds.items():
        err = cls("m")
        assert isinstance(err, GradcliError) and err.kind == kind and str(err) == "m"
    assert isinstance(GradOutputError("m"), RuntimeError)          # as PyTorch raises it


def test_render_has_message_source_caret_and_hint():
    err = ParseError("expected an operator between '2' and 'x'", Span(1, 2), source="2x + 1", hint="write 2*x")
    assert render_error(err).splitlines() == [
        "error: expected an operator between '2' and 'x'", "  2x + 1", "   ^", "hint: write 2*x"]
    assert err.column == 2


def test_render_names_where_the_span_points():
    err = BindError("bad value", Span(0, 3), source="1,,", where="value of --x")
    assert render_error(err).splitlines()[1] == "  in value of --x:"


def test_at_keeps_the_first_position():
    err = ShapeError("m")
    assert err.at(Span(2, 3), "abcd") is err and err.span == Span(2, 3)
    err.at(Span(0, 1), "zz")
    assert err.span == Span(2, 3) and err.source == "abcd"


@pytest.mark.parametrize("length, caret_at", [(10, 5), (500, 250), (500, 2), (500, 498)])
def test_a_long_source_shows_a_window_with_the_caret_under_its_column(length, caret_at):
    source = "".join(chr(97 + i % 26) for i in range(length))
    text, caret = caret_lines(source, Span(caret_at, caret_at + 1))
    assert len(text) <= 80
    column = caret.index("^")
    assert text[column] == source[caret_at]


def test_tabs_in_the_source_stay_one_column_each():
    text, caret = caret_lines("a\tb\vc", Span(4, 5))
    assert text == "  a b c" and caret.index("^") == 6


def test_a_program_of_lines_shows_the_line_of_the_caret_by_its_number():
    where, text, caret = caret_lines("y = a*b\nz = y + \tc\nz\n", Span(17, 18))
    assert where == "  line 2:" and text == "  z = y +  c" and caret == "           ^"
    assert caret_lines("a*b\n", Span(1, 2)) == ["  a*b ", "   ^"]     # one line and its newline: no number


def test_close_matches():
    assert close_matches("sinn", ["sin", "sinh", "cos"]) == ["sin", "sinh"]
    assert close_matches("zzz", ["sin"]) == []
