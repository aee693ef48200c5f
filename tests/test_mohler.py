"""The Mohler 2011 parser against the real release."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockmentor.data import mohler
from mockmentor.records import RecordError

RELEASE = Path(__file__).resolve().parent.parent / "data" / "raw" / "mohler2011"


@pytest.fixture(scope="module")
def parsed() -> tuple[list[mohler.MohlerQuestion], list]:
    questions = mohler.load_questions(RELEASE)
    return questions, mohler.load_answers(RELEASE, [item.question.id for item in questions])


def test_release_counts(parsed: tuple) -> None:
    questions, answers = parsed
    assert len(questions) == 87
    assert len(answers) == 2442
    kept = {item.question.id for item in questions if not item.ignored_in_paper}
    assert len(kept) == 81
    assert sum(answer.question_id in kept for answer in answers) == 2273
    ignored = sorted(item.question.id for item in questions if item.ignored_in_paper)
    assert ignored == ["mohler-12.3", "mohler-4.6", "mohler-4.7", "mohler-8.5", "mohler-9.5", "mohler-9.7"]


def test_scores_on_the_five_point_scale(parsed: tuple) -> None:
    _, answers = parsed
    for answer in answers:
        assert 0 <= answer.score <= 5
        assert 0 <= answer.grader1 <= 5 and 0 <= answer.grader2 <= 5
    exam = [a for a in answers if a.question_id.startswith("mohler-11.")]
    assert max(a.grader1 for a in exam) == 5.0  # graded 0–10, halved


def test_first_answer_and_reference(parsed: tuple) -> None:
    questions, answers = parsed
    first = questions[0].question
    assert first.text == "What is the role of a prototype program in problem solving?"
    assert first.reference_answer.startswith("To simulate the behaviour of portions")
    assert answers[0].id == "mohler-1.1.0"
    assert "<br>" not in answers[0].text
    assert (answers[0].grader1, answers[0].grader2, answers[0].score) == (3.0, 4.0, 3.5)


def test_bad_score_names_file_line_and_field(mohler_copy: Path) -> None:
    scores = mohler_copy / "data/scores/1.3/other"
    lines = scores.read_text().splitlines()
    lines[4] = "five"
    scores.write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordError) as caught:
        mohler.load_answers(mohler_copy, ["mohler-1.3"])
    assert caught.value.line == 5 and caught.value.field == "score"
    assert str(caught.value).startswith(f"{scores}:5: field 'score'")


def test_out_of_range_score_is_a_record_error(mohler_copy: Path) -> None:
    scores = mohler_copy / "data/scores/2.1/ave"
    lines = scores.read_text().splitlines()
    lines[2] = "7.5"
    scores.write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordError, match=r"data/raw/2\.1:3: field 'score'"):
        mohler.load_answers(mohler_copy, ["mohler-2.1"])


def test_empty_answer_is_a_record_error(mohler_copy: Path) -> None:
    raw = mohler_copy / "data/raw/1.2"
    lines = raw.read_text().splitlines()
    lines[1] = "1.2    "
    raw.write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordError) as caught:
        mohler.load_answers(mohler_copy, ["mohler-1.2"])
    assert (caught.value.line, caught.value.field) == (2, "text")


def test_missing_grade_line_is_reported(mohler_copy: Path) -> None:
    ave = mohler_copy / "data/scores/3.1/ave"
    ave.write_text("\n".join(ave.read_text().splitlines()[:-1]) + "\n")
    with pytest.raises(RecordError, match=r"answers in 3\.1 but"):
        mohler.load_answers(mohler_copy, ["mohler-3.1"])
