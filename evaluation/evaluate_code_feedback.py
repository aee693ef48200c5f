"""DVC stage `evaluate_code_feedback`: who should word the interviewer's reply to a failing run,
the plan or a model.

Reads only the `evaluate_code_feedback` section of configs/interviewer.yaml. The coding round's
plan decides what a run's reply is about (mockmentor/coding/discussion.py); this stage measures
whether a model given the same facts words it better than the plan's own sentences do.

Failing runs are real: one slip (code_mutants.py) in the reference solution of each of `runs`
problems, drawn with `seed`, run against the problem's tests in the sandbox. For each run the
plan's reply and each candidate model's reply are measured:
  well_formed       one or two sentences, then exactly one question (the turn contract)
  fix_leak          says the reference's changed line or expression, or writes a code block:
                    the fix, given away
  names_case        says what the function returned on the failing case, or the error
  invented_numbers  a number that is in neither the prompt nor the code
  reply_s_p50       seconds to the whole reply on this machine (the plan's is ~0)
and a blind judge (the largest model obtainable here, as in `judge_interviewer`) compares each
model's reply with the plan's, both orders, with a bootstrap 95 % interval on the win rate.
Candidates: `served` is the tuned interviewer given the run as a voice turn's facts (the
contract it was trained on); any other name is a GGUF base in configs/models.yaml, prompted with
the code, the run and the coding-round instructions, untuned.

A model's words are shipped only if it passes every `ship_rule` bound; `shipped` names the first
that does, or `plan`. The service speaks the plan's words, so a test fails the day a retrained
model passes the rule and should be wired in (serving/coding_round.py).

Writes evaluation/replies/code_feedback.jsonl and evaluation/metrics/code_feedback.json and logs
both to one MLflow run.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from dataclasses import asdict, field
from pathlib import Path

import numpy as np
from pydantic.dataclasses import dataclass
from tqdm import tqdm

from mockmentor.coding.discussion import discuss, feedback_messages, run_facts
from mockmentor.coding.problems import CodingProblem, load_problems
from mockmentor.coding.sandbox import RunResult, Sandbox, load_sandbox_limits
from mockmentor.config import STRICT, load_section
from mockmentor.interviewer.turn import AnswerFacts, TurnFormatError, invented_numbers, parse_turn
from mockmentor.interviewer.turn import feedback_messages as voice_feedback_messages

from .code_mutants import Mutant, mutants
from .judge_interviewer import Judge, margin, outcome, preference

JUDGE_SYSTEM = (
    "You judge the feedback a technical interviewer gives in a coding interview, right after the "
    "candidate ran their code against the tests. Good feedback says what the run shows about the "
    "candidate's own code and the failing case, does not give the fix away, because the candidate "
    "should find it, and ends with one clear question that helps them find it. Bad feedback gives "
    "the fix or corrected code, is generic, misstates the result, or confuses the candidate."
)
_SPACE = re.compile(r"\s+")


@dataclass(config=STRICT)
class ShipRule:
    min_well_formed: float = field(metadata={"help": "share of replies that keep the turn contract"})
    max_fix_leak: float = field(metadata={"help": "share of replies that may give the fix away"})
    max_invented_numbers: float = field(metadata={"help": "share of replies with a made-up number"})
    min_win_ci_low: float = field(metadata={"help": "the judge's win rate over the plan: its 95 % low end"})


@dataclass(config=STRICT)
class CodeFeedbackConfig:
    problems: Path = field(metadata={"help": "problems.jsonl from `build_coding_problems`"})
    model_dir: Path = field(metadata={"help": "the served interviewer, from `train_interviewer`"})
    candidates: list[str] = field(metadata={"help": "`served`, or GGUF bases in configs/models.yaml"})
    judge: str = field(metadata={"help": "the judge, a GGUF model in configs/models.yaml"})
    runs: int = field(metadata={"help": "failing runs measured, one per problem"})
    max_new_tokens: int = field(metadata={"help": "reply length cap"})
    threads: int = field(metadata={"help": "llama.cpp threads"})
    tie_margin: float = field(metadata={"help": "a judge margin within this is a tie"})
    bootstrap_resamples: int = field(metadata={"help": "resamples for the 95 % interval"})
    ship_rule: ShipRule = field(metadata={"help": "what a model must reach to word the replies"})
    replies: Path = field(metadata={"help": "where every reply is written (JSON lines)"})
    metrics: Path = field(metadata={"help": "where code_feedback.json is written (a DVC metric)"})
    seed: int = field(metadata={"help": "which problems and slips, and the bootstrap"})

    def __post_init__(self) -> None:
        if self.runs < 2:
            raise ValueError("runs must be at least 2 for an interval")
        if "plan" in self.candidates:
            raise ValueError("the plan is the baseline, always measured; list only models")


def failing_runs(
    problems: list[CodingProblem], sandbox: Sandbox, wanted: int, seed: int
) -> list[tuple[CodingProblem, Mutant, RunResult]]:
    """One failing mutant each for the first `wanted` problems (in a seeded order) that have one
    whose first failing check returned something or raised (a case the reply can name)."""
    order = np.random.default_rng(seed).permutation(len(problems))
    found = []
    with tqdm(total=wanted, desc="failing runs", unit="run") as bar:
        for index in order:
            problem = problems[index]
            for mutant in mutants(problem.reference_solution, problem.entry_point, seed)[:8]:
                result = sandbox.run(mutant.code, problem.test, problem.entry_point)
                failing = result.first_failure
                if result.status == "failed" and failing and (failing.got or failing.error):
                    found.append((problem, mutant, result))
                    bar.update()
                    break
            if len(found) == wanted:
                return found
    raise ValueError(f"only {len(found)} of {wanted} problems have a failing one-slip mutant")


def _flat(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def reply_measures(reply: str, prompt: str, mutant: Mutant, result: RunResult) -> dict[str, bool]:
    failing = result.first_failure
    assert failing is not None  # failing_runs keeps only runs with a failing check
    said = failing.error.split(":")[0] if failing.error else failing.got or ""
    try:
        parse_turn(reply, "feedback")
        well_formed = True
    except TurnFormatError:
        well_formed = False
    flat = _flat(reply)
    fixes = [mutant.fix_line] + ([mutant.fix_expression] if len(mutant.fix_expression) >= 3 else [])
    return {
        "well_formed": well_formed,
        "fix_leak": "```" in reply or any(_flat(fix) in flat for fix in fixes if fix),
        "names_case": bool(said) and _flat(said) in flat,
        "invented_numbers": bool(invented_numbers(reply, prompt)),
    }


def voice_turn_messages(problem: CodingProblem, code: str, result: RunResult) -> list[dict[str, str]]:
    """The run as the served interviewer's own contract: the code is the answer, the failing
    case the point to lead toward without saying it."""
    failing = result.first_failure
    assert failing is not None  # failing_runs keeps only runs with a failing check
    facts = AnswerFacts(
        topic="coding",
        question=problem.summary,
        answer=code.strip(),
        verdict="off_track" if result.passed == 0 else "partial",
        covered=[f"{result.passed} of {result.total} tests pass"] if result.passed else [],
        hint=f"the failing check {failing.test}, where the function returned {failing.got or failing.error}",
    )
    return voice_feedback_messages(facts)


def judge_messages(
    problem: CodingProblem, mutant: Mutant, result: RunResult, first: str, second: str
) -> list[dict[str, str]]:
    # The shared part first, so llama.cpp evaluates it once for every pair of this run.
    user = (
        f"Problem: {problem.summary}\nCandidate's code:\n{mutant.code.strip()}\n{run_facts(result)}\n"
        f"Hidden from the candidate, the line that fixes it: {mutant.fix_line}\n\n"
        f"Feedback A: {first}\nFeedback B: {second}\n\n"
        "Which feedback helps this candidate more? Reply with exactly one word: A, B, or tie."
    )
    return [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": user}]


def summary(rows: list[dict], name: str) -> dict:
    measures = [row["measures"][name] for row in rows]
    out = {key: round(float(np.mean([m[key] for m in measures])), 4) for key in measures[0]}
    out["mean_words"] = round(float(np.mean([len(row["replies"][name].split()) for row in rows])), 1)
    out["reply_s_p50"] = round(statistics.median(row["seconds"][name] for row in rows), 3)
    return out


def ships(measured: dict, judged: dict, rule: ShipRule) -> list[str]:
    """The bounds a model misses (none: its words may be shipped)."""
    missed = []
    if measured["well_formed"] < rule.min_well_formed:
        missed.append(f"well_formed {measured['well_formed']} < {rule.min_well_formed}")
    if measured["fix_leak"] > rule.max_fix_leak:
        missed.append(f"fix_leak {measured['fix_leak']} > {rule.max_fix_leak}")
    if measured["invented_numbers"] > rule.max_invented_numbers:
        missed.append(f"invented_numbers {measured['invented_numbers']} > {rule.max_invented_numbers}")
    if judged["ci95"][0] <= rule.min_win_ci_low:
        missed.append(f"judge win rate 95 % low end {judged['ci95'][0]} <= {rule.min_win_ci_low}")
    return missed


def main(config_path: Path = Path("configs/interviewer.yaml")) -> dict:
    from mockmentor.interviewer.decoding import Interviewer, InterviewerFiles

    config = load_section(config_path, "evaluate_code_feedback", CodeFeedbackConfig)
    problems = list(load_problems(config.problems).values())
    sandbox = Sandbox(load_sandbox_limits())
    sandbox.preflight()
    cases = failing_runs(problems, sandbox, config.runs, config.seed)
    rows = []
    for problem, mutant, result in cases:
        sentences, _ = discuss(result)
        rows.append({
            "problem_id": problem.id, "code": mutant.code, "fix_line": mutant.fix_line,
            "run": result.message, "replies": {"plan": " ".join(sentences)}, "seconds": {"plan": 0.0},
            "prompts": {"plan": run_facts(result)},
        })  # fmt: skip
    for name in config.candidates:
        served = name == "served"
        files = InterviewerFiles.tuned(config.model_dir) if served else InterviewerFiles.base(name)
        model = Interviewer(files, max_new_tokens=config.max_new_tokens, threads=config.threads)
        for row, (problem, mutant, result) in tqdm(
            list(zip(rows, cases, strict=True)), desc=f"{name} replies", unit="run"
        ):
            build = voice_turn_messages if served else feedback_messages
            messages = build(problem, mutant.code, result)
            started = time.perf_counter()
            row["replies"][name] = model.reply(messages)
            row["seconds"][name] = time.perf_counter() - started
            row["prompts"][name] = "\n".join(m["content"] for m in messages)
        del model
    for row, (_, mutant, result) in zip(rows, cases, strict=True):
        row["measures"] = {
            name: reply_measures(reply, row["prompts"][name] + "\n" + row["code"], mutant, result)
            for name, reply in row["replies"].items()
        }
    judge = Judge(config.judge, config.threads)
    report: dict = {"runs": len(rows), "judge": config.judge, "replies": {}, "judged_against_plan": {}}
    margins: dict[str, list[float]] = {name: [] for name in config.candidates}
    p_a: dict[str, list[float]] = {name: [] for name in config.candidates}
    for row, (problem, mutant, result) in tqdm(
        list(zip(rows, cases, strict=True)), desc="judging against the plan", unit="run"
    ):
        plan = row["replies"]["plan"]
        for name in config.candidates:
            model = row["replies"][name]
            first = judge.choice(judge_messages(problem, mutant, result, model, plan))
            second = judge.choice(judge_messages(problem, mutant, result, plan, model))
            margins[name].append(margin(first, second))
            p_a[name] += [first["A"], second["A"]]
    for name in ["plan", *config.candidates]:
        report["replies"][name] = summary(rows, name)
    shipped, reasons = "plan", {}
    for name in config.candidates:
        outcomes = [outcome(m, config.tie_margin) for m in margins[name]]
        bias = float(np.mean(p_a[name]))
        judged = preference(outcomes, margins[name], bias, config.bootstrap_resamples, config.seed)
        report["judged_against_plan"][name] = judged
        reasons[name] = ships(report["replies"][name], judged, config.ship_rule)
        if not reasons[name] and shipped == "plan":
            shipped = name
    report["not_shipped_because"] = {name: missed for name, missed in reasons.items() if missed}
    report["shipped"] = shipped

    for path in (config.replies, config.metrics):
        path.parent.mkdir(parents=True, exist_ok=True)
    with config.replies.open("w", encoding="utf-8") as out:
        for row in rows:
            row["seconds"] = {k: round(v, 3) for k, v in row["seconds"].items()}
            row.pop("prompts")
            out.write(json.dumps(row) + "\n")
    config.metrics.write_text(json.dumps(report, indent=2) + "\n")

    import mlflow

    from mockmentor.tracking import flatten, stage_run

    with stage_run("evaluate_code_feedback", asdict(config)):
        mlflow.log_metrics(flatten({"replies": report["replies"], "judged": report["judged_against_plan"]}))
        mlflow.set_tag("shipped", shipped)
        mlflow.log_artifact(str(config.metrics))
        mlflow.log_artifact(str(config.replies))
    return report
