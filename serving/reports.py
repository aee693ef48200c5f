"""A session's report and a candidate's history, computed from the stored turns."""

from __future__ import annotations

import statistics
from collections import defaultdict

from mockmentor.coding.follow_up import follow_up_question
from mockmentor.coding.problems import CodingProblem
from mockmentor.interviewer.templates import lower_first
from mockmentor.interviewer.turn import topic_label
from mockmentor.speech.delivery import Delivery
from mockmentor.store.interviews import InterviewSession, Turn

from . import schemas

# Conversational English runs at about 120-160 words a minute; interview answers read well
# inside it. Above or below by this much, the report says so.
PACE = (110, 170)
FILLERS_PER_100_WORDS = 4.0
STRONG_ANSWER_WORDS = 80


def strong_answer(reference: str | None) -> str:
    """The reference as the report shows it (its key points, plain text), cut to a readable length."""
    words = (reference or "").split()
    return " ".join(words[:STRONG_ANSWER_WORDS]) + (" …" if len(words) > STRONG_ANSWER_WORDS else "")


def tip(turn: Turn) -> str:
    """One concrete thing to do next time; the missed point may be named now the interview is over."""
    if turn.off_topic:
        return "Answer the question that was asked: name its subject in your first sentence, then explain it."
    if turn.missed:
        return f"Say this explicitly next time: {lower_first(turn.missed[0])}."
    return "Nothing was missing: keep answers this direct, and add an example when you have one."


def delivery_advice(answers: list[schemas.QuestionReport], pause_seconds: float = 2.0) -> list[str]:
    """Advice only where the figures call for it, each naming the figure behind it."""
    spoken = [a.delivery for a in answers if a.delivery.words_per_minute is not None]
    advice = []
    if spoken:
        pace = statistics.median(d.words_per_minute for d in spoken)
        if pace > PACE[1]:
            advice.append(
                f"You spoke at {pace:.0f} words a minute, faster than conversational speech "
                f"({PACE[0]}-{PACE[1]}): slow down so each point lands."
            )
        elif pace < PACE[0]:
            advice.append(
                f"You spoke at {pace:.0f} words a minute, slower than conversational speech "
                f"({PACE[0]}-{PACE[1]}): lead with your main point, then add detail."
            )
    words = sum(a.delivery.words for a in answers)
    fillers = sum(a.delivery.filler_count for a in answers)
    if words and fillers / words * 100 > FILLERS_PER_100_WORDS:
        advice.append(
            f"{fillers} filler words in {words} ({fillers / words * 100:.0f} per 100): "
            "a short silent pause sounds more confident than 'um'."
        )
    pauses = sum(a.delivery.long_pauses for a in answers)
    if pauses:
        advice.append(
            f"{pauses} pause{'s' if pauses > 1 else ''} longer than {pause_seconds:g} s: when you need "
            "time, say so ('let me think for a second') rather than going quiet."
        )
    return advice


def code_runs(session: InterviewSession) -> dict[str, list[Turn]]:
    """Problem id -> the session's runs of it, in order (for the report and the history)."""
    runs: dict[str, list[Turn]] = defaultdict(list)
    for turn in session.turns:
        if turn.kind == "code" and turn.question_id and turn.code_run:
            runs[turn.question_id].append(turn)
    return runs


def first_pass(runs: list[Turn]) -> Turn | None:
    return next((t for t in runs if t.code_run and t.code_run["status"] == "passed"), None)


def solved(runs: list[Turn]) -> bool:
    return first_pass(runs) is not None


def asked_about(turns: list[Turn], problem: CodingProblem | None) -> str | None:
    """The question the first passing run earned (the plan's rule, read again from its code)."""
    passed = first_pass(turns)  # a passing run always keeps its code (only refused code is not kept)
    return (
        follow_up_question(passed.code, problem.entry_point, problem.test)
        if passed and passed.code and problem
        else None
    )


def coding_report(
    session: InterviewSession, problems: dict[str, CodingProblem]
) -> list[schemas.CodingProblemReport]:
    """Each coding problem run in the session: its last run, the final code and, now that the
    round is over for it, a reference solution."""
    return [
        schemas.CodingProblemReport(
            problem_id=problem_id,
            summary=turns[-1].question or "",
            difficulty=problems[problem_id].difficulty if problem_id in problems else "",
            runs=len(turns),
            solved=solved(turns),
            last_run=schemas.CodeRun.model_validate(turns[-1].code_run),
            final_code=turns[-1].code,
            follow_up=asked_about(turns, problems.get(problem_id)),
            said=[t.transcript for t in turns if t.transcript],
            reference_solution=problems[problem_id].reference_solution if problem_id in problems else "",
        )
        for problem_id, turns in code_runs(session).items()
    ]


def session_report(
    session: InterviewSession,
    references: dict[str, str] | None = None,
    problems: dict[str, CodingProblem] | None = None,
) -> schemas.SessionReport:
    """`references`: question id -> reference answer, shown once the interview is over;
    `problems`: the coding problems, whose reference solutions the report reveals."""
    references = references or {}
    answers = [
        schemas.QuestionReport(
            position=t.position,
            topic=t.topic,
            question=t.question or "",
            transcript=t.transcript or "",
            score=t.score or 0.0,
            low=t.score_low or 0.0,
            high=t.score_high or 0.0,
            missed=t.missed or [],
            strong_answer=strong_answer(references.get(t.question_id or "")),
            tip=tip(t),
            off_topic=t.off_topic,
            delivery=Delivery.model_validate(t.analytics),
            rating=t.rating.rating if t.rating else None,
        )
        for t in session.turns
        if t.kind == "feedback"
    ]
    scored = [a for a in answers if not a.off_topic]  # an answer that did not answer is no score
    by_topic: dict[str, list[float]] = defaultdict(list)
    for answer in scored:
        by_topic[topic_label(answer.topic)].append(answer.score)
    topic_scores = {topic: round(statistics.fmean(s), 2) for topic, s in by_topic.items()}
    ranked = sorted(topic_scores, key=topic_scores.get)
    rates = [a.delivery.words_per_minute for a in answers if a.delivery.words_per_minute is not None]
    return schemas.SessionReport(
        session_id=session.id,
        role=session.role,
        topic=session.topic,
        created_at=session.created_at.isoformat(timespec="seconds"),
        answers=answers,
        mean_score=round(statistics.fmean(a.score for a in scored), 2) if scored else None,
        topic_scores=topic_scores,
        strongest_topic=ranked[-1] if len(ranked) > 1 else (ranked[0] if ranked else None),
        weakest_topic=ranked[0] if len(ranked) > 1 else None,
        words_per_minute=round(statistics.median(rates), 1) if rates else None,
        filler_count=sum(a.delivery.filler_count for a in answers),
        long_pauses=sum(a.delivery.long_pauses for a in answers),
        delivery_advice=delivery_advice(answers),
        finished=bool(session.turns) and session.turns[-1].next_question_id is None,
        coding=coding_report(session, problems or {}),
    )


def history(sessions: list[InterviewSession]) -> schemas.History:
    items = []
    for session in sessions:
        scores = [
            t.score for t in session.turns if t.kind == "feedback" and t.score is not None and not t.off_topic
        ]
        coded = code_runs(session)
        items.append(
            schemas.HistoryItem(
                session_id=session.id,
                created_at=session.created_at.isoformat(timespec="seconds"),
                role=session.role,
                topic=session.topic,
                answers=len(scores),
                mean_score=round(statistics.fmean(scores), 2) if scores else None,
                problems_attempted=len(coded),
                problems_solved=sum(solved(runs) for runs in coded.values()),
            )
        )
    return schemas.History(sessions=items)
