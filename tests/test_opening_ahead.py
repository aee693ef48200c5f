"""The reply's opening made while the answer is spoken (InterviewEngine.opening_ahead), run in
this process on the test service's models (tiny scorer, packaged SmolLM2 interviewer, Piper) and a
SQLite store: a reply starts from it only when the plan's verdict on the whole answer is the one it
was made for and it still keeps the turn contract, and the model then goes on from its words."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mockmentor.interviewer.guard import ENDED, opening_clause
from mockmentor.speech.transcription import Transcript

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine(serving_config: Path, tmp_path_factory: pytest.TempPathFactory):
    from mockmentor.serving.config import load_serve_config
    from mockmentor.serving.interview import InterviewEngine
    from mockmentor.serving.model_loading import load_models
    from mockmentor.store.interviews import Store

    config = load_serve_config(serving_config)
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('opening-ahead') / 'interviews.db'}")
    return InterviewEngine(config, load_models(config), store)


def asking(engine, question) -> tuple[object, object, object]:
    """A new session whose first question is `question` (a job description made of its text
    ranks it first), as (started, session, last turn)."""
    started = engine.start("Software engineer", question.topic, "medium", question.text, None)
    session, last = engine.answerable(started.session_id, started.session_token)
    return started, session, last


def questions(engine) -> list:
    """The course's questions, in the bank's order, that a session can be made to ask first (a
    question the course asks twice in the same words is ranked after its twin)."""
    bank = [q for q in engine.bank.questions.values() if q.topic == "intro-programming" and q.reference]
    texts = [q.text for q in bank]
    return [q for q in bank if texts.count(q.text) == 1]


@pytest.fixture(scope="module")
def made(engine) -> tuple[object, object]:
    """An opening the model made, and the question it answers: the first answer, in the bank's
    order, for which the untuned model's first sentence keeps the contract (most do not): each
    question's reference, its first half, its first three words."""
    for question in questions(engine):
        started, session, last = asking(engine, question)
        reference = question.reference.split()
        for words in (reference, reference[: max(3, len(reference) // 2)], reference[:3]):
            ahead = engine.opening_ahead(session, last, started.session_token, " ".join(words), lambda: False)
            if ahead is not None:
                return question, ahead
    raise AssertionError("the model opened no reply that keeps the contract on any question")


def served(engine, question, ahead, text: str | None = None) -> tuple[list[tuple[str, object]], object]:
    """The turn of a new session asking `question`, answered by `text` (else what `ahead` was made
    on) with `ahead` as the opening made while it was spoken; and that session."""
    from mockmentor.serving.interview import HeardAnswer

    started, _, last = asking(engine, question)
    assert last.next_question_id == question.id
    heard = HeardAnswer(Transcript(text or ahead.heard, [], 1.0), b"", {}, opening=ahead)
    return list(engine.answer(started.session_id, started.session_token, heard=heard)), started


def test_the_opening_made_ahead_is_the_replys_start_when_the_verdict_holds(engine, made) -> None:
    question, ahead = made
    # what the guard would speak ahead: an opening clause, or a whole sentence without one
    assert ahead.clause == opening_clause(ahead.clause + " x", 4) or ENDED.search(ahead.clause)
    events, _ = served(engine, question, ahead)
    first = next(payload for name, payload in events if name == "sentence")
    assert first == ahead.speech  # spoken before the answer ended: no Piper after it
    turn = events[-1][1]
    assert events[-1][0] == "turn" and turn.timings_ms["opening_ahead"] == 1.0
    assert turn.reply.startswith(ahead.clause)
    # the model went on from the opening's words (tests/test_interviewer.py: as it goes on after
    # words it wrote itself) to a whole turn, its question last
    assert len(turn.reply) > len(ahead.clause) and turn.reply.endswith("?")


def test_an_opening_made_for_another_verdict_is_not_spoken(engine, made) -> None:
    question, ahead = made
    other = "off_track" if ahead.verdict != "off_track" else "complete"
    events, _ = served(engine, question, dataclasses.replace(ahead, verdict=other))
    assert events[-1][1].timings_ms["opening_ahead"] == 0.0
    assert all(payload != ahead.speech for name, payload in events if name == "sentence")


def test_an_opening_that_names_what_the_whole_answer_missed_is_not_spoken(engine) -> None:
    """Made for the same verdict, on the words heard then, it names every key point: the whole
    answer's plan counts some as missed, so saying it would give them away."""
    from mockmentor.interviewer.turn import plan_verdict
    from mockmentor.serving.interview import OpeningAhead

    for question in questions(engine):
        points = " and ".join(p.rstrip(".") for p in question.key_points)
        clause = f"You said {points},"
        ahead = OpeningAhead("", "partial", clause, engine.spoken(clause), 0.0)
        answer = " ".join(question.reference.split()[:3])
        events, _ = served(engine, question, ahead, text=answer)
        turn = events[-1][1]
        score = turn.score
        if (
            plan_verdict(score.off_topic, score.missed, score.score, engine.models.coverage_rule.wrong)
            == "partial"
        ):
            assert turn.timings_ms["opening_ahead"] == 0.0 and not turn.reply.startswith(clause)
            return
    raise AssertionError("no answer of three words was found partly right")
