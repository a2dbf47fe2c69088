"""values.py: a variable's value from text, numbers or nested lists (never through eval)."""
import math

import numpy as np
import pytest

from gradcli.errors import BindError, ParseError, ShapeError
from gradcli.values import MAX_ELEMENTS, read_value


@pytest.mark.parametrize("text, value", [
    ("2", 2.0), ("-1.5e-3", -0.0015), (" 3 ", 3.0), ("pi/2", math.pi / 2), ("e", math.e), ("2^10", 1024.0),
    ("sqrt(4)", 2.0), ("−2", -2.0), ("1e400", math.inf),
])
def test_numbers(text, value):
    assert read_value(text) == value and type(read_value(text)) is float


@pytest.mark.parametrize("text, value", [
    ("1,2,3", [1, 2, 3]), ("[1, 2, 3]", [1, 2, 3]), ("[[1,2],[3,4]]", [[1, 2], [3, 4]]),
    ("pi, 2*pi", [math.pi, 2 * math.pi]), ("[1e-3, -4]", [0.001, -4]),
])
def test_arrays(text, value):
    got = read_value(text)
    assert isinstance(got, np.ndarray) and got.dtype == np.float64
    np.testing.assert_array_equal(got, np.array(value, dtype=float))


def test_numbers_and_lists_pass_through():
    assert read_value(3) == 3.0 and read_value(2.5) == 2.5
    np.testing.assert_array_equal(read_value([[1, 2], [3, 4]]), [[1.0, 2.0], [3.0, 4.0]])
    assert read_value(10 ** 400) == math.inf                     # an integer beyond float range


@pytest.mark.parametrize("value, error", [
    ("x + 1", BindError), ("1,,2", ParseError), ("[1, [2]]", ShapeError), (True, BindError), (None, BindError),
    ([[1, 2], [3]], BindError), ("__import__('os')", ParseError),
])
def test_bad_values_are_errors(value, error):
    with pytest.raises(error):
        read_value(value, "value of x")


def test_a_long_vector_of_plain_numbers_is_read_without_the_parser():
    text = ",".join(str(i) for i in range(200_000))
    got = read_value(text)
    assert got.shape == (200_000,) and got[-1] == 199_999.0


def test_the_element_limit():
    with pytest.raises(BindError, match=f"the limit is {MAX_ELEMENTS:,}"):
        read_value(",".join(["1"] * (MAX_ELEMENTS + 1)))


def test_an_error_in_a_value_points_into_its_text():
    with pytest.raises(ParseError) as info:
        read_value("1, 2, *", "value of v")
    assert info.value.source == "1, 2, *" and info.value.span.start == 6 and info.value.where == "value of v"
