"""Coding-round problems: HumanEval's, with a difficulty measured from their solution.

A problem is what the candidate sees (the function's signature and docstring, `prompt`), what
runs their code (`test`, a `check(candidate)` function, and `entry_point`), and what is
revealed only in the session report (`canonical_solution`). Written by the
`build_coding_problems` stage, read by the service, the tests and the sandbox bench.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

DIFFICULTIES = ("easy", "medium", "hard")
SUMMARY_CHARS = 60  # "Given a non-empty list of integers lst." alone does not say what to do
CONTROL_FLOW = (
    ast.If,
    ast.For,
    ast.While,
    ast.Try,
    ast.comprehension,
    ast.IfExp,
    ast.Lambda,
    ast.FunctionDef,
)


@dataclass(frozen=True)
class CodingProblem:
    id: str  # "HumanEval/0"
    entry_point: str
    prompt: str  # signature and docstring: the editor's starting text
    summary: str  # the docstring's first sentence, as the interviewer says it
    test: str
    canonical_solution: str  # the function body that passes `test`
    statements: int  # statements in the canonical solution
    branches: int  # its control-flow points (if, loops, try, comprehensions, nested functions)
    checks: int  # asserts in the tests
    effort: int  # statements + 2 * branches: what decides the difficulty
    difficulty: str

    @property
    def starting_code(self) -> str:
        """The editor's first text: the signature and docstring, and a body to replace."""
        return self.prompt.lstrip("\n") + "    pass\n"

    @property
    def reference_solution(self) -> str:
        """The prompt as the editor shows it, with the canonical body: revealed in the report."""
        return self.prompt.lstrip("\n") + self.canonical_solution


def solution_shape(body: str) -> tuple[int, int]:
    """(statements, control-flow points) of an indented function body."""
    tree = ast.parse("def solution():\n" + body)
    nodes = list(ast.walk(tree.body[0]))[1:]
    statements = sum(isinstance(node, ast.stmt) for node in nodes)
    return statements, sum(isinstance(node, CONTROL_FLOW) for node in nodes)


def summary_of(prompt: str, entry_point: str) -> str:
    """The entry point's docstring up to its first sentence end or blank line."""
    tree = ast.parse(prompt + "    pass\n")
    function = next(
        node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == entry_point
    )
    strings = [  # the docstring, or the first string when an import comes before it (HumanEval/115)
        node.value.value
        for node in function.body
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    ]
    doc = inspect.cleandoc(strings[0]) if strings else ""
    first = re.split(rf">>>|{re.escape(entry_point)}\(|\bExamples?\b|\bFor example\b", doc.split("\n\n")[0])[
        0
    ]
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(first.split()))
    summary = ""
    for sentence in sentences:  # whole sentences, until there is enough to say what is asked
        word = sentence.split(" ")[0]
        if word.isalpha():  # "add the even elements" -> "Add ...", but never "Sum_to_n"
            sentence = sentence[:1].upper() + sentence[1:]
        summary = f"{summary} {sentence}".strip()
        if len(summary) >= SUMMARY_CHARS:
            break
    summary = re.sub(r"[.,:; ]+$", "", summary)
    return summary if summary.endswith(("?", "!")) else summary + "."


def load_problems(path: Path) -> dict[str, CodingProblem]:
    problems = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            try:
                problem = CodingProblem(**json.loads(line))
            except (TypeError, ValueError) as err:
                raise ValueError(f"{path}:{number}: not a coding problem ({err})") from None
            problems[problem.id] = problem
    return problems


def write_problems(problems: list[CodingProblem], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for problem in problems:
            handle.write(json.dumps(asdict(problem)) + "\n")
