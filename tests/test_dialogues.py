"""The dialogue builder on the real records: its targets hold no facts beyond their record."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pandas as pd
import pytest

from mockmentor.data.build_dialogues import collected_examples, well_formed
from mockmentor.interviewer import templates as targets
from mockmentor.interviewer.coverage import KeyPointCoverage, score_guard
from mockmentor.interviewer.turn import TOPIC_LABELS, AnswerFacts, format_score, parse_turn
from mockmentor.model_assets import resolved_path
from mockmentor.records import RecordError

_WORD = re.compile(r"[a-z0-9']+")
TEMPLATE_WORDS = {
    word
    for phrases in (
        targets.OPENER_LEADS,
        targets.RIGHT_BUT,
        targets.NOTHING_RIGHT,
        targets.CLOSE,
        targets.COMPLETE,
        targets.SCORE,
        targets.PROBE,
        targets.NEXT,
        ["can you", "could you", "what can you tell me about"],
        TOPIC_LABELS.values(),
    )
    for phrase in phrases
    for word in _WORD.findall(re.sub(r"\{\w+\}", " ", phrase).lower())
}


def unexplained_words(target: str, facts: list[str]) -> set[str]:
    """Words of `target` left after removing every record string: these must be template words."""
    rest = target
    for fact in sorted(facts, key=len, reverse=True):
        rest = rest.replace(fact, " ")
    return set(_WORD.findall(rest.lower())) - TEMPLATE_WORDS


def record_strings(example: dict) -> list[str]:
    facts = example["facts"]
    if facts is None:  # an opener: the bank question, as asked
        question = example["messages"][-1]["content"].split("Bank question: ", 1)[1].split("\n")[0]
        return [targets.conversational(question) or question]
    answer = AnswerFacts(**facts)
    scores = [format_score(v) for v in (answer.score, answer.score_low, answer.score_high)]
    return targets.fact_strings(answer) + scores


def test_fact_check_catches_a_foreign_fact() -> None:
    facts = AnswerFacts("intro-programming", "Q?", "A", 3, 2, 4, ["A stack is LIFO."], ["A queue is FIFO."])
    target = targets.feedback_target(facts, random.Random(0), score_rate=0)
    example = {"facts": facts.__dict__, "messages": []}
    assert unexplained_words(target, record_strings(example)) == set()
    assert unexplained_words(target + " Heaps are trees.", record_strings(example)) == {
        "heaps",
        "are",
        "trees",
    }


def test_targets_quote_only_their_record_for_every_case(prepared_data: Path) -> None:
    questions = pd.read_parquet(prepared_data / "processed/questions.parquet")
    rng = random.Random(0)
    seen = set()
    for row in questions.itertuples():
        points = list(row.key_points)
        for covered, missed in [(points[:1], points[1:]), ([], points), (points, [])]:
            facts = AnswerFacts(row.topic, row.text, "x", 2.5, 2, 3, covered, missed, questions.text.iloc[0])
            target = targets.feedback_target(facts, rng, score_rate=0.5)
            if target is None:
                continue
            seen.add("complete" if not missed else "partial" if covered else "none")
            example = {"facts": facts.__dict__, "messages": []}
            assert unexplained_words(target, record_strings(example)) == set(), target
    assert seen == {"complete", "partial", "none"}


def test_feedback_reads_the_score_when_no_point_matched() -> None:
    facts = AnswerFacts("intro-programming", "What is a leaf?", "degree 0", 4.0, 3.0, 5.0, [], ["A node."])
    for seed in range(5):
        lead = targets.feedback_target(facts, random.Random(seed), score_rate=0).split(". ")[0] + "."
        assert lead in targets.CLOSE
        low = targets.feedback_target(
            facts.__class__(**{**facts.__dict__, "score": 1.0}), random.Random(seed), 0
        )
        assert low.split(". ")[0] + "." in targets.NOTHING_RIGHT or low.startswith("Not quite:")


def test_conversational_questions() -> None:
    assert targets.conversational("Explain overfitting.") == "Can you explain overfitting?"
    assert targets.conversational("What is a closure?") == "What is a closure?"
    assert targets.conversational("Difference between let and var") == (
        "What can you tell me about Difference between let and var?"
    )
    assert targets.conversational("What is X? And Y?") is None
    assert targets.conversational("Describe `z-index`.") == "Can you describe z-index?"
    assert targets.conversational("Output?\n\n```js\nconsole.log(1)\n```") is None


def test_score_guard_overrules_similarity_only_at_the_extremes() -> None:
    assert score_guard([False, True], 5.0, full_marks=4.5, wrong=2.0) == [True, True]
    assert score_guard([True, True], 1.5, full_marks=4.5, wrong=2.0) == [False, False]
    assert score_guard([False, True], 3.0, full_marks=4.5, wrong=2.0) == [False, True]


def test_coverage_rule_on_real_reference_answers(prepared_data: Path) -> None:
    questions = pd.read_parquet(prepared_data / "processed/questions.parquet").head(20)
    coverage = KeyPointCoverage(resolved_path("scorer-encoder"), threshold=0.6)
    points = [list(p) for p in questions["key_points"]]
    own = coverage.covered(questions["reference_answer"].tolist(), points)
    assert all(all(flags) for flags in own)  # a reference answer covers its own points
    unrelated = coverage.covered(["I like to cook pasta on Sundays."] * len(points), points)
    assert not any(any(flags) for flags in unrelated)


def test_build_dialogues_stage(built_dialogues: Path) -> None:
    dialogues = built_dialogues
    report = json.loads((dialogues / "report.json").read_text())
    by_split = {}
    for split in ("train", "val", "eval"):
        examples = [
            json.loads(line) for line in (dialogues / f"dialogues/{split}.jsonl").read_text().splitlines()
        ]
        assert len(examples) == report["splits"][split]["examples"] > 0
        for example in examples:
            parse_turn(example["target"], example["kind"])  # every target is a well-formed turn
            assert unexplained_words(example["target"], record_strings(example)) == set(), example["target"]
        by_split[split] = {e["question_id"] for e in examples if e["kind"] == "feedback"}
    # whole questions are held out
    assert not by_split["train"] & by_split["eval"] and not by_split["train"] & by_split["val"]
    # the coverage rule tracks the human scores: better answers cover more of the reference
    shares = report["covered_share_by_score"]
    assert shares["5"] > shares["3"] > shares["1"]


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
    assert counts == {"read": 4, "low_rating": 0, "duplicate": 2}

    path.write_text(json.dumps(rows[0]) + "\n" + json.dumps(rows[1] | {"rating": 9}) + "\n")
    with pytest.raises(RecordError, match=r"turns.jsonl:2: field 'rating'"):
        collected_examples(path, min_rating=4)
