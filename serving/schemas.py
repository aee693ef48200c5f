"""What the service's API accepts and returns (the OpenAPI is generated from these)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from mockmentor.scorer.scorer import OffTopic
from mockmentor.speech.delivery import Delivery

Difficulty = Literal["easy", "medium", "hard"]


class Spoken(BaseModel):
    text: str = Field(
        description="one sentence of the interviewer's reply (the first sentence's opening clause "
        "comes on its own, so its audio starts sooner)"
    )
    audio_wav_base64: str = Field(description="that text spoken, a 16-bit mono WAV")


class Score(BaseModel):
    score: float = Field(ge=0, le=5, description="predicted human score, 0-5")
    low: float = Field(ge=0, le=5, description="lower end of the interval")
    high: float = Field(ge=0, le=5, description="upper end of the interval")
    covered: list[str] = Field(description="key points of the reference the answer covered")
    missed: list[str] = Field(description="key points it missed")
    off_topic: bool = Field(
        default=False,
        description="the answer does not address the question: not scored as an answer, never trained on",
    )
    evidence: OffTopic | None = Field(default=None, description="why it was judged off topic")


class Transcribed(BaseModel):
    transcript: str
    delivery: Delivery


class TurnError(BaseModel):
    status: int = Field(description="the HTTP status this failure would have had")
    message: str


class CodingProblemView(BaseModel):
    id: str = Field(description="e.g. HumanEval/0")
    entry_point: str = Field(description="the function the tests call")
    summary: str = Field(description="the problem in one sentence, as the interviewer says it")
    difficulty: str
    starting_code: str = Field(description="the signature and docstring: the editor's first text")


class CodeTest(BaseModel):
    test: str = Field(description="the check's source, e.g. assert add([1, 2]) == 3")
    passed: bool
    got: str | None = Field(default=None, description="what the function returned, for a failing check")
    error: str | None = None


class CodeRun(BaseModel):
    status: Literal["passed", "failed", "error", "timeout", "memory", "output_limit", "crashed", "refused"]
    message: str = Field(description="one sentence on the run")
    passed: int
    total: int
    tests: list[CodeTest]
    error: str | None
    output: str = Field(description="what the code printed (capped)")
    seconds: float


class CodeTurnResult(BaseModel):
    turn_id: str
    position: int
    problem_id: str
    run: CodeRun
    reply: str = Field(description="the interviewer on the run, and the next problem when it moves on")
    speech: list[Spoken]
    solved: bool = Field(description="every test passed")
    follow_up: str | None = Field(
        default=None,
        description="on a problem's first pass, the one question about the code (its cost or an edge case): "
        "answer it aloud with /run_code_spoken, and the next run moves on",
    )
    transcript: str | None = Field(
        default=None, description="what you said while coding, when audio came with the run"
    )
    runs: int = Field(description="runs of this problem so far, this one included")
    next_problem: CodingProblemView | None = Field(description="set when the round moves to a new problem")
    finished: bool
    timings_ms: dict[str, float]


class SessionStarted(BaseModel):
    session_id: str
    session_token: str = Field(description="secret for this session; send it with every later call")
    candidate_token: str = Field(description="secret linking your sessions into a history; keep it")
    turn_id: str = Field(description="the opener, which can be rated like any turn")
    role: str
    topic: str
    questions_planned: int
    reply: str = Field(description="the opening question as text")
    speech: list[Spoken]
    problem: CodingProblemView | None = Field(default=None, description="a coding round's first problem")


class TurnResult(BaseModel):
    turn_id: str
    position: int = Field(description="1 for the first answer, 2 for the next, ...")
    question: str = Field(description="the question that was answered")
    transcript: str
    delivery: Delivery
    score: Score
    reply: str = Field(description="feedback and the next question, as text")
    reply_source: Literal["model", "model+plan", "template"] = Field(
        description="model: all from the interviewer LLM; model+plan: its feedback with the planned "
        "question; template: the LLM's reply was not a well-formed turn and a template replaced it"
    )
    speech: list[Spoken]
    next_question: str | None = Field(description="what to answer next; null when the interview is over")
    follow_up: bool = Field(description="the next question probes a point this answer missed")
    retry: bool = Field(
        default=False, description="the answer did not address the question, which is asked once more"
    )
    finished: bool
    timings_ms: dict[str, float]


class RatingSaved(BaseModel):
    turn_id: str
    rating: int
    comment: str | None
    candidate_score: float | None


class QuestionReport(BaseModel):
    position: int
    off_topic: bool = Field(
        default=False, description="the answer did not address the question (not in the means)"
    )
    topic: str
    question: str
    transcript: str
    score: float
    low: float
    high: float
    missed: list[str]
    strong_answer: str = Field(
        description="what a strong answer would say (the reference), revealed only in the report"
    )
    tip: str = Field(description="one concrete thing to do better in this answer")
    delivery: Delivery
    rating: int | None


class CodingProblemReport(BaseModel):
    problem_id: str
    summary: str
    difficulty: str
    runs: int
    solved: bool
    last_run: CodeRun
    final_code: str | None = Field(description="the code of the last run")
    follow_up: str | None = Field(description="the question asked about the code once it passed")
    said: list[str] = Field(description="what you said while coding, run by run")
    reference_solution: str = Field(description="one passing solution, revealed only in the report")


class SessionReport(BaseModel):
    session_id: str
    role: str
    topic: str
    created_at: str
    answers: list[QuestionReport]
    mean_score: float | None
    topic_scores: dict[str, float]
    strongest_topic: str | None
    weakest_topic: str | None
    words_per_minute: float | None = Field(description="median over spoken answers")
    filler_count: int
    long_pauses: int
    delivery_advice: list[str] = Field(description="advice grounded in the pace, fillers and pauses measured")
    finished: bool
    coding: list[CodingProblemReport] = Field(default_factory=list, description="a coding round's problems")


class HistoryItem(BaseModel):
    session_id: str
    created_at: str
    role: str
    topic: str
    answers: int
    mean_score: float | None
    problems_attempted: int = Field(default=0, description="coding problems run at least once")
    problems_solved: int = Field(default=0, description="coding problems whose tests all passed")


class History(BaseModel):
    sessions: list[HistoryItem]


class Catalogue(BaseModel):
    roles: dict[str, list[str]]
    coding_round_roles: list[str] = Field(description="roles offered the coding round (topic coding-round)")
    coding_round: str = Field(description="ok, or why the coding round is off on this server")
    topic_labels: dict[str, str]
    difficulties: list[str]
    limits: dict[str, float]
