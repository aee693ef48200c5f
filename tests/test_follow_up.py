"""The question a passing solution earns: chosen from the candidate's own code, never a fix."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from mockmentor.coding.follow_up import follow_up_question
from mockmentor.coding.problems import load_problems

HEAD = "from typing import List\n\n"


def test_the_question_follows_the_shape_of_the_code() -> None:
    nested = HEAD + "def f(xs: List[int]) -> int:\n    return sum(1 for a in xs for b in xs if a < b)\n"
    assert "loop inside a loop" in follow_up_question(nested, "f")
    recursive = "def f(n: int) -> int:\n    return 1 if n < 2 else n * f(n - 1)\n"
    assert "calls itself" in follow_up_question(recursive, "f")
    sorting = HEAD + "def f(xs: List[int]) -> int:\n    return sorted(xs)[len(xs) // 2]\n"
    assert "sort" in follow_up_question(sorting, "f")
    in_place = HEAD + "def f(xs: List[int]) -> List[int]:\n    xs.sort()\n    return xs\n"
    assert "sort" in follow_up_question(in_place, "f")
    one_loop = "def f(s: str) -> int:\n    n = 0\n    for c in s:\n        n += c == 'a'\n    return n\n"
    assert follow_up_question(one_loop, "f") == (
        "How does the running time of your solution grow with the size of the input?"
    )
    # No loop: an edge case of the first parameter, named as the candidate named it.
    assert follow_up_question("def f(text: str) -> str:\n    return text[::-1]\n", "f") == (
        "What does your function return when text is an empty string, and is that what a caller would want?"
    )
    assert "numbers is an empty list" in follow_up_question(
        HEAD + "def f(numbers: List[float]) -> float:\n    return max(numbers)\n", "f"
    )
    assert "zero or a negative number" in follow_up_question("def f(n: int) -> int:\n    return n + 1\n", "f")
    # Nothing to ask: untyped and loop-free, another function's loops, or code that does not parse.
    assert follow_up_question("def f(x):\n    return x\n", "f") is None
    # Untyped: the type of the value the tests first pass.
    untyped = "def f(a, h):\n    return a * h / 2.0\n"
    assert "when a is zero or a negative number" in follow_up_question(
        untyped, "f", "assert candidate(5, 3) == 7.5"
    )
    assert "when a is an empty list" in follow_up_question(untyped, "f", "assert candidate([1], 2) == 1")
    assert follow_up_question(untyped, "f", "assert candidate(True, 2)") is None
    assert (
        follow_up_question("def g(xs):\n    for x in xs:\n        pass\n\ndef f(x):\n    return x\n", "f")
        is None
    )
    assert follow_up_question("def f(:\n", "f") is None
    assert follow_up_question("(" * 300 + ")" * 300, "f") is None


def test_every_reference_solution_earns_a_question_that_gives_nothing_away(coding_problems: Path) -> None:
    problems = load_problems(coding_problems).values()
    asked = {p.id: follow_up_question(p.reference_solution, p.entry_point, p.test) for p in problems}
    kinds = Counter(q.split(":")[0].split(",")[0] if q else None for q in asked.values())
    assert kinds[None] <= 3, kinds  # a typed or tested first parameter: nearly every solution has one
    assert len(kinds) >= 5, kinds  # and the questions differ with the code
    for p in problems:
        question = asked[p.id]
        if question:
            assert question.endswith("?") and question.count("?") == 1
            assert not any(
                line.strip() in question for line in p.canonical_solution.splitlines() if line.strip()
            )
