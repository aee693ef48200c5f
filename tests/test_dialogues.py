"""The dialogue builder on the real records: every target is a written turn, never a template."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mockmentor.data.build_dialogues import collected_examples, well_formed
from mockmentor.interviewer import templates
from mockmentor.interviewer.coverage import CoverageRule, KeyPointCoverage, text_units
from mockmentor.interviewer.turn import parse_turn
from mockmentor.model_assets import resolved_path
from mockmentor.records import RecordError


def test_conversational_questions() -> None:
    assert templates.conversational("Explain overfitting.") == "Can you explain overfitting?"
    assert templates.conversational("What is a closure?") == "What is a closure?"
    assert templates.conversational("Difference between let and var") == (
        "What can you tell me about Difference between let and var?"
    )
    assert templates.conversational("What is X? And Y?") is None
    assert templates.conversational("Describe `z-index`.") == "Can you describe z-index?"
    assert templates.conversational("Output?\n\n```js\nconsole.log(1)\n```") is None


def test_coverage_rule_is_fitted_and_counts_a_paraphrase(built_dialogues: Path) -> None:
    rule = CoverageRule.read(built_dialogues / "dialogues/coverage.json")
    report = json.loads((built_dialogues / "report.json").read_text())["coverage"]
    assert report["rule"] == asdict(rule)
    # fitted to the writers' judgements, it agrees with them on held-out questions better than
    # similarity alone, and makes none of the graders' errors given their score
    held_out = report["held_out"]
    assert (
        held_out["fitted"]["vs_writers"]["balanced_accuracy"]
        > held_out["similarity_only"]["vs_writers"]["balanced_accuracy"]
    )
    assert held_out["fitted"]["vs_graders"]["error_rate"] <= 0.05
    coverage = KeyPointCoverage(resolved_path("scorer-encoder"))
    point = ["A node that has no children."]  # "What is a leaf?" (mohler-10.3)
    # real answers: a paraphrase graded 4.5, the reference's words graded 5, a wrong answer graded 2
    for answer, score, covered in [
        ("the last child on any branch", 4.5, True),
        ("A leaf is a node with no children.", 5.0, True),
        ("A leaf is a node with children, it is a terminating node.", 2.0, False),
    ]:
        [similarity] = coverage.similarities([answer], [point])
        assert rule.covered(similarity, score) == [covered], (answer, similarity)
    [unrelated] = coverage.similarities(["I like to cook pasta on Sundays."], [point])
    [close] = coverage.similarities(["the last child on any branch"], [point])
    assert rule.probability(float(close[0]), 4.0) > rule.probability(float(unrelated[0]), 4.0)


def test_key_points_prepared_ahead_are_not_embedded_again_and_judge_the_same(prepared_data: Path) -> None:
    # What the voice service does while a question is asked (InterviewEngine._ready).
    questions = pd.read_parquet(prepared_data / "processed/questions.parquet").head(5)
    points = [list(p) for p in questions["key_points"]]
    students = pd.read_parquet(prepared_data / "processed/answers.parquet").groupby("question_id")["text"]
    answers = [students.get_group(q).iloc[0] for q in questions["id"]]
    expected = KeyPointCoverage(resolved_path("scorer-encoder")).similarities(answers, points)
    coverage = KeyPointCoverage(resolved_path("scorer-encoder"))
    for question_points in points:
        coverage.prepare(question_points)
    embedded: list[str] = []
    embed = coverage.embed
    coverage.embed = lambda texts: (embedded.extend(texts), embed(texts))[1]  # type: ignore[method-assign]
    got = coverage.similarities(answers, points)
    assert embedded and set(embedded) <= {u for a in answers for u in text_units(a)}
    for g, e in zip(got, expected, strict=True):  # the same up to the padding of a batch
        np.testing.assert_allclose(g, e, atol=1e-5)


def test_coverage_rule_on_real_reference_answers(prepared_data: Path) -> None:
    questions = pd.read_parquet(prepared_data / "processed/questions.parquet").head(20)
    coverage = KeyPointCoverage(resolved_path("scorer-encoder"))
    points = [list(p) for p in questions["key_points"]]
    own = coverage.similarities(questions["reference_answer"].tolist(), points)
    assert all(min(s) > 0.7 for s in own)  # a reference answer is closest to its own points
    unrelated = coverage.similarities(["I like to cook pasta on Sundays."] * len(points), points)
    assert max(max(s) for s in unrelated) < 0.3


def test_build_dialogues_stage(built_dialogues: Path) -> None:
    report = json.loads((built_dialogues / "report.json").read_text())
    fallbacks = {lead for leads in templates.FALLBACK_LEADS.values() for lead in leads}
    by_split = {}
    for split in ("train", "val", "eval"):
        examples = [
            json.loads(line)
            for line in (built_dialogues / f"dialogues/{split}.jsonl").read_text().splitlines()
        ]
        assert len(examples) == report["splits"][split]["examples"] > 0
        for example in examples:
            parsed = parse_turn(example["target"], "feedback")  # every target is a well-formed turn
            # the target is the turn written for this answer (a complete answer's ends with the
            # plan's next question, which the prompt names)
            assert example["target"].startswith(example["written"]), example["id"]
            assert not set(parsed.lead) & fallbacks
            if example["case"] == "complete":
                assert parsed.question in example["messages"][-1]["content"]
        by_split[split] = {e["question_id"] for e in examples}
    # whole questions are held out, Mohler and bank alike
    assert not by_split["train"] & by_split["eval"] and not by_split["train"] & by_split["val"]
    assert {e.split("-")[0] for e in by_split["eval"]} > {"mohler"}
    assert report["diversity"]["distinct_trigrams_per_token"] > 0.5


def test_collected_turns_keep_only_good_unique_well_formed_ones(tmp_path: Path) -> None:
    messages = [{"role": "user", "content": "Topic: CSS"}]
    good = "Right: the box model adds padding. Can you expand on this point: margins collapse?"
    rows = [
        {
            "turn_id": "t1",
            "kind": "feedback",
            "topic": "css",
            "messages": messages,
            "reply": good,
            "rating": 5,
        },
        {
            "turn_id": "t1",
            "kind": "feedback",
            "topic": "css",
            "messages": messages,
            "reply": good,
            "rating": 5,
        },
        {
            "turn_id": "t2",
            "kind": "feedback",
            "topic": "css",
            "messages": messages,
            "reply": good,
            "rating": 2,
        },
        {
            "turn_id": "t3",
            "kind": "feedback",
            "topic": "css",
            "messages": messages,
            "reply": "Nice.",
            "rating": 4,
        },
    ]
    path = tmp_path / "turns.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    examples, counts = collected_examples(path, min_rating=4)
    kept, malformed = well_formed(examples)
    assert [e["target"] for e in kept] == [good] and malformed == 1
    # t1 twice by id; t2 is t1's reply to t1's prompt again (rated lower): both count once
    assert counts == {"read": 4, "low_rating": 0, "duplicate": 2, "opener": 0}

    path.write_text(json.dumps(rows[0]) + "\n" + json.dumps(rows[1] | {"rating": 9}) + "\n")
    with pytest.raises(RecordError, match=r"turns.jsonl:2: field 'rating'"):
        collected_examples(path, min_rating=4)
