"""A session's report and a candidate's history, computed from the stored turns."""

from __future__ import annotations

import statistics
from collections import defaultdict

from mockmentor.interviewer.turn import topic_label
from mockmentor.speech.delivery import Delivery
from mockmentor.store.interviews import InterviewSession

from . import schemas


def session_report(session: InterviewSession) -> schemas.SessionReport:
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
        finished=bool(session.turns) and session.turns[-1].next_question_id is None,
    )


def history(sessions: list[InterviewSession]) -> schemas.History:
    items = []
    for session in sessions:
        scores = [
            t.score for t in session.turns if t.kind == "feedback" and t.score is not None and not t.off_topic
        ]
        items.append(
            schemas.HistoryItem(
                session_id=session.id,
                created_at=session.created_at.isoformat(timespec="seconds"),
                role=session.role,
                topic=session.topic,
                answers=len(scores),
                mean_score=round(statistics.fmean(scores), 2) if scores else None,
            )
        )
    return schemas.History(sessions=items)
