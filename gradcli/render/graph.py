"""The computational graph: a Rich tree for people, Graphviz DOT and Mermaid for drawing."""
from __future__ import annotations

from gradcli.render.numbers import Digits
from gradcli.render.records import one_line


def graph_tree(result, digits: Digits | None = None):
    """The computational graph as a Rich tree, output at the root; a shared node is drawn once."""
    from rich.text import Text
    from rich.tree import Tree

    short = (digits or Digits()).short
    nodes = result.graph
    parents = [0] * len(nodes)
    for n in nodes:
        for i in n.inputs:
            parents[i] += 1

    def label(n) -> Text:
        t = Text.assemble((one_line(n.shown), "bold"), (f"  #{n.id}", "dim"))
        if n.inputs:                        # an op (numbers, constants and variables have no inputs)
            t.append(f"  {n.op}", "magenta")
        t.append(f"  = {short(n.value)}", "cyan")
        details = [n.grad_fn or "", "leaf" if n.is_leaf else "non-leaf",
                   "requires_grad" if n.requires_grad else "requires_grad=False"]
        if parents[n.id] > 1:
            details.append(f"used {parents[n.id]}×")
        t.append("\n" + " · ".join(d for d in details if d), "dim")
        if n.grad is not None:
            t.append(f"  grad = {short(n.grad)}" + (" (retained)" if n.retained else ""), "green")
        elif n.requires_grad and not n.is_leaf:
            t.append("  grad freed", "yellow")
        return t

    root = nodes[-1]
    tree = Tree(label(root))
    drawn = {root.id}
    stack = [(tree, i) for i in reversed(root.inputs)]
    while stack:
        branch, i = stack.pop()
        n = nodes[i]
        if i in drawn:
            branch.add(Text.assemble("↑ ", (one_line(n.name or n.text), "bold"), f"  #{n.id} (shown above)",
                                     style="dim"))
            continue
        drawn.add(i)
        sub = branch.add(label(n))
        stack.extend((sub, j) for j in reversed(n.inputs))
    if any(n.requires_grad and not n.is_leaf and n.grad is None for n in nodes):
        from rich.console import Group
        return Group(tree, Text("grad freed: non-leaf gradients are dropped after use; --retain-grad keeps them",
                                "dim"))
    return tree


# Colours as torchviz draws autograd graphs: leaves that require grad light blue,
# the output green, other non-leaves grey; constants white.
def _node_colour(n, output: bool) -> str:
    if output:
        return "darkolivegreen1"
    if n.is_leaf:
        return "lightblue" if n.requires_grad else "white"
    return "lightgrey"


def _node_lines(n) -> list[str]:
    text = one_line(n.shown)
    lines = [text if len(text) <= 40 else text[:37] + "…"]
    if n.inputs:
        lines.append(f"op {n.op}" + (f" · {n.grad_fn}" if n.grad_fn else ""))
    lines.append(f"value {Digits().short(n.value)}")
    lines.append("leaf" if n.is_leaf else "non-leaf")
    if n.grad is not None:
        lines.append(f"grad {Digits().short(n.grad)}")
    elif n.requires_grad and not n.is_leaf:
        lines.append("grad freed")
    return lines


def graph_dot(result) -> str:
    """Graphviz DOT of the graph, inputs pointing at the ops that use them."""
    nodes = result.graph
    out = ["digraph gradcli {", '  rankdir="BT";', '  node [shape=box, style="rounded,filled", fontname="Helvetica"];']
    for n in nodes:
        label = "\\n".join(line.replace("\\", "\\\\").replace('"', '\\"') for line in _node_lines(n))
        out.append(f'  n{n.id} [label="{label}", fillcolor="{_node_colour(n, n.id == nodes[-1].id)}"];')
    for n in nodes:
        for i in n.inputs:
            out.append(f"  n{i} -> n{n.id};")
    out.append("}")
    return "\n".join(out)


def graph_mermaid(result) -> str:
    """A Mermaid flowchart of the graph."""
    nodes = result.graph
    out = ["flowchart BT"]
    for n in nodes:
        label = "<br/>".join(line.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
                             for line in _node_lines(n))
        out.append(f'  n{n.id}["{label}"]')
    for n in nodes:
        for i in n.inputs:
            out.append(f"  n{i} --> n{n.id}")
    out += ["  classDef leafgrad fill:#add8e6", "  classDef output fill:#caff70", "  classDef op fill:#d3d3d3"]
    for n in nodes:
        kind = "output" if n.id == nodes[-1].id else ("leafgrad" if n.is_leaf and n.requires_grad else
                                                        None if n.is_leaf else "op")
        if kind:
            out.append(f"  class n{n.id} {kind}")
    return "\n".join(out)
