"""Collected ratings never reach training silently: corrupt rows are rejected and reported,
repeats are counted once, and a candidate's copy of a human-graded answer is not trained on."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from sqlalchemy import text
from test_store import TURN, new_session

from mockmentor.records import RecordError
from mockmentor.scorer.pairs import load_collected
from mockmentor.store.interviews import Store


def answer_row(id_: str, question: str, text_: str, score: float = 3.0) -> dict:
    return {"id": id_, "question_id": question, "text": text_, "score": score, "source": "collected"}


def test_collected_answers_are_deduplicated_and_graded_answers_are_not_trained_on(
    prepared_data: Path, tmp_path: Path
) -> None:
    graded = pd.read_parquet(prepared_data / "processed/answers.parquet").iloc[0]
    rows = [
        answer_row("collected:a", "mohler-1.1", "It runs the program one line at a time."),
        answer_row("collected:a", "mohler-1.1", "It runs the program one line at a time."),  # same id
        answer_row("collected:b", "mohler-1.1", "  it RUNS the program one line at a time. ", 5.0),
        answer_row("collected:c", graded["question_id"], graded["text"].upper()),  # a test answer, read out
        answer_row("collected:d", "no-such-question", "Anything at all."),
        answer_row("collected:e", "mohler-1.2", "It runs the program one line at a time."),  # other question
    ]
    path = tmp_path / "answers.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))

    kept, counts = load_collected(path, prepared_data / "processed")
    assert counts == {
        "read": 6,
        "kept": 2,
        "duplicate": 2,
        "graded_answer_text": 1,
        "unknown_question": 1,
    }
    assert sorted(kept["id"]) == ["collected:a", "collected:e"]
    assert kept.set_index("id").loc["collected:a", "score"] == 3.0  # the first grade counts
    assert set(kept["split"]) == {"train"}


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"{not json", r"answers.jsonl:2: field '<row>': not JSON"),
        (b'["a", "list"]', r"answers.jsonl:2: field '<row>': not a JSON object"),
        (b"\xff\xfe\x00garbage", r"answers.jsonl:2: field '<row>': not UTF-8 text"),
        (json.dumps(answer_row("x", "mohler-1.1", "ok", 7.5)).encode(), r"answers.jsonl:2: field 'score'"),
        (json.dumps(answer_row("x", "mohler-1.1", "   ")).encode(), r"answers.jsonl:2: field 'text'"),
    ],
)
def test_a_corrupt_collected_line_stops_training_naming_file_line_and_field(
    prepared_data: Path, tmp_path: Path, line: bytes, problem: str
) -> None:
    path = tmp_path / "answers.jsonl"
    path.write_bytes(json.dumps(answer_row("ok", "mohler-1.1", "fine")).encode() + b"\n" + line + b"\n")
    with pytest.raises(RecordError, match=problem):
        load_collected(path, prepared_data / "processed")


def test_corrupt_database_rows_are_rejected_with_a_report_not_exported(
    database_url: str, tmp_path: Path, settings_env, capsys: pytest.CaptureFixture
) -> None:
    from mockmentor.data.collect_ratings import main as collect_ratings

    store = Store.open(database_url)
    session_id, token, _ = new_session(store)
    versions = ["interviewer/1 (llama.cpp)"] * 2 + ["interviewer/2 (llama.cpp)"] * 2
    turns = [
        store.add_turn(session_id, token, position=i, **TURN | {"model_versions": {"interviewer": v}})
        for i, v in zip((1, 2, 3, 4), versions, strict=True)
    ]
    for turn, rating in zip(turns, (5, 5, 3, 4), strict=True):
        store.rate(session_id, token, turn.id, rating, None, 4.0)
    good, bad_rating, bad_prompt, bad_score = turns
    # What a bad migration, a manual edit or another writer could leave behind.
    as_json = "CAST(:p AS JSON)" if store.engine.dialect.name == "postgresql" else ":p"
    with store.engine.begin() as db:
        db.execute(text("UPDATE ratings SET rating = 9 WHERE turn_id = :t"), {"t": bad_rating.id})
        db.execute(
            text(f"UPDATE turns SET prompt = {as_json} WHERE id = :t"),
            {"p": json.dumps("not a list"), "t": bad_prompt.id},
        )
        db.execute(text("UPDATE ratings SET candidate_score = -3 WHERE turn_id = :t"), {"t": bad_score.id})

    settings_env(MOCKMENTOR_DATABASE_URL=database_url)
    config = tmp_path / "data.yaml"
    out = {name: str(tmp_path / f"{name}.jsonl") for name in ("turns", "answers")}
    out["report"] = str(tmp_path / "report.json")
    config.write_text(yaml.safe_dump({"collect_ratings": out}))
    report = collect_ratings(config)

    exported_turns = {json.loads(line)["turn_id"] for line in Path(out["turns"]).read_text().splitlines()}
    exported_answers = {json.loads(line)["id"] for line in Path(out["answers"]).read_text().splitlines()}
    assert good.id in exported_turns and f"collected:{good.id}" in exported_answers
    assert not {bad_rating.id, bad_prompt.id, bad_score.id} & exported_turns
    # a bad candidate_score spoils both rows built from it; a bad prompt only the turn
    assert f"collected:{bad_prompt.id}" in exported_answers
    assert f"collected:{bad_score.id}" not in exported_answers
    assert report["skipped_invalid"] == 4
    # the rating of every feedback turn, under the interviewer version that wrote it (9 is no rating)
    assert report["ratings_by_interviewer"] == {
        "interviewer/1 (llama.cpp)": {"feedback_turns": 1, "mean_rating": 5.0},
        "interviewer/2 (llama.cpp)": {"feedback_turns": 2, "mean_rating": 3.5},
    }
    assert (
        json.loads(Path(out["report"]).read_text())["ratings_by_interviewer"]
        == report["ratings_by_interviewer"]
    )
    printed = capsys.readouterr().out
    assert f"rejected turn {bad_rating.id} as RatedTurn: field 'rating'" in printed
    assert f"rejected turn {bad_prompt.id} as RatedTurn: field 'messages'" in printed
    assert f"rejected turn {bad_score.id} as Answer: field 'score'" in printed
