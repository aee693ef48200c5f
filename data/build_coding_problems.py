"""DVC stage `build_coding_problems`: HumanEval's 164 problems -> coding-round questions.

Each problem keeps its prompt, tests and canonical solution (data/raw/humaneval, MIT, see its
PROVENANCE.txt) and gets a difficulty measured from the canonical solution, the code a
candidate has to write:

  effort = statements + 2 x control-flow points (if, loops, try, comprehensions, lambdas,
           nested functions)
  easy: effort <= easy_max_effort, medium: <= medium_max_effort, hard: above

The thresholds are fixed in the config (5 and 12 split HumanEval about in thirds), so new
problems never move old ones between levels. The tests' size is reported beside it, not used:
how many asserts a problem has says little about how hard it is to solve. Reads only the
`build_coding_problems` section of configs/data.yaml and writes
  data/coding/problems.jsonl   one CodingProblem per line
  data/coding/report.json      problems per difficulty, effort and checks (a DVC metric)
"""

from __future__ import annotations

import gzip
import json
import statistics
from dataclasses import asdict, field
from pathlib import Path

from pydantic.dataclasses import dataclass

from mockmentor.coding.problems import DIFFICULTIES, CodingProblem, solution_shape, summary_of, write_problems
from mockmentor.config import STRICT, load_section
from mockmentor.records import RecordError

FIELDS = ("task_id", "prompt", "entry_point", "canonical_solution", "test")


@dataclass(config=STRICT)
class BuildCodingProblemsConfig:
    source: Path = field(metadata={"help": "HumanEval.jsonl.gz (data/raw/humaneval)"})
    output: Path = field(metadata={"help": "where problems.jsonl is written"})
    report: Path = field(metadata={"help": "problems per difficulty (a DVC metric)"})
    easy_max_effort: int = field(metadata={"help": "effort at or below this is easy"})
    medium_max_effort: int = field(metadata={"help": "effort at or below this (and above easy) is medium"})

    def __post_init__(self) -> None:
        if not 0 < self.easy_max_effort < self.medium_max_effort:
            raise ValueError("need 0 < easy_max_effort < medium_max_effort")


def read_source(path: Path, config: BuildCodingProblemsConfig) -> list[CodingProblem]:
    problems = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            try:
                row = json.loads(line)
            except ValueError as err:
                raise RecordError(path, number, "(line)", f"not JSON ({err})") from None
            for name in FIELDS:
                if not isinstance(row.get(name), str):
                    raise RecordError(path, number, name, "missing or not text")
            try:
                problems.append(problem_from(row, config))
            except SyntaxError as err:
                raise RecordError(
                    path, number, "prompt/canonical_solution", f"not Python ({err.msg})"
                ) from None
            except StopIteration:
                raise RecordError(
                    path, number, "prompt", f"defines no function {row['entry_point']}"
                ) from None
    return problems


def problem_from(row: dict, config: BuildCodingProblemsConfig) -> CodingProblem:
    statements, branches = solution_shape(row["canonical_solution"])
    effort = statements + 2 * branches
    level = 0 if effort <= config.easy_max_effort else 1 if effort <= config.medium_max_effort else 2
    checks = row["test"].count("assert ")
    return CodingProblem(
        id=row["task_id"],
        entry_point=row["entry_point"],
        prompt=row["prompt"],
        summary=summary_of(row["prompt"], row["entry_point"]),
        test=row["test"],
        canonical_solution=row["canonical_solution"],
        statements=statements,
        branches=branches,
        checks=checks,
        effort=effort,
        difficulty=DIFFICULTIES[level],
    )


def main(config_path: Path = Path("configs/data.yaml")) -> dict:
    config = load_section(config_path, "build_coding_problems", BuildCodingProblemsConfig)
    problems = read_source(config.source, config)
    write_problems(problems, config.output)
    report = {
        "problems": len(problems),
        "difficulty": {
            level: {
                "problems": sum(p.difficulty == level for p in problems),
                "median_effort": statistics.median(p.effort for p in problems if p.difficulty == level),
                "median_checks": statistics.median(p.checks for p in problems if p.difficulty == level),
            }
            for level in DIFFICULTIES
        },
    }
    config.report.parent.mkdir(parents=True, exist_ok=True)
    config.report.write_text(json.dumps(report, indent=2) + "\n")

    import mlflow

    from mockmentor.tracking import flatten, stage_run

    with stage_run("build_coding_problems", asdict(config)):
        mlflow.log_metrics(flatten(report))
        mlflow.log_artifact(str(config.report))
    return report
