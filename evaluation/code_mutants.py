"""Failing code a candidate could plausibly write: one small slip in a reference solution.

Each mutant changes one thing in the entry function's body, the way people slip: a comparison
off by one (`<` for `<=`), `in` for `not in`, the wrong boolean connective or arithmetic
operator, a number off by one, `min` for `max`, `upper` for `lower`, a dropped `not`.
The sandbox then decides whether the slip fails a test; only failing mutants are used. The
changed line of the reference is kept as "the fix", so a reply that says it can be caught.
"""

from __future__ import annotations

import ast
import copy
import difflib
import random
from dataclasses import dataclass

SWAPS: dict[type, type] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Add, ast.Div: ast.Mult, ast.FloorDiv: ast.Div,
    ast.Mod: ast.FloorDiv, ast.And: ast.Or, ast.Or: ast.And,
}  # fmt: skip
NAME_SWAPS = {
    "min": "max", "max": "min", "any": "all", "all": "any", "upper": "lower", "lower": "upper",
    "startswith": "endswith", "endswith": "startswith",
}  # fmt: skip


@dataclass(frozen=True)
class Mutant:
    code: str  # the whole solution with the slip
    fix_line: str  # the reference's line that the slip changed, stripped
    fix_expression: str  # the reference's expression around the slip (e.g. `i < len(xs)`)


def _sites(function: ast.FunctionDef) -> list[tuple[ast.AST, str]]:
    """(node, how to change it) for every place a slip can happen, in source order."""
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # never the docstring
    sites: list[tuple[ast.AST, str]] = []
    for node in (n for statement in body for n in ast.walk(statement)):
        if isinstance(node, ast.Compare) and type(node.ops[0]) in SWAPS:
            sites.append((node, "compare"))
        elif isinstance(node, ast.BinOp | ast.BoolOp) and type(node.op) in SWAPS:
            sites.append((node, "operator"))
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float, bool):
            sites.append((node, "constant"))
        elif isinstance(node, ast.Name | ast.Attribute) and _name(node) in NAME_SWAPS:
            sites.append((node, "name"))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            sites.append((node, "negation"))
    return sites


def _name(node: ast.Name | ast.Attribute) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr


def _slip(node: ast.AST, how: str) -> None:
    if how == "compare":
        node.ops[0] = SWAPS[type(node.ops[0])]()  # type: ignore[attr-defined]
    elif how == "operator":
        node.op = SWAPS[type(node.op)]()  # type: ignore[attr-defined]
    elif how == "name" and isinstance(node, ast.Name):
        node.id = NAME_SWAPS[node.id]
    elif how == "name" and isinstance(node, ast.Attribute):
        node.attr = NAME_SWAPS[node.attr]
    elif isinstance(node, ast.Constant) and type(node.value) is bool:
        node.value = not node.value
    else:
        node.value += 1  # type: ignore[attr-defined]


class _DropNot(ast.NodeTransformer):
    """`not x` -> `x` at one node."""

    def __init__(self, target: ast.AST) -> None:
        self.target = target

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        return node.operand if node is self.target else self.generic_visit(node)


def mutants(reference: str, entry_point: str, seed: int) -> list[Mutant]:
    """Every one-slip mutant of `reference`, in a seeded order. The reference itself is
    normalised by `ast.unparse` first, so the mutant differs from it only where it slipped."""
    tree = ast.parse(reference)
    original = ast.unparse(tree)
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == entry_point]
    if not functions:
        return []
    found = []
    for index, (node, how) in enumerate(_sites(functions[0])):
        changed = copy.deepcopy(tree)
        copies = (n for n in ast.walk(changed) if isinstance(n, ast.FunctionDef) and n.name == entry_point)
        target = _sites(next(copies))[index][0]  # ast.walk visits the copy in the same order
        expression = ast.unparse(node)
        if how == "negation":
            changed = _DropNot(target).visit(changed)
        else:
            _slip(target, how)
        code = ast.unparse(changed)
        lines = [
            line[2:].strip()
            for line in difflib.ndiff(original.splitlines(), code.splitlines())
            if line.startswith("- ")
        ]
        if code != original and lines:
            found.append(Mutant(code=code + "\n", fix_line=lines[0], fix_expression=expression))
    random.Random(seed).shuffle(found)
    return found
