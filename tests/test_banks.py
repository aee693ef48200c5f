"""The interview-bank parsers on the real bank files (data/raw/interview-banks)."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from mockmentor.data.banks import BANKS, load_bank_questions
from mockmentor.records import Question, RecordError

RAW_DIR = Path(__file__).resolve().parents[1] / "data" / "raw" / "interview-banks"
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)


@pytest.fixture(scope="module")
def parsed() -> tuple[list[Question], dict[str, int]]:
    return load_bank_questions(RAW_DIR)


@pytest.fixture(scope="module")
def by_id(parsed: tuple[list[Question], dict[str, int]]) -> dict[str, Question]:
    return {question.id: question for question in parsed[0]}


def test_counts_per_topic(parsed: tuple[list[Question], dict[str, int]]) -> None:
    # exact numbers on the pinned snapshots: a change means the parse changed
    questions, _ = parsed
    assert Counter(q.topic for q in questions) == {
        "ml-theory": 152,
        "coding": 40,
        "system-design": 8,
        "html": 13,
        "css": 31,
        "javascript": 54,
        "javascript-output": 155,
    }
    assert len(questions) == 453


def test_counts_per_source_and_dropped(parsed: tuple[list[Question], dict[str, int]]) -> None:
    questions, dropped = parsed
    assert Counter(q.source for q in questions) == {
        "data-science-interviews": 192,
        "system-design-primer": 8,
        "front-end-interview-handbook": 98,
        "javascript-questions": 155,
    }
    # the 14 theory questions whose answer is still the bank's "Answer here" placeholder
    assert dropped == {
        "data-science-interviews": 14,
        "system-design-primer": 0,
        "front-end-interview-handbook": 0,
        "javascript-questions": 0,
    }


def test_ids_unique(parsed: tuple[list[Question], dict[str, int]]) -> None:
    ids = [q.id for q in parsed[0]]
    assert len(ids) == len(set(ids))


def test_every_record_is_complete(parsed: tuple[list[Question], dict[str, int]]) -> None:
    licences = {spec.source: spec.licence for spec in BANKS.values()}
    for q in parsed[0]:
        assert q.text.strip() and q.reference_answer.strip(), q.id
        assert q.key_points and all(point.strip() for point in q.key_points), q.id
        assert q.licence == licences[q.source], q.id
        assert not q.text.startswith(("#", "**")), q.id
        assert q.text == q.text.strip(), q.id
        assert "Answer here" not in q.reference_answer, q.id
        prose = CODE.sub("", q.reference_answer)  # code may show HTML: `<img srcset=...>`
        for leftover in ("<details", "<summary", "</p>", "<img", "<sup>", "![", "#### References"):
            assert leftover not in prose, (q.id, leftover)


def test_theory_question(by_id: dict[str, Question]) -> None:
    q = by_id["dsi-theory-023"]
    assert (q.source, q.topic, q.licence) == ("data-science-interviews", "ml-theory", "CC-BY-4.0")
    assert q.text == "Is logistic regression a linear model? Why?"
    assert q.difficulty == "easy"
    assert "generalized linear model" in q.reference_answer


def test_unanswered_theory_question_is_dropped(by_id: dict[str, Question]) -> None:
    texts = {q.text for q in by_id.values()}
    assert "Can you tell us how you approach the model training process?" not in texts
    assert by_id["dsi-theory-094"].text == "What is backpropagation? How does it work? Why do we need it?"


def test_coding_question(by_id: dict[str, Question]) -> None:
    sql = by_id["dsi-technical-001"]
    assert sql.topic == "coding"
    # SQL tasks carry the section's table schema, without which they cannot be answered
    assert sql.text.startswith("Suppose we have the following schema with two tables: Ads and Events")
    assert sql.text.endswith("The number of active ads.")
    assert "SELECT count(*) FROM Ads WHERE status = 'active';" in sql.reference_answer

    two_sum = by_id["dsi-technical-026"]
    assert two_sum.text.startswith("Two sum. Given an array and a number N, return True")
    assert "* `[1, 2, 3, 4], 5` ⇒ `True`" in two_sum.text
    assert two_sum.reference_answer.startswith(
        "Brute force, O(n^2):\n```python\ndef two_sum(numbers, target):"
    )
    # a code-only answer's key points are its solutions
    assert two_sum.key_points[0].startswith("def two_sum(numbers, target):")


def test_system_design_question(by_id: dict[str, Question]) -> None:
    q = by_id["sdp-pastebin"]
    assert (q.source, q.topic, q.licence) == ("system-design-primer", "system-design", "CC-BY-4.0")
    assert q.text == "Design Pastebin.com (or Bit.ly)"
    assert "## Step 1: Outline use cases and constraints" in q.reference_answer
    assert "*Note: This document links" not in q.reference_answer
    assert q.key_points[0].startswith("User enters a block of text and gets a randomly generated link")


def test_front_end_handbook_questions(by_id: dict[str, Question]) -> None:
    q = by_id["feh-html-001"]
    assert (q.source, q.topic, q.licence) == ("front-end-interview-handbook", "html", "MIT")
    assert q.text == "What does a DOCTYPE do?"
    assert "The DOCTYPE declaration for the HTML5 standards is `<!DOCTYPE html>`." in q.reference_answer
    assert "https://html.spec.whatwg.org" not in q.reference_answer

    # the task of "Make this work:" is the code block under its heading
    task = by_id["feh-js-028"]
    assert task.text.startswith("Make this work:\n\n```js\nduplicate([1, 2, 3, 4, 5]);")
    assert task.reference_answer.startswith("```js\nfunction duplicate(arr) {\n  return arr.concat(arr);")

    assert "Other Answers" not in {q.text for q in by_id.values()}


def test_javascript_quiz_question(by_id: dict[str, Question]) -> None:
    q = by_id["jsq-001"]
    assert (q.source, q.topic, q.licence) == ("javascript-questions", "javascript-output", "MIT")
    assert q.text.startswith("What's the output?\n\n```javascript\nfunction sayHi() {")
    assert q.text.endswith("- C: `ReferenceError` and `21`\n- D: `undefined` and `ReferenceError`")
    assert q.reference_answer.startswith("D: `undefined` and `ReferenceError`.\n\nWithin the function,")
    assert "temporal dead zone" in q.reference_answer
    assert q.key_points[0] == "D: undefined and ReferenceError."


def _copy_banks(tmp_path: Path) -> Path:
    raw = tmp_path / "interview-banks"
    shutil.copytree(RAW_DIR, raw)
    return raw


def test_empty_question_heading_names_file_and_line(tmp_path: Path) -> None:
    raw = _copy_banks(tmp_path)
    css = raw / "yangshun-front-end-interview-handbook" / "css-questions.md"
    source = css.read_text(encoding="utf-8")
    heading = "### Describe `float`s and how they work.\n"
    assert source.splitlines().index(heading.strip()) + 1 == 50
    css.write_text(source.replace(heading, "###\n"), encoding="utf-8")

    with pytest.raises(RecordError) as caught:
        load_bank_questions(raw)
    assert (caught.value.file, caught.value.line, caught.value.field) == (str(css), 50, "text")
    assert str(caught.value).startswith(f"{css}:50: field 'text':")


def test_quiz_answer_outside_options_names_its_question(tmp_path: Path) -> None:
    raw = _copy_banks(tmp_path)
    quiz = raw / "lydiahallie-javascript-questions" / "README.md"
    quiz.write_text(
        quiz.read_text(encoding="utf-8").replace("#### Answer: D", "#### Answer: E", 1), encoding="utf-8"
    )

    with pytest.raises(RecordError, match=r"README\.md:54: field 'reference_answer': answer E is not one"):
        load_bank_questions(raw)
