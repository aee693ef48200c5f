"""Failing code for the code-feedback evaluation: one slip in a real reference solution."""

from __future__ import annotations

import ast
from pathlib import Path

from mockmentor.coding.problems import load_problems
from mockmentor.evaluation.code_mutants import mutants


def test_a_mutant_differs_from_its_reference_in_one_slip() -> None:
    reference = "def f(xs, k):\n    '''Docstring 1 < 2.'''\n    return [x + 1 for x in xs if x < k]\n"
    found = mutants(reference, "f", seed=0)
    assert {m.fix_line for m in found} == {"return [x + 1 for x in xs if x < k]"}
    assert sorted(m.code.splitlines()[-1].strip() for m in found) == [
        "return [x + 1 for x in xs if x <= k]",
        "return [x + 2 for x in xs if x < k]",
        "return [x - 1 for x in xs if x < k]",
    ]
    assert {m.fix_expression for m in found} == {"x < k", "x + 1", "1"}
    assert all("Docstring 1 < 2." in m.code for m in found)  # the docstring never slips
    assert [m.code for m in mutants(reference, "f", seed=0)] == [m.code for m in found]  # seeded
    assert mutants(reference, "g", seed=0) == []


def test_nearly_every_reference_solution_has_slips_that_parse(coding_problems: Path) -> None:
    problems = load_problems(coding_problems).values()
    found = {p.id: mutants(p.reference_solution, p.entry_point, seed=0) for p in problems}
    assert sum(bool(m) for m in found.values()) >= 150, [k for k, v in found.items() if not v]
    for problem_mutants in found.values():
        for mutant in problem_mutants[:3]:
            ast.parse(mutant.code)
