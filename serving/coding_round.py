"""The coding round: a session of coding problems, each solved in the editor, run in the sandbox
and discussed.

The plan decides, as in the voice turns: the run's result decides what the interviewer asks
next (the first failing case, the error, a loop that never ends, memory) and never what the
fix is. The first run that passes earns one question about the code itself, its cost or an
edge case (mockmentor/coding/follow_up.py); the candidate answers it aloud, and the next run
moves on. The words are the plan's own (reply_source `template`): `evaluate_code_feedback`
measures the served interviewer and a coder model wording the same facts, and neither passes
its ship rule (evaluation/metrics/code_feedback.json). Each run is a `code` turn, stored with
the code and the sandbox's result in one transaction; none of them is interviewer training data.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path

from mockmentor.coding.discussion import discuss, introduce
from mockmentor.coding.follow_up import follow_up_question
from mockmentor.coding.problems import CodingProblem, load_problems
from mockmentor.coding.sandbox import RunResult, Sandbox, SandboxUnavailable
from mockmentor.store.interviews import AccessDenied, InterviewSession, Store

from . import reports, schemas
from .refusal import RequestRefused
from .session_claims import SessionClaims

CODING_TOPIC = "coding-round"


def load_coding_problems(path: Path) -> dict[str, CodingProblem]:
    """The problem set, or none (the round is then off) when the stage has not written it yet."""
    return load_problems(path) if path.exists() else {}


def problem_view(problem: CodingProblem) -> schemas.CodingProblemView:
    return schemas.CodingProblemView(
        id=problem.id,
        entry_point=problem.entry_point,
        summary=problem.summary,
        difficulty=problem.difficulty,
        starting_code=problem.starting_code,
    )


class CodingRound:
    """Plans coding sessions and turns a run into a stored, spoken turn."""

    def __init__(
        self,
        problems: dict[str, CodingProblem],
        make_sandbox: Callable[[], Sandbox],
        store: Store,
        claims: SessionClaims,
        speak: Callable[[str], schemas.Spoken],
        listen: Callable[[bytes], tuple[str, dict]],
        problems_per_session: int,
        max_runs_per_problem: int,
    ) -> None:
        """The round is on with a sandbox that passed its preflight here, else off with the reason."""
        self.problems = problems
        self.sandbox: Sandbox | None = None
        self.unavailable: str | None = None
        if not problems:
            self.unavailable = "no coding problems (run `dvc repro build_coding_problems`)"
        else:
            try:
                sandbox = make_sandbox()
                sandbox.preflight()
                self.sandbox = sandbox
            except SandboxUnavailable as err:
                self.unavailable = str(err)
        self.store, self.claims, self.speak, self.listen = store, claims, speak, listen
        self.problems_per_session, self.max_runs = problems_per_session, max_runs_per_problem

    def _sandbox(self) -> Sandbox:
        if self.sandbox is None:
            raise RequestRefused(
                HTTPStatus.SERVICE_UNAVAILABLE, f"the coding round is off on this server: {self.unavailable}"
            )
        return self.sandbox

    @property
    def status(self) -> str:
        return "ok" if self.sandbox is not None else f"off: {self.unavailable}"

    def start(self, role: str, difficulty: str, candidate_token: str | None) -> schemas.SessionStarted:
        self._sandbox()  # refuses while the round is off
        pool = sorted(p for p, problem in self.problems.items() if problem.difficulty == difficulty)
        plan = random.SystemRandom().sample(pool, min(self.problems_per_session, len(pool)))
        first = self.problems[plan[0]]
        sentences = introduce(first, first=True)
        session, turn, token, candidate = self.store.create_session(
            role=role,
            topic=CODING_TOPIC,
            difficulty=difficulty,
            job_description=None,
            question_ids=plan,
            candidate_token=candidate_token,
            opener={
                "topic": CODING_TOPIC,
                "reply": " ".join(sentences),
                "reply_source": "template",
                "next_question_id": first.id,
                "next_question": first.summary,
                "prompt": [],
                "model_versions": {},
                "timings_ms": {},
            },
        )
        return schemas.SessionStarted(
            session_id=session.id,
            session_token=token,
            candidate_token=candidate,
            turn_id=turn.id,
            role=role,
            topic=CODING_TOPIC,
            questions_planned=len(plan),
            reply=" ".join(sentences),
            speech=[self.speak(s) for s in sentences],
            problem=problem_view(first),
        )

    def run(
        self, session_id: str, token: str, code: str, audio: bytes | None = None
    ) -> schemas.CodeTurnResult:
        """Run the code against the current problem's tests; `audio`: what the candidate said
        while coding, transcribed into the turn (refused like any answer if it is not audio)."""
        started = time.perf_counter()
        try:
            session = self.store.session(session_id, token)
        except AccessDenied as err:
            raise RequestRefused(HTTPStatus.NOT_FOUND, str(err)) from None
        last = session.turns[-1]
        if session.topic != CODING_TOPIC:
            raise RequestRefused(
                HTTPStatus.CONFLICT,
                "this session is not a coding round: answer with /answer_text or /answer_audio",
            )
        if last.next_question_id is None:
            raise RequestRefused(HTTPStatus.CONFLICT, "this interview is finished; start a new session")
        sandbox = self._sandbox()
        problem = self.problems.get(last.next_question_id)
        if problem is None:
            raise RequestRefused(
                HTTPStatus.CONFLICT, "this session's problem is no longer in the problem set"
            )
        self.claims.claim(session_id, "a run of this session is already in progress")
        try:
            said = self.listen(audio) if audio is not None else (None, None)
            result = sandbox.run(code, problem.test, problem.entry_point)
            return self._turn(session, token, problem, code, result, said, started)
        finally:
            self.claims.release(session_id)

    def _turn(
        self,
        session: InterviewSession,
        token: str,
        problem: CodingProblem,
        code: str,
        result: RunResult,
        said: tuple[str | None, dict | None],
        started: float,
    ) -> schemas.CodeTurnResult:
        turns = session.turns
        earlier = [t for t in turns if t.kind == "code" and t.question_id == problem.id]
        runs = 1 + len(earlier)
        sentences, solved = discuss(result)
        later = session.question_ids[session.question_ids.index(problem.id) + 1 :]
        following = later[0] if later else None
        # The first pass earns one question about the code itself; the run after it moves on.
        passed_before = reports.solved(earlier)
        question = (
            follow_up_question(code, problem.entry_point, problem.test)
            if solved and not passed_before
            else None
        )
        move_on = (solved or runs >= self.max_runs) and question is None
        if question:
            sentences.append(question)
        elif solved and said[0] and passed_before:
            sentences.insert(0, "Thanks for talking me through it.")
        if move_on and not solved:
            sentences = [*sentences[:1], "Let's move on; the report will show one way to solve it."]
        if move_on:
            sentences += (
                introduce(self.problems[following], first=False)
                if following
                else ["That's the end of the coding round."]
            )
        next_problem = self.problems[following] if move_on and following else None
        next_id = problem.id if not move_on else following
        speech = [self.speak(s) for s in sentences]
        timings = {"run": result.seconds * 1000, "total": round((time.perf_counter() - started) * 1000, 1)}
        stored = self.store.add_turn(
            session.id,
            token,
            position=len(turns),
            kind="code",
            topic=CODING_TOPIC,
            question_id=problem.id,
            question=problem.summary,
            answer_source="spoken" if said[0] else "code",  # code alone, or code and speech
            transcript=said[0],
            analytics=said[1],
            reply=" ".join(sentences),
            reply_source="template",
            next_question_id=next_id,
            next_question=(next_problem.summary if next_problem else problem.summary) if next_id else None,
            prompt=[],
            model_versions={},
            timings_ms=timings,
            code=code if result.status != "refused" else None,  # a refused upload is not kept
            code_run=result.to_dict(),
        )
        return schemas.CodeTurnResult(
            turn_id=stored.id,
            position=len(turns),
            problem_id=problem.id,
            run=schemas.CodeRun.model_validate(result.to_dict()),
            reply=" ".join(sentences),
            speech=speech,
            solved=solved,
            follow_up=question,
            runs=runs,
            transcript=said[0],
            next_problem=problem_view(next_problem) if next_problem else None,
            finished=next_id is None,
            timings_ms=timings,
        )
