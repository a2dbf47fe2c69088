"""The library API: gradcli.evaluate."""
import numpy as np
import pytest

import gradcli
from gradcli import BindError, GradOutputError, ParseError, ShapeError, evaluate


def test_evaluate_as_in_the_design():
    x = np.array([0.5, -1.0, 2.0])
    result = gradcli.evaluate("sum(tanh(x*y))", {"x": x, "y": 2.0}, wrt=None, grad_output=None, grad=True)
    assert result.value == pytest.approx(np.sum(np.tanh(2 * x)), rel=1e-15)
    assert list(result.grad) == ["x", "y"]
    assert result.grad["x"].shape == (3,)
    assert isinstance(result.grad["y"], float)
    np.testing.assert_allclose(result.grad["x"], 2 * (1 - np.tanh(2 * x) ** 2), rtol=1e-14)


def test_grad_keys_in_order_of_first_appearance_and_wrt():
    result = evaluate("c*b + a", {"a": 1, "b": 2, "c": 3})
    assert list(result.grad) == ["c", "b", "a"]
    result = evaluate("c*b + a", {"a": 1, "b": 2, "c": 3}, wrt=["a", "c"])
    assert list(result.grad) == ["c", "a"]


def test_parsed_expression_is_reused():
    expr = gradcli.parse("x^2")
    assert [evaluate(expr, {"x": v}).grad["x"] for v in (1, 2, 3)] == [2.0, 4.0, 6.0]


def test_values_may_be_text():
    result = evaluate("sin(x) + sum(v)", {"x": "pi/2", "v": "1,2,3"})
    assert result.value == 7.0
    assert result.grad["x"] == pytest.approx(0.0, abs=1e-16)


def test_grad_output_seeds_a_non_scalar_output():
    result = evaluate("x*2", {"x": [1, 2, 3]}, grad_output=[1, 0, 2])
    assert result.grad["x"].tolist() == [2.0, 0.0, 4.0]


def test_non_scalar_output_without_grad_output():
    with pytest.raises(GradOutputError) as info:
        evaluate("x*2", {"x": [1, 2, 3]})
    assert "grad can be implicitly created only for scalar outputs" in info.value.message
    assert "--grad-output" in info.value.hint


def test_no_grad_records_nothing():
    result = evaluate("a*b", {"a": 2, "b": 3}, grad=False)
    assert result.grad is None
    assert not any(n.requires_grad for n in result.graph)


def test_graph_nodes():
    result = evaluate("a*b+c", {"a": 2, "b": 3, "c": 4})
    graph = result.graph
    assert [n.text for n in graph] == ["a", "b", "a*b", "c", "a*b+c"]
    assert [n.grad_fn for n in graph] == [None, None, "MulBackward0", None, "AddBackward0"]
    assert graph[2].inputs == [0, 1] and graph[4].inputs == [2, 3]
    assert graph[2].grad is None                           # freed: non-leaf, not retained
    assert graph[0].grad == 3.0 and graph[0].is_leaf
    retained = evaluate("a*b+c", {"a": 2, "b": 3, "c": 4}, retain_grad=True).graph
    assert retained[2].grad == 1.0 and retained[4].grad == 1.0


@pytest.mark.parametrize("text, values, error, fragment", [
    ("a*b", {"a": 1, "b": 2, "q": 3}, BindError, "'q', which is not a variable"),
    ("a*b", {"a": 1}, BindError, "no value for 'b'"),
    ("pi*2", {"pi": 3}, BindError, "'pi' is a constant"),
    ("a+1", {"a": "1..2"}, ParseError, "expected an operator"),
    ("a+1", {"a": "[1,2],[3]"}, ShapeError, "same shape"),
    ("a+1", {"a": "y+1"}, BindError, "must be a constant"),
    ("[1,2]+[1,2,3]", {}, ShapeError, "shapes (2,) and (3,) do not fit '+'"),
    ("x[5]", {"x": [1, 2, 3]}, ShapeError, "index [5] is out of range for shape (3,)"),
    ("W @ v", {"W": [[1, 2], [3, 4]], "v": [1, 2, 3]}, ShapeError, "do not fit '@'"),
    ("dot(a, b)", {"a": [1, 2], "b": [1, 2, 3]}, ShapeError, "do not fit 'dot'"),
    ("[x, 1]", {"x": [1, 2]}, ShapeError, "stacked arrays must have one shape"),
    ("a*b", {"a": 1, "b": 2}, BindError, "--wrt names 'z'"),
])
def test_bad_input_raises_a_gradcli_error(text, values, error, fragment):
    wrt = ["z"] if "--wrt" in fragment else None
    with pytest.raises(error) as info:
        evaluate(text, values, wrt=wrt)
    assert fragment in info.value.message + (info.value.hint or "")


def test_shape_error_points_at_the_node():
    with pytest.raises(ShapeError) as info:
        evaluate("sum(x) + ([1,2]+[1,2,3])", {"x": [1.0]})
    assert (info.value.span.start, info.value.span.end) == (10, 23)
    assert info.value.source == "sum(x) + ([1,2]+[1,2,3])"


def test_value_error_points_into_the_value_text():
    with pytest.raises(ParseError) as info:
        evaluate("a+1", {"a": "1,2,$"})
    assert info.value.source == "1,2,$" and info.value.column == 5
    assert info.value.where == "value of a"


def test_numeric_trouble_is_not_an_error():
    result = evaluate("log(x)", {"x": -1})
    assert np.isnan(result.value) and result.grad["x"] == -1.0
    assert result.notes and "nan first appears in 'log(x)'" in result.notes[0].message
    result = evaluate("exp(x)*2", {"x": 1000})
    assert result.value == np.inf
    assert "inf first appears in 'exp(x)'" in result.notes[0].message
    result = evaluate("sqrt(x)", {"x": 0})
    assert result.grad["x"] == np.inf
    assert any("gradient with respect to x is inf" in n.message for n in result.notes)


def test_constant_expression_has_empty_grad():
    result = evaluate("2^3^2", {})
    assert result.value == 512.0 and result.grad == {}


def test_broadcast_gradient_has_the_variable_shape():
    result = evaluate("sum(x + a)", {"x": [1, 2, 3], "a": 10})
    assert result.grad["x"].tolist() == [1.0, 1.0, 1.0] and result.grad["a"] == 3.0
    result = evaluate("sum(M * v)", {"M": np.ones((2, 3)), "v": [1, 2, 3]})
    assert result.grad["v"].tolist() == [2.0, 2.0, 2.0]
    assert result.grad["M"].tolist() == [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]


def test_reductions():
    x = [1.0, 2.0, 3.0, 4.0]
    assert evaluate("mean(x^2)", {"x": x}).grad["x"].tolist() == [0.5, 1.0, 1.5, 2.0]
    assert evaluate("prod(x)", {"x": x}).grad["x"].tolist() == [24.0, 12.0, 8.0, 6.0]
    assert evaluate("max(x)", {"x": x}).grad["x"].tolist() == [0.0, 0.0, 0.0, 1.0]
    np.testing.assert_allclose(evaluate("norm(x)", {"x": x}).grad["x"], np.array(x) / np.sqrt(30), rtol=1e-15)
    sm = evaluate("logsumexp(x)", {"x": x}).grad["x"]
    np.testing.assert_allclose(sm, np.exp(x) / np.exp(x).sum(), rtol=1e-14)
    result = evaluate("sum(softmax(x)*w)", {"x": [0.1, 0.2, 0.3], "w": [1, 2, 3]})
    s = np.exp([0.1, 0.2, 0.3]) / np.exp([0.1, 0.2, 0.3]).sum()
    np.testing.assert_allclose(result.grad["x"], s * (np.array([1, 2, 3]) - s @ [1, 2, 3]), rtol=1e-13)


def test_graph_recorded_later_equals_graph_recorded_during():
    later = evaluate("sin(x)*y + x", {"x": 0.5, "y": 2.0})
    during = evaluate("sin(x)*y + x", {"x": 0.5, "y": 2.0}, trace=True)
    assert later.tensors is None and during.tensors is not None
    assert later.graph == during.graph
    assert later.grad == during.grad
