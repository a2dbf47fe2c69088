"""lang/expr.py: the hash-consed DAG the parser builds."""
import gc

import pytest

from gradcli.errors import Span
from gradcli.lang.expr import Builder, paused_gc
from gradcli.lang.parser import parse
from gradcli.ops import NUM, OPS, VAR


def test_equal_subtrees_built_by_one_builder_are_one_node():
    b = Builder("x")
    x1 = b.make(VAR, (), Span(0, 1), name="x")
    x2 = b.make(VAR, (), Span(5, 6), name="x")
    assert x1 is x2 and x1.span == Span(0, 1)          # the first occurrence's span is kept
    s1 = b.make(OPS["sin"], (x1,), Span(0, 6))
    s2 = b.make(OPS["sin"], (x2,), Span(9, 15))
    assert s1 is s2
    assert b.make(NUM, (), Span(0, 1), value=2.0) is not b.make(NUM, (), Span(0, 1), value=3.0)


def test_nodes_are_in_topological_order_with_the_root_last():
    expr = parse("sin(a*b) + a*b*c")
    nodes = expr.nodes()
    position = {n.id: i for i, n in enumerate(nodes)}
    assert nodes[-1] is expr
    for n in nodes:
        assert all(position[a.id] < position[n.id] for a in n.args)
    assert len({n.id for n in nodes}) == len(nodes)


def test_variables_in_order_of_first_appearance_and_texts():
    expr = parse("b*a + sin(a) + c")
    assert expr.variables() == ["b", "a", "c"]
    assert expr.text == "b*a + sin(a) + c"
    sin = next(n for n in expr.nodes() if n.op is OPS["sin"])
    assert sin.text == "sin(a)"


@pytest.mark.parametrize("limit, shown", [(100, "x+x+x+x"), (4, "x+x…"), (7, "x+x+x+x")])
def test_excerpt_is_bounded(limit, shown):
    assert parse("x+x+x+x").excerpt(limit) == shown


def test_a_parsed_expression_holds_no_reference_cycle():
    gc.collect()
    with paused_gc():
        expr = parse("sin(x)*sin(x) + y")
        expr.nodes()
        del expr
        assert gc.collect() == 0        # nothing left for the collector: refcounting freed it all


def test_paused_gc_restores_the_collector():
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_sexpr_of_leaves():
    assert parse("2 + pi + x").sexpr() == "(+ (+ 2 pi) x)"
