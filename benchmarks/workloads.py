"""Workloads shared by the benchmarks: random scalar expressions, and a minimal reference engine.

The reference engine is the baseline a batch of small expressions is held to:
a tiny recursive-descent parser and micrograd-style reverse mode on numpy
float64 scalars, with no graph objects beyond what backward needs and no output.
"""
from __future__ import annotations

import random

VARIABLES = ["x1", "x2", "x3", "x4", "x5"]
FUNCTIONS = ["sin", "cos", "tanh", "exp", "log"]
POINT = {"x1": 0.7, "x2": 1.3, "x3": 0.45, "x4": 1.9, "x5": 1.1}


def random_expressions(n: int = 2000, seed: int = 2026) -> list[str]:
    """n scalar expressions of 5 to 15 ops over five variables, fixed by the seed."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        ops = rng.randint(5, 15)
        expr = rng.choice(VARIABLES)
        for _ in range(ops):
            kind = rng.random()
            v = rng.choice(VARIABLES)
            if kind < 0.3:
                fn = rng.choice(FUNCTIONS)
                expr = f"{fn}({expr})" if fn != "log" else f"log(1 + ({expr})^2)"
            elif kind < 0.55:
                expr = f"({expr}) * {v}"
            elif kind < 0.75:
                expr = f"({expr}) + {v}"
            elif kind < 0.9:
                expr = f"({expr}) - {v}"
            else:
                expr = f"({expr}) / (1 + {v})"
        out.append(expr)
    return out


def batch_lines(exprs: list[str]) -> str:
    """The batch file: each expression with the point, binding only the variables it uses."""
    lines = []
    for e in exprs:
        used = [v for v in VARIABLES if v in e]
        lines.append(e + " where " + ", ".join(f"{v}={POINT[v]}" for v in used))
    return "\n".join(lines) + "\n"


# -- the reference engine (~60 lines) ---------------------------------------------------------
REFERENCE = r'''
import math, re, sys
import numpy as np

TOKEN = re.compile(r"\s*(?:(\d+\.?\d*)|([A-Za-z_]\w*)|(.))")
FN = {"sin": (np.sin, np.cos), "cos": (np.cos, lambda x: -np.sin(x)), "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2),
      "exp": (np.exp, np.exp), "log": (np.log, lambda x: 1 / x)}

class V:
    __slots__ = ("v", "g", "parents")
    def __init__(self, v, parents=()):
        self.v, self.g, self.parents = v, np.float64(0.0), parents

def parse(text, env):
    toks = [m.groups() for m in TOKEN.finditer(text) if any(m.groups())]
    pos = [0]
    def peek():
        return toks[pos[0]] if pos[0] < len(toks) else (None, None, None)
    def take():
        pos[0] += 1
        return toks[pos[0] - 1]
    def atom():
        num, name, op = take()
        if num: return V(np.float64(num))
        if op == "(":
            e = expr(); take(); return e
        if op == "-":
            a = atom(); return V(-a.v, ((a, -1.0),))
        if name in FN:
            take(); a = expr(); take(); f, d = FN[name]
            return V(f(a.v), ((a, d(a.v)),))
        return env[name]
    def power():
        a = atom()
        if peek()[2] == "^":
            take(); b = atom()
            return V(a.v ** b.v, ((a, b.v * a.v ** (b.v - 1)), (b, a.v ** b.v * np.log(a.v) if a.v > 0 else 0.0)))
        return a
    def term():
        a = power()
        while peek()[2] in ("*", "/"):
            op = take()[2]; b = power()
            a = V(a.v * b.v, ((a, b.v), (b, a.v))) if op == "*" else V(a.v / b.v, ((a, 1 / b.v), (b, -a.v / b.v ** 2)))
        return a
    def expr():
        a = term()
        while peek()[2] in ("+", "-"):
            op = take()[2]; b = term(); s = 1.0 if op == "+" else -1.0
            a = V(a.v + s * b.v, ((a, 1.0), (b, s)))
        return a
    return expr()

def backward(out):
    order, seen, stack = [], set(), [(out, False)]
    while stack:
        node, done = stack.pop()
        if done: order.append(node); continue
        if id(node) in seen: continue
        seen.add(id(node)); stack.append((node, True))
        stack.extend((p, False) for p, _ in node.parents if id(p) not in seen)
    out.g = np.float64(1.0)
    for node in reversed(order):
        for p, local in node.parents:
            p.g = p.g + node.g * local

for line in open(sys.argv[1]):
    text, _, where = line.partition(" where ")
    env = {k: V(np.float64(v)) for k, v in (kv.split("=") for kv in where.strip().split(", "))}
    out = parse(text, env)
    backward(out)
'''
