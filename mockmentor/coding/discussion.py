"""What the interviewer says in the coding round: the plan's own words on a problem and a run.

The run's result decides what is said: every test passing, the first failing case (what the
function returned there, never what it should do to return the right thing), an error, a loop
that never ends, memory, a flood of output. Each reply is one or two sentences and one question.

`feedback_messages` is the same facts as a model's prompt: `evaluate_code_feedback` measures
models wording them against these sentences, and the sentences have won so far.
"""

from __future__ import annotations

from .problems import CodingProblem
from .sandbox import RunResult


def introduce(problem: CodingProblem, first: bool) -> list[str]:
    lead = "Let's do a coding problem." if first else "Next problem."
    return [
        lead,
        problem.summary,
        f"Write {problem.entry_point.replace('_', ' ')} in the editor, run it when you're ready, "
        "and talk me through your thinking as you go.",
    ]


def discuss(result: RunResult) -> tuple[list[str], bool]:
    """What the interviewer says about a run, and whether the problem is solved."""
    failing = result.first_failure
    if result.status == "passed":
        return [f"All {result.total} tests pass."], True
    if result.status == "failed" and failing is not None and failing.error:
        kind = failing.error.split(":")[0]
        return [
            f"{result.passed} of {result.total} tests pass, and one case raises {kind}.",
            "Look at that case on your screen: what does your code assume about the input there?",
        ], False
    if result.status == "failed" and failing is not None:
        returned = f" your function returned {failing.got} there" if failing.got else " it fails there"
        return [
            f"{result.passed} of {result.total} tests pass.",
            f"Look at the first failing case on your screen:{returned}.",
            "What should it return, and which part of your code decides that?",
        ], False
    questions = {
        "error": "What does that line expect that it does not get?",
        "timeout": "Which loop in your code might never end, and what makes it stop?",
        "memory": "How much does your approach keep in memory as the input grows?",
        "output_limit": "The tests check what your function returns: which print can go?",
        "crashed": "What in your code reaches below Python, and does it need to?",
        "refused": "Could you send it again as plain text under the size limit?",
    }
    return [result.message, questions[result.status]], False


CODE_SYSTEM_PROMPT = (
    "You are MockMentor, a technical interviewer in a coding interview. The candidate has just run "
    "their code against the tests. In one or two sentences, say what the run shows about their "
    "code, without giving the fix or writing code; then ask exactly one question that helps them "
    "find the problem themselves."
)


def run_facts(result: RunResult) -> str:
    """The run as the interviewer is told it: the result, and the first failing case or error."""
    facts = [f"Run: {result.message}"]
    failing = result.first_failure
    if failing is not None:
        facts.append(f"First failing check: {failing.test}")
        facts.append(
            f"It raised: {failing.error}" if failing.error else f"Their function returned: {failing.got}"
        )
    return "\n".join(facts)


# Two replies written by the project, as an interviewer would give them, on problems that are
# not in HumanEval: a model is shown how the reply sounds rather than left to guess (untuned
# models asked zero-shot narrate "the candidate's code" and write the fix).
EXAMPLES = (
    (
        "Problem: Return the number of vowels in a string.\nCandidate's code:\n"
        "def count_vowels(text: str) -> int:\n    return sum(1 for c in text if c in 'aeiou')\n"
        "Run: 2 of 3 tests passed.\nFirst failing check: assert candidate('ApplE') == 2\n"
        "Their function returned: 0",
        "Two of three tests pass, so your counting works on lowercase words, but on 'ApplE' your "
        "function returned 0. What happens to a capital letter when it reaches your vowel check?",
    ),
    (
        "Problem: Return the average of a list of numbers, or 0.0 for an empty list.\n"
        "Candidate's code:\ndef average(xs: list[float]) -> float:\n    return sum(xs) / len(xs)\n"
        "Run: 3 of 4 tests passed.\nFirst failing check: assert candidate([]) == 0.0\n"
        "It raised: ZeroDivisionError: division by zero",
        "Three of four tests pass, so the arithmetic is right, and the empty list is the one that "
        "breaks it. What does your function do when there is nothing to average?",
    ),
)


def feedback_messages(problem: CodingProblem, code: str, result: RunResult) -> list[dict[str, str]]:
    """A model's prompt to word the reply to a failing run (the plan's facts, nothing more)."""
    user = f"Problem: {problem.summary}\nCandidate's code:\n{code.strip()}\n{run_facts(result)}"
    shown = [
        message
        for asked, answered in EXAMPLES
        for message in ({"role": "user", "content": asked}, {"role": "assistant", "content": answered})
    ]
    return [{"role": "system", "content": CODE_SYSTEM_PROMPT}, *shown, {"role": "user", "content": user}]
