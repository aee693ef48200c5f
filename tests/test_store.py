"""Interview persistence on both databases: migrations, atomic turns, token isolation, export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from mockmentor.records import Answer, RatedTurn
from mockmentor.store.interviews import AccessDenied, Store, Turn

TURN = {
    "kind": "feedback",
    "topic": "intro-programming",
    "question_id": "mohler-1.1",
    "question": "What is a stack?",
    "answer_source": "text",
    "transcript": "a last in first out list",
    "analytics": {"words": 6},
    "score": 4.0,
    "score_low": 3.0,
    "score_high": 5.0,
    "covered": ["LIFO"],
    "missed": [],
    "reply": "Exactly right: LIFO. Next question: What is a queue?",
    "reply_source": "model",
    "next_question_id": "mohler-1.2",
    "next_question": "What is a queue?",
    "prompt": [{"role": "user", "content": "Question: What is a stack?"}],
    "model_versions": {"scorer": "answer-scorer/1"},
    "timings_ms": {"total": 1.0},
}


OPENER = {
    "topic": "intro-programming",
    "reply": "Let's start. What is a stack?",
    "reply_source": "model",
    "next_question_id": "mohler-1.1",
    "next_question": "What is a stack?",
    "prompt": [],
    "model_versions": {},
    "timings_ms": {},
}


def new_session(store: Store, candidate: str | None = None) -> tuple[str, str, str]:
    row, _, token, candidate = store.create_session(
        role="Software engineer",
        topic="intro-programming",
        difficulty="medium",
        job_description=None,
        question_ids=["mohler-1.1", "mohler-1.2"],
        candidate_token=candidate,
        opener=OPENER,
    )
    return row.id, token, candidate


def test_turns_are_atomic_and_ordered(database_url: str) -> None:
    store = Store.open(database_url)
    Store.open(database_url)  # migrating twice is a no-op
    session_id, token, _ = new_session(store)
    store.add_turn(session_id, token, position=1, **TURN)
    with pytest.raises(IntegrityError):  # a second answer racing for the same position
        store.add_turn(session_id, token, position=1, **TURN | {"transcript": "racing answer"})
    with store.transaction() as db:
        rows = db.scalar(select(func.count()).select_from(Turn).where(Turn.session_id == session_id))
    assert rows == 2  # the opener and the first answer: the failed turn left nothing behind
    assert store.session(session_id, token).turns[1].transcript == TURN["transcript"]


def test_a_token_opens_only_its_own_session(database_url: str) -> None:
    store = Store.open(database_url)
    first_id, first_token, _ = new_session(store)
    second_id, second_token, _ = new_session(store)
    turn = store.add_turn(first_id, first_token, position=1, **TURN)
    for session_id, token in [
        (first_id, second_token),
        (second_id, first_token),
        ("0" * 32, first_token),
        (first_id, ""),
        ("x", first_token),
    ]:
        with pytest.raises(AccessDenied):
            store.session(session_id, token)
        with pytest.raises(AccessDenied):
            store.add_turn(session_id, token, position=2, **TURN)
    with pytest.raises(AccessDenied):  # the right session cannot rate another session's turn
        store.rate(second_id, second_token, turn.id, 5, None, None)
    assert len(first_token) >= 43  # 256 bits, URL-safe base64


def test_ratings_update_history_and_export(database_url: str, tmp_path: Path, settings_env) -> None:
    from mockmentor.data.collect_ratings import main as collect_ratings

    store = Store.open(database_url)
    session_id, token, candidate = new_session(store)
    other_id, _, _ = new_session(store, candidate)
    turn = store.add_turn(session_id, token, position=1, **TURN)
    swapped = store.add_turn(session_id, token, position=2, **TURN | {"reply_source": "model+plan"})
    store.rate(session_id, token, turn.id, 2, "too vague", None)
    store.rate(session_id, token, turn.id, 5, "clear", 4.5)  # rating again replaces
    store.rate(session_id, token, swapped.id, 4, None, None)
    assert [s.id for s in store.history(candidate)][-2:] == [session_id, other_id]
    assert store.history("not-a-candidate") == []

    settings_env(MOCKMENTOR_DATABASE_URL=database_url)
    config = tmp_path / "data.yaml"
    out = {
        "turns": str(tmp_path / "turns.jsonl"),
        "answers": str(tmp_path / "answers.jsonl"),
        "report": str(tmp_path / "report.json"),
    }
    config.write_text(yaml.safe_dump({"collect_ratings": out}))
    report = collect_ratings(config)
    turns = [RatedTurn.model_validate_json(line) for line in Path(out["turns"]).read_text().splitlines()]
    answers = [Answer.model_validate_json(line) for line in Path(out["answers"]).read_text().splitlines()]
    mine = [t for t in turns if t.turn_id == turn.id]
    assert len(mine) == 1 and mine[0].rating == 5 and mine[0].candidate_score == 4.5
    assert mine[0].messages == TURN["prompt"]
    assert swapped.id not in {t.turn_id for t in turns}  # plan-swapped feedback is not a training target
    assert report["skipped_plan_swapped"] >= 1
    assert {a.id for a in answers} >= {f"collected:{turn.id}"}
    assert all(a.source == "collected" for a in answers)
    assert json.loads(Path(out["report"]).read_text()) == report
