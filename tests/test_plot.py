"""plot: every sample is read back from the drawn grid, at the place its axis labels give it.

A drawing is parsed as a person reads it: the y labels of the first and last rows and
the x labels under the first and last columns fix the scale; a sample (x, y) belongs
in column (x - left) / (right - left) * (cols - 1) and row (top - y) / (top - bottom)
* (rows - 1). Each finite sample inside the y labels must have its mark within one
cell of that place, and each mark must have a sample there.
"""
import io
import os
import re
import sys
from dataclasses import dataclass

import numpy as np
import pytest
from rich.console import Console

from conftest import on_a_terminal
from gradcli import plot
from gradcli.render import plot as drawing

F_MARKS, D_MARKS = drawing.F_MARK + drawing.BOTH, drawing.D_MARK + drawing.BOTH


def show(source: str, span: str, points: int, width: int = 80, height: int = 18):
    """The samples and the text of their plot at width columns."""
    s = plot.sample(source, {"x": span}, points)
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(drawing.draw(s, width=width, height=height))
    return s, console.file.getvalue()


@dataclass
class Drawn:
    rows: list          # the canvas, one string of cols characters per row
    top: float          # y of the first row, from its label
    bottom: float       # y of the last row
    left: float         # x of the first column, from the label under it
    right: float        # x of the last column
    markers: str        # the ^ / x row under the axis
    text: str

    @property
    def cols(self) -> int:
        return len(self.rows[0])

    def col(self, x):
        return (np.asarray(x) - self.left) / (self.right - self.left) * (self.cols - 1)

    def row(self, y):
        return (self.top - np.asarray(y)) / (self.top - self.bottom) * (len(self.rows) - 1)

    def cells(self, marks: str) -> np.ndarray:
        """(row, column) of every cell holding one of marks."""
        return np.array([(r, c) for r, line in enumerate(self.rows) for c, ch in enumerate(line) if ch in marks],
                        dtype=float).reshape(-1, 2)

    def columns(self, marks: str) -> list:
        return sorted({int(c) for _, c in self.cells(marks)})


def read(text: str) -> Drawn:
    """The canvas, its four labels and its marker row, from a plot's text."""
    lines = text.splitlines()
    canvas = [line for line in lines if " │" in line]
    start = canvas[0].index("│") + 1
    axis = next(i for i, line in enumerate(lines) if "└" in line)
    cols = len(lines[axis]) - start
    labels = lines[axis + 2][start:]
    left, right = labels.split()[0], labels.split()[-1]
    # The x labels stand under the first and the last column, as the samples they name.
    assert labels.startswith(left) and len(labels.rstrip()) == cols, labels
    return Drawn(rows=[line[start:].ljust(cols) for line in canvas],
                 top=float(canvas[0][:start - 1]), bottom=float(canvas[-1][:start - 1]),
                 left=float(left), right=float(right), markers=lines[axis + 1][start:].ljust(cols), text=text)


def assert_drawn(d: Drawn, x, y, marks: str, slack: float = 1.0) -> None:
    """Each finite sample inside [bottom, top] has a mark within slack cells of its place,
    and each mark has such a sample (nothing drawn twice elsewhere, nothing wrapped)."""
    x, y = np.asarray(x), np.asarray(y)
    inside = np.isfinite(y) & (y >= d.bottom) & (y <= d.top)
    want = np.stack([d.row(y[inside]), d.col(x[inside])], axis=1)
    got = d.cells(marks)
    far = np.abs(want[:, None, :] - got[None, :, :]).max(axis=2) > slack      # samples x marks
    missing = [(float(a), float(b)) for a, b, miss in zip(x[inside], y[inside], far.all(axis=1)) if miss]
    stray = [tuple(cell) for cell, alone in zip(got.astype(int).tolist(), far.all(axis=0)) if alone]
    assert not missing, f"samples (x, y) with no mark near their place: {missing[:5]}\n{d.text}"
    assert not stray, f"marks (row, column) with no sample there: {stray[:5]}\n{d.text}"


def assert_both_curves(s, d: Drawn, slack: float = 1.0) -> None:
    assert_drawn(d, s.x, s.f, F_MARKS, slack)
    assert_drawn(d, s.x, s.df, D_MARKS, slack)


def test_x_on_0_10_with_11_points_puts_each_sample_in_its_own_column():
    s, text = show("x", "0:10", 11)
    d = read(text)
    assert (d.top, d.bottom, d.left, d.right) == (10, 0, 0, 10)
    assert_both_curves(s, d, slack=0.5)
    want = [round(i / 10 * (d.cols - 1)) for i in range(11)]
    assert d.columns(F_MARKS) == want and len(d.cells(F_MARKS)) == 11       # once each, none wrapped
    assert d.rows[-1][0] == drawing.F_MARK and d.rows[0][-1] == drawing.F_MARK    # y = 0 over x = 0, y = 10 over x = 10


def test_readme_example_draws_both_ends_and_the_zeros_of_the_derivative():
    s, text = show("x^3 - 3*x", "-2.5:2.5", 120)
    d = read(text)
    assert (d.top, d.bottom) == (15.75, -8.125)                            # f(-2.5) and f'(±2.5): not clipped
    assert_both_curves(s, d)
    assert d.rows[-1][0] == drawing.F_MARK and d.rows[0][0] == d.rows[0][-1] == drawing.D_MARK
    assert {c for c, ch in enumerate(d.markers) if ch == "^"} == {round(float(c)) for c in d.col([-1, 1])}
    assert "clipped" not in text


@pytest.mark.parametrize("points", [21, 200])
def test_sqrt_draws_nothing_where_it_is_undefined(points):
    s, text = show("sqrt(x)", "-1:1", points)
    d = read(text)
    assert_both_curves(s, d)
    zero = float(d.col(0))
    assert min(d.columns(F_MARKS)) >= zero - 0.5 and min(d.columns(D_MARKS)) > zero - 0.5
    undefined = {c for c, ch in enumerate(d.markers) if ch == "x"}
    assert undefined == {round(float(c)) for c in d.col(s.x[s.x <= 0])}    # at 0, f' is inf


@pytest.mark.parametrize("points", [100, 101, 1000])
def test_a_pole_clips_y_and_says_so_without_flattening_the_rest(points):
    s, text = show("1/x", "-2:2", points)
    d = read(text)
    assert_both_curves(s, d)
    note = re.search(r"y clipped to \[(\S+), (\S+)\]: \d+ values, from (\S+) to (\S+), are off the chart",
                     " ".join(text.split()))                             # the note may wrap
    assert note and (float(note[1]), float(note[2])) == (d.bottom, d.top), text
    finite = np.r_[s.f, s.df][np.isfinite(np.r_[s.f, s.df])]
    assert (float(note[3]), float(note[4])) == pytest.approx((finite.min(), finite.max()), rel=1e-3)
    bulk = np.abs(s.x) >= 0.5
    assert np.ptp(d.row(s.f[bulk])) >= 3 and np.ptp(d.row(np.r_[s.f[bulk], s.df[bulk]])) >= 5
    assert d.top < 20 and d.bottom > -20


@pytest.mark.parametrize("source, span", [("x^3 - 3*x", "-2.5:2.5"), ("sin(x)", "-10:10"), ("exp(x)", "-3:3"),
                                          ("exp(x)", "0:20"), ("x^4", "-2:2"), ("sqrt(x)", "0.2:4")])
def test_ordinary_curves_are_never_clipped(source, span):
    s, text = show(source, span, 200)
    d = read(text)
    values = np.r_[s.f, s.df][np.isfinite(np.r_[s.f, s.df])]
    assert d.bottom <= values.min() and d.top >= values.max() and "clipped" not in text
    assert_both_curves(s, d)


def test_a_constant_is_one_row():
    s, text = show("0*x + 3", "0:1", 50)
    d = read(text)
    assert (d.top, d.bottom) == (3, 0)
    assert_both_curves(s, d)
    assert {int(r) for r, _ in d.cells(F_MARKS)} == {0} and {int(r) for r, _ in d.cells(D_MARKS)} == {17}


def test_more_points_than_columns_fill_every_column_with_their_own_values():
    s, text = show("sin(3*x)", "-3:3", 5000, width=40)
    d = read(text)
    assert_both_curves(s, d)
    assert d.columns(F_MARKS) == list(range(d.cols))


def test_fewer_points_than_columns_leave_the_columns_between_empty():
    s, text = show("x^2", "-1:1", 7, width=200)
    d = read(text)
    assert_both_curves(s, d, slack=0.5)
    assert d.columns(F_MARKS) == [round(i / 6 * (d.cols - 1)) for i in range(7)] and len(d.cells(F_MARKS)) == 7


@pytest.mark.parametrize("width", [40, 80, 200])
@pytest.mark.parametrize("source, span, points", [("x^3 - 3*x", "-2.5:2.5", 120), ("1/x", "-2:2", 100),
                                                  ("sqrt(x)", "-1:1", 200), ("1e300 * x^3", "-10:10", 200),
                                                  ("1e-320 * x", "-1:1", 50)])
def test_every_width_fits_and_reads_back(width, source, span, points):
    s, text = show(source, span, points, width=width)
    d = read(text)
    assert max(len(line) for line in text.splitlines() if "│" in line) == width   # fills the width, no wider
    assert "…" not in text
    assert_both_curves(s, d)


@pytest.mark.parametrize("columns", [40, 80, 200])
def test_on_a_terminal_the_plot_fits_and_reads_back(columns):
    # Not TERM=dumb: Rich gives a dumb terminal 80 columns whatever COLUMNS says.
    env = {**os.environ, "NO_COLOR": "1", "TERM": "xterm-256color", "COLUMNS": str(columns)}
    code, shown = on_a_terminal([sys.executable, "-m", "gradcli", "plot", "x^3 - 3*x", "--x", "-2.5:2.5",
                                 "--points", "120"], env, stream="stdout")
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode()).replace("\r\n", "\n")
    assert code == 0 and all(len(line) <= columns for line in text.splitlines())
    assert_both_curves(plot.sample("x^3 - 3*x", {"x": "-2.5:2.5"}, 120), read(text))


def test_plot_json_samples_zeros_and_undefined(cli):
    rec = cli("plot", "x^3 - 3*x", "--x", "-2:2", "--points", "101", "-f", "json").json
    assert list(rec) == ["expr", "variable", "x", "value", "derivative", "zeros", "undefined"]
    assert rec["variable"] == "x" and len(rec["x"]) == 101
    assert rec["x"][0] == -2.0 and rec["x"][-1] == 2.0
    assert rec["derivative"][50] == -3.0
    assert rec["zeros"] == pytest.approx([-1.0, 1.0], abs=1e-12)
    log = cli("plot", "log(x)", "--x", "-1:1", "--points", "5", "-f", "json").json
    assert log["undefined"] == [-1.0, -0.5, 0.0]


def test_plot_draws_both_curves(cli):
    out = cli("plot", "sin(x) * a", "--x", "-3:3", "--a", "2").out
    assert "●" in out and "○" in out and "d/dx = 0" in out and "derivative zero at x = -1.57079632679489" in out
    assert_both_curves(plot.sample("sin(x) * a", {"x": "-3:3", "a": 2.0}, 200), read(out))


@pytest.mark.parametrize("source, span", [("sqrt(1-x^2)", "-2:2"), ("sqrt(x)", "0:1"), ("x^10", "-2:2")])
def test_a_slope_that_shoots_off_is_clipped_and_f_is_drawn_whole(source, span):
    """A vertical tangent (or a derivative many times f's size) must not flatten f: the y range
    covers f entirely and the derivative only within a few of f's spans, and a note says so."""
    s, text = show(source, span, 300)
    d = read(text)
    f = s.f[np.isfinite(s.f)]
    assert d.bottom <= f.min() and d.top >= f.max()
    assert (d.top - d.bottom) <= (1 + 2 * 3.0) * np.ptp(f) * 1.05       # f's span, and SLOPE_ROOM on each side
    assert np.ptp(d.row(f)) >= 2                                            # f spans rows, not one flat line
    assert "y clipped to" in " ".join(text.split())
    assert_both_curves(s, d)


def test_no_slope_is_drawn_where_f_is_undefined():
    s, text = show("log(x^2-1)", "-3:3", 200)
    d = read(text)
    inside = (np.abs(s.x) < 1) & np.isfinite(s.df)          # the engine's slope is finite there, f is not
    assert inside.any()
    columns = {round(float(c)) for c in d.col(s.x[inside])}
    drawn = {c for _, c in d.cells(D_MARKS)}
    assert not (columns & drawn)


@pytest.mark.parametrize("args, fragment", [
    (["plot", "sin(x)", "--x", "3"], "range"),
    (["plot", "sin(x)", "--x", "3:1"], "first smaller"),
    (["plot", "sin(x)*y", "--x", "0:1"], "no value"),
])
def test_plot_errors(cli, args, fragment):
    r = cli(*args)
    assert r.code == 2 and fragment in r.err
