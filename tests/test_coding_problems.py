"""The coding round's problems: HumanEval turned into questions, and the harness proved on all 164."""

from __future__ import annotations

import gzip
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mockmentor.coding.problems import DIFFICULTIES, CodingProblem, load_problems
from mockmentor.coding.sandbox import Sandbox
from mockmentor.config import ConfigError
from mockmentor.records import RecordError


def test_every_problem_gets_a_measured_difficulty_and_a_spoken_summary(coding_problems: Path) -> None:
    problems = load_problems(coding_problems)
    assert len(problems) == 164
    counts = {level: sum(p.difficulty == level for p in problems.values()) for level in DIFFICULTIES}
    assert all(40 <= count <= 70 for count in counts.values()), counts  # about in thirds
    for p in problems.values():
        assert p.effort == p.statements + 2 * p.branches
        expected = "easy" if p.effort <= 5 else "medium" if p.effort <= 12 else "hard"
        assert p.difficulty == expected
        assert p.summary and ">>>" not in p.summary
        assert p.canonical_solution not in p.prompt  # the answer is not in what the candidate sees
    # whole sentences until the task is said; the function's own name keeps its case
    assert problems["HumanEval/85"].summary == (
        "Given a non-empty list of integers lst. Add the even elements that are at odd indices."
    )
    assert problems["HumanEval/60"].summary == "sum_to_n is a function that sums numbers from 1 to n."
    assert problems["HumanEval/2"].difficulty == "easy"  # return number % 1.0
    assert problems["HumanEval/1"].difficulty == "hard"  # separate_paren_groups: a depth-tracking loop
    report = json.loads((coding_problems.parent / "report.json").read_text())
    assert report["problems"] == 164 and sum(v["problems"] for v in report["difficulty"].values()) == 164


def test_every_canonical_solution_passes_and_a_broken_one_fails(
    sandbox: Sandbox, coding_problems: Path
) -> None:
    """The harness itself is right: all 164 reference solutions pass their own tests in the
    sandbox, and the same function returning None fails every problem."""
    problems = list(load_problems(coding_problems).values())

    def both(p: CodingProblem) -> tuple[str, str, str]:
        good = sandbox.run(p.reference_solution, p.test, p.entry_point)
        broken = sandbox.run(p.prompt + "    return None\n", p.test, p.entry_point)
        return p.id, good.status + " " + good.message, broken.status

    with ThreadPoolExecutor(sandbox.limits.concurrent_runs) as pool:
        outcomes = list(pool.map(both, problems))
    assert [o for o in outcomes if not o[1].startswith("passed")] == []
    assert [o for o in outcomes if o[2] not in ("failed", "error")] == []


def test_a_broken_source_row_names_its_file_line_and_field(tmp_path: Path, repo: Path) -> None:
    from mockmentor.data.build_coding_problems import main

    with gzip.open(repo / "data/raw/humaneval/HumanEval.jsonl.gz") as handle:
        rows = [json.loads(line) for line in handle][:3]
    del rows[1]["test"]
    source = tmp_path / "broken.jsonl.gz"
    with gzip.open(source, "wt") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in rows)
    recipe = tmp_path / "data.yaml"
    recipe.write_text(
        "build_coding_problems:\n"
        f"  source: {source}\n  output: {tmp_path / 'p.jsonl'}\n  report: {tmp_path / 'r.json'}\n"
        "  easy_max_effort: 5\n  medium_max_effort: 12\n"
    )
    with pytest.raises(RecordError, match=rf"{source}:2: field 'test': missing or not text"):
        main(recipe)
    recipe.write_text(recipe.read_text().replace("easy_max_effort: 5", "easy_max_effort: 20"))
    with pytest.raises(ConfigError, match="easy_max_effort < medium_max_effort"):
        main(recipe)
