"""The one question an interviewer asks about code that passes: what it costs, or an edge case.

Passing the tests is where a real coding interview starts talking about the solution. The plan
reads the candidate's own code (parsed on the host, never run there) and picks the question its
shape raises, most telling first:
  recursion        how deep it goes for a long input
  a loop in a loop how the running time grows
  a sort           what the sort costs and whether a full order is needed
  one loop         how the running time grows
  no loop          an edge case of the first parameter, from its type hint or else from the
                   value the tests first pass it (an empty list or string, zero or a negative
                   number)
Code with none of these gets no question, and the round moves on.
The question names the code's own construct, never a better solution.
"""

from __future__ import annotations

import ast

LOOPS = (ast.For, ast.AsyncFor, ast.While)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
EDGE_CASES = (  # type hint word -> the edge case asked about
    (("list", "List", "Sequence", "tuple", "Tuple"), "an empty list"),
    (("str",), "an empty string"),
    (("int", "float"), "zero or a negative number"),
)


def _loop_depth(node: ast.AST) -> int:
    """How deeply loops nest within `node`; each `for` of a comprehension is one more level."""
    children = list(ast.iter_child_nodes(node))
    deepest = max((_loop_depth(c) + isinstance(c, LOOPS) for c in children), default=0)
    return deepest + (len(node.generators) if isinstance(node, COMPREHENSIONS) else 0)


def _calls(node: ast.AST) -> set[str]:
    """Names called in `node`: `f(...)` as f, `x.sort(...)` as sort."""
    names = set()
    for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
        if isinstance(call.func, ast.Name):
            names.add(call.func.id)
        elif isinstance(call.func, ast.Attribute):
            names.add(call.func.attr)
    return names


def _example_type(test: str) -> str | None:
    """The type name of the first argument in the tests' first `candidate(...)` call."""
    try:
        calls = [n for n in ast.walk(ast.parse(test)) if isinstance(n, ast.Call) and n.args]
        call = next(c for c in calls if isinstance(c.func, ast.Name) and c.func.id == "candidate")
        value = ast.literal_eval(call.args[0])
    except (SyntaxError, ValueError, TypeError, StopIteration, RecursionError, MemoryError):
        return None
    return None if isinstance(value, bool) else type(value).__name__


def _edge_case(function: ast.FunctionDef, test: str) -> str | None:
    params = function.args.posonlyargs + function.args.args
    if not params:
        return None
    annotation = params[0].annotation
    hint = ast.unparse(annotation) if annotation is not None else _example_type(test)
    for words, case in EDGE_CASES:
        if hint and any(hint == word or hint.startswith(f"{word}[") for word in words):
            return (
                f"What does your function return when {params[0].arg} is {case}, "
                "and is that what a caller would want?"
            )
    return None


def follow_up_question(code: str, entry_point: str, test: str = "") -> str | None:
    """The question about this passing code, or None when its shape raises none. `test`: the
    problem's tests, whose first call shows an untyped first parameter's type."""
    try:
        tree = ast.parse(code)
        function = next(
            (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == entry_point), None
        )
        if function is None:
            return None
        calls, depth = _calls(function), _loop_depth(function)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # it ran, so it parses; this is a guard against pathological nesting only
    if entry_point in calls:
        return (
            "Your function calls itself: how deep does that go for a very long input, and what happens then?"
        )
    if depth >= 2:
        return "You have a loop inside a loop: how does the running time grow as the input gets longer?"
    if calls & {"sorted", "sort"}:
        return (
            "You sort along the way: what does that cost as the input grows, and do you need the full order?"
        )
    if depth == 1:
        return "How does the running time of your solution grow with the size of the input?"
    return _edge_case(function, test)
